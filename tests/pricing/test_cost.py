"""The cost estimator and the actual-cost rule (pure): figures from the measured constants and prices."""

from __future__ import annotations

import pytest

from scoresby.pricing import cost


def test_scene_seconds_go_through_the_measured_points() -> None:
    for pixels, figure in cost.SCENE_SECONDS:
        assert cost.scene_seconds(pixels) == pytest.approx(figure.value)
    assert cost.scene_seconds(cost.LANDSAT_FULL_PX) == 9.5
    # a Sentinel-2 10 m tile lies between the 1x and the 2x benchmark scene
    assert 9.5 < cost.scene_seconds(cost.SENTINEL2_FULL_PX) < 16.5
    assert cost.scene_seconds(100 * 100) < 0.01


def test_every_figure_names_its_source() -> None:
    figures = [f for _, f in cost.SCENE_SECONDS] + [
        v for v in vars(cost).values() if isinstance(v, cost.Figure)
    ]
    assert all(f.source and f.unit for f in figures)


def test_estimate_is_scenes_times_seconds_times_vcpu_price() -> None:
    est = cost.estimate({"landsat": 1000}, spot_price=0.04, scenes_per_job=1)
    expected_s = 1000 * 9.5 + 1000 * cost.JOB_START_S.value
    assert est.vcpu_hours == pytest.approx(expected_s * 2 / 3600)
    assert est.costs["compute (Batch on Spot)"] == pytest.approx(expected_s * 2 / 3600 * 0.04 / 2)
    assert est.costs["Step Functions transitions"] == pytest.approx(
        (cost.TRANSITIONS_PER_RUN + 1000 * cost.TRANSITIONS_PER_JOB) * 0.000025
    )
    # three per scene, one job row per job and one for the time-series job
    assert est.costs["DynamoDB writes"] == pytest.approx((1000 * 3 + 1000 + 1) * 0.625e-6)
    assert est.jobs == 1000 and est.total == pytest.approx(sum(est.costs.values()))


def test_more_scenes_per_job_pay_the_job_start_less_often() -> None:
    one = cost.estimate({"sentinel-2": 10_000}, scenes_per_job=1)
    many = cost.estimate({"sentinel-2": 10_000}, scenes_per_job=cost.default_scenes_per_job())
    assert many.jobs == -(-10_000 // cost.default_scenes_per_job())
    assert many.total < one.total
    assert many.compute_s == one.compute_s  # same scene work either way


def test_unknown_sensors_are_priced_as_the_largest_scene() -> None:
    assert cost.estimate({"unknown": 10}).compute_s == cost.estimate({"sentinel-2": 10}).compute_s


def test_defaults_derived_from_measurement() -> None:
    assert cost.job_memory_mib() == 1536  # 322 MiB peak x 4, in 512 MiB steps
    assert cost.default_scenes_per_job() == 31  # ~5 minutes of full Landsat scenes


def test_actual_cost_uses_start_and_finish_times_and_the_same_prices() -> None:
    rows = [
        ("2026-12-02T10:00:00Z", "2026-12-02T10:01:00Z", 58.0),  # 60 s between the timestamps
        ("2026-12-02T10:00:00Z", "2026-12-02T10:00:00Z", 2.5),  # same second: the duration counts
        (None, None, None),
    ]
    actual = cost.actual_compute_cost(rows, job_vcpus=2, spot_price=0.05)
    assert actual["busy_s"] == 62.5
    assert actual["vcpu_hours"] == pytest.approx(62.5 * 2 / 3600, abs=1e-6)
    assert actual["compute_usd"] == pytest.approx(62.5 * 2 / 3600 * 0.05 / 2, abs=1e-6)


def test_batch_jobs_are_priced_from_their_start_and_stop_milliseconds() -> None:
    jobs = [(1_000, 61_000), (5_000, 4_000), (None, 9_000)]  # 60 s; a clock going back and no start: 0
    actual = cost.batch_jobs_cost(jobs, job_vcpus=4, spot_price=0.05)
    assert actual["jobs"] == 3 and actual["busy_s"] == 60.0
    assert actual["vcpu_hours"] == pytest.approx(60 * 4 / 3600, abs=1e-6)
    assert actual["compute_usd"] == pytest.approx(60 * 4 / 3600 * 0.05 / 2, abs=1e-6)


def test_the_estimate_includes_the_time_series_job_and_one_write_per_job() -> None:
    est = cost.estimate({"landsat": 200}, scenes_per_job=31)
    assert est.jobs == 7
    assert est.timeseries_s == pytest.approx(cost.JOB_START_S.value + 200 * 0.019)
    series = est.costs["time-series job (Batch on Spot, S3)"]
    compute = est.timeseries_s * 2 / 3600 * cost.SPOT_PRICE_DEFAULT.value / 2
    s3 = (3 + 100) * cost.S3_PUT.value + 200 * 4 * cost.S3_GET.value
    assert series == pytest.approx(compute + s3)
    assert est.costs["DynamoDB writes"] == pytest.approx((200 * 3 + 7 + 1) * cost.DYNAMODB_WRITE.value)
    assert cost.estimate({}).costs["time-series job (Batch on Spot, S3)"] == 0.0  # no scene: no job
