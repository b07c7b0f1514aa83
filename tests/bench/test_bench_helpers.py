"""Bench helpers: the real small-scene crops (sizes, names, discovery) and the figures comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rasterio

from bench import figures, real_small
from tests import prerequisites


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    if not real_small.sources():
        prerequisites.missing(f"no real scenes under {real_small.REAL}")
    return real_small.ensure_crops(
        tmp_path_factory.mktemp("crops"), landsat=3, sentinel2=2, log=lambda *_: None
    )


def test_crops_are_small_distinct_and_keep_the_names(crops):
    assert len({c["scene_id"] for c in crops}) == 5
    assert [c["family"] for c in crops].count("landsat") == 3
    for c in crops:
        folder = Path(c["source"])
        assert folder.is_absolute()
        red = next(p for p in folder.iterdir() if p.stem.endswith(("_SR_B4", "B04", "B04_60m")))
        with rasterio.open(red) as ds:
            assert (ds.width, ds.height) == (real_small.SIZE, real_small.SIZE)
            assert (ds.read(1) > 0).mean() >= real_small.MIN_VALID
        assert any(p.name.endswith(("_MTL.txt", ".json", "MTD_MSIL2A.xml")) for p in folder.iterdir())


def test_crops_are_discovered_as_their_sensor(crops):
    from scoresby.core.scene_list import parse_scene
    from scoresby.discovery.discover import discover_scene

    for c in crops:
        files = discover_scene(parse_scene({"scene_id": c["scene_id"], "source": c["source"]}))
        assert files.sensor.startswith(c["family"]), (c, files.sensor)


def test_crops_are_cached(crops):
    root = Path(crops[0]["source"]).parent
    marker = json.loads((root / "crops.json").read_text())
    assert [s["scene_id"] for s in marker["scenes"]] == [c["scene_id"] for c in crops]
    again = real_small.ensure_crops(root, landsat=3, sentinel2=2, log=lambda *_: pytest.fail("re-cut"))
    assert again == crops


def test_figures_comparison_rows():
    old = figures.document({"a": (2.0, "s"), "gone": (1.0, "x")}, date="d0", machine="m", load="l")
    new = figures.document({"a": (1.0, "s"), "new": (3.0, "x")}, date="d1", machine="m", load="l")
    lines = figures.comparison_lines(new, old)
    assert "| a | s | 2 | 1 | 0.50x |" in lines
    assert any(line.startswith("| gone |") and "not in both runs" in line for line in lines)
    assert any(line.startswith("| new |") and "not in both runs" in line for line in lines)
    assert "No previous figures" in figures.comparison_lines(new, None)[-1]
