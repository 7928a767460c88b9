"""Everyone: sign in (and a refused one), the signed-in header, sign out."""
from hdms_ui import PASSWORD

NAV = ["#nav-dashboard", "#nav-tickets", "#nav-new-ticket", "#nav-approvals", "#nav-notifications", "#nav-profile"]


def test_sign_in_header_and_sign_out(browser):
    ui = browser("requestor")

    ui.go("/login")
    ui.el("#email", visible=True)
    assert ui.exists("#password") and ui.exists("#sign-in")
    ui.shot("01-login")

    # A wrong password is refused with the problem shown on the login page.
    ui.fill("#email", "requestor@hdms.test")
    ui.fill("#password", PASSWORD + "-wrong")
    ui.click_and_wait_reload("#sign-in", "the refused sign-in")
    ui.wait(lambda d: ui.problem() != "", "#problem after a wrong password")
    assert ui.path().startswith("/login"), ui.d.current_url
    assert ui.el("#problem").get_attribute("role") == "alert"
    assert not ui.exists("#sign-out")
    ui.shot("02-login-refused")

    ui.login("requestor@hdms.test", fresh=True)
    for css in NAV + ["#sign-out", "#notif-count", "#notif-toggle", "#live-status"]:
        assert ui.exists(css), f"signed-in header lacks {css} on {ui.d.current_url}"
    assert not ui.exists("#nav-admin"), "a requestor sees #nav-admin"
    ui.el("#dashboard")
    ui.wait_live_ready()
    ui.wait_charts_settled()
    ui.shot("03-dashboard")

    # The password never lands in the page, and the session cookie is not readable by scripts.
    assert PASSWORD not in ui.d.page_source
    visible_cookies = ui.js("return document.cookie")
    session_cookies = [c for c in ui.d.get_cookies() if c.get("httpOnly")]
    assert session_cookies, f"no HttpOnly cookie after sign-in (cookies: {ui.d.get_cookies()})"
    for cookie in session_cookies:
        assert cookie["name"] not in visible_cookies
        assert cookie.get("sameSite") in ("Lax", "Strict"), cookie

    # Every navbar link leads to a page of the signed-in layout.
    for css in NAV:
        href = ui.attr(css, "href")
        ui.go(href)
        assert ui.exists("#sign-out"), f"{css} -> {href} lost the signed-in layout"
        ui.expect_no_problem(f"{css} -> {href}")

    ui.logout()
    ui.go("/dashboard")
    ui.wait(lambda d: ui.path().startswith("/login"), "/dashboard to send a signed-out browser to /login")
    ui.shot("04-signed-out")


def test_admin_sees_admin_link(browser):
    ui = browser("admin")
    ui.login("admin@hdms.test")
    assert ui.exists("#nav-admin"), "admin lacks #nav-admin"
