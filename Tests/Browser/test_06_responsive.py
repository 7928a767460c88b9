"""Scenario 5: the ticket page fits a 360 px phone (no horizontal scroll) and a 1440 px desktop;
the other main pages are checked at 360 px as well."""
from hdms_ui import unique

LONG_WORD = "https://intranet.example/hr/forms/" + "very-long-path-segment-" * 5 + "end"


def emulate(ui, width, height, mobile):
    ui.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                         {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def overflow(ui):
    return ui.js("return [document.documentElement.scrollWidth, window.innerWidth]")


def test_ticket_page_at_360_and_1440(browser):
    ui = browser("requestor", width=1280, height=900)
    ui.login("requestor@hdms.test")
    ticket = ui.create_ticket(unique("Payslip PDF cut off on the phone"),
                              f"When I open {LONG_WORD} on my phone the payslip is cut off.", department="IT")
    ui.chat_send(f"Here is the link again: {LONG_WORD}")

    emulate(ui, 360, 780, mobile=True)
    ui.open_ticket(ticket)
    ui.wait_live_ready()
    scroll_width, inner_width = overflow(ui)
    ui.shot("ticket-360")
    height = ui.js("return document.documentElement.scrollHeight")
    emulate(ui, 360, min(int(height), 6000), mobile=True)  # the whole page, as one tall phone
    ui.shot("ticket-360-full")
    emulate(ui, 360, 780, mobile=True)
    assert inner_width == 360, f"the page is laid out {inner_width} px wide on a 360 px phone (meta viewport?)"
    assert scroll_width <= inner_width, f"ticket page scrolls sideways at 360 px: scrollWidth {scroll_width} > {inner_width}"

    emulate(ui, 1440, 900, mobile=False)
    ui.open_ticket(ticket)
    scroll_width, inner_width = overflow(ui)
    ui.shot("ticket-1440")
    assert scroll_width <= inner_width, f"ticket page scrolls sideways at 1440 px: {scroll_width} > {inner_width}"

    # Shots under the contract's plain names too (the tests' prefix keeps per-test names apart).
    for name in ("ticket-360", "ticket-1440"):
        source = ui.shots / f"{ui.prefix}-{name}.png"
        (ui.shots / f"{name}.png").write_bytes(source.read_bytes())


def test_main_pages_fit_360(browser):
    ui = browser("moderator", width=1280, height=900)
    ui.login("moderator@hdms.test")
    emulate(ui, 360, 780, mobile=True)
    too_wide = []
    for page in ["/dashboard", "/tickets", "/tickets/new", "/approvals", "/notifications", "/profile"]:
        ui.go(page)
        scroll_width, inner_width = overflow(ui)
        ui.shot("360-" + page.strip("/").replace("/", "-"))
        if scroll_width > inner_width:
            too_wide.append(f"{page}: {scroll_width} > {inner_width}")
    assert not too_wide, "pages that scroll sideways at 360 px: " + "; ".join(too_wide)
