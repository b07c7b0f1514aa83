"""The place stage's estimator (pricing/places.py): jobs, tiles and costs follow from the measured figures."""

from __future__ import annotations

import pytest

from scoresby.pricing import cost
from scoresby.pricing import places as pc


def test_tiles_cover_the_aoi_with_smaller_edge_tiles() -> None:
    assert pc.tiles_of(7300, 5600, 4096) == 4
    assert pc.tiles_of(7300, 5600, 2048) == 4 * 3
    assert pc.tiles_of(4096, 4096, 4096) == 1


def test_a_backfill_prices_every_period_tile_and_its_reads() -> None:
    est = pc.place_estimate(
        7300, 5600, periods_made=40, observations=45, footprint=0.6, changes=1, indices=2, tile_px=4096,
        tile_s_per_mpx_obs=0.5, gets_per_mpx_obs=10.0,
    )  # fmt: skip
    assert est.jobs == {
        "composite-tiles": 40 * 4,
        "composite-items": 40,
        "derived-tiles": 4,
        "derived-items": 2,
        "plan and finish": 2,
    }
    obs_mpx = 40 * 7300 * 5600 / 1e6 * 0.6 * 45
    tiles_s = 160 * cost.JOB_START_S.value + obs_mpx * 0.5
    per_s = cost.usd_per_vcpu_hour(cost.SPOT_PRICE_DEFAULT.value) / 3600 * cost.MEASURED_VCPUS
    assert est.costs["composite tiles (Batch on Spot)"] == pytest.approx(tiles_s * per_s)
    reads = est.costs["S3 requests (source bands read again, outputs)"]
    assert reads >= obs_mpx * 10.0 * cost.S3_GET.value
    assert est.total == pytest.approx(sum(est.costs.values()))
    assert all(usd > 0 for usd in est.costs.values())


def test_a_round_adding_one_scene_remakes_one_period_on_its_tiles_and_the_trend() -> None:
    common = {"footprint": 0.6, "tile_px": 2048, "indices": 2}
    backfill = pc.place_estimate(7300, 5600, periods_made=40, observations=45, **common)
    one = pc.place_estimate(
        7300, 5600, periods_made=1, observations=45, periods_total=40, tile_share=0.6, **common
    )
    assert one.jobs["composite-tiles"] == 8 and one.jobs["composite-items"] == 1  # ceil(0.6 x 12 tiles)
    assert one.jobs["derived-tiles"] == 12  # the trend spans every tile
    assert one.total < backfill.total / 10
    trend = pc.trend_seconds(7300 * 5600, 2, 40)
    assert trend == pytest.approx(7300 * 5600 * 2 * pc.TREND_US_PER_PX.value * 1e-6)
    assert pc.trend_seconds(100, 1, 20) == pytest.approx(100 * pc.TREND_US_PER_PX.value * 1e-6 * 190 / 780)


def test_nothing_to_make_costs_only_plan_and_finish() -> None:
    est = pc.place_estimate(1000, 1000, periods_made=0, observations=0)
    assert sum(est.jobs.values()) == est.jobs["plan and finish"] == 2
    assert est.compute_s == pytest.approx(2 * cost.JOB_START_S.value)


def test_ard_storage_is_priced_per_gb_month() -> None:
    assert pc.ard_storage_usd_month(100) == pytest.approx(100 * pc.S3_STANDARD_GB_MONTH.value)
