"""Scenario 3: an assignee's internal note stays with the staff; the requestor sees public replies
only, live and after a reload. Also the header's live notification badge, dropdown and read-all."""
import time

from hdms_ui import PEOPLE, unique


def assigned_ticket(browser, title):
    """A ticket of requestor@ assigned to agent@, through the UI; returns (requestor UI, id)."""
    requestor = browser("requestor")
    requestor.login("requestor@hdms.test")
    ticket = requestor.create_ticket(title, "Please grant me access to the shared HR drive.", department="IT")
    moderator = browser("moderator")
    moderator.login("moderator@hdms.test")
    moderator.open_ticket(ticket)
    moderator.act("start_review", expect_status="under_review")
    moderator.act("assign", fields={
        "department_id": {"text": "IT"},
        "assignee_id": {"matches": [PEOPLE["agent@hdms.test"], "agent@hdms.test"]},
    }, expect_status="assigned")
    moderator.close()
    return requestor, ticket


def test_requestor_never_sees_internal_notes(browser):
    title = unique("Access to the HR drive")
    requestor, ticket = assigned_ticket(browser, title)
    requestor.open_ticket(ticket)
    assert requestor.exists("#chat-body") and requestor.exists("#chat-send")
    assert not requestor.exists("#chat-internal"), "a requestor is offered #chat-internal"
    requestor.wait_live_ready()
    requestor.mark_document()

    agent = browser("agent")
    agent.login("agent@hdms.test")
    agent.open_ticket(ticket)
    assert agent.exists("#chat-internal"), "staff lack #chat-internal"
    note = f"INTERNAL: check the requestor's manager approved this ({title})"
    public = f"Public: access granted, please sign out and in again ({title})"
    agent.chat_send(note, internal=True)
    message = agent.wait_chat(note)
    assert message["internal"], "the agent's internal note lacks class chat-internal"
    agent.chat_send(public)
    assert not agent.wait_chat(public)["internal"], "a public reply is marked chat-internal"
    agent.shot("01-agent-chat")

    requestor.wait_chat(public)  # live, after the note was posted
    assert requestor.still_same_document(), "the requestor's page reloaded instead of updating live"
    texts = [m["text"] for m in requestor.chat_messages()]
    assert not any("INTERNAL:" in t for t in texts), f"the requestor sees the internal note live: {texts}"
    requestor.shot("02-requestor-live-public-only")

    requestor.open_ticket(ticket)
    requestor.wait_chat(public)
    texts = [m["text"] for m in requestor.chat_messages()]
    assert not any("INTERNAL:" in t for t in texts), f"the requestor sees the internal note after reload: {texts}"
    assert "INTERNAL:" not in requestor.d.page_source, "the internal note is in the requestor's page source"
    assert not requestor.els("#chat-messages .chat-internal")
    requestor.shot("03-requestor-reloaded-public-only")


def read_all(ui, timeout=20.0):
    """Marks everything read through the header's menu until the badge stays at 0 for a second
    (notifications of the setup's own actions may still be arriving when the test starts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not ui.js("return document.querySelector('#notif-toggle').getAttribute('aria-expanded') === 'true'"):
            ui.click("#notif-toggle")
        ui.click("#notif-read-all")
        try:
            ui.wait(lambda d: ui.notif_count() == 0, "#notif-count to drop to 0 after #notif-read-all", timeout=5)
            ui.wait(lambda d: ui.notif_count() != 0, "a late notification", timeout=1.0)
        except AssertionError as error:
            if "late notification" in str(error):
                return  # stayed at 0
    raise AssertionError(f"#notif-count did not stay at 0 after #notif-read-all (now {ui.notif_count()})")


def test_notifications_live_badge_and_read_all(browser):
    title = unique("Printer on floor 2 jams")
    requestor, ticket = assigned_ticket(browser, title)
    requestor.go("/notifications")
    requestor.el("#notification-list")
    requestor.wait_notifications_loaded()
    # Start from zero unread so that the live increment is unambiguous.
    read_all(requestor)
    requestor.go("/tickets")
    requestor.wait_live_ready()
    requestor.wait_notifications_loaded()
    requestor.mark_document()
    assert "d-none" in (requestor.attr("#notif-count", "class") or ""), "#notif-count is shown at 0 unread"

    agent = browser("agent")
    agent.login("agent@hdms.test")
    agent.open_ticket(ticket)
    agent.chat_send(f"Which printer exactly? ({title})")

    requestor.wait(lambda d: requestor.notif_count() >= 1, "#notif-count to rise live after the agent's reply")
    assert requestor.still_same_document(), "the badge came with a reload, not live"
    requestor.click("#notif-toggle")
    requestor.el("#notif-list .notif-item", visible=True)
    requestor.shot("01-notification-dropdown")
    read_all(requestor)
    requestor.wait(lambda d: "d-none" in (requestor.attr("#notif-count", "class") or ""), "#notif-count hidden at 0")

    requestor.go("/notifications")
    items = requestor.els("#notification-list .notif-item")
    assert items, "/notifications lists nothing after a reply"
    assert any(ticket.lower() in (i.get_attribute("innerHTML") or "").lower() or title[:10] in i.text
               or "HD-" in i.text for i in items), "no notification points at the ticket"
    requestor.shot("02-notifications-page")


def test_typing_while_a_message_is_sent_is_kept(browser):
    """The chat box empties as a message leaves: the next one, typed while the first is still on
    its way, is kept; a refused message comes back into the box."""
    requestor = browser("requestor")
    requestor.login("requestor@hdms.test")
    requestor.create_ticket("Typing while sending", "Two messages in quick succession", department="IT")
    first, second = "First of two quick messages", "and the second, typed while the first was sent"
    # The first message stays on its way for a second.
    requestor.js("const post = window.hdmsPost;"
                 " window.hdmsPost = (...args) => new Promise(done => setTimeout(done, 1000)).then(() => post(...args));")
    requestor.fill("#chat-body", first)
    requestor.click("#chat-send")
    assert requestor.js("return document.getElementById('chat-send').disabled"), "the first message already arrived"
    assert requestor.js("return document.getElementById('chat-body').value") == "", "the box still holds the sent message"
    requestor.el("#chat-body").send_keys(second)
    requestor.wait_chat(first)
    requestor.wait(lambda d: requestor.js("return !document.getElementById('chat-send').disabled"), "#chat-send enabled again")
    assert requestor.js("return document.getElementById('chat-body').value") == second, "what was typed meanwhile is lost"

    # A refused message (the server refuses one over the length limit) goes back into the box.
    too_long = "x" * 20000
    requestor.js("document.getElementById('chat-body').value = arguments[0]", too_long)
    requestor.click("#chat-send")
    requestor.wait(lambda d: requestor.text("#chat-problem"), "the problem to be shown")
    assert requestor.js("return document.getElementById('chat-body').value") == too_long, "the refused message is lost"
