"""The other actions of each role: withdraw, reject (and the API's problem detail when its reason
is missing), split into a sub-ticket, postpone with the date picker, resume, request and provide
information, resolve and reopen with a reason."""
import datetime

from hdms_ui import PEOPLE, api, unique


def test_withdraw_reject_split_and_problem_detail(browser):
    requestor = browser("requestor")
    requestor.login("requestor@hdms.test")
    draft = requestor.create_ticket(unique("Typo ticket"), "Raised by mistake.", submit=False)
    requestor.act("withdraw", optional={"reason": "Raised by mistake"}, expect_status="withdrawn")
    assert not requestor.allowed_actions(), f"a withdrawn ticket still offers {requestor.allowed_actions()}"
    rejected = requestor.create_ticket(unique("Duplicate request"), "Same as my other ticket.")
    parent = requestor.create_ticket(unique("Office move for HR"), "Desks, network and badges for 5 people.")
    requestor.close()

    moderator = browser("moderator")
    moderator.login("moderator@hdms.test")
    moderator.open_ticket(rejected)
    # Without its reason the API refuses; the page shows the problem detail, not a blank page.
    moderator.wait_action("reject")
    moderator.click("#open-reject")
    moderator.js("document.querySelectorAll('#details-reject [required]').forEach(e => e.removeAttribute('required'))")
    moderator.click_and_wait_reload("#action-reject", "the refused reject")
    moderator.wait(lambda d: moderator.problem() != "", "#problem after a reject without a reason")
    assert "alert-danger" in (moderator.attr("#problem", "class") or "")
    assert moderator.status() == "submitted", moderator.status()
    moderator.shot("01-reject-without-reason")
    moderator.act("reject", fields={"reason": "Duplicate of an open ticket."}, expect_status="rejected")

    moderator.open_ticket(parent)
    moderator.act("start_review", expect_status="under_review")
    moderator.act("split", fields={"title": "Network points for 5 desks", "description": "Patch 5 ports in room 2.14.",
                                   "department_id": {"text": "Operations"}})
    moderator.wait(lambda d: len(moderator.els("#subtickets tr.ticket-row")) == 1, "the sub-ticket in #subtickets")
    moderator.full_shot("02-split")
    sub_link = moderator.js("return document.querySelector('#subtickets tr.ticket-row a.ticket-link').href")
    moderator.d.get(sub_link)
    moderator.el("#ticket-status")
    assert moderator.text("#ticket-title") == "Network points for 5 desks"

    requestor = browser("requestor-again")
    requestor.login("requestor@hdms.test")
    requestor.open_ticket(draft)
    requestor.wait_status("withdrawn")


def test_postpone_info_resolve_reopen(browser):
    title = unique("Air conditioning too cold")
    requestor = browser("requestor")
    requestor.login("requestor@hdms.test")
    ticket = requestor.create_ticket(title, "Room 3.02 is at 17 °C.")

    moderator = browser("moderator")
    moderator.login("moderator@hdms.test")
    moderator.open_ticket(ticket)
    moderator.act("start_review", expect_status="under_review")
    moderator.act("assign", fields={
        "department_id": {"text": "IT"},
        "assignee_id": {"matches": [PEOPLE["agent@hdms.test"], "agent@hdms.test"]},
    }, expect_status="assigned")
    moderator.close()

    # The assignee works from India (UTC+05:30): the date picker's wall time is theirs.
    agent = browser("agent")
    agent.d.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Kolkata"})
    agent.login("agent@hdms.test")
    agent.open_ticket(ticket)
    agent.act("acknowledge", expect_status="in_progress")
    day = datetime.date.today() + datetime.timedelta(days=3)
    agent.act("postpone", fields={"resume_at": f"{day.isoformat()}T09:00", "reason": "Waiting for the technician."},
              shot="01-postpone-picker", expect_status="postponed")
    history, _ = api(agent.base, f"/api/v1/tickets/{ticket}/history", email="agent@hdms.test")
    stored = [i["changes"]["resume_at"]["to"] for i in history["items"] if i["action"] == "postpone"]
    assert stored == [f"{day.isoformat()}T03:30:00Z"], \
        f"09:00 picked in Asia/Kolkata was stored as {stored} (expected {day.isoformat()}T03:30:00Z)"
    agent.act("resume", expect_status="in_progress")
    agent.act("request_info", fields={"reason": "Which thermostat do you mean?"}, expect_status="pending")

    requestor.open_ticket(ticket)
    requestor.wait_status("pending")
    requestor.act("provide_info", fields={"comment": "The one next to the door."}, expect_status="in_progress")

    agent.open_ticket(ticket)
    agent.act("resolve", expect_status="resolved")

    requestor.open_ticket(ticket)
    requestor.act("reopen", fields={"reason": "Still 17 °C this morning."}, expect_status="in_progress")
    actions = requestor.timeline_actions()
    for action in ("postpone", "resume", "request_info", "provide_info", "resolve", "reopen"):
        assert action in actions, f"timeline lacks {action}: {actions}"
    requestor.full_shot("02-reopened")
