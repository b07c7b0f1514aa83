"""`python -m scoresby.demo`: the glacier series tells its story; the synthetic scenes are deterministic."""

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
from PIL import Image

from scoresby.demo import glacier
from scoresby.demo import landscape as demo

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
def test_the_two_scene_landscape_set_runs_into_a_report(tmp_path: Path) -> None:
    from scoresby.commands.run import run_plan
    from scoresby.core.scene_list import load_scene_list

    root = tmp_path / "demo-output"
    plan = load_scene_list(str(demo.write_demo_set(root)))
    result = run_plan(plan, str(root), workers=2, overwrite=True, progress=False)
    assert result.exit_code == 0, result.failed
    summary = json.loads((root / "demo" / "summary.json").read_text())
    assert [(s["scene_id"], s["status"]) for s in summary["scenes"]] == [
        (demo.LANDSAT_ID, "SUCCEEDED"),
        (demo.SENTINEL2_ID, "SUCCEEDED"),
    ]
    # summary.json keeps a line per scene; the products are in the task log and the STAC Item (issue 24)
    item = json.loads((root / "demo" / demo.LANDSAT_ID / f"{demo.LANDSAT_ID}.json").read_text())
    assert [p for p in item["assets"] if p in demo.PRODUCTS] == list(demo.PRODUCTS)

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
    ndvi_path = root / "demo" / demo.SENTINEL2_ID / f"{demo.SENTINEL2_ID}_ndvi.tif"  # the layout's place
    with rasterio.open(ndvi_path) as ds:
        ndvi = ds.read(1, masked=True)
    assert 0.05 < ndvi.mask.mean() < 0.4
    assert (ndvi > 0.6).mean() > 0.05 and (ndvi < 0).mean() > 0.1
    ice_path = root / "demo" / demo.LANDSAT_ID / f"{demo.LANDSAT_ID}_false_color_ice.tif"
    with rasterio.open(ice_path) as ds:
        r, g, b = ds.read(indexes=[1, 2, 3]).astype(int)
    cyan = (g > 180) & (b > 180) & (r < 100)
    assert cyan.mean() > 0.03  # ice shows cyan in SWIR2/NIR/green
    assert result.counts["SUCCEEDED"] == 2


def test_glacier_truth_matches_the_files_it_wrote(tmp_path: Path) -> None:
    scene = glacier.write_scene(tmp_path, 2018, 0.62)
    truth = scene.truth()
    qa_path = scene.folder / f"{scene.scene_id}_QA_PIXEL.TIF"
    with rasterio.open(qa_path) as ds:
        qa = ds.read(1)
    with rasterio.open(scene.folder / f"{scene.scene_id}_SR_B5.TIF") as ds:
        nir = ds.read(1).astype(np.float64) * glacier.L2_SCALE + glacier.L2_OFFSET
    valid = (qa & 1) == 0
    assert np.array_equal(valid, scene.valid)
    assert 100 * ((qa & 8) != 0).sum() / valid.sum() == pytest.approx(truth["cloud_percent"])
    assert truth["cloud_percent"] == pytest.approx(62, abs=1)
    mtl = (scene.folder / f"{scene.scene_id}_MTL.txt").read_text()
    assert f"CLOUD_COVER = {truth['cloud_percent']:.2f}" in mtl
    # the water trap: bright in NDSI like ice but dark in NIR
    trap = scene.classes == glacier.TURBID
    assert trap.sum() > 1000 and (nir[trap & scene.valid & ~scene.cloud & ~scene.shadow] < 0.11).all()
    # the glacier retreats and leaves water; the terrain elsewhere does not change
    early, late = (glacier.class_map(y, np.random.default_rng(glacier.SEED)) for y in (2016, 2021))
    assert (late == glacier.ICE).sum() < (early == glacier.ICE).sum()
    changed = early != late
    assert set(np.unique(early[changed])) == {glacier.ICE} and set(np.unique(late[changed])) == {
        glacier.WATER
    }


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`python -m scoresby.demo` run once in a fresh folder: its output and the run folder."""
    cwd = tmp_path_factory.mktemp("demo")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "scoresby.demo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"},
    )
    print(f"make demo took {time.monotonic() - started:.1f} s")  # speed is measured in bench/, not asserted
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc, cwd / "demo-output" / glacier.RUN_NAME


@pytest.mark.slow
def test_make_demo_tells_the_glacier_story(demo_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, run_dir = demo_run
    report = run_dir / "report.html"
    assert f"Open the report: {report.resolve()}" in proc.stdout
    assert "See it on a map (full-resolution COGs, a date slider): .venv/bin/scoresby view " in proc.stdout
    assert re.search(r"6 succeeded, 0 skipped \(already done\), 0 failed", proc.stdout)
    summary = json.loads((run_dir / "summary.json").read_text())
    snow = [s["stats"]["snow_ice_percent"] for s in summary["scenes"]]
    cloudy = [s["stats"]["cloud_percent"] > 40 for s in summary["scenes"]]
    clear_snow = [v for v, c in zip(snow, cloudy, strict=True) if not c]
    assert clear_snow == sorted(clear_snow, reverse=True) and clear_snow[0] - clear_snow[-1] > 5
    assert cloudy == [False, False, True, False, False, False]
    from scoresby.raster.timeseries import mp4_unavailable

    # The MP4 where the `video` extra is installed (the dev requirements), else a note (tests/science).
    video = [] if mp4_unavailable() else ["aoi-scoresby-sund_timelapse.mp4"]
    assert summary["timeseries"]["timelapses"] == {
        "aoi-scoresby-sund": ["aoi-scoresby-sund_timelapse.gif", *video]
    }
    with Image.open(run_dir / "aoi-scoresby-sund_timelapse.gif") as gif:
        assert gif.n_frames == 5
    assert "<h2>What changed</h2>" in report.read_text()


def _aoi_window() -> tuple[slice, slice]:
    """Where the AOI grid lies in the generator's scene grid (both on the same 30 m lattice)."""
    from scoresby.raster.quality import aoi_grid

    grid = aoi_grid(glacier.aoi())
    col = round((grid.transform.c - glacier.ORIGIN[0]) / glacier.PIXEL_M)
    row = round((glacier.ORIGIN[1] - grid.transform.f) / glacier.PIXEL_M)
    return slice(row, row + grid.height), slice(col, col + grid.width)


# The generator's classes as the place products name them: 1 snow/ice, 2 water, 3 other land.
PLACE_CLASS = np.array([2, 3, 3, 1, 2], dtype=np.uint8)  # WATER, ROCK, VEGETATION, ICE, TURBID


@pytest.mark.slow
def test_demo_maps_show_where_the_ice_went_and_keeps_going(
    demo_run: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path
) -> None:
    proc, run_dir = demo_run
    place = run_dir / "places" / "aoi-scoresby-sund"
    first, last = glacier.DATES[0][0], glacier.DATES[-1][0]
    change_id, trend_id = f"aoi-scoresby-sund_change_{first}_{last}", "aoi-scoresby-sund_trend"
    for label, item_id, key in (
        ("where the ice went (change map)", change_id, "transitions"),
        ("where it keeps going (trend map, NDSI slope)", trend_id, "ndsi_slope"),
    ):
        png = place / item_id / f"{item_id}_{key}.png"
        assert f"  {label}: {png.resolve()}" in proc.stdout
        with Image.open(png) as im:
            rgb = np.asarray(im.convert("RGB")).reshape(-1, 3)
        assert rgb.shape[0] > 10_000 and len(np.unique(rgb, axis=0)) > 2  # a map, not a blank
    composites = sorted(p.name for p in place.glob("aoi-scoresby-sund_composite_*"))
    assert composites == [f"aoi-scoresby-sund_composite_{year}" for year, _ in glacier.DATES]

    # The generator's truth on the AOI grid: classes per summer, and where each summer was clear.
    _, scenes = glacier.write_series(tmp_path)
    rows, cols = _aoi_window()
    clear = {int(s.date[:4]): (s.valid & ~s.cloud & ~s.shadow)[rows, cols] for s in scenes}
    classes = {int(s.date[:4]): PLACE_CLASS[s.classes[rows, cols]] for s in scenes}

    with rasterio.open(place / change_id / f"{change_id}_transitions.tif") as ds:
        transitions = ds.read(1)
    both = clear[first] & clear[last]
    truth = 10 * classes[first] + classes[last]
    assert np.array_equal(transitions[both], truth[both])
    went = both & (classes[first] == 1) & (classes[last] == 2)  # ice in the first summer, water in the last
    assert went.sum() > 2000 and (transitions[went] == 12).all()
    assert set(np.unique(transitions[both & (classes[first] == classes[last])])) <= {11, 22, 33}
    change_item = json.loads((place / change_id / f"{change_id}.json").read_text())
    km2 = change_item["properties"]["scoresby:transition_km2"]
    assert km2["12"] == pytest.approx(int((transitions == 12).sum()) * 0.0009, abs=1e-3)
    assert km2["12"] == pytest.approx(int(went.sum()) * 0.0009, rel=0.01)

    with rasterio.open(place / trend_id / f"{trend_id}_ndsi_slope.tif") as ds:
        slope = ds.read(1)
    # The terminus passed these pixels in the middle summers (ice in 2017, water in 2020): the Theil-Sen
    # slope of NDSI (ice ~0.84, lake water ~0.76) is negative. Unchanged ground has the same DN every
    # summer: slope 0. (A pixel passed in the first or last summer has more tied than falling pairs:
    # its median slope is 0, which is what Theil-Sen says.)
    middle = clear[2017] & clear[2020] & (classes[2017] == 1) & (classes[2020] == 2)
    assert middle.sum() > 2000
    assert np.isfinite(slope[middle]).mean() > 0.99 and (slope[middle][np.isfinite(slope[middle])] < 0).all()
    same = np.all([classes[y] == classes[first] for y in classes], axis=0) & np.isfinite(slope)
    assert same.sum() > 50_000 and np.abs(slope[same]).max() < 1e-6
