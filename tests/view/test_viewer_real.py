"""The map on real scenes in two UTM zones (Sentinel-2 01UBT at the antimeridian, Landsat 001/062)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bench.cdp import Browser
from scoresby.commands.run import run_plan
from scoresby.commands.view import make_server
from scoresby.core.scene_list import parse_scene_list
from tests import prerequisites

S2_TINY = "sentinel2/S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703"
L8_A = "landsat8/LC08_L2SP_001062_20201031_20201106_02_T2"


@pytest.fixture(scope="module")
def server(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    out = tmp_path_factory.mktemp("view-real")
    doc = {
        "run_name": "real",
        "products": ["true_color"],
        "scenes": [{"source": str(real_data_dir / S2_TINY)}, {"source": str(real_data_dir / L8_A)}],
    }
    summary = run_plan(parse_scene_list(doc), str(out), workers=2, progress=False)
    assert summary.exit_code == 0, summary.failed
    srv = make_server(summary.run_dir)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        prerequisites.missing("headless Chromium not installed (`make install-chromium`)")
    b = Browser(chromium, tmp_path / "profile")
    yield b
    b.close()


def test_each_date_is_drawn_in_its_own_utm_zone(server: Any, browser: Browser, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{server.server_port}/"
    shots = {}
    for query in ("?product=none", "?product=scene:true_color&date=0", "?product=scene:true_color&date=1"):
        browser.navigate(url + query)
        browser.wait_for("document.body && document.body.dataset.ready === '1'")
        browser.painted()
        path = browser.screenshot(tmp_path / "shot.png")
        with Image.open(path) as im:
            shots[query] = np.asarray(im.convert("RGB").crop((0, 0, 980, 800))).astype(int)
        code = browser.evaluate("window.scoresbyMap.getView().getProjection().getCode()")
        shown = browser.evaluate("document.body.dataset.shown")
        if "date=0" in query:
            assert code == "EPSG:32620" and shown.startswith("LC08_L2SP_001062")  # 2020: Landsat, zone 20
        elif "date=1" in query:
            assert code == "EPSG:32601" and shown.startswith("S2B_MSIL2A")  # 2023: Sentinel-2, zone 1
    empty = shots["?product=none"]
    for query in ("?product=scene:true_color&date=0", "?product=scene:true_color&date=1"):
        drawn = (np.abs(shots[query] - empty).sum(axis=2) > 30).mean()
        assert drawn > 0.3, (query, drawn)
    assert not browser.errors, browser.errors
