"""Place products of a synthetic place against its known truth per pixel (tests/places/synth.py)."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

from scoresby.places.composite import classify
from scoresby.places.sensor_view import ROLES
from tests.places import synth

YEARS = (2000, 2001, 2002, 2003)
B, G, R, N, S = (ROLES.index(r) for r in ("blue", "green", "red", "nir", "swir1"))


def _asset(run_dir: Path, item_id: str, key: str) -> np.ndarray:
    folder = run_dir / "places" / "aoi-synth" / item_id
    with rasterio.open(folder / f"{item_id}_{key}.tif") as ds:
        assert ds.overviews(1) or max(ds.width, ds.height) <= 512
        return ds.read(1)


def _nd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return (a - b) / (a + b)


@pytest.mark.parametrize("year", YEARS)
def test_composite_matches_truth(built: Any, year: int) -> None:
    """clear_count, median indices, frequencies and nodata are those the generator's truth gives."""
    run_dir, _, made, result = built
    item_id = f"aoi-synth_composite_{year}"
    count, median, obs = synth.expected(made, year)
    got_count = _asset(run_dir, item_id, "clear_count")
    assert got_count.shape == count.shape
    np.testing.assert_array_equal(got_count, count)
    has = count > 0
    denominator = median[N] + 6 * median[R] - 7.5 * median[B] + 1
    evi = 2.5 * (median[N] - median[R]) / denominator
    for name, want in {
        "ndsi": _nd(median[G], median[S]),
        "ndvi": _nd(median[N], median[R]),
        "evi": evi,
    }.items():
        got = _asset(run_dir, item_id, name)
        assert np.isnan(got[~has]).all()
        # EVI over ice divides by nearly 0 (ill-conditioned): it is checked where its denominator is not.
        ok = has & (np.abs(denominator) > 0.5) if name == "evi" else has
        assert ok.mean() > 0.3
        np.testing.assert_allclose(got[ok], want[ok], atol=2e-3)
    # Frequencies: each observation classed by the per-scene rules on its truth.
    snow = np.zeros(count.shape)
    for clear, oli in obs:
        cls = classify(oli[G].astype(np.float32), oli[N].astype(np.float32), oli[S].astype(np.float32))
        snow += clear & (cls == 1)
    got_snow = _asset(run_dir, item_id, "snow_ice_frequency")
    np.testing.assert_allclose(got_snow[has], (snow / np.maximum(count, 1))[has], atol=1e-6)
    assert np.isnan(got_snow[~has]).all()
    with rasterio.open(run_dir / "places" / "aoi-synth" / item_id / f"{item_id}_reflectance.tif") as ds:
        refl = (
            ds.read().astype(np.float64) * np.array(ds.scales)[:, None, None]
            + np.array(ds.offsets)[:, None, None]
        )
        assert ds.descriptions == ROLES and ds.overviews(1) == [2]
    np.testing.assert_allclose(refl[:, has], median[:, has], atol=1e-4)
    assert (refl[:, ~has] == -0.2).all()  # DN 0: no data
    rgb = _asset(run_dir, item_id, "true_color")
    assert (rgb[~has] == 0).all() and (rgb[has] > 0).all()
    doc = result.items[item_id]
    props = doc["properties"]
    assert props["scoresby:kind"] == "composite" and props["scoresby:place"] == "aoi-synth"
    assert props["start_datetime"] == f"{year}-01-01T00:00:00Z" and props["end_datetime"].startswith(
        f"{year}-12-31"
    )
    # The January scene is out of season: never counted.
    assert not any(f"_{year}0120_" in s for s in props["scoresby:scenes"])
    classes = classify(*(np.where(has, median[i], np.nan).astype(np.float32) for i in (G, N, S)))
    assert props["scoresby:stats"]["snow_ice_km2"] == pytest.approx(
        np.count_nonzero(classes == 1) * 0.0009, abs=1e-3
    )
    assert props["scoresby:stats"]["clear_percent"] == pytest.approx(100 * has.mean(), abs=1e-3)


def test_uncovered_strip_and_cloudy_block(built: Any) -> None:
    """The eastern strip no scene covers, and 2001's block cloudy on every date, are nodata."""
    run_dir, _, _, _ = built
    count = _asset(run_dir, "aoi-synth_composite_2001", "clear_count")
    h, w = count.shape
    assert (count[:, int(0.93 * w) :] == 0).all()
    assert (count[int(0.71 * h) : int(0.89 * h), int(0.11 * w) : int(0.49 * w)] == 0).all()
    ndsi = _asset(run_dir, "aoi-synth_composite_2001", "ndsi")
    assert np.isnan(ndsi[int(0.71 * h) : int(0.89 * h), int(0.11 * w) : int(0.49 * w)]).all()


def test_same_day_rows_count_once(built: Any) -> None:
    """In the overlap of path A's two rows a pixel is one observation per date, never two."""
    run_dir, _, made, _ = built
    count = _asset(run_dir, "aoi-synth_composite_2002", "clear_count")
    h, w = count.shape
    overlap = count[int(0.43 * h) : int(0.57 * h), : int(0.37 * w)]  # path A only, both rows
    assert overlap.max() <= 2  # two path-A dates in July-September
    assert (overlap == 2).mean() > 0.5


def test_harmonisation_recovers_oli(built: Any) -> None:
    """TM (2000) and ETM+ (2001) files hold (OLI - a) / b: the composite's indices are OLI's."""
    run_dir, _, made, _ = built
    for year in (2000, 2001):
        count, median, _ = synth.expected(made, year)
        got = _asset(run_dir, f"aoi-synth_composite_{year}", "ndvi")
        has = count > 0
        np.testing.assert_allclose(got[has], _nd(median[N], median[R])[has], atol=2e-3)


def test_change_first_last(built: Any) -> None:
    """Transitions are 10 x class(2000) + class(2003) of the composites; the ice that went is 12."""
    run_dir, _, _, result = built
    item_id = "aoi-synth_change_2000_2003"
    first = _asset(run_dir, "aoi-synth_composite_2000", "classes")
    last = _asset(run_dir, "aoi-synth_composite_2003", "classes")
    codes = _asset(run_dir, item_id, "transitions")
    np.testing.assert_array_equal(codes, first.astype(int) * 10 + last)
    assert (codes == 12).sum() > 1000
    diff = _asset(run_dir, item_id, "ndsi_difference")
    a = _asset(run_dir, "aoi-synth_composite_2000", "ndsi")
    b = _asset(run_dir, "aoi-synth_composite_2003", "ndsi")
    np.testing.assert_allclose(diff, b - a, equal_nan=True, atol=1e-6)
    props = result.items[item_id]["properties"]
    assert props["scoresby:kind"] == "change"
    assert props["scoresby:transition_km2"]["12"] == pytest.approx((codes == 12).sum() * 0.0009, abs=1e-3)
    assert props["scoresby:legend"]["12"] == "snow/ice -> water"


def _reference(ys: list[float], ts: list[float]) -> tuple[float, float]:
    slopes = [(ys[j] - ys[i]) / (ts[j] - ts[i]) for i in range(len(ys)) for j in range(i + 1, len(ys))]
    s = sum((ys[j] > ys[i]) - (ys[j] < ys[i]) for i in range(len(ys)) for j in range(i + 1, len(ys)))
    n = len(ys)
    groups = [ys.count(v) for v in set(ys)]
    var = (n * (n - 1) * (2 * n + 5) - sum(g * (g - 1) * (2 * g + 5) for g in groups)) / 18
    z = (s - math.copysign(1, s)) / math.sqrt(var) if s else 0.0
    return statistics.median(slopes), math.erfc(abs(z) / math.sqrt(2))


def test_trend_against_reference(built: Any) -> None:
    """Slope and p of the published trend equal a plain-Python Theil-Sen / Mann-Kendall on the composites."""
    run_dir, _, _, result = built
    slope = _asset(run_dir, "aoi-synth_trend", "ndsi_slope")
    p = _asset(run_dir, "aoi-synth_trend", "ndsi_p_value")
    stacks = [_asset(run_dir, f"aoi-synth_composite_{y}", "ndsi") for y in YEARS]
    rng = np.random.default_rng(3)
    checked = 0
    for r, c in zip(rng.integers(0, slope.shape[0], 400), rng.integers(0, slope.shape[1], 400), strict=True):
        pairs = [
            (float(s[r, c]), y + 0.5) for s, y in zip(stacks, YEARS, strict=True) if np.isfinite(s[r, c])
        ]
        if len(pairs) < 3:
            assert np.isnan(slope[r, c])
            continue
        want_slope, want_p = _reference([v for v, _ in pairs], [t for _, t in pairs])
        assert slope[r, c] == pytest.approx(want_slope, abs=1e-4)
        assert p[r, c] == pytest.approx(want_p, abs=1e-5)
        checked += 1
    assert checked > 200
    assert result.items["aoi-synth_trend"]["properties"]["scoresby:kind"] == "trend"
    # p-values, slopes and frequencies are written without the predictor (outputs.UNPREDICTED), indices with.
    for item_id, key, predictor in (
        ("aoi-synth_trend", "ndsi_p_value", None),
        ("aoi-synth_trend", "ndsi_slope", None),
        (f"aoi-synth_composite_{YEARS[0]}", "snow_ice_frequency", None),
        (f"aoi-synth_composite_{YEARS[0]}", "ndsi", "3"),
    ):
        with rasterio.open(run_dir / "places" / "aoi-synth" / item_id / f"{item_id}_{key}.tif") as ds:
            assert ds.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR") == predictor, key


def test_items_and_table(built: Any) -> None:
    """Every Item is valid JSON with relative COG hrefs that exist; places.csv has a row per period."""
    run_dir, _, _, result = built
    folder = run_dir / "places" / "aoi-synth"
    for item_id, doc in result.items.items():
        on_disk = json.loads((folder / item_id / f"{item_id}.json").read_text())
        assert on_disk == doc
        for asset in doc["assets"].values():
            assert (folder / item_id / asset["href"].removeprefix("./")).is_file()
    lines = (run_dir / "places" / "places.csv").read_text().splitlines()
    assert lines[0].startswith("place,period,start_datetime,end_datetime,scenes,observations")
    assert [line.split(",")[1] for line in lines[1:]] == [str(y) for y in YEARS]
