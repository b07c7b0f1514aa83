"""Stretch modes on a real Landsat 8 Level-1 scene: fixed (the notebook's ranges), equalize, gamma."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from scoresby.commands.scene import process_scene
from scoresby.core.scene_list import parse_scene

pytestmark = pytest.mark.slow

FOLDER = "landsat8/LC80200392015216LGN00"
NOTEBOOK_RANGES = [[5900, 11000], [6200, 11000], [7600, 11000]]


@pytest.fixture(scope="module")
def source(real_data_dir: Path) -> Path:
    return real_data_dir / FOLDER


def make_true_color(source: Path, out: Path, stretch: dict) -> tuple[np.ndarray, dict, dict]:
    scene = parse_scene(
        {"source": str(source), "products": ["true_color"], "stretch": {"true_color": stretch}}
    )
    result = process_scene(scene, str(out), run_name="s")
    with rasterio.open(result.outputs["true_color"]) as ds:
        data = ds.read()
        record = json.loads(ds.tags()["SCORESBY_STRETCH"])
    item = json.loads(Path(result.stac_item).read_text())
    return data, record, item


def raw_rgb(source: Path) -> np.ndarray:
    return np.stack([rasterio.open(next(source.glob(f"*_B{n}.tif"))).read(1) for n in (4, 3, 2)])


def test_fixed_stretch_with_notebook_ranges(source: Path, tmp_path: Path) -> None:
    data, record, item = make_true_color(source, tmp_path, {"mode": "fixed", "ranges": NOTEBOOK_RANGES})
    assert record == {
        "mode": "fixed",
        "gamma": 1.0,
        "cutoffs": [[float(a), float(b)] for a, b in NOTEBOOK_RANGES],
    }
    assert item["assets"]["true_color"]["scoresby:stretch"] == record
    raw = raw_rgb(source)
    valid = (raw != 0).all(axis=0)
    for i, (lo, hi) in enumerate(NOTEBOOK_RANGES):
        x = np.clip((raw[i].astype(np.float64) - lo) / (hi - lo), 0, 1)
        expected = (1 + np.rint(x * 254)).astype(np.uint8)
        np.testing.assert_array_equal(data[i][valid], expected[valid])
    # The notebook's red range starts at 5900: pixels darker than that clip to 1, brighter than 11000 to 255.
    assert (data[0][valid & (raw[0] <= 5900)] == 1).all() and (
        data[0][valid & (raw[0] >= 11000)] == 255
    ).all()


def test_equalize_spreads_values_evenly(source: Path, tmp_path: Path) -> None:
    data, record, _ = make_true_color(source, tmp_path, {"mode": "equalize"})
    assert record["mode"] == "equalize" and len(record["cutoffs"]) == 3
    valid = (data != 0).all(axis=0)
    for band in data:
        values = band[valid]
        # Equalised: each quarter of the output range holds roughly a quarter of the pixels.
        quarters = np.histogram(values, bins=4, range=(1, 256))[0] / values.size
        assert np.all(np.abs(quarters - 0.25) < 0.08), quarters


def test_gamma_brightens_the_percentile_stretch(source: Path, tmp_path: Path) -> None:
    plain, _, _ = make_true_color(source, tmp_path / "g1", {"mode": "percentile", "percentiles": [2, 98]})
    bright, record, _ = make_true_color(
        source, tmp_path / "g2", {"mode": "percentile", "percentiles": [2, 98], "gamma": 2.0}
    )
    assert record["gamma"] == 2.0
    valid = (plain != 0).all(axis=0)
    assert bright[:, valid].mean() > plain[:, valid].mean() + 20
    # Gamma bends the curve between the same cut-offs: never darker, saturated pixels stay saturated.
    assert (bright >= plain).all() and (bright[plain == 255] == 255).all()
