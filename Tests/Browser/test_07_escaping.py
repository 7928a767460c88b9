"""Scenario 6: markup typed by a user renders as text: a ticket titled
<script>window.__xss=1</script> (and hostile description and chat) runs nothing."""

TITLE = "<script>window.__xss=1</script>"
DESCRIPTION = 'See <img src=x onerror="window.__xss=2"> and <b>bold</b> "quotes" & ampersands'
CHAT = "<img src=x onerror=\"window.__xss=3\"><script>window.__xss=4</script> {{mustache}}"


def xss(ui):
    return ui.js("return typeof window.__xss === 'undefined' ? null : window.__xss")


def test_script_title_renders_inert(browser):
    requestor = browser("requestor")
    requestor.login("requestor@hdms.test")
    ticket = requestor.create_ticket(TITLE, DESCRIPTION, department="IT")
    assert xss(requestor) is None, f"window.__xss = {xss(requestor)} on the ticket page"
    assert requestor.text("#ticket-title") == TITLE, requestor.text("#ticket-title")
    body = requestor.js("return document.body.innerText")
    assert 'onerror="window.__xss=2"' in body, "the description's markup is not shown as text"
    assert not requestor.els("#ticket-title script, #ticket-title img, main img[src='x']")
    requestor.chat_send(CHAT)
    requestor.open_ticket(ticket)
    requestor.wait_chat("{{mustache}}")
    assert xss(requestor) is None, f"window.__xss = {xss(requestor)} after the chat message"
    requestor.shot("01-ticket-page")

    requestor.go("/tickets")
    rows = [r for r in requestor.els("#ticket-list tr.ticket-row")
            if (r.get_attribute("data-ticket-id") or "").lower() == ticket.lower()]
    assert rows and TITLE in rows[0].text, "the list does not show the title as text"
    assert xss(requestor) is None, f"window.__xss = {xss(requestor)} on /tickets"
    requestor.shot("02-list")

    moderator = browser("moderator")
    moderator.login("moderator@hdms.test")
    moderator.open_ticket(ticket)
    assert xss(moderator) is None, f"window.__xss = {xss(moderator)} on the moderator's ticket page"
    assert moderator.text("#ticket-title") == TITLE
    moderator.go("/tickets?q=xss")
    assert xss(moderator) is None
