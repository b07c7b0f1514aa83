"""The summary Lambda with a place stage: result.json in summary.json and the mail, failures, its own cost."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.summarize_run import handler as summary
from scoresby.core.config import SummarySettings
from scoresby.core.place_stage import FINISH_JOB_NAME, PLACE_JOB_PREFIX, PLAN_JOB_NAME, ledger_partition
from scoresby.core.place_stage import round_prefix as place_round_prefix
from scoresby.core.scene_list import Scene
from scoresby.steps import summary as summary_step
from scoresby.stores.dynamo_log import PARTITION_KEY, SORT_KEY, DynamoTaskLog
from scoresby.stores.job_rows import JobRow
from tests.lambdas.conftest import ITEMS_BUCKET, OUTPUT_BUCKET, OUTPUT_ROOT, TABLE

RUN = "sund"
ROUND = "r-2026-12-06"
PREFIX = place_round_prefix(RUN, ROUND)
EVENT = {
    "run_name": RUN,
    "output": OUTPUT_ROOT,
    "places": {"bucket": ITEMS_BUCKET, "prefix": PREFIX, "round": ROUND},
    "place_stage": {"status": "SUCCEEDED"},
}
T0 = 1_764_700_000_000
JOBS = [
    JobRow("j-scene", T0, T0 + 100_000, "scoresby-scenes-0", 2, "SUCCEEDED", "e1"),
    JobRow("j-plan", T0 + 200_000, T0 + 230_000, PLAN_JOB_NAME, 0, "SUCCEEDED", "e1"),
    JobRow("j-tile", T0 + 240_000, T0 + 360_000, f"{PLACE_JOB_PREFIX}-tile-2020-0-0", 0, "FAILED", "e1"),
    JobRow("j-fin", T0 + 400_000, T0 + 430_000, FINISH_JOB_NAME, 0, "SUCCEEDED", "e1"),
]


@pytest.fixture
def run(lambda_env: dict[str, str], s3: Any) -> DynamoTaskLog:
    log = DynamoTaskLog(TABLE)
    scene = Scene(scene_id="LC08_000", source="s3://usgs-landsat/x/0/", products=("ndvi",))
    log.plan(RUN, [scene], OUTPUT_ROOT, False)
    log.start(RUN, scene.scene_id, "job")
    log.succeed(RUN, scene.scene_id, {"ndvi": f"{OUTPUT_ROOT}{RUN}/LC08_000/LC08_000_ndvi.tif"}, 4.0)
    return log


def put_result(s3: Any, result: Any) -> None:
    s3.put_object(Bucket=ITEMS_BUCKET, Key=f"{PREFIX}result.json", Body=json.dumps(result).encode())


def written(s3: Any) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=OUTPUT_BUCKET, Key=f"products/{RUN}/summary.json")["Body"].read())


def test_the_rounds_result_goes_into_summary_and_mail_with_the_stage_cost_apart(
    run: Any, s3: Any, dynamodb: Any
) -> None:
    put_result(
        s3,
        {
            "place": "sund",
            "made": ["sund_composite_2021", "sund_change_2020_2021"],
            "failed": [{"item": "sund_composite_2020", "reason": "tile 0-0: Host EC2 terminated"}],
            "notes": ["period 2019: no scenes"],
            "rows": [{"place": "sund", "period": "2021"}],
            "jobs": {"composite-tiles": 4, "composite-items": 2, "plan": 1, "finish": 1},
        },
    )
    # The state machine's record of a failed job that result.json does not name is added.
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            PARTITION_KEY: {"S": ledger_partition(RUN)},
            SORT_KEY: {"S": f"failed#{ROUND}#{PLACE_JOB_PREFIX}-derived-0-0"},
            "error": {"S": "States.TaskFailed"},
            "cause": {"S": json.dumps({"StatusReason": "OutOfMemoryError: Container killed"})},
        },
    )
    result = summary_step.summarize_run(EVENT, SummarySettings(TABLE, job_vcpus=2), jobs=JOBS)
    places = written(s3)["places"]
    assert places["status"] == "FAILED" and places["round"] == ROUND and places["place"] == "sund"
    assert places["made"] == ["sund_composite_2021", "sund_change_2020_2021"]
    assert places["failed"] == [
        {"item": "sund_composite_2020", "reason": "tile 0-0: Host EC2 terminated"},
        {
            "item": f"{PLACE_JOB_PREFIX}-derived-0-0",
            "reason": "States.TaskFailed: OutOfMemoryError: Container killed",
        },
    ]
    assert places["notes"] == ["period 2019: no scenes"]
    assert places["jobs"] == {"composite-tiles": 4, "composite-items": 2, "plan": 1, "finish": 1}
    # The stage's three jobs (30 + 120 + 30 s) priced apart; the scene cost keeps only the scene job.
    assert places["cost"]["jobs"] == 3 and places["cost"]["busy_s"] == 180.0
    assert places["cost"]["compute_usd"] == pytest.approx(180 / 3600 * 0.045, abs=1e-6)
    totals = written(s3)["totals"]
    assert totals["cost"]["jobs"] == 1 and totals["cost"]["busy_s"] == 100.0
    assert result["counts"]["FAILED"] == 0  # the place stage never fails the run's scenes
    message = result["message"]
    assert f"Place products (round {ROUND}):" in message
    assert "made 2 item(s): sund_composite_2021, sund_change_2020_2021" in message
    assert "sund_composite_2020: tile 0-0: Host EC2 terminated" in message
    assert "OutOfMemoryError: Container killed" in message and "period 2019: no scenes" in message
    assert "place stage compute: 3 Batch job(s) ran 0.05 h" in message
    assert "compute: 1 Batch job(s) ran 0.03 h" in message


def test_a_caught_place_stage_is_its_failure_not_the_runs(run: Any, s3: Any) -> None:
    cause = json.dumps({"StatusReason": "Essential container in task exited", "Status": "FAILED"})
    event = EVENT | {"place_stage": {"Error": "States.TaskFailed", "Cause": cause}}
    result = summary.handler(event, None)
    places = written(s3)["places"]
    assert places == {
        "round": ROUND,
        "status": "FAILED",
        "error": "States.TaskFailed: Essential container in task exited",
        "failed": [],
    }
    assert result["counts"]["SUCCEEDED"] == 1 and result["subject"].endswith(
        "1 succeeded, 0 failed, 0 skipped"
    )
    assert (
        "the place stage failed: States.TaskFailed: Essential container in task exited" in result["message"]
    )
    assert "the scene results stay" in result["message"]


def test_a_missing_result_json_is_reported(run: Any, s3: Any) -> None:
    result = summary.handler(EVENT, None)
    places = written(s3)["places"]
    assert places["status"] == "FAILED"
    assert places["error"].startswith(f"s3://{ITEMS_BUCKET}/{PREFIX}result.json could not be read")
    assert "could not be read" in result["message"]


def test_a_round_that_made_nothing(run: Any, s3: Any) -> None:
    put_result(s3, {"place": "sund", "made": [], "failed": [], "notes": [], "jobs": {"plan": 1, "finish": 1}})
    result = summary.handler(EVENT, None)
    assert written(s3)["places"]["status"] == "SUCCEEDED"
    assert "made 0 item(s) (nothing had changed)" in result["message"]


def test_a_malformed_result_keeps_what_it_can(run: Any, s3: Any) -> None:
    put_result(s3, {"place": "sund", "made": "sund_2020", "failed": [1, {"item": "x"}], "jobs": [3]})
    summary.handler(EVENT, None)
    places = written(s3)["places"]
    assert places["made"] == [] and places["jobs"] == {} and places["notes"] == []
    assert places["failed"] == [{"item": "x", "reason": ""}] and places["status"] == "FAILED"
    put_result(s3, ["not", "an", "object"])
    summary.handler(EVENT, None)
    assert "expected an object, got list" in written(s3)["places"]["error"]


def test_without_a_place_stage_nothing_is_added(run: Any, s3: Any) -> None:
    result = summary.handler({"run_name": RUN, "output": OUTPUT_ROOT}, None)
    assert "places" not in written(s3)
    assert "Place products" not in result["message"]
