"""WCAG 2.1 AA basics that a script can check: every form control has an accessible name (a
label, aria-label or aria-labelledby), images have alt text, the page has a language, a title and
one h1, and the keyboard reaches the main controls."""
from selenium.webdriver.common.keys import Keys

from hdms_ui import unique

UNLABELLED = """
const out = [];
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (['hidden', 'submit', 'button', 'reset'].includes(el.type)) continue;
  const named = (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`)) || el.closest('label')
    || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.getAttribute('title');
  if (!named) out.push(el.outerHTML.slice(0, 120));
}
for (const img of document.querySelectorAll('img:not([alt])')) out.push(img.outerHTML.slice(0, 120));
for (const b of document.querySelectorAll('button, a[href]')) {
  if (!b.textContent.trim() && !b.getAttribute('aria-label') && !b.getAttribute('title') && !b.querySelector('img[alt]'))
    out.push(b.outerHTML.slice(0, 120));
}
return out;
"""


def check_page(ui, path, problems):
    ui.go(path)
    found = ui.js(UNLABELLED)
    if found:
        problems.append(f"{path}: unnamed controls {found}")
    lang = ui.js("return document.documentElement.lang")
    if not lang:
        problems.append(f"{path}: <html> has no lang")
    if not ui.d.title.strip():
        problems.append(f"{path}: empty <title>")
    if len(ui.els("h1")) != 1:
        problems.append(f"{path}: {len(ui.els('h1'))} h1 elements")


def test_labels_and_keyboard(browser):
    ui = browser("moderator")
    ui.go("/login")
    problems = []
    found = ui.js(UNLABELLED)
    if found:
        problems.append(f"/login: unnamed controls {found}")
    # Keyboard only: type the email, tab to the password, Enter signs in.
    ui.el("#email").send_keys("moderator@hdms.test")
    ui.el("#email").send_keys(Keys.TAB)
    assert ui.js("return document.activeElement.id") == "password", "Tab from #email does not reach #password"
    ui.d.switch_to.active_element.send_keys("hdms-demo", Keys.ENTER)
    ui.wait(lambda d: ui.path().startswith("/dashboard") and ui.exists("#sign-out"), "/dashboard after a keyboard sign-in")

    # The skip link is the first stop of the keyboard and leads to the main content.
    ui.go("/tickets")
    ui.el("body").send_keys(Keys.TAB)
    first = ui.js("const a = document.activeElement; return [a.tagName, a.getAttribute('href') || '', a.textContent.trim()]")
    if first[1] != "#main":
        problems.append(f"/tickets: the first Tab stop is {first}, not a skip link to #main")

    ticket = None
    for path in ["/dashboard", "/tickets", "/tickets/new", "/approvals", "/notifications", "/profile"]:
        check_page(ui, path, problems)
    requestor = browser("requestor")
    requestor.login("requestor@hdms.test")
    ticket = requestor.create_ticket(unique("Labels check"), "A ticket to look at the action forms.")
    requestor.close()
    ui.open_ticket(ticket)
    check_page(ui, f"/tickets/{ticket}", problems)
    # Open every action's form: their fields must be labelled too.
    for summary in ui.els("#actions summary"):
        ui.js("arguments[0].parentElement.open = true", summary)
    found = ui.js(UNLABELLED)
    if found:
        problems.append(f"/tickets/<id> with action forms open: unnamed controls {found}")
    ui.full_shot("ticket-actions-open")
    assert not problems, "accessibility basics:\n" + "\n".join(problems)
