"""Scenario 4: the admin pages load, the employee CSV import reports its result, the audit log
lists entries, the reports page offers CSV exports that download; a requestor is kept out."""
import time

ADMIN_PAGES = ["/admin/employees", "/admin/departments", "/admin/categories", "/admin/sla-policies",
               "/admin/calendar", "/admin/routes", "/admin/audit", "/reports"]


def test_admin_pages_audit_and_exports(browser, tmp_path):
    admin = browser("admin")
    admin.login("admin@hdms.test")
    assert admin.exists("#nav-admin")

    for page in ADMIN_PAGES:
        admin.go(page)
        assert admin.exists("#sign-out"), f"{page} lost the signed-in layout (an error page?)"
        admin.expect_no_problem(page)
        assert admin.exists("main h1, main h2, h1"), f"{page} has no heading"
        admin.shot("page-" + page.strip("/").replace("/", "-"))

    admin.go("/admin/routes")
    assert "Department head → Finance → CEO" in admin.d.page_source, "/admin/routes lacks the demo route"

    # CSV import of one new employee, with its result report.
    email = f"browser.{int(time.time())}@hdms.test"
    csv = tmp_path / "employees.csv"
    csv.write_text(f"email,full_name,department,job_title\n{email},Browser Tester,IT,QA engineer\n", encoding="utf-8")
    admin.go("/admin/employees")
    admin.el("#import-file").send_keys(str(csv))
    admin.click("#import-submit")
    admin.wait(lambda d: admin.exists("#import-result") and admin.el("#import-result").text.strip() != "",
               "#import-result after the CSV import")
    result = admin.text("#import-result").lower()
    assert "created" in result and "1" in result, f"#import-result does not report one created row: {result!r}"
    admin.shot("employees-import-result")

    # The audit log has entries (the import just made one).
    admin.go("/admin/audit")
    admin.wait(lambda d: len(admin.els("#audit-list tbody tr")) > 0 or len(admin.els("#audit-list tr")) > 1,
               "entries in #audit-list")
    assert admin.els("form"), "/admin/audit has no filter form"
    admin.full_shot("audit")
    # Filtering by action (the form's field is named as the API's filter).
    action = admin.els("#audit-filters [name='action'], form [name='action']")
    assert action, "/admin/audit's filter form has no field named action"
    action[0].clear()
    action[0].send_keys("directory.import")
    admin.mark_document()
    action[0].submit()
    admin.wait(lambda d: not admin.still_same_document(), "the filtered audit page")
    admin.wait_loaded()
    rows = admin.els("#audit-list tbody tr")
    assert rows and all("directory.import" in r.text for r in rows), \
        f"filtering the audit log by action=directory.import shows {[r.text[:80] for r in rows[:5]]}"

    # Reports: CSV exports that answer text/csv.
    admin.go("/reports")
    links = admin.els("a.export-csv")
    assert links, "/reports has no a.export-csv"
    bad = []
    for href in [a.get_attribute("href") for a in links]:
        status, kind = admin.d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(arguments[0], {credentials: 'same-origin'}).then(r => done([r.status, r.headers.get('content-type') || '']))"
            ".catch(e => done([0, String(e)]));", href)
        if status != 200 or "csv" not in kind:
            bad.append(f"{href} answered {status} {kind}")
    assert not bad, "CSV exports that fail: " + "; ".join(bad)

    # A requestor is kept out of the admin pages.
    requestor = browser("requestor")
    requestor.login("requestor@hdms.test")
    requestor.d.get(requestor.url("/admin/audit"))
    requestor.wait_loaded()
    assert not requestor.els("#audit-list tbody tr"), "a requestor can read the audit log"
    requestor.shot("requestor-kept-out")
