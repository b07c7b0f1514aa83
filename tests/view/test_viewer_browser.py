"""The map page in headless Chromium from `scoresby view`: COGs drawn, slider, swipe, pixel values."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image

from bench.cdp import Browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path("/tmp/scoresby-view-screenshots")  # noqa: S108 - for a human to look at
MAP_BOX = (0, 0, 980, 800)  # the map's part of the 1280 x 800 page (the panel is 300 px on the right)


@pytest.fixture(scope="module")
def url(glacier_run: Path) -> Iterator[str]:
    """`scoresby view` of the glacier run, as a user starts it; its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "scoresby.cli", "view", str(glacier_run), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    yield line.split(" at ")[1].split()[0]
    proc.terminate()
    proc.communicate(timeout=20)
    assert proc.returncode == 0


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Iterator[Browser]:
    b = Browser(chromium, tmp_path / "profile")
    yield b
    b.close()


def open_map(browser: Browser, url: str, query: str, name: str) -> np.ndarray:
    """Load the page with `query`, wait for the map's rendercomplete; the map's pixels (also saved as PNG)."""
    browser.navigate(url + query)
    browser.wait_for("document.body && document.body.dataset.ready === '1'")
    browser.painted()  # the frame after rendercomplete is on screen
    return shot(browser, name)


def shot(browser: Browser, name: str) -> np.ndarray:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = browser.screenshot(SCREENSHOTS / f"{name}.png")
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB").crop(MAP_BOX)).astype(int)


def changed(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of map pixels that differ by more than a little."""
    return float((np.abs(a - b).sum(axis=2) > 30).mean())


def test_the_map_draws_the_cogs_and_the_controls_change_it(
    browser: Browser, url: str, glacier_run: Path
) -> None:
    empty = open_map(browser, url, "?product=none", "empty")
    latest = open_map(browser, url, "?product=scene:true_color", "true_color_latest")
    assert changed(empty, latest) > 0.3  # the COG is drawn over most of the map
    shown = browser.evaluate("document.body.dataset.shown")
    assert shown.endswith("20210815_20210826_02_T1/true_color")  # the slider starts at the latest date
    assert len(set(map(tuple, latest.reshape(-1, 3)[::97]))) > 50  # an image, not a flat fill

    first = open_map(browser, url, "?product=scene:true_color&date=0", "true_color_first")
    assert browser.evaluate("document.body.dataset.date") == "2016-08-15"
    assert changed(first, latest) > 0.02  # the glacier retreated: another date, another picture

    # the slider as a user moves it: an input event on the range control
    browser.evaluate(
        "(() => { const s = document.getElementById('date'); s.value = '5'; "
        "s.dispatchEvent(new Event('input')); })()"
    )
    browser.wait_for("document.body.dataset.date === '2021-08-15' && document.body.dataset.ready === '1'")
    browser.painted()
    moved = shot(browser, "true_color_slider_moved")
    assert changed(moved, latest) < 0.01 and changed(moved, first) > 0.02

    # the swipe: the left half shows the "before" date, the right half the slider's
    swiped = open_map(browser, url, "?product=scene:true_color&date=5&before=0&swipe=50", "true_color_swipe")
    half = swiped.shape[1] // 2
    left, right = slice(0, half - 10), slice(half + 10, None)
    assert (
        changed(swiped[:, left], first[:, left]) < 0.01 and changed(swiped[:, right], latest[:, right]) < 0.01
    )
    assert changed(swiped[:, left], latest[:, left]) > 0.02

    ndsi = open_map(browser, url, "?product=scene:ndsi", "ndsi")
    assert changed(ndsi, latest) > 0.3
    assert browser.evaluate("document.querySelector('#legends .bar') !== null")
    assert not browser.errors, browser.errors


def test_a_click_shows_the_pixel_values_of_the_cog(browser: Browser, url: str, glacier_run: Path) -> None:
    open_map(browser, url, "?product=scene:ndsi&date=5", "ndsi_click")
    # the map's centre pixel: its coordinate, then a click there
    x, y = browser.evaluate(
        "(() => { const m = window.scoresbyMap; const s = m.getSize(); "
        "const c = m.getCoordinateFromPixel([s[0] / 2, s[1] / 2]); return c; })()"
    )
    browser.evaluate(
        "(() => { const m = window.scoresbyMap; const s = m.getSize(); "
        "m.dispatchEvent({type: 'singleclick', pixel: [s[0] / 2, s[1] / 2], "
        "coordinate: m.getCoordinateFromPixel([s[0] / 2, s[1] / 2]), originalEvent: {}}); })()"
    )
    text = browser.wait_for(
        "document.body.dataset.clicked === '1' && document.getElementById('values').textContent"
    )
    scene = "LC08_L2SP_000000_20210815_20210826_02_T1"
    with rasterio.open(glacier_run / scene / f"{scene}_ndsi.tif") as ds:
        row, col = ds.index(x, y)
        truth = float(ds.read(1)[row, col])
    shown = float(text.strip().splitlines()[-1].rsplit(":", 1)[1])
    assert shown == pytest.approx(truth, abs=1e-4), text
    assert not browser.errors, browser.errors
