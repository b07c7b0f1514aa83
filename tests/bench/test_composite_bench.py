"""The composite benchmark's helpers at a tiny size: the workload's files and Items, the AOI grid, the
Scoresby side's median against a plain numpy median of the files, the comparison and the report lines."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from bench import _composite_child as child
from bench import composite_bench as cb
from bench import composite_workload as wl
from scoresby.core.scene_list import parse_scene
from scoresby.discovery.discover import discover_scene
from scoresby.raster.quality import aoi_grid

PARAMS = wl.Params(size=96, dates=3)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> list[wl.BenchScene]:
    return wl.ensure_workload(tmp_path_factory.mktemp("workload"), PARAMS, log=lambda *_: None)


def test_each_path_covers_60_percent_from_its_edge() -> None:
    assert wl.path_columns(2000, 0, 2) == (0, 1200)
    assert wl.path_columns(2000, 1, 2) == (800, 1200)
    assert wl.path_columns(1000, 0, 1) == (0, 600)


@pytest.mark.parametrize("size", [96, 2000, 4000])
def test_the_aoi_snaps_to_exactly_the_workload_grid(size: int) -> None:
    grid = aoi_grid(wl.aoi(wl.Params(size=size)))
    assert (grid.width, grid.height) == (size, size)
    assert (grid.transform.c, grid.transform.f) == wl.ORIGIN


def test_scenes_are_landsat_c2_l2_cogs_with_stac_items(scenes: list[wl.BenchScene]) -> None:
    assert len(scenes) == PARAMS.dates * PARAMS.paths
    assert len({s.date for s in scenes}) == len(scenes)  # the east path passes on another day
    cloudy = []
    for s in scenes:
        files = discover_scene(parse_scene({"scene_id": s.scene_id, "source": s.folder}))
        assert (files.sensor, files.level, files.datetime[:10]) == ("landsat-8", "L2", s.date)
        assert files.quality is not None
        with rasterio.open(files.bands["B4"].path) as ds:
            assert (ds.width, ds.height, ds.dtypes[0], ds.nodata) == (s.width, PARAMS.size, "uint16", 0)
            assert ds.compression.name.lower() == "deflate"
            assert ds.transform.c == wl.ORIGIN[0] + s.col_off * wl.PIXEL_M
            dn = ds.read(1)
        with rasterio.open(files.quality.path) as ds:
            qa = ds.read(1)
        assert ((qa & 1) != 0).any()  # fill at the edges
        cloudy.append(((qa & 8) != 0).any())
        assert np.array_equal(dn == 0, (qa & 1) != 0)
        item = json.loads(Path(s.item).read_text())
        props = item["properties"]
        assert props["proj:shape"] == [PARAMS.size, s.width] and props["proj:epsg"] == 32624
        assert props["proj:transform"][:3] == [wl.PIXEL_M, 0.0, wl.ORIGIN[0] + s.col_off * wl.PIXEL_M]
        assert sorted(item["assets"]) == sorted([*wl.COMMON, "qa_pixel"])
        assert all(Path(a["href"]).is_file() for a in item["assets"].values())
    assert all(cloudy)


def test_the_workload_is_cached(scenes: list[wl.BenchScene]) -> None:
    root = Path(scenes[0].folder).parents[1]
    again = wl.ensure_workload(root, PARAMS, log=lambda *_: pytest.fail("written again"))
    assert again == scenes


def test_scoresby_median_is_the_median_of_the_clear_observations(
    scenes: list[wl.BenchScene], tmp_path: Path
) -> None:
    spec = cb.spec_of(scenes, PARAMS)
    info = child.median(spec, str(tmp_path / "median.tif"))
    assert info["observations"] == len(scenes)
    with rasterio.open(tmp_path / "median.tif") as ds:
        got = ds.read()
    # Independently: every scene's clear reflectance on the AOI grid, then numpy's nanmedian.
    size = PARAMS.size
    stack = np.full((len(scenes), 6, size, size), np.nan, dtype=np.float32)
    for k, s in enumerate(scenes):
        folder = Path(s.folder)
        with rasterio.open(folder / f"{s.scene_id}_QA_PIXEL.TIF") as ds:
            clear = (ds.read(1) & 0b11111) == 0
        for b, band in enumerate(wl.LANDSAT_BANDS):
            with rasterio.open(folder / f"{s.scene_id}_SR_{band}.TIF") as ds:
                refl = ds.read(1).astype(np.float32) * np.float32(2.75e-05) + np.float32(-0.2)
            stack[k, b, :, s.col_off : s.col_off + s.width] = np.where(clear, refl, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.nanmedian(stack, axis=0)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.nanmax(np.abs(got - want)) < 1e-6
    assert 0.5 < np.isfinite(got).mean() < 1  # cloudy on every date somewhere, clear mostly


def _tif(path: Path, data: np.ndarray) -> Path:
    profile = {"driver": "GTiff", "width": 8, "height": 8, "count": 1, "dtype": "float32"}
    with rasterio.open(path, "w", **profile, transform=from_origin(0, 8, 1, 1), nodata=np.nan) as ds:
        ds.write(data, 1)
    return path


def test_compare_counts_mask_differences_and_the_largest_difference(tmp_path: Path) -> None:
    a = np.zeros((8, 8), dtype=np.float32)
    b = a.copy()
    b[0, 0] = np.nan
    b[1, 1] = 0.25
    diff = cb.compare(_tif(tmp_path / "a.tif", a), _tif(tmp_path / "b.tif", b))
    assert diff == {"mask_differs": 1 / 64, "max_abs_diff": 0.25}


def test_report_helpers() -> None:
    assert cb.verdict(0.3, 0.33) == "PASS" and cb.verdict(0.34, 0.33) == "FAIL"
    assert cb.verdict(float("nan"), 1) == "n/a"
    assert cb.ratio_line("wall", 0.5, 0.33) == "  wall: 0.50x (target <= 0.33x: FAIL)"
    assert cb.phases({"read_s": 1.25, "observations": 3, "write_s": 0.5}) == "read 1.2 s, write 0.5 s"
    m = cb.Measured(1.0, 1, 1, 0, stdout='log line\n{"total_s": 2.5}\n')
    assert cb.child_info(m) == {"total_s": 2.5}
    assert "load" in cb.load_text()
    info = {"total_s": 8.0, "composite_s": 5.0, "change_s": 1.0, "trend_s": 1.5, "rest_s": 0.5, "made": 3}
    assert cb.breakdown(10.0, info) == (
        "10.0 s = start and imports 2.0 s + composite 5.0 s + change 1.0 s + trend 1.5 s + rest 0.5 s"
    )


def test_full_step_reports_the_seconds_of_each_kind_of_product(
    scenes: list[wl.BenchScene], tmp_path: Path
) -> None:
    import scoresby.places.build as build_module

    before = build_module.make_composite
    info = child.full(cb.spec_of(scenes, PARAMS), str(tmp_path / "run"))
    assert build_module.make_composite is before  # the timing wrappers are taken off again
    assert info["made"] == 1 and info["items"] == 1  # one summer: one composite, no change or trend
    assert info["composite_s"] > 0 and info["change_s"] == 0 and info["trend_s"] == 0
    assert info["rest_s"] >= 0 and info["cpu_s"] > 0
    assert info["total_s"] == pytest.approx(info["composite_s"] + info["rest_s"])
    assert (tmp_path / "run" / "places" / "aoi-bench").is_dir()


def test_items_of_gives_the_peer_the_scoresby_grid(scenes: list[wl.BenchScene]) -> None:
    doc = cb.items_of(scenes, PARAMS)
    grid = aoi_grid(wl.aoi(PARAMS))
    assert doc["grid"] == {
        "crs": "EPSG:32624",
        "transform": list(grid.transform)[:6],
        "width": PARAMS.size,
        "height": PARAMS.size,
    }
    assert doc["items"] == [s.item for s in scenes]


def test_trend_blocks_are_synthetic_composites_with_gaps() -> None:
    block = child.synthetic_block(12, (64, 32), seed=1)
    assert block.shape == (12, 64, 32) and block.dtype == np.float32
    assert 0.05 < np.isnan(block).mean() < 0.15
    info = child.trend({"periods": 6, "width": 600, "height": 40, "blocks": 1})
    assert info["pixels"] == 512 * 40 and info["all_pixels"] == 600 * 40
    assert 0 < info["step_s"] <= info["wall_s"]


def test_forget_inputs_empties_each_place_manifests_record(tmp_path: Path) -> None:
    """The made-whole baseline of the incremental bench: the record of inputs goes, the rest stays."""
    path = tmp_path / "places" / "aoi-bench" / "manifest.json"
    path.parent.mkdir(parents=True)
    doc = {"version": 1, "scenes": {"a": {"key": "k"}}, "products": {"p": "f"}, "inputs": {"p": {"x": 1}}}
    path.write_text(json.dumps(doc))
    cb.forget_inputs(tmp_path)
    assert json.loads(path.read_text()) == {**doc, "inputs": {}}


@pytest.mark.parametrize(
    ("paths", "passes", "revisit"), [(2, 10, cb.ISSUE_REVISIT), cb.DENSE, (2, 1, 16), (2, 4, 16)]
)
def test_every_12_summer_place_has_all_its_scenes_in_months_7_to_9(
    paths: int, passes: int, revisit: int
) -> None:
    """Every scene of the incremental places counts for its summer (months 7-9): paths x passes each."""
    params = cb.place_params(1000, passes, paths, revisit)
    days = [day for day, _path in wl.scene_dates(params)]
    assert all(7 <= d.month <= 9 for d in days), [d for d in days if not 7 <= d.month <= 9]
    per_year = {y: sum(d.year == y for d in days) for y in range(2009, 2021)}
    assert set(per_year.values()) == {paths * passes}
