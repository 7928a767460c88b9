"""Fixtures of the browser suite.

HDMS_BROWSER_URL     the gateway to test (default http://127.0.0.1:8000/)
HDMS_BROWSER_OUTPUT  where screenshots go (default .test-output/browser under the repository)
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from hdms_ui import UI, new_driver

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def base_url() -> str:
    return os.environ.get("HDMS_BROWSER_URL", "http://127.0.0.1:8000/")


@pytest.fixture(scope="session")
def shots_dir() -> Path:
    path = Path(os.environ.get("HDMS_BROWSER_OUTPUT", ROOT / ".test-output" / "browser"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


@pytest.fixture
def browser(request, base_url, shots_dir):
    """A factory of browsers, one per person: `browser("requestor", width=1280)`. On failure each
    open browser leaves a screenshot and its page source as <test>-FAILED-<label>.png/.html."""
    opened: list[UI] = []
    prefix = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name.removeprefix("test_"))

    def make(label: str, width: int = 1280, height: int = 900) -> UI:
        ui = UI(new_driver(width, height), base_url, shots_dir, prefix, label)
        opened.append(ui)
        return ui

    yield make

    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for ui in opened:
        if ui.closed:
            continue
        try:
            if failed:
                ui.shot(f"FAILED-{ui.label}")
                (shots_dir / f"{prefix}-FAILED-{ui.label}.html").write_text(ui.d.page_source, encoding="utf-8")
                errors = ui.console_errors()
                if errors:
                    (shots_dir / f"{prefix}-FAILED-{ui.label}.console.txt").write_text("\n".join(errors), encoding="utf-8")
        except Exception:  # noqa: BLE001 - the browser may be gone already
            pass
        finally:
            ui.close()
