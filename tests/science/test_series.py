"""The demo series end to end: figures against the generator's truth, the timelapse, the report."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from PIL import Image

from bench.cdp import HEADLESS_FLAGS
from scoresby.commands.run import run_plan
from scoresby.core.scene_list import parse_scene_list
from scoresby.demo import glacier
from scoresby.raster.quality import aoi_grid
from tests.science.conftest import aoi_window

SCREENSHOT_COPY = Path("/tmp/scoresby-series-report.png")  # noqa: S108 - for a human to look at


def test_figures_are_within_one_point_of_the_truth(series: tuple[Path, list[glacier.SeriesScene]]) -> None:
    run_dir, scenes = series
    rows, cols = aoi_window()
    with (run_dir / "timeseries.csv").open() as f:
        table = {r["scene_id"]: r for r in csv.DictReader(f)}
    assert len(table) == len(glacier.DATES)
    for scene in scenes:
        truth = scene.truth(rows, cols)
        row = table[scene.scene_id]
        assert row["place"] == "aoi-scoresby-sund" and row["datetime"].startswith(scene.date)
        for key in ("cloud_percent", "shadow_percent", "clear_percent", "snow_ice_percent", "water_percent"):
            assert float(row[key]) == pytest.approx(truth[key], abs=1.0), (scene.scene_id, key)
        # The turbid lake (bright NDSI, dark NIR) is counted as water: with it as ice, both figures move.
        assert truth["turbid_pixels"] > 0.01 * (rows.stop - rows.start) * (cols.stop - cols.start)
    first, last = table[scenes[0].scene_id], table[scenes[-1].scene_id]
    assert float(last["snow_ice_percent"]) < float(first["snow_ice_percent"]) - 5  # the retreat
    assert float(last["water_percent"]) > float(first["water_percent"]) + 5  # the lake it leaves


def test_products_share_the_aoi_grid_and_masks_leave_pictures_whole(
    series: tuple[Path, list[glacier.SeriesScene]],
) -> None:
    run_dir, scenes = series
    grid = aoi_grid(glacier.aoi())
    for scene in scenes:
        for product in ("true_color", "ndsi"):
            with rasterio.open(run_dir / scene.scene_id / f"{scene.scene_id}_{product}.tif") as ds:
                assert ds.crs == grid.crs and ds.transform.almost_equals(grid.transform)
                assert (ds.width, ds.height) == (grid.width, grid.height)
        item = json.loads((run_dir / scene.scene_id / f"{scene.scene_id}.json").read_text())
        assert item["properties"]["eo:cloud_cover"] == item["properties"]["scoresby:stats"]["cloud_percent"]
        assert item["properties"]["scoresby:aoi"]["name"] == "scoresby-sund"


def test_timelapse_skips_cloudy_dates_and_keeps_unchanged_pixels(
    series: tuple[Path, list[glacier.SeriesScene]],
) -> None:
    run_dir, scenes = series
    with Image.open(run_dir / "aoi-scoresby-sund_timelapse.gif") as gif:
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")))
    shown = [s for s, (_, cloud) in zip(scenes, glacier.DATES, strict=True) if cloud * 100 <= 40]
    assert len(frames) == len(shown) == len(glacier.DATES) - 1  # 2018 (62 % cloud) is skipped
    rows, cols = aoi_window()
    # Pixels whose class never changes and that no shown frame covers with cloud or shadow.
    unchanged = np.ones((rows.stop - rows.start, cols.stop - cols.start), dtype=bool)
    for s in shown:
        unchanged &= (s.classes[rows, cols] == shown[0].classes[rows, cols]) & s.valid[rows, cols]
        unchanged &= ~s.cloud[rows, cols] & ~s.shadow[rows, cols]
    pictures = [f[glacier_header() :, :] for f in frames]
    assert pictures[0].shape[:2] == unchanged.shape  # one frame pixel per AOI pixel
    assert unchanged.mean() > 0.5
    for picture in pictures[1:]:
        assert np.array_equal(picture[unchanged], pictures[0][unchanged])
    changed = shown[0].classes[rows, cols] != shown[-1].classes[rows, cols]
    assert changed.sum() > 1000 and not np.array_equal(pictures[0][changed], pictures[-1][changed])


def glacier_header() -> int:
    from scoresby.raster.timeseries import HEADER_PX

    return HEADER_PX


def test_a_later_run_extends_the_series(
    tmp_path: Path, series: tuple[Path, list[glacier.SeriesScene]]
) -> None:
    run_dir, scenes = series
    doc = json.loads((run_dir.parent / "scenes.json").read_text())
    doc["scenes"] = doc["scenes"][:2]
    first = run_plan(parse_scene_list(doc), str(tmp_path), workers=1, progress=False)
    with (Path(first.run_dir) / "timeseries.csv").open() as f:
        assert len(list(csv.DictReader(f))) == 2
    doc = json.loads((run_dir.parent / "scenes.json").read_text())
    doc["scenes"] = doc["scenes"][:3]
    second = run_plan(parse_scene_list(doc), str(tmp_path), workers=1, progress=False)
    assert second.counts["SKIPPED"] == 2
    with (Path(second.run_dir) / "timeseries.csv").open() as f:
        assert [r["scene_id"] for r in csv.DictReader(f)] == [s.scene_id for s in scenes[:3]]
    summary = json.loads(Path(second.summary_json).read_text())
    assert all(s["stats"]["snow_ice_percent"] is not None for s in summary["scenes"])


def _browse(chromium: str, page: Path, profile: Path, *mode: str) -> str:
    return subprocess.run(
        [
            chromium,
            *HEADLESS_FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=5000",
            "--window-size=1400,1100",
            *mode,
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout


def test_report_shows_what_changed_in_chromium(
    chromium: str, series: tuple[Path, list[glacier.SeriesScene]], tmp_path: Path
) -> None:
    run_dir, scenes = series
    report = run_dir / "report.html"
    dom = _browse(chromium, report, tmp_path / "p1", "--dump-dom")
    assert 'data-images-broken="0"' in dom
    body = dom[dom.index("<h2>What changed</h2>") :]
    # chart and timelapse before the scene table; footprints drawn in the inline SVG map
    assert body.index('alt="time series chart"') < body.index("<th>scene</th><th>status</th>")
    assert 'alt="aoi-scoresby-sund timelapse"' in body
    assert len(re.findall(r"<polygon", body)) == len(scenes)
    assert len(re.findall(r'<tr class="cloudy"', body)) == 1  # 2018
    assert body.count('<div class="legend"') == 2 * len(scenes)  # ndsi and ndvi quicklooks
    assert body.count('<table class="legend"') == 1  # the series' place products: the change map's legend
    for name in ("timeseries.png", "aoi-scoresby-sund_timelapse.gif"):
        m = re.search(rf'src="{re.escape(name)}"[^>]*data-natural-width="(\d+)"', body)
        assert m and int(m[1]) > 300, name
    shot = tmp_path / "report.png"
    _browse(chromium, report, tmp_path / "p2", f"--screenshot={shot}")
    with Image.open(shot) as im:
        top = im.convert("RGB").crop((0, 0, 1400, 500)).resize((140, 50)).getcolors(maxcolors=100_000)
        assert top is not None and len(top) > 150  # chart, timelapse and map, not a blank band
    shutil.copyfile(shot, SCREENSHOT_COPY)


def test_mask_makes_cloud_and_shadow_nodata_in_index_products(
    tmp_path: Path, series: tuple[Path, list[glacier.SeriesScene]]
) -> None:
    run_dir, scenes = series
    cloudy = scenes[2]  # 2018
    doc = json.loads((run_dir.parent / "scenes.json").read_text())
    doc.update(run_name="masked", mask=["cloud", "shadow"], products=["ndsi", "true_color"])
    doc["scenes"] = [s for s in doc["scenes"] if s["scene_id"] == cloudy.scene_id]
    result = run_plan(parse_scene_list(doc), str(tmp_path), workers=1, progress=False)
    assert result.exit_code == 0, result.failed
    rows, cols = aoi_window()
    hidden = (cloudy.cloud | cloudy.shadow)[rows, cols] & cloudy.valid[rows, cols]
    folder = Path(result.run_dir) / cloudy.scene_id
    with rasterio.open(folder / f"{cloudy.scene_id}_ndsi.tif") as ds:
        ndsi = ds.read(1)
    assert np.isnan(ndsi[hidden]).all() and np.isfinite(ndsi[cloudy.valid[rows, cols] & ~hidden]).all()
    with rasterio.open(folder / f"{cloudy.scene_id}_true_color.tif") as ds:
        rgb = ds.read()
    assert (rgb[:, hidden] == 0).all() and (rgb[:, cloudy.valid[rows, cols] & ~hidden] > 0).all()
    # the statistics are the same with or without the products' mask
    with (run_dir / "timeseries.csv").open() as f:
        unmasked = next(r for r in csv.DictReader(f) if r["scene_id"] == cloudy.scene_id)
    with (Path(result.run_dir) / "timeseries.csv").open() as f:
        masked = next(csv.DictReader(f))
    assert masked["cloud_percent"] == unmasked["cloud_percent"]
    assert masked["snow_ice_percent"] == unmasked["snow_ice_percent"]


def _first_scene_on(
    run_dir: Path, tmp_path: Path, run_name: str, aoi: Callable[[list[float]], dict[str, Any]], **options: Any
) -> tuple[Path, dict[str, Any], np.ndarray]:
    """The series' first scene run alone on `aoi(series bbox)` with `options`: run folder, Item, NDSI."""
    doc = json.loads((run_dir.parent / "scenes.json").read_text())
    doc.update(run_name=run_name, products=["ndsi"], aoi=aoi(doc["aoi"]["bbox"]), **options)
    doc["scenes"] = doc["scenes"][:1]
    result = run_plan(parse_scene_list(doc), str(tmp_path), workers=1, progress=False)
    assert result.exit_code == 0, result.failed
    out, scene_id = Path(result.run_dir), doc["scenes"][0]["scene_id"]
    with rasterio.open(out / scene_id / f"{scene_id}_ndsi.tif") as ds:
        ndsi = ds.read(1)
    return out, json.loads((out / scene_id / f"{scene_id}.json").read_text()), ndsi


def _triangle(bbox: list[float]) -> dict[str, Any]:
    """The south-west half of a bbox as a polygon AOI."""
    west, south, east, north = bbox
    ring = [[west, south], [east, south], [west, north], [west, south]]
    return {"geometry": {"type": "Polygon", "coordinates": [ring]}, "crs": "EPSG:32624", "name": "tri"}


def _east(bbox: list[float]) -> dict[str, Any]:
    """The bbox 2 degrees further east."""
    west, south, east, north = bbox
    return {"bbox": [west + 2, south, east + 2, north], "crs": "EPSG:32624", "name": "elsewhere"}


def test_an_aoi_geometry_makes_pixels_outside_it_nodata(
    tmp_path: Path, series: tuple[Path, list[glacier.SeriesScene]]
) -> None:
    _, item, ndsi = _first_scene_on(series[0], tmp_path, "triangle", _triangle)
    h, w = ndsi.shape
    assert np.isnan(ndsi[: h // 8, -w // 8 :]).all()  # the north-east corner is outside the triangle
    assert np.isfinite(ndsi[h // 2 : 3 * h // 4, w // 8 : w // 4]).all()  # the west, below the diagonal
    assert item["properties"]["scoresby:place"] == "aoi-tri"
    assert 40 < item["properties"]["scoresby:stats"]["valid_percent"] < 60  # about half of the bbox


def test_an_aoi_no_scene_covers_is_said_so_per_scene_and_per_composite(
    tmp_path: Path, series: tuple[Path, list[glacier.SeriesScene]]
) -> None:
    """The AOI 2 degrees east of the scene: the products hold no data and the scene and composite say why."""
    scenes = series[1]
    out, item, ndsi = _first_scene_on(series[0], tmp_path, "elsewhere", _east, composites={"period": "year"})
    assert np.isnan(ndsi).all()
    notes = [n for n in item["properties"]["scoresby:notes"] if "does not overlap the AOI" in n]
    assert len(notes) == 1 and "EPSG:32624" in notes[0]
    for again in (False, True):  # the run that made the composite, then one that finds it current
        if again:
            _first_scene_on(series[0], tmp_path, "elsewhere", _east, composites={"period": "year"})
        places = json.loads((out / "summary.json").read_text())["timeseries"]["places"]
        assert [n for n in places["notes"] if "no clear observation in the AOI" in n] == [
            f"aoi-elsewhere_composite_{scenes[0].date[:4]}: no clear observation in the AOI "
            "(its scenes are cloudy there or do not cover it)"
        ]
        assert places["made"] == ([] if again else [f"aoi-elsewhere_composite_{scenes[0].date[:4]}"])
