"""Drives HDMS's web UI in headless Chromium through the stable ids of the UI contract.

One `UI` wraps one browser (one person's session). Every wait is explicit (WebDriverWait); the
only sleeps are the polling intervals of those waits.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from urllib.parse import urljoin, urlparse

from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

PASSWORD = "hdms-demo"
WAIT = float(os.environ.get("HDMS_BROWSER_WAIT", "15"))
LIVE_WAIT = float(os.environ.get("HDMS_BROWSER_LIVE_WAIT", "20"))

# The demo organisation (API.md): email -> full name (as seeded by auth-service).
PEOPLE = {
    "admin@hdms.test": "Ada Admin",
    "moderator@hdms.test": "Morgan Moderator",
    "agent@hdms.test": "Alex Agent",
    "agent.ops@hdms.test": "Olive Operations",
    "requestor@hdms.test": "Riley Requestor",
    "head.hr@hdms.test": "Harper Head",
    "head.finance@hdms.test": "Finley Finance",
    "ceo@hdms.test": "Casey Chief",
}

TICKET_URL = re.compile(r"/tickets/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})")


def chromium_binary() -> str:
    """The Chromium executable: HDMS_CHROMIUM, else Debian's real binary (not its shell wrapper)."""
    for candidate in (os.environ.get("HDMS_CHROMIUM"), "/usr/lib/chromium/chromium", "/usr/bin/chromium"):
        if candidate and os.path.exists(candidate):
            return candidate
    raise RuntimeError("Chromium not found: apt-get install chromium chromium-driver")


def chromedriver_binary() -> str:
    for candidate in (os.environ.get("HDMS_CHROMEDRIVER"), "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"):
        if candidate and os.path.exists(candidate):
            return candidate
    raise RuntimeError("chromedriver not found: apt-get install chromium-driver")


def new_driver(width: int = 1280, height: int = 900) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = chromium_binary()
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--password-store=basic",
        "--force-device-scale-factor=1",
        "--lang=en-GB",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path keeps Selenium Manager from trying to download anything.
    service = Service(executable_path=chromedriver_binary())
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(20)
    return driver


# email -> the cookies of a session signed in through the form during this run (see UI.login).
_SESSIONS: dict[str, list[dict]] = {}


def _replaced(error: WebDriverException) -> bool:
    """Whether an element was replaced (live refresh, navigation) under the driver's hands."""
    return isinstance(error, StaleElementReferenceException) or "does not belong to the document" in str(error)


class UIError(AssertionError):
    pass


class UI:
    """One signed-in (or not yet) person in one browser."""

    def __init__(self, driver: webdriver.Chrome, base_url: str, shots: Path, prefix: str, label: str):
        self.d = driver
        self.base = base_url if base_url.endswith("/") else base_url + "/"
        self.shots = shots
        self.prefix = prefix
        self.label = label
        self.email: str | None = None
        self.closed = False

    def close(self) -> None:
        """Ends this browser early (a test keeps at most a few open at a time)."""
        if not self.closed:
            self.closed = True
            try:
                self.d.quit()
            except WebDriverException:
                pass

    # ---- basics -------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return urljoin(self.base, path.lstrip("/"))

    def go(self, path: str, allow_error: bool = False) -> None:
        self.d.get(self.url(path))
        self.wait_loaded()
        status = self.http_status()
        if status and status >= 400 and not allow_error:
            body = self.js("return document.body ? document.body.innerText.slice(0, 300) : ''")
            raise UIError(f"[{self.label}] GET {path} answered HTTP {status}{self._problem_suffix()}: {body!r}")

    def http_status(self) -> int | None:
        """The HTTP status of the current document (Chromium's Navigation Timing responseStatus)."""
        try:
            return self.js("const n = performance.getEntriesByType('navigation')[0];"
                           "return n && n.responseStatus ? n.responseStatus : null")
        except WebDriverException:
            return None

    def path(self) -> str:
        return urlparse(self.d.current_url).path

    def wait_loaded(self) -> None:
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete", "page load")

    def wait(self, condition, what: str, timeout: float = WAIT):
        def tolerant(driver):
            try:
                return condition(driver)
            except WebDriverException as error:
                # An element of a document that was just replaced (live refresh, navigation):
                # chromedriver sometimes says so with an inspector error rather than "stale".
                if _replaced(error):
                    return False
                raise

        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(tolerant)
        except TimeoutException:
            raise UIError(f"[{self.label}] timed out after {timeout:.0f}s waiting for {what} "
                          f"on {self.d.current_url}{self._problem_suffix()}") from None

    def el(self, css: str, timeout: float = WAIT, visible: bool = False) -> WebElement:
        cond = EC.visibility_of_element_located if visible else EC.presence_of_element_located
        return self.wait(cond((By.CSS_SELECTOR, css)), f"element {css}", timeout)

    def els(self, css: str) -> list[WebElement]:
        return self.d.find_elements(By.CSS_SELECTOR, css)

    def exists(self, css: str) -> bool:
        return bool(self.d.find_elements(By.CSS_SELECTOR, css))

    def text(self, css: str) -> str:
        """The element's rendered text, read in one script call (live refreshes replace parts of
        the ticket page at any moment, which would make a found element stale)."""
        self.el(css)
        return (self.js("const e = document.querySelector(arguments[0]); return e ? e.innerText : ''", css) or "").strip()

    def attr(self, css: str, name: str) -> str | None:
        self.el(css)
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null", css, name)

    def texts(self, css: str) -> list[str]:
        return self.js("return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText)", css)

    def attrs(self, css: str, name: str) -> list[str | None]:
        return self.js("return Array.from(document.querySelectorAll(arguments[0])).map(e => e.getAttribute(arguments[1]))", css, name)

    def timeline_actions(self) -> list[str]:
        return self.attrs("#timeline li[data-action]", "data-action")

    def js(self, script: str, *args):
        return self.d.execute_script(script, *args)

    def click(self, css: str, timeout: float = WAIT) -> None:
        for attempt in range(3):
            element = self.wait(EC.element_to_be_clickable((By.CSS_SELECTOR, css)), f"clickable {css}", timeout)
            try:
                self.js("arguments[0].scrollIntoView({block: 'center'})", element)
                try:
                    element.click()
                except WebDriverException as error:  # covered by a sticky header, a toast, ...
                    if "not clickable" not in str(error) and "intercepted" not in str(error):
                        raise
                    self.js("arguments[0].click()", element)
                return
            except WebDriverException as error:
                # Replaced by a live refresh of the ticket page between finding and clicking: again.
                if attempt == 2 or not _replaced(error):
                    raise

    def fill(self, css: str, value: str) -> None:
        for attempt in range(3):
            element = self.el(css, visible=True)
            try:
                element.clear()
                element.send_keys(value)
                return
            except WebDriverException as error:
                if attempt == 2 or not _replaced(error):
                    raise

    def select(self, css_or_el, text: str | None = None, value: str | None = None,
               matches: list[str] | None = None, timeout: float = WAIT) -> str:
        """Chooses an option by exact/prefix/substring text, by value, or by any of `matches`
        (substrings, case-insensitive); waits for such an option to appear (dynamic lists).
        Returns the chosen option's value."""
        wanted = [m.lower() for m in (matches or [])]

        def find(_):
            element = css_or_el if isinstance(css_or_el, WebElement) else self.d.find_element(By.CSS_SELECTOR, css_or_el)
            options = element.find_elements(By.TAG_NAME, "option")
            if value is not None:
                for option in options:
                    if (option.get_attribute("value") or "").lower() == value.lower():
                        return element, option
            if text is not None:
                for test in (lambda t: t == text, lambda t: t.startswith(text), lambda t: text in t):
                    for option in options:
                        if test(option.text.strip()):
                            return element, option
            for option in options:
                haystack = (option.text + " " + (option.get_attribute("value") or "")).lower()
                if any(m in haystack for m in wanted):
                    return element, option
            return False

        try:
            element, option = WebDriverWait(self.d, timeout, 0.1, (NoSuchElementException,
                                                                  StaleElementReferenceException)).until(find)
        except TimeoutException:
            element = css_or_el if isinstance(css_or_el, WebElement) else self.d.find_elements(By.CSS_SELECTOR, css_or_el)
            options = []
            if isinstance(element, list):
                element = element[0] if element else None
            if element is not None:
                options = [o.text.strip() + "=" + (o.get_attribute("value") or "") for o in element.find_elements(By.TAG_NAME, "option")]
            raise UIError(f"[{self.label}] no option text={text!r} value={value!r} matches={matches!r} "
                          f"in {css_or_el if isinstance(css_or_el, str) else 'select'}; options: {options}") from None
        chosen = option.get_attribute("value") or ""
        Select(element).select_by_value(chosen)
        return chosen

    def set_value(self, element: WebElement, value: str) -> None:
        """Sets an input's value as a user's drag or picker would, firing input and change."""
        self.js(
            "const el = arguments[0];"
            "const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;"
            "setter.call(el, arguments[1]);"
            "el.dispatchEvent(new Event('input', {bubbles: true}));"
            "el.dispatchEvent(new Event('change', {bubbles: true}));",
            element, value)

    def shot(self, step: str) -> Path:
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{self.prefix}-{step}.png"
        self.d.save_screenshot(str(path))
        return path

    def full_shot(self, step: str) -> Path:
        """A screenshot of the whole page height (the window grows for it, then shrinks back)."""
        size = self.d.get_window_size()
        height = self.js("return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)")
        try:
            self.d.set_window_size(size["width"], min(max(int(height) + 120, size["height"]), 6000))
            return self.shot(step)
        finally:
            self.d.set_window_size(size["width"], size["height"])

    def problem(self) -> str:
        for element in self.els("#problem"):
            try:
                if element.is_displayed() and element.text.strip():
                    return element.text.strip()
            except WebDriverException:  # replaced meanwhile
                pass
        return ""

    def notice(self) -> str:
        for element in self.els("#notice"):
            if element.is_displayed():
                return element.text.strip()
        return ""

    def _problem_suffix(self) -> str:
        try:
            text = self.problem()
        except WebDriverException:
            return ""
        return f" (page shows #problem: {text!r})" if text else ""

    def expect_no_problem(self, where: str) -> None:
        text = self.problem()
        if text:
            raise UIError(f"[{self.label}] {where}: #problem says {text!r} on {self.d.current_url}")

    def click_and_wait_reload(self, css: str, what: str, timeout: float = WAIT) -> None:
        """Clicks something that posts a form or reloads; waits until the old document is gone
        (or a #problem appears without a reload)."""
        old = self.d.find_element(By.TAG_NAME, "html")
        before = self.problem()
        self.click(css)

        def done(driver):
            try:
                old.tag_name
            except StaleElementReferenceException:
                return driver.execute_script("return document.readyState") == "complete"
            now = self.problem()
            return bool(now) and now != before

        self.wait(done, what, timeout)

    # ---- session ------------------------------------------------------------------------------
    def login(self, email: str, password: str = PASSWORD, fresh: bool = False) -> None:
        """Signs in through the login form. Later sign-ins of the same person in this run reuse the
        session cookies of the first (each form sign-in costs a bcrypt check, slow in debug builds,
        and repeated ones would meet the login throttle), unless `fresh`."""
        if not fresh and email in _SESSIONS and self._resume(email):
            return
        self.go("/login")
        self.fill("#email", email)
        self.fill("#password", password)
        self.click_and_wait_reload("#sign-in", f"sign-in of {email}")
        self.wait(lambda d: self.path().startswith("/dashboard") and self.exists("#sign-out"),
                  f"/dashboard after signing in as {email}")
        self.email = email
        if not fresh:
            _SESSIONS[email] = self.d.get_cookies()

    def _resume(self, email: str) -> bool:
        self.go("/login")
        for cookie in _SESSIONS[email]:
            cookie = {k: v for k, v in cookie.items() if k in ("name", "value", "path", "httpOnly", "secure", "sameSite", "expiry")}
            self.d.add_cookie(cookie)
        self.go("/dashboard", allow_error=True)
        if self.exists("#sign-out"):
            self.email = email
            return True
        _SESSIONS.pop(email, None)  # expired or signed out meanwhile: sign in again
        self.d.delete_all_cookies()
        return False

    def logout(self) -> None:
        self.click_and_wait_reload("#sign-out", "sign-out")
        self.wait(lambda d: self.path().startswith("/login"), "/login after sign-out")
        if self.email:
            _SESSIONS.pop(self.email, None)
        self.email = None

    def wait_live_ready(self, timeout: float = LIVE_WAIT) -> None:
        self.wait(lambda d: self.attr("#live-status", "data-state") == "ready",
                  "#live-status[data-state=ready]", timeout)

    def mark_document(self) -> None:
        """Marks the current document; `still_same_document` tells whether it was reloaded since."""
        self.js("window.__hdmsNoReload = 'kept'")

    def still_same_document(self) -> bool:
        return self.js("return window.__hdmsNoReload === 'kept'")

    # ---- tickets ------------------------------------------------------------------------------
    def create_ticket(self, title: str, description: str, department: str = "IT", priority: str = "medium",
                      submit: bool = True, shot: str | None = None) -> str:
        """Fills /tickets/new and saves it as a draft or submits it; returns the new ticket's id."""
        self.go("/tickets/new")
        self.fill("#title", title)
        self.fill("#description", description)
        self.select("#priority", value=priority)
        self.select("#department_id", text=department)
        # The category is optional: one of the target department's when the list names one.
        for option in self.els("#category_id option"):
            if option.get_attribute("value") and f"({department})" in option.text:
                Select(self.el("#category_id")).select_by_value(option.get_attribute("value"))
                break
        if shot:
            self.shot(shot)
        button = "#submit-ticket" if submit else "#save-draft"
        self.click_and_wait_reload(button, f"{button} of a new ticket")
        self.wait(lambda d: TICKET_URL.search(self.path()) is not None and self.exists("#ticket-status"),
                  f"the new ticket's page after {button}")
        ticket_id = TICKET_URL.search(self.path()).group(1)
        self.wait_status("submitted" if submit else "draft")
        return ticket_id

    def open_ticket(self, ticket_id: str) -> None:
        self.go(f"/tickets/{ticket_id}")
        self.el("#ticket-status")

    def status(self) -> str | None:
        return self.attr("#ticket-status", "data-status")

    def wait_status(self, status: str, timeout: float = WAIT) -> None:
        self.wait(lambda d: self.js("const e = document.querySelector('#ticket-status'); return e && e.getAttribute('data-status')") == status,
                  f"#ticket-status[data-status={status}] (now {self._safe_status()!r})", timeout)

    def _safe_status(self):
        try:
            return self.status()
        except Exception:  # noqa: BLE001 - only for messages
            return None

    def allowed_actions(self) -> list[str]:
        """The action buttons the ticket page shows now (button#action-<name>)."""
        ids = self.js("return Array.from(document.querySelectorAll('#actions button[id^=\"action-\"]'))"
                      ".map(b => b.id.slice('action-'.length))")
        return sorted(set(ids))

    def expect_actions_as_api(self, ticket_id: str) -> None:
        """The page offers exactly the actions the API allows this person now (issue 9: every
        action button is shown only when allowed_actions includes it)."""
        ticket, _ = api(self.base, f"/api/v1/tickets/{ticket_id}", email=self.email)
        shown, allowed = set(self.allowed_actions()), set(ticket["allowed_actions"])
        if shown != allowed:
            raise UIError(f"[{self.label}] #actions shows {sorted(shown)} but the API allows {sorted(allowed)} "
                          f"(status {ticket['status']})")

    def wait_action(self, action: str, timeout: float = WAIT) -> None:
        self.wait(lambda d: self.exists(f"#action-{action}") or self.exists(f"#open-{action}"),
                  f"action {action} in #actions (shown: {self.allowed_actions()})", timeout)

    def act(self, action: str, fields: dict | None = None, optional: dict | None = None,
            expect_status: str | None = None, shot: str | None = None) -> None:
        """Performs a ticket action through #actions: opens its <details> when it has one, fills the
        inputs named as the API's parameters, clicks button#action-<action>, waits for the reload."""
        self.wait_action(action)
        if self.exists(f"#open-{action}"):
            if self.attr(f"#details-{action}", "open") is None:
                self.click(f"#open-{action}")

                def opened(_):
                    if self.attr(f"#details-{action}", "open") is not None:
                        return True
                    # A live refresh may have replaced #actions between finding the summary and the
                    # click, which then reached a detached copy: click the current one.
                    self.click(f"#open-{action}")
                    return self.attr(f"#details-{action}", "open") is not None

                self.wait(opened, f"#details-{action} to open")
            scope = f"#details-{action}"
        else:
            scope = None  # an action without inputs: no <details> wrapper (UI contract)
        for name, value in (fields or {}).items():
            if scope is None:
                raise UIError(f"[{self.label}] action {action} has no #details-{action}, so no input {name!r}")
            self.fill_field(scope, name, value, required=True)
        for name, value in (optional or {}).items():
            if scope is not None:
                self.fill_field(scope, name, value, required=False)
        if shot:
            self.shot(shot)
        self.click_and_wait_reload(f"#action-{action}", f"the page after action {action}")
        self.wait_loaded()
        self.expect_no_problem(f"action {action}")
        if expect_status:
            self.wait_status(expect_status)

    def fill_field(self, scope: str, name: str, value, required: bool = True) -> None:
        found = self.els(f"{scope} [name='{name}']")
        if not found:
            if required:
                names = self.js("return Array.from(document.querySelectorAll(arguments[0] + ' [name]')).map(e => e.name)", scope)
                raise UIError(f"[{self.label}] no input named {name!r} in {scope} (inputs: {names})")
            return
        element = found[0]
        tag = element.tag_name.lower()
        kind = (element.get_attribute("type") or "").lower()
        if tag == "select":
            if isinstance(value, dict):
                self.select(element, **value)
            else:
                self.select(element, text=str(value))
        elif kind in ("range", "date", "datetime-local", "time", "hidden"):
            self.set_value(element, str(value))
        elif kind == "checkbox":
            if bool(value) != element.is_selected():
                element.click()
        else:
            element.clear()
            element.send_keys(str(value))

    # ---- chat -----------------------------------------------------------------------------------
    def chat_send(self, body: str, internal: bool = False) -> None:
        """Posts a chat message (no reload) and waits until it is listed."""
        self.fill("#chat-body", body)
        if self.exists("#chat-internal"):
            box = self.el("#chat-internal")
            if box.is_selected() != internal:
                self.click("#chat-internal")
        elif internal:
            raise UIError(f"[{self.label}] #chat-internal is missing, cannot post an internal note")
        self.mark_document()
        self.click("#chat-send")
        self.wait_chat(body)
        if not self.still_same_document():
            raise UIError(f"[{self.label}] #chat-send reloaded the page (it should post without a reload)")
        # The message can arrive live before its own POST has finished; the form is ready for the
        # next one (body cleared, button enabled) only then, as a person would see it.
        self.wait(lambda d: self.js(
            "const b = document.getElementById('chat-send'); return !!b && !b.disabled"
            " && document.getElementById('chat-body').value === '';"), "#chat-send to be ready again")

    def chat_messages(self) -> list[dict]:
        return self.js(
            "return Array.from(document.querySelectorAll('#chat-messages .chat-message')).map(m => ({"
            " id: m.getAttribute('data-message-id'), text: m.textContent,"
            " internal: m.classList.contains('chat-internal')}))")

    def wait_chat(self, body: str, timeout: float = WAIT) -> dict:
        def found(_):
            for message in self.chat_messages():
                if body in message["text"]:
                    return message
            return False

        return self.wait(found, f"chat message {body!r} in #chat-messages", timeout)

    def notif_count(self) -> int:
        """The unread badge: 0 when hidden (class d-none) or empty."""
        return self.js(
            "const b = document.querySelector('#notif-count');"
            "if (!b || b.classList.contains('d-none')) return 0;"
            "const n = parseInt(b.textContent.trim(), 10); return isNaN(n) ? 0 : n;")

    def wait_charts_settled(self) -> None:
        """Waits until every Chart.js chart on the page has finished its drawing animation (so that a
        screenshot shows the real figures); a page without charts passes at once."""
        self.wait(lambda d: self.js(
            "if (!window.Chart || !Chart.instances) return true;"
            "const charts = Object.values(Chart.instances);"
            "const a = Chart.animator; if (!a) return true;"
            "const running = typeof a.running === 'function' ? c => a.running(c)"
            " : typeof a._running === 'function' ? c => a._running(c) : () => false;"
            "return charts.every(c => !running(c));"),
            "Chart.js animations to finish")

    def wait_notifications_loaded(self) -> None:
        """Waits until the header's script has filled #notif-list (and so set #notif-count)."""
        self.wait(lambda d: self.js("const l = document.querySelector('#notif-list');"
                                    "return !!l && !/Loading/i.test(l.textContent)"),
                  "the header's notifications to load into #notif-list")

    def console_errors(self) -> list[str]:
        try:
            return [e["message"] for e in self.d.get_log("browser") if e.get("level") == "SEVERE"]
        except WebDriverException:
            return []


def api(base_url: str, path: str, email: str | None = None, token: str | None = None, body: dict | None = None):
    """A JSON call to the API through the gateway (for checks behind the UI: what got stored).
    Signs in as `email` when no token is given; returns (json, token)."""
    import json
    import urllib.request

    def call(method, url_path, payload, bearer):
        request = urllib.request.Request(urljoin(base_url, url_path.lstrip("/")), method=method,
                                         data=None if payload is None else json.dumps(payload).encode())
        request.add_header("Content-Type", "application/json")
        if bearer:
            request.add_header("Authorization", f"Bearer {bearer}")
        with urllib.request.urlopen(request, timeout=15) as response:
            return json.loads(response.read() or b"null")

    if token is None:
        token = _TOKENS.get(email)
        if token is None:
            token = call("POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD}, None)["access_token"]
            _TOKENS[email] = token
    return call("GET" if body is None else "POST", path, body, token), token


_TOKENS: dict[str, str] = {}  # email -> access token (15 minutes; the suite takes a few)


def unique(label: str) -> str:
    """A short token that keeps titles of repeated runs against one stack apart."""
    return f"{label} {time.strftime('%H%M%S')}-{os.getpid() % 1000:03d}"
