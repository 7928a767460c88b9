// HDMS page script: local times, busy forms, the notifications menu and the live socket.
(() => {
  "use strict";
  const body = document.body;
  const csrf = body.dataset.csrf || "";

  // Dates arrive as RFC 3339 UTC; show them in the reader's time zone.
  const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  function localise(root) {
    for (const node of root.querySelectorAll("time[data-local]")) {
      const value = new Date(node.getAttribute("datetime"));
      if (!isNaN(value)) { node.textContent = dateFormat.format(value); node.title = node.getAttribute("datetime"); }
    }
  }
  window.hdmsLocalise = localise;
  localise(document);
  const zone = document.getElementById("profile-zone");
  if (zone) zone.textContent = Intl.DateTimeFormat().resolvedOptions().timeZone;

  // Slow actions: disable the button and show a spinner; one submission per click.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented) return;
    for (const input of form.querySelectorAll('input[type="datetime-local"]')) {
      if (!input.value) continue;
      const hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = input.name + "_utc"; hidden.value = new Date(input.value).toISOString();
      form.appendChild(hidden);
    }
    if (!form.hasAttribute("data-busy")) return;
    const button = event.submitter || form.querySelector('button[type="submit"]');
    if (form.dataset.submitting === "1") { event.preventDefault(); return; }
    form.dataset.submitting = "1";
    if (button) {
      // A submit button's own name/value must still travel once it is disabled.
      if (button.name) { const carry = document.createElement("input"); carry.type = "hidden"; carry.name = button.name; carry.value = button.value; form.appendChild(carry); }
      setTimeout(() => { button.disabled = true; button.setAttribute("aria-busy", "true"); }, 0);
    }
  });
  window.addEventListener("pageshow", () => {
    for (const form of document.querySelectorAll("form[data-submitting]")) delete form.dataset.submitting;
    for (const button of document.querySelectorAll('button[aria-busy="true"]')) { button.disabled = false; button.removeAttribute("aria-busy"); }
  });

  // Range inputs show their value next to the label.
  document.addEventListener("input", (event) => {
    if (event.target.id === "progress-input") {
      const output = document.getElementById("progress-output");
      if (output) output.textContent = event.target.value;
    }
  });

  // The CSV import reads the chosen file into the form's text field.
  const importFile = document.getElementById("import-file");
  if (importFile) importFile.addEventListener("change", async () => {
    const file = importFile.files[0];
    if (file) document.getElementById("import-csv").value = await file.text();
  });

  // Report downloads follow the chosen date range.
  const reportRange = document.getElementById("report-range");
  if (reportRange) reportRange.addEventListener("change", () => {
    const from = document.getElementById("report-from").value, to = document.getElementById("report-to").value;
    for (const link of document.querySelectorAll("a[data-report]")) {
      link.href = `/reports/${link.dataset.report}?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    }
  });

  if (!body.dataset.signedIn) return;

  // Writes from scripts carry the CSRF token and ask for JSON.
  async function post(url, fields) {
    const form = new URLSearchParams(fields || {});
    form.set("_csrf", csrf);
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: form,
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw Object.assign(new Error(data.detail || data.title || `HTTP ${response.status}`), { problem: data });
    return data;
  }
  window.hdmsPost = post;

  async function token() {
    const response = await fetch("/session/token", { headers: { "Accept": "application/json" }, credentials: "same-origin" });
    if (response.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); throw new Error("signed out"); }
    if (!response.ok) throw new Error("no token");
    return response.json();
  }
  window.hdmsToken = token;

  // Notifications: the badge, the dropdown and marking read.
  const count = document.getElementById("notif-count");
  const list = document.getElementById("notif-list");
  let unread = 0;
  function showCount() {
    if (!count) return;
    count.textContent = unread > 99 ? "99+" : String(unread);
    count.classList.toggle("d-none", unread === 0);
    document.getElementById("notif-toggle")?.setAttribute("aria-label", `Notifications, ${unread} unread`);
  }
  function notificationItem(item) {
    const link = document.createElement("a");
    link.className = "notif-item" + (item.unread ? " notif-unread" : "");
    link.href = item.ticket_id ? `/tickets/${item.ticket_id}` : "/notifications";
    link.dataset.notificationId = item.id;
    const title = document.createElement("div"); title.className = "fw-semibold small"; title.textContent = item.title;
    const text = document.createElement("div"); text.className = "small text-body-secondary text-truncate"; text.textContent = item.body;
    link.append(title, text);
    link.addEventListener("click", () => { if (item.unread) post(`/notifications/${item.id}/read`).catch(() => {}); });
    return link;
  }
  async function loadNotifications() {
    try {
      const response = await fetch("/notifications/summary", { headers: { "Accept": "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      const summary = await response.json();
      unread = summary.unread;
      showCount();
      list.replaceChildren(...summary.items.map(notificationItem));
      if (!summary.items.length) list.innerHTML = '<p class="text-body-secondary small px-3 mb-1">Nothing yet.</p>';
    } catch (_) { /* the badge stays as it was */ }
  }
  // The menu opens and closes by itself (Debian's Bootstrap bundle comes without Popper).
  const toggle = document.getElementById("notif-toggle");
  const menu = document.getElementById("notif-menu");
  function openMenu(open) {
    menu.classList.toggle("show", open);
    toggle.setAttribute("aria-expanded", String(open));
    if (open) loadNotifications();
  }
  toggle?.addEventListener("click", (event) => { event.stopPropagation(); openMenu(!menu.classList.contains("show")); });
  document.addEventListener("click", (event) => { if (menu?.classList.contains("show") && !menu.contains(event.target)) openMenu(false); });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape" && menu?.classList.contains("show")) { openMenu(false); toggle.focus(); } });

  document.getElementById("notif-read-all")?.addEventListener("click", async () => {
    try { await post("/notifications/read-all"); unread = 0; showCount(); for (const item of list.querySelectorAll(".notif-unread")) item.classList.remove("notif-unread"); } catch (_) {}
  });
  loadNotifications();

  // The live socket: authenticates with the session's access token, resumes from the last frame
  // seen, and hands every frame to the page as an "hdms:frame" event.
  const status = document.getElementById("live-status");
  function setState(state) {
    if (!status) return;
    status.dataset.state = state;
    status.title = `Live updates: ${state === "ready" ? "on" : state}`;
    status.firstElementChild.textContent = `Live updates ${state === "ready" ? "on" : state}`;
  }
  let delay = 1000;
  let summaryTimer;
  async function connect() {
    setState("connecting");
    let credentials;
    try { credentials = await token(); } catch (_) { setState("closed"); setTimeout(connect, delay = Math.min(delay * 2, 30000)); return; }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
    const lastKey = `hdms:last:${credentials.user_id}`;
    socket.addEventListener("open", () => {
      const hello = { type: "auth", token: credentials.token };
      const last = sessionStorage.getItem(lastKey);
      if (last) hello.last_id = last;
      socket.send(JSON.stringify(hello));
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (_) { return; }
      if (frame.type === "ready") { setState("ready"); delay = 1000; return; }
      if (frame.type === "error") return;
      if (frame.id) sessionStorage.setItem(lastKey, frame.id);
      if (frame.type === "notification") {
        // Replayed and live frames alike: re-read the summary once the burst is over.
        clearTimeout(summaryTimer);
        summaryTimer = setTimeout(loadNotifications, 250);
      }
      document.dispatchEvent(new CustomEvent("hdms:frame", { detail: frame }));
    });
    socket.addEventListener("close", () => {
      setState("closed");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }
  connect();
})();
