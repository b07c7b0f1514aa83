"""The report's scene table in headless Chromium: 50 rows a page, search, status/place/date/cloud filters."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.cdp import Browser
from scoresby.core.summary import build_summary
from scoresby.core.task_log import FAILED, SUCCEEDED, TaskRecord
from scoresby.report.page import render_report
from tests import prerequisites


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        prerequisites.missing("headless Chromium not installed (`make install-chromium`)")
    b = Browser(chromium, tmp_path / "profile")
    yield b
    b.close()


def test_paging_search_and_filters(browser: Browser, tmp_path: Path) -> None:
    records, rows = [], []
    for i in range(120):
        sid = f"S{i:03d}"
        failed = i % 10 == 0
        records.append(
            TaskRecord(
                run_id="r",
                scene_id=sid,
                status=FAILED if failed else SUCCEEDED,
                attempts=1,
                error={"type": "MissingBands", "message": f"needs B5 ({sid})"} if failed else None,
            )
        )
        rows.append(
            {
                "scene_id": sid,
                "place": "north" if i < 60 else "south",
                "datetime": f"2020-{i % 12 + 1:02d}-15T10:00:00Z",
                "cloud_percent": float(i % 100),
            }
        )
    science = {"rows": rows, "max_cloud": 40}
    report = tmp_path / "report.html"
    report.write_text(render_report(build_summary("r", records, science=science), str(tmp_path)))
    browser.navigate(report.as_uri())
    browser.wait_for("document.body && document.body.dataset.rowsShown === '120'")
    count = "document.querySelectorAll('#scenes tbody tr').length"
    assert browser.evaluate(count) == 50
    assert "page 1 of 3" in browser.evaluate("document.getElementById('f-page').textContent")
    browser.evaluate("document.getElementById('f-next').click()")
    assert browser.evaluate("document.querySelector('#scenes tbody tr td').textContent") == "S050"

    def set_filter(field: str, value: str) -> int:
        browser.evaluate(
            f"(() => {{ const e = document.getElementById('{field}'); e.value = '{value}'; "
            "e.dispatchEvent(new Event('input')); })()"
        )
        return int(browser.evaluate("document.body.dataset.rowsShown"))

    assert set_filter("f-text", "s07") == 10  # S070..S079
    assert set_filter("f-text", "needs b5 (s070") == 1
    assert set_filter("f-text", "") == 120
    assert set_filter("f-status", "3") == 12  # FAILED (STATUSES index 3)
    assert browser.evaluate("document.querySelector('#scenes tbody .error').textContent").startswith(
        "MissingBands: needs B5"
    )
    assert set_filter("f-status", "") == 120
    assert set_filter("f-place", "south") == 60
    assert set_filter("f-cloud", "9") == 10  # south: i 60..119, cloud i % 100 <= 9: i 100..109
    assert set_filter("f-cloud", "") == 60
    assert set_filter("f-from", "2020-12-01") == 5  # south, December: i 71, 83, 95, 107, 119
    assert browser.evaluate(count) == 5
    assert not browser.errors, browser.errors
