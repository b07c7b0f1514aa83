"""`python -m worker.demo`: deterministic synthetic scenes, run end to end, both SUCCEEDED in the report."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

from worker.demo import landscape as demo

REPO = Path(__file__).resolve().parents[2]


def test_landscape_is_deterministic_and_has_every_class() -> None:
    a = demo.make_landscape(256, 7, border="landsat")
    b = demo.make_landscape(256, 7, border="landsat")
    assert np.array_equal(a.reflectance, b.reflectance) and np.array_equal(a.valid, b.valid)
    assert not np.array_equal(a.reflectance, demo.make_landscape(256, 8, border="landsat").reflectance)
    blue, green, red, nir, swir1, _ = a.reflectance[:, a.valid]
    ndvi = (nir - red) / (nir + red)
    ndsi = (green - swir1) / (green + swir1)
    # water (NIR dark), vegetation (NDVI high), ice (NDSI high, bright) and bare ground all present
    assert (nir < 0.03).mean() > 0.05
    assert (ndvi > 0.6).mean() > 0.05
    assert ((ndsi > 0.6) & (green > 0.5)).mean() > 0.03
    assert ((ndvi > 0.05) & (ndvi < 0.3) & (ndsi < 0)).mean() > 0.05
    assert 0.05 < (~a.valid).mean() < 0.4  # a nodata border


@pytest.mark.slow
def test_demo_runs_both_scenes_into_a_report(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "worker.demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"},
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert elapsed < 60, f"make demo took {elapsed:.0f} s"

    root = tmp_path / "demo-output"
    report = root / "demo" / "report.html"
    assert f"Open the report: {report.resolve()}" in proc.stdout
    assert f"file://{report.resolve()}" in proc.stdout
    summary = json.loads((root / "demo" / "summary.json").read_text())
    assert [(s["scene_id"], s["status"]) for s in summary["scenes"]] == [
        (demo.LANDSAT_ID, "SUCCEEDED"),
        (demo.SENTINEL2_ID, "SUCCEEDED"),
    ]
    assert summary["scenes"][0]["products"] == demo.PRODUCTS

    landsat = root / "scenes" / demo.LANDSAT_ID
    names = sorted(p.name for p in landsat.iterdir())
    bands = [f"{demo.LANDSAT_ID}_SR_B{n}.TIF" for n in range(2, 8)]
    assert names == sorted([*bands, f"{demo.LANDSAT_ID}_MTL.txt"])
    with rasterio.open(landsat / f"{demo.LANDSAT_ID}_SR_B5.TIF") as ds:
        assert (ds.width, ds.height, ds.res) == (1000, 1000, (30.0, 30.0))
        assert (ds.nodata, ds.dtypes[0]) == (0, "uint16")
    s2 = root / "scenes" / demo.SENTINEL2_ID
    expected = {
        "B02": 10,
        "B03": 10,
        "B04": 10,
        "B08": 10,
        "B05": 20,
        "B06": 20,
        "B07": 20,
        "B8A": 20,
        "B11": 20,
        "B12": 20,
    }
    assert sorted(p.stem for p in s2.iterdir()) == sorted(expected)
    for band, res in expected.items():
        with rasterio.open(s2 / f"{band}.tif") as ds:
            assert ds.res == (res, res) and ds.width == 10_000 // res

    # The products look like the landscape: vegetation, water and ice in NDVI; a nodata border.
    ndvi_path = summary["scenes"][1]["outputs"]["ndvi"]
    with rasterio.open(ndvi_path) as ds:
        ndvi = ds.read(1, masked=True)
    assert 0.05 < ndvi.mask.mean() < 0.4
    assert (ndvi > 0.6).mean() > 0.05 and (ndvi < 0).mean() > 0.1
    ice_path = summary["scenes"][0]["outputs"]["false_color_ice"]
    with rasterio.open(ice_path) as ds:
        r, g, b = ds.read(indexes=[1, 2, 3]).astype(int)
    cyan = (g > 180) & (b > 180) & (r < 100)
    assert cyan.mean() > 0.03  # ice shows cyan in SWIR2/NIR/green
    assert re.search(r"2 succeeded, 0 skipped \(already done\), 0 failed", proc.stdout)
