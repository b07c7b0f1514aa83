"""The pure place-product maths against independent references: order statistics, trend, periods, merge."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, date, datetime

import numpy as np
import pytest

from scoresby.core.place_options import check_composites
from scoresby.places import composite, periods, trend
from scoresby.places.change import legend, transitions
from scoresby.places.harmonize import harmonize, unharmonize
from scoresby.places.observations import SceneDate, group, merge
from scoresby.places.planning import Product, derived_of
from scoresby.places.sensor_view import ROLES, to_oli


@pytest.mark.parametrize(
    ("method", "q"), [("median", 50.0), ("min", None), ("max", None), ("p10", 10.0), ("p90", 90.0)]
)
def test_reduce_matches_numpy(method: str, q: float | None) -> None:
    """Order statistics over clear observations equal numpy's nan-aware ones (ties, 0-7 observations)."""
    rng = np.random.default_rng(5)
    stack = np.round(rng.random((2, 30, 20, 7)), 1).astype(np.float32)  # rounded: many ties
    clear = rng.random((30, 20, 7)) < 0.6
    stack[:, ~clear] = np.nan
    count = clear.sum(axis=-1)
    reference = {"min": np.nanmin, "max": np.nanmax}
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        want = (
            reference[method](stack, axis=-1) if method in reference else np.nanpercentile(stack, q, axis=-1)
        )
    got = composite.reduce(stack.copy(), count, method, q)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6, equal_nan=True)
    assert np.isnan(got[:, count == 0]).all() and (count == 0).any()


def _reference(ys: list[float], ts: list[float]) -> tuple[float, float]:
    slopes = [(ys[j] - ys[i]) / (ts[j] - ts[i]) for i in range(len(ys)) for j in range(i + 1, len(ys))]
    s = sum((ys[j] > ys[i]) - (ys[j] < ys[i]) for i in range(len(ys)) for j in range(i + 1, len(ys)))
    n = len(ys)
    ties = sum(g * (g - 1) * (2 * g + 5) for g in (ys.count(v) for v in set(ys)))
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18
    z = (s - math.copysign(1, s)) / math.sqrt(var) if s and var > 0 else 0.0
    return statistics.median(slopes), math.erfc(abs(z) / math.sqrt(2))


def test_trend_matches_plain_python_with_ties_and_gaps() -> None:
    """Theil-Sen and tie-corrected Mann-Kendall per pixel equal a loop over pairs; NaN periods skipped."""
    rng = np.random.default_rng(11)
    n = 12
    times = np.arange(n) + 1990.5
    values = (np.round(rng.normal(size=(n, 40)) * 2) / 2 + 0.05 * (times - 1990)[:, None]).astype(np.float32)
    values[rng.random(values.shape) < 0.2] = np.nan
    values[:, 0] = np.nan
    values[:2, 1] = 1.0  # two valid only: too few
    values[2:, 1] = np.nan
    slope, p = trend.theil_sen_mann_kendall(values, times)
    assert np.isnan(slope[0]) and np.isnan(slope[1]) and np.isnan(p[1])
    for k in range(2, values.shape[1]):
        ok = np.isfinite(values[:, k])
        want_slope, want_p = _reference([float(v) for v in values[ok, k]], list(times[ok]))
        assert slope[k] == pytest.approx(want_slope, abs=1e-5)
        assert p[k] == pytest.approx(want_p, abs=2e-6)


def test_trend_is_chunked_without_changing_results(monkeypatch: pytest.MonkeyPatch) -> None:
    """Results do not depend on the pixel chunking that bounds memory."""
    rng = np.random.default_rng(2)
    values = rng.normal(size=(9, 13, 17)).astype(np.float32)
    times = np.arange(9.0)
    whole = trend.theil_sen_mann_kendall(values, times)
    monkeypatch.setattr(trend, "PAIR_BUDGET", 50)
    parts = trend.theil_sen_mann_kendall(values, times)
    for a, b in zip(whole, parts, strict=True):
        np.testing.assert_array_equal(a, b)


def test_erfc_accuracy() -> None:
    """The vectorised erfc is within 1.2e-7 relative of math.erfc."""
    x = np.linspace(-4, 6, 2001)
    want = np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(trend.erfc(x), want, rtol=1.3e-7, atol=1e-300)


def test_periods() -> None:
    """December counts in the next year's DJF; labels, starts and ends; decimal years."""
    assert periods.period_label(date(2016, 12, 5), "season") == "2017-DJF"
    assert periods.period_label(date(2017, 2, 28), "season") == "2017-DJF"
    assert periods.period_label(date(2017, 3, 1), "season") == "2017-MAM"
    assert periods.period_start("2017-DJF", "season") == date(2016, 12, 1)
    assert periods.period_end("2016-DJF", "season") == date(2016, 2, 29)
    assert periods.period_end("2016-SON", "season") == date(2016, 11, 30)
    assert periods.period_label(date(2016, 8, 15), "month") == "2016-08"
    assert periods.period_end("2016-02", "month") == date(2016, 2, 29)
    assert periods.period_label(date(2016, 8, 15), "year") == "2016"
    assert periods.period_label(date(2016, 8, 15), "all") == "all"
    assert periods.decimal_year(date(2016, 7, 2)) == pytest.approx(2016.5, abs=2e-3)


def test_solar_day_grouping() -> None:
    """Same sensor, same local solar day: one observation; another sensor that day: another."""
    t = datetime(2020, 8, 1, 13, 40, tzinfo=UTC)
    scenes = [
        SceneDate("b", "landsat-8", t),
        SceneDate("a", "landsat-8", t.replace(minute=41)),
        SceneDate("c", "landsat-9", t),
        SceneDate("d", "landsat-8", datetime(2020, 8, 2, 0, 30, tzinfo=UTC)),  # still 1 Aug at 25 W
        SceneDate("e", "landsat-8", datetime(2020, 8, 2, 13, 40, tzinfo=UTC)),
        SceneDate("f", "landsat-8", datetime(2020, 8, 2, tzinfo=UTC)),  # a date only (from a scene id)
    ]
    obs = group(scenes, lon=-25.0)
    assert [(o.sensor, o.day, o.scene_ids) for o in obs] == [
        ("landsat-8", date(2020, 8, 1), ("a", "b", "d")),
        ("landsat-9", date(2020, 8, 1), ("c",)),
        ("landsat-8", date(2020, 8, 2), ("e", "f")),
    ]


def test_merge_takes_first_clear() -> None:
    """A pixel clear in several scenes of one observation takes the first; cloudy everywhere stays NaN."""
    a = np.full((6, 2, 2), 0.1, dtype=np.float32)
    b = np.full((6, 2, 2), 0.2, dtype=np.float32)
    ca = np.array([[True, False], [False, True]])
    cb = np.array([[True, True], [False, False]])
    refl, clear = merge([(a, ca), (b, cb)])
    np.testing.assert_array_equal(clear, [[True, True], [False, True]])
    np.testing.assert_allclose(refl[:, 0, 0], 0.1)
    np.testing.assert_allclose(refl[:, 0, 1], 0.2)
    assert np.isnan(refl[:, 1, 0]).all()


def test_harmonisation_is_roy_2016() -> None:
    """TM/ETM+ get Roy et al. 2016 Table 2 OLS ETM+ -> OLI; OLI and Sentinel-2 none; the inverse inverts."""
    coeffs = to_oli("landsat-7")
    assert coeffs is not None and to_oli("landsat-5") == coeffs
    assert coeffs["nir"] == (0.0412, 0.8462) and coeffs["swir2"] == (0.0172, 0.9071)
    assert to_oli("landsat-8") is None and to_oli("sentinel-2") is None
    x = np.full((6, 1, 1), 0.3, dtype=np.float32)
    y = harmonize(x, ROLES, coeffs)
    assert y[3, 0, 0] == pytest.approx(0.0412 + 0.8462 * 0.3, abs=1e-6)
    np.testing.assert_allclose(unharmonize(y, ROLES, coeffs), x, atol=1e-6)


def test_transitions_and_legend() -> None:
    """10 x from + to; the legend names every code."""
    codes = transitions(np.array([1, 1, 3, 0]), np.array([2, 1, 2, 3]))
    assert codes.tolist() == [12, 11, 32, 3]
    assert legend()["12"] == "snow/ice -> water" and legend()["30"] == "other land -> unknown"


def test_options_defaults_and_round_trip() -> None:
    """Defaults of the contract; months sorted, duplicates dropped."""
    problems: list[str] = []
    out = check_composites({"months": [9, 7, 7, 8]}, "composites", problems)
    assert not problems
    assert out == {
        "period": "year",
        "months": [7, 8, 9],
        "method": "median",
        "change": "first-last",
        "trend": None,
        "harmonize": True,
        "sensors": ["tm", "etm+", "oli"],
    }
    assert check_composites({"change": False, "method": "p25"}, "c", problems)["change"] is None  # type: ignore[index]
    years = check_composites({"change": [[1985, "2024"]]}, "c", problems)
    assert not problems and years is not None and years["change"] == [["1985", "2024"]]
    check_composites({"period": "month", "change": [[2016, 2017]]}, "c", problems)
    assert problems == [
        "c.change[0]: [2016, 2017] is not allowed; allowed: [from, to], two different period labels such as "
        "'2016-08'"
    ]


def test_watch_round_plan_keeps_composites() -> None:
    """A watch's rounds carry `composites` (through the search block's run-level fields) to run_plan."""
    from scoresby.core.watch import parse_watch, watch_plan

    doc = {
        "run_name": "w",
        "aoi": {"bbox": [-26.0, 70.0, -25.0, 70.5]},
        "composites": {"months": [8], "change": False},
        "search": {
            "stac": "https://example.org/stac",
            "collections": ["c"],
            "bbox": [-26, 70, -25, 70.5],
            "datetime": "2020-01-01/..",
        },
    }
    plan = watch_plan(parse_watch(doc), [{"scene_id": "s", "source": "/data/s"}])
    assert (
        plan.composites is not None and plan.composites["months"] == [8] and plan.composites["change"] is None
    )


@pytest.mark.parametrize(
    ("over", "labels", "expected"),
    [
        ({}, ["2016"], ["no change map (one period with a composite)"]),
        ({"trend": True}, ["2016", "2017"], ["no trend map (fewer than 3 periods with a composite)"]),
        ({"period": "all"}, ["all"], []),  # one composite is what `all` asks for
        ({"period": "all", "trend": True}, ["all"], ["no trend map (period 'all' makes one composite)"]),
        ({"change": "consecutive"}, ["2016", "2017", "2018", "2019"], []),
        ({}, [], []),  # no composite at all: the build's own note says so
    ],
)
def test_derived_maps_that_cannot_be_made_are_notes(
    over: dict[str, object], labels: list[str], expected: list[str]
) -> None:
    """A change or trend map the options ask for but the periods cannot give is a note, never silence."""
    problems: list[str] = []
    options = check_composites(over, "composites", problems)
    assert not problems and options is not None
    made = [
        Product("composite", f"p_composite_{x}", x, (f"{x}-01-01", f"{x}-12-31"), {"scoresby:period": x})
        for x in labels
    ]
    derived, notes = derived_of("p", made, options, has_indices=True)
    assert notes == [f"place p: {n}" for n in expected]
    assert len([d for d in derived if d.kind == "trend"]) == (1 if len(labels) >= 4 else 0)
