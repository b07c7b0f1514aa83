"""Per-scene statistics in the DynamoDB task log and in the AWS summary (issue 12), against moto."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from lambdas.summarize_run import handler as summary
from scoresby.commands.batch_job import record_job
from scoresby.core.scene_list import Scene
from scoresby.core.task_log import FAILED, SKIPPED, SUCCEEDED
from scoresby.core.timeseries import STAT_FIELDS, TASK_LOG_STATS
from scoresby.stores.dynamo_log import DynamoTaskLog, to_dynamo
from scoresby.stores.run_files import FILE_STATS
from tests.lambdas.conftest import OUTPUT_BUCKET, OUTPUT_ROOT, TABLE

STATS = {
    "valid_percent": 97.5,
    "cloud_percent": None,  # no QA band: unknown, never 0
    "shadow_percent": None,
    "clear_percent": None,
    "snow_ice_percent": 41.25,
    "water_percent": 3.0,
    "ndvi_mean": 0.1234,
    "valid_km2": 812.5,
    "cloud_km2": None,
    "shadow_km2": None,
    "clear_km2": None,
    "snow_ice_km2": 335.2,
    "water_km2": 24.4,
    "quality_band": None,
    "pixels": {"pixels": 1000, "valid": 975},  # the Item's counts: not a task-log field
}


def scene(n: int) -> Scene:
    return Scene(
        scene_id=f"LC08_L2SP_226010_2014082{n}", source=f"s3://usgs-landsat/x/{n}/", products=("ndvi",)
    )


def outputs(s: Scene, run: str) -> dict[str, str]:
    return {"ndvi": f"{OUTPUT_ROOT}{run}/{s.scene_id}/{s.scene_id}_ndvi.tif"}


@pytest.fixture
def log(dynamodb: Any) -> DynamoTaskLog:
    return DynamoTaskLog(TABLE)


def test_succeed_stores_every_task_log_figure_with_unknown_ones_as_null(
    log: DynamoTaskLog, dynamodb: Any
) -> None:
    s = scene(1)
    log.plan("sund", [s], OUTPUT_ROOT, False)
    log.start("sund", s.scene_id, "job-1")
    log.succeed("sund", s.scene_id, outputs(s, "sund"), 2.0, stats=STATS)
    raw = dynamodb.get_item(TableName=TABLE, Key={"run_id": {"S": "sund"}, "scene_id": {"S": s.scene_id}})[
        "Item"
    ]
    stored = raw["stats"]["M"]
    assert set(stored) == set(TASK_LOG_STATS) and "pixels" not in stored
    assert stored["cloud_percent"] == {"NULL": True} and stored["snow_ice_percent"] == {"N": "41.25"}
    [record] = log.records("sund")
    assert record.stats == {k: STATS[k] for k in TASK_LOG_STATS}


def test_a_rerun_clears_the_old_figures_and_a_skipped_scene_keeps_them(log: DynamoTaskLog) -> None:
    done, again = scene(1), scene(2)
    log.plan("run-a", [done, again], OUTPUT_ROOT, False)
    for s in (done, again):
        log.start("run-a", s.scene_id, "job")
        log.succeed("run-a", s.scene_id, outputs(s, "run-a"), 1.0, stats=STATS)
    log.plan("run-b", [done], OUTPUT_ROOT, False)
    [skipped] = log.records("run-b")
    assert skipped.status == SKIPPED and skipped.stats == {k: STATS[k] for k in TASK_LOG_STATS}
    log.plan("run-a", [again], OUTPUT_ROOT, True)  # overwrite: runs again, PENDING without figures
    log.start("run-a", again.scene_id, "job-2")
    log.fail("run-a", again.scene_id, "MissingBands", "needs B5", 0.5)
    row = {r.scene_id: r for r in log.records("run-a")}[again.scene_id]
    assert row.status == FAILED and row.stats is None


def test_record_job_passes_the_scene_statistics_to_the_row(log: DynamoTaskLog) -> None:
    s = scene(3)
    log.plan("sund", [s], OUTPUT_ROOT, False)
    with record_job(s.scene_id, "sund", False, env={"SCORESBY_TASK_TABLE": TABLE}) as job:
        job.succeed(outputs(s, "sund"), 1.5, STATS)
    [row] = log.records("sund")
    assert row.status == SUCCEEDED and row.stats is not None and row.stats["water_percent"] == 3.0


def test_to_dynamo_keeps_none_inside_maps_but_drops_top_level_none() -> None:
    assert to_dynamo({"a": None, "stats": {"x": None, "y": 1.5}}) == {
        "stats": {"x": None, "y": Decimal("1.5")}
    }


def _finished_run(log: DynamoTaskLog, run: str) -> list[Scene]:
    scenes = [scene(1), scene(2)]
    log.plan(run, scenes, OUTPUT_ROOT, False)
    for s in scenes:
        log.start(run, s.scene_id, "job")
    log.succeed(run, scenes[0].scene_id, outputs(scenes[0], run), 1.0, stats=STATS)
    log.fail(run, scenes[1].scene_id, "MissingBands", "needs B5", 0.5)
    return scenes


def test_a_failed_time_series_is_reported_and_the_summary_keeps_the_task_log_figures(
    lambda_env: dict[str, str], s3: Any, log: DynamoTaskLog
) -> None:
    ok, _ = _finished_run(log, "sund")
    cause = json.dumps({"Status": "FAILED", "StatusReason": "Essential container in task exited"})
    event = {
        "run_name": "sund",
        "output": OUTPUT_ROOT,
        "timeseries": {"Error": "States.TaskFailed", "Cause": cause},
    }
    result = summary.handler(event, None)
    assert result["timeseries"] == FAILED and result["counts"][SUCCEEDED] == 1
    assert (
        "Time series not updated: States.TaskFailed: Essential container in task exited" in result["message"]
    )
    assert f"{ok.scene_id}: cloud unknown, snow/ice 41.2, water 3.0" in result["message"]
    written = json.loads(s3.get_object(Bucket=OUTPUT_BUCKET, Key="products/sund/summary.json")["Body"].read())
    assert written["timeseries"]["status"] == FAILED
    stats = {s["scene_id"]: s["stats"] for s in written["scenes"]}
    # summary.json keeps the report's and the mail's figures (the rest is in the task log and the Item)
    kept = {k: STATS[k] for k in FILE_STATS if k in STAT_FIELDS}
    assert stats[ok.scene_id] == {"place": None, "datetime": None, **kept}


def test_a_built_time_series_goes_into_summary_json_and_the_mail(
    lambda_env: dict[str, str], s3: Any, log: DynamoTaskLog
) -> None:
    ok, _ = _finished_run(log, "sund")
    row = {
        "place": "226010",
        "scene_id": ok.scene_id,
        "sensor": "landsat-8",
        "datetime": "2014-08-20T13:40:00Z",
    }
    row.update({k: STATS[k] for k in STAT_FIELDS})
    manifest = {
        "csv": "timeseries.csv",
        "chart": "timeseries.png",
        "timelapses": {"226010": ["226010_timelapse.gif"]},
        "max_cloud": None,
        "notes": ["no MP4 timelapse: imageio-ffmpeg is not available"],
        "rows": [row],
        "footprints": {ok.scene_id: None},
    }
    s3.put_object(
        Bucket=OUTPUT_BUCKET, Key="products/sund/timeseries.json", Body=json.dumps(manifest).encode()
    )
    event = {"run_name": "sund", "output": OUTPUT_ROOT, "timeseries": {"status": SUCCEEDED, "job_id": "j-1"}}
    result = summary.handler(event, None)
    message = result["message"]
    assert f"Time series: {OUTPUT_ROOT}sund/timeseries.csv, timeseries.png" in message
    assert "timelapse of 226010: 226010_timelapse.gif" in message
    assert "no MP4 timelapse" in message
    written = json.loads(s3.get_object(Bucket=OUTPUT_BUCKET, Key="products/sund/summary.json")["Body"].read())
    assert written["timeseries"]["status"] == SUCCEEDED
    assert written["timeseries"]["timelapses"] == {"226010": ["226010_timelapse.gif"]}
    [scene_stats] = [s["stats"] for s in written["scenes"] if s["scene_id"] == ok.scene_id]
    assert scene_stats["place"] == "226010" and scene_stats["datetime"].startswith("2014-08-20")


def test_a_skipped_time_series_adds_no_series_lines(
    lambda_env: dict[str, str], s3: Any, log: DynamoTaskLog
) -> None:
    _finished_run(log, "sund")
    event = {
        "run_name": "sund",
        "output": OUTPUT_ROOT,
        "timeseries": {"status": SKIPPED, "reason": "none done"},
    }
    result = summary.handler(event, None)
    assert result["timeseries"] == SKIPPED and "Time series" not in result["message"]
