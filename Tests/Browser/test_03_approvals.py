"""Scenario 2: the moderator asks for approval along "Department head → Finance → CEO" on a
requestor's ticket; head.hr, head.finance and the CEO each find it in /approvals and approve."""
from hdms_ui import unique

ROUTE = "Department head → Finance → CEO"
APPROVERS = ["head.hr@hdms.test", "head.finance@hdms.test", "ceo@hdms.test"]


def approval_rows(ui, ticket):
    return [r for r in ui.els("#approval-list tr[data-ticket-id]")
            if (r.get_attribute("data-ticket-id") or "").lower() == ticket.lower()]


def test_approval_route_walked_by_three_approvers(browser):
    title = unique("New standing desk for the HR office")
    requestor = browser("requestor")
    requestor.login("requestor@hdms.test")
    ticket = requestor.create_ticket(title, "A height-adjustable desk, about 450 EUR.", department="IT")
    requestor.close()  # keep at most two browsers open at a time

    moderator = browser("moderator")
    moderator.login("moderator@hdms.test")
    moderator.open_ticket(ticket)
    moderator.act("start_review", expect_status="under_review")
    moderator.act("request_approval", fields={"route_id": {"text": ROUTE}},
                  optional={"comment": "Needs budget approval."}, shot="01-moderator-route")
    moderator.wait_status("pending_approval")
    assert moderator.exists("#approvals"), "the ticket page lacks #approvals"
    moderator.full_shot("02-pending-approval")
    moderator.close()

    for step, email in enumerate(APPROVERS, start=1):
        who = email.split("@")[0]
        approver = browser(who)
        approver.login(email)
        approver.go("/approvals")
        rows = approver.wait(lambda d: approval_rows(approver, ticket),
                             f"ticket {ticket} in {email}'s /approvals")
        approver.shot(f"{step + 2:02d}-{who}-approvals")
        link = rows[0].find_elements("css selector", "a")
        if link:
            approver.js("arguments[0].click()", link[0])
            approver.wait(lambda d: ticket.lower() in d.current_url.lower(), "the ticket page from /approvals")
            approver.el("#ticket-status")
        else:
            approver.open_ticket(ticket)
        approver.wait_status("pending_approval")
        assert "decline" in approver.allowed_actions() or approver.exists("#open-decline"), \
            f"{email} is not offered decline: {approver.allowed_actions()}"
        approver.act("approve", optional={"comment": f"Approved by {who}."})
        expected = "under_review" if step == len(APPROVERS) else "pending_approval"
        approver.wait_status(expected)
        approver.go("/approvals")  # an empty queue may show an empty state instead of #approval-list
        assert not approval_rows(approver, ticket), f"{email} still finds the ticket in /approvals after approving"
        approver.close()

    moderator = browser("moderator-after")
    moderator.login("moderator@hdms.test")
    moderator.open_ticket(ticket)
    moderator.wait_status("under_review")
    actions = moderator.timeline_actions()
    assert actions.count("approve") >= 1 and "request_approval" in actions, actions
    approvals = moderator.text("#approvals")
    for name in ("Harper Head", "Finley Finance", "Casey Chief"):
        assert name in approvals, f"#approvals does not name {name}: {approvals!r}"
    moderator.full_shot("06-approved-back-to-review")
