// The ticket page: chat without reloads, uploads with progress, and live refresh of the parts of
// the page that change when someone else acts on the ticket.
(() => {
  "use strict";
  const root = document.getElementById("ticket");
  if (!root) return;
  const ticketId = root.dataset.ticketId.toLowerCase();

  // Parts of the page replaced with fresh copies when the ticket changes.
  const regions = ["ticket-summary", "timeline", "chat-messages", "attachments", "approvals", "subtickets", "actions"];
  let refreshing = null;
  async function refresh() {
    const response = await fetch(location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const id of regions) {
      const current = document.getElementById(id), next = fresh.getElementById(id);
      if (!current || !next) continue;
      // Never pull an action form from under someone who is filling it in.
      if (id === "actions" && (current.querySelector("details[open]") || current.contains(document.activeElement))) continue;
      current.replaceWith(next);
      window.hdmsLocalise(next);
    }
    const version = fresh.getElementById("ticket")?.dataset.version;
    if (version) root.dataset.version = version;
    scrollChat();
  }
  function scheduleRefresh() {
    clearTimeout(refreshing);
    refreshing = setTimeout(() => refresh().catch(() => {}), 200);
  }
  document.addEventListener("hdms:frame", (event) => {
    const frame = event.detail;
    const about = frame.ticket_id || frame.message?.ticket_id || frame.notification?.ticket_id;
    if (about && about.toLowerCase() === ticketId) scheduleRefresh();
  });

  function scrollChat() {
    const list = document.getElementById("chat-messages");
    if (list) list.scrollTop = list.scrollHeight;
  }
  scrollChat();

  // Chat: post without a reload; the message appears at once (and again, harmlessly, live). The
  // box empties as the message leaves, so the next one can be typed while it is on its way; a
  // message that is refused goes back into the box, before anything typed since.
  const chat = document.getElementById("chat-form");
  chat?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = document.getElementById("chat-body");
    const internal = document.getElementById("chat-internal");
    const problem = document.getElementById("chat-problem");
    const button = document.getElementById("chat-send");
    problem.textContent = "";
    button.disabled = true; button.setAttribute("aria-busy", "true");
    const sent = text.value;
    text.value = "";
    try {
      const fields = { body: sent };
      if (internal?.checked) fields.internal = "on";
      await window.hdmsPost(`/tickets/${ticketId}/messages`, fields);
      await refresh();
    } catch (error) {
      text.value = text.value ? `${sent}\n${text.value}` : sent;
      problem.textContent = error.message;
    } finally {
      button.disabled = false; button.removeAttribute("aria-busy"); delete chat.dataset.submitting;
      text.focus();
    }
  });

  // Attachments: straight to file-service with the access token (progress events need XHR),
  // then announced in the conversation so that everyone involved sees them.
  const zone = document.getElementById("dropzone");
  const input = document.getElementById("file-input");
  function upload(file, credentials, internal) {
    return new Promise((resolve, reject) => {
      const bar = document.getElementById("upload-progress");
      const fill = bar.firstElementChild;
      bar.classList.remove("d-none");
      const request = new XMLHttpRequest();
      const query = `ticket_id=${ticketId}&filename=${encodeURIComponent(file.name)}${internal ? "&internal=true" : ""}`;
      request.open("POST", `/api/v1/files?${query}`);
      request.setRequestHeader("Authorization", `Bearer ${credentials.token}`);
      request.setRequestHeader("Content-Type", file.type || "application/octet-stream");
      request.upload.addEventListener("progress", (event) => {
        if (!event.lengthComputable) return;
        const percent = Math.round(100 * event.loaded / event.total);
        fill.style.width = `${percent}%`;
        bar.setAttribute("aria-valuenow", String(percent));
      });
      request.addEventListener("load", () => {
        let data = {};
        try { data = JSON.parse(request.responseText); } catch (_) {}
        if (request.status >= 200 && request.status < 300) resolve(data);
        else reject(new Error(`${file.name}: ${data.detail || data.title || "upload failed (" + request.status + ")"}`));
      });
      request.addEventListener("error", () => reject(new Error(`${file.name}: the upload was interrupted`)));
      request.send(file);
    });
  }
  async function uploadAll(files) {
    const problem = document.getElementById("upload-problem");
    problem.textContent = "";
    const internal = document.getElementById("chat-internal")?.checked || false;
    for (const file of files) {
      try {
        const credentials = await window.hdmsToken();
        const stored = await upload(file, credentials, internal);
        const fields = new URLSearchParams({ body: `Attached ${stored.filename}` });
        fields.append("attachment_id", stored.id);
        if (internal) fields.append("internal", "on");
        await window.hdmsPost(`/tickets/${ticketId}/messages`, Object.fromEntries(fields));
      } catch (error) {
        problem.textContent = error.message;
      }
    }
    document.getElementById("upload-progress")?.classList.add("d-none");
    input.value = "";
    await refresh();
  }
  input?.addEventListener("change", () => { if (input.files.length) uploadAll([...input.files]); });
  zone?.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("dropzone-over"); });
  zone?.addEventListener("dragleave", () => zone.classList.remove("dropzone-over"));
  zone?.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dropzone-over");
    if (event.dataTransfer.files.length) uploadAll([...event.dataTransfer.files]);
  });
})();
