"""Dashboards per role (Chart.js canvases) and attachments through the drop zone."""
import struct
import zlib

from hdms_ui import unique


def tiny_png(path):
    """A valid 4x4 PNG (the file-service sniffs content)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


def charts_drawn(ui):
    return ui.js("return Array.from(document.querySelectorAll('canvas[id^=\"chart-\"]'))"
                 ".filter(c => c.width > 0 && c.height > 0).length")


def test_dashboards_per_role(browser):
    # At least one IT ticket in the period, so that the department and organisation charts have data.
    requestor = browser("requestor-setup")
    requestor.login("requestor@hdms.test")
    requestor.create_ticket(unique("Dashboard figures"), "A ticket for the dashboards to count.", department="IT")
    requestor.close()
    for email, kind in [("requestor@hdms.test", "me"), ("moderator@hdms.test", "department"),
                        ("agent@hdms.test", "workload"), ("ceo@hdms.test", "organisation")]:
        who = email.split("@")[0]
        ui = browser(who)
        ui.login(email)
        ui.el("#dashboard[data-kind]")
        default_kind = ui.attr("#dashboard", "data-kind")
        ui.go(f"/dashboard/{kind}")
        ui.expect_no_problem(f"/dashboard/{kind} as {email}")
        if kind == "department":  # the moderator looks at IT (the form's department picker)
            picker = ui.el("#dashboard form select[name='department_id'], form select[name='department_id']")
            ui.select(picker, text="IT")
            ui.mark_document()
            picker.submit()
            ui.wait(lambda d: not ui.still_same_document(), "the IT department dashboard")
            ui.wait_loaded()
        assert ui.attr("#dashboard", "data-kind") == kind, f"/dashboard/{kind} shows {ui.attr('#dashboard', 'data-kind')}"
        if kind in ("department", "organisation"):
            ui.wait(lambda d: charts_drawn(ui) > 0, f"Chart.js canvases on /dashboard/{kind}")
            assert ui.js("return typeof window.Chart") == "function", "Chart.js is not loaded"
        ui.wait_charts_settled()
        ui.shot(f"{who}-{kind}" + ("" if default_kind == kind else f"-default-{default_kind}"))
        ui.close()


def test_attachment_upload_with_progress(browser, tmp_path):
    ui = browser("requestor")
    ui.login("requestor@hdms.test")
    ticket = ui.create_ticket(unique("Broken screen photo"), "The photo is attached.", department="IT", submit=False)
    ui.el("#dropzone")
    assert ui.exists("#dropzone input#file-input[type=file]")
    assert ui.exists("#upload-progress")
    image = tiny_png(tmp_path / "broken-screen.png")
    ui.mark_document()
    ui.el("#file-input").send_keys(str(image))
    ui.wait(lambda d: any("broken-screen.png" in t for t in ui.texts("#attachments a.attachment-link")),
            "broken-screen.png in #attachments")
    ui.shot("01-attached")
    href = ui.js("const a = Array.from(document.querySelectorAll('#attachments a.attachment-link'))"
                 ".find(a => a.textContent.includes('broken-screen.png')); return a && a.href")
    status, size = ui.d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(async r => done([r.status, (await r.arrayBuffer()).byteLength]))"
        ".catch(e => done([0, String(e)]));", href)
    assert status == 200 and size == image.stat().st_size, f"{href} answered {status}, {size} bytes"
    ui.open_ticket(ticket)
    assert any("broken-screen.png" in t for t in ui.texts("#attachments a.attachment-link")), \
        "the attachment is gone after a reload"
