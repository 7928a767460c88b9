"""Scenario 1: requestor creates and submits; moderator reviews and assigns; the assignee
acknowledges, chats, sets progress with the slider and resolves while the requestor's open page
follows live (no reload); the requestor confirms."""
from hdms_ui import PEOPLE, unique


def test_ticket_lifecycle_with_live_requestor_page(browser):
    title = unique("Laptop will not start")
    requestor = browser("requestor")
    requestor.login("requestor@hdms.test")
    ticket = requestor.create_ticket(title, "The laptop stays black after the power button.\nSerial 12345.",
                                     department="IT", priority="high", shot="01-new-ticket")
    assert requestor.text("#ticket-title") == title
    assert requestor.text("#ticket-number").startswith("HD-")
    number = requestor.text("#ticket-number")
    assert requestor.exists("#timeline li[data-action='submit']"), "timeline lacks the submit entry"
    requestor.shot("02-requestor-submitted")

    # The requestor's list shows it.
    requestor.go("/tickets")
    rows = [r for r in requestor.els("#ticket-list tr.ticket-row")
            if (r.get_attribute("data-ticket-id") or "").lower() == ticket.lower()]
    assert rows, f"/tickets lacks the new ticket {ticket}"
    assert rows[0].get_attribute("data-number") == number
    requestor.shot("03-requestor-list")

    # Moderator: start review, assign to IT / Alex Agent.
    moderator = browser("moderator")
    moderator.login("moderator@hdms.test")
    moderator.open_ticket(ticket)
    moderator.expect_actions_as_api(ticket)
    moderator.act("start_review", expect_status="under_review")
    moderator.expect_actions_as_api(ticket)
    moderator.act("assign", fields={
        "department_id": {"text": "IT"},
        "assignee_id": {"matches": [PEOPLE["agent@hdms.test"], "agent@hdms.test"]},
    }, shot="04-moderator-assign")
    moderator.wait_status("assigned")
    moderator.shot("05-moderator-assigned")

    # The requestor's page is open and live before the assignee acts.
    requestor.open_ticket(ticket)
    requestor.wait_status("assigned")
    requestor.wait_live_ready()
    requestor.mark_document()

    agent = browser("agent")
    agent.login("agent@hdms.test")
    agent.open_ticket(ticket)
    agent.expect_actions_as_api(ticket)
    agent.act("acknowledge", expect_status="in_progress")
    agent.expect_actions_as_api(ticket)
    requestor.wait_status("in_progress")

    reply = f"Hello, I am on it ({title})."
    agent.wait_live_ready()
    agent.chat_send(reply)
    requestor.wait_chat(reply)
    requestor.shot("06-requestor-sees-live-reply")

    agent.act("update_progress", fields={"progress": "60"}, shot="07-agent-progress")
    assert agent.attr("#ticket-progress", "aria-valuenow") == "60"
    agent.act("resolve", optional={"comment": "Replaced the power supply."}, expect_status="resolved")
    agent.shot("08-agent-resolved")

    requestor.wait_status("resolved")
    assert requestor.still_same_document(), "the requestor's page reloaded instead of updating live"
    requestor.shot("09-requestor-sees-live-resolved")

    # The requestor confirms on the (reloaded) page; the ticket closes.
    requestor.open_ticket(ticket)
    requestor.expect_actions_as_api(ticket)
    assert requestor.attr("#ticket-progress", "aria-valuenow") == "100"
    requestor.act("confirm", expect_status="closed")
    actions = requestor.timeline_actions()
    for action in ("submit", "start_review", "assign", "acknowledge", "resolve", "confirm"):
        assert action in actions, f"timeline lacks {action}: {actions}"
    assert set(requestor.allowed_actions()) <= {"reopen"}, f"a closed ticket offers {requestor.allowed_actions()}"
    requestor.full_shot("10-requestor-closed")
