"""The place stage's state-machine mechanics under moto, with stand-in place jobs (no worker code needed).

The synthesized state machine runs in moto as in the other e2e tests, but every Batch job of these runs is
answered by a stand-in: scene jobs "succeed" without running, the plan job writes four job lists into the
round folder (one tile job exits non-zero), the item and finish jobs exit 0. That shows what infra owns:
the Distributed Maps read the lists the init step's round names, each item becomes one Batch job named
and commanded as listed, a failed job leaves its `failed#` record and `jobs:` row and the stage goes on, a
failed plan ends the stage, and the summary gets `places` and `place_stage`. test_places_e2e.py runs the
real place jobs (the worker's `scoresby places ...`) on the glacier series.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.batch.models import Job

from scoresby.core import place_stage
from scoresby.core.task_log import FAILED, SUCCEEDED
from scoresby.stores import job_rows
from scoresby.stores.dynamo_log import DynamoTaskLog
from tests.e2e import harness
from tests.e2e.harness import L8, SOURCES_BUCKET
from tests.e2e.moto_patches import BatchOutcome, run_batch_jobs_with

pytestmark = pytest.mark.slow

TILE_OK, TILE_BAD = "scoresby-place-tile-2016-0", "scoresby-place-tile-2016-1"
LISTS = {
    "composite-tiles": [
        {"job_name": TILE_OK, "command": ["places", "tiles", "ok"]},
        {"job_name": TILE_BAD, "command": ["places", "tiles", "bad"]},
    ],
    "composite-items": [
        {"job_name": "scoresby-place-assemble-2016", "command": ["places", "assemble", "2016"]}
    ],
    "derived-tiles": [],  # an empty list: the Map runs no job and the stage goes on
    "derived-items": [{"job_name": "scoresby-place-trend", "command": ["places", "assemble", "trend"]}],
}
REASON = "Essential container in task exited"


class StandIn:
    """Answers every Batch job: the plan writes LISTS into its round, TILE_BAD and a failing plan exit 1."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, list[str]]] = []
        self.fail_plan = False

    def __call__(self, job: Job, command: list[str], env: dict[str, str]) -> BatchOutcome:
        self.runs.append((job.job_name, command))
        if job.job_name == place_stage.PLAN_JOB_NAME:
            if self.fail_plan:
                return BatchOutcome(1, REASON)
            bucket, _, prefix = command[2].removeprefix("s3://").partition("/")
            s3 = boto3.client("s3")
            for name, items in LISTS.items():
                s3.put_object(Bucket=bucket, Key=place_stage.list_key(prefix, name), Body=json.dumps(items))
        return BatchOutcome(1, REASON) if job.job_name == TILE_BAD else BatchOutcome(0)


@pytest.fixture(scope="module")
def stand_in(world: dict[str, Any]) -> Iterator[StandIn]:
    """The stand-in answers Batch for this module only (the package's container runner comes back after)."""
    runner = StandIn()
    with pytest.MonkeyPatch.context() as mp:
        run_batch_jobs_with(mp, runner)
        yield runner  # leaving the context puts the package's container runner back


def doc(run_name: str, composites: bool = True) -> dict[str, Any]:
    d: dict[str, Any] = {
        "run_name": run_name,
        "aoi": {"bbox": [-78.1, -0.9, -77.9, -0.7]},
        "scenes": [{"source": f"s3://{SOURCES_BUCKET}/{L8}/"}],
    }
    if composites:
        d["composites"] = {"period": "year"}
    return d


def execute(world: dict[str, Any], stand_in: StandIn, run_name: str, **kwargs: Any) -> dict[str, Any]:
    stack: harness.MotoStack = world["stack"]
    runs_before, calls_before = len(stand_in.runs), len(world["lambda_calls"])
    described = stack.wait(stack.start(run_name, doc(run_name, **kwargs)), timeout_s=600)
    calls = world["lambda_calls"][calls_before:]
    init = next(c["result"] for c in calls if "items" in c.get("result", {}))
    [summary] = [c["event"] for c in calls if "counts" in c["event"] and "run_name" in c["event"]]
    return {
        "execution": described,
        "runs": stand_in.runs[runs_before:],
        "init": init,
        "summary": summary,
        "messages": stack.drain_messages(),
    }


@pytest.fixture(scope="module")
def stage_run(world: dict[str, Any], stand_in: StandIn) -> dict[str, Any]:
    return execute(world, stand_in, "stage-mechanics")


def test_the_stage_runs_plan_every_listed_job_and_finish_then_the_summary(stage_run: dict[str, Any]) -> None:
    assert stage_run["execution"]["status"] == SUCCEEDED, stage_run["execution"].get("cause")
    places = stage_run["init"]["places"]
    uri = f"s3://{places['bucket']}/{places['prefix']}"
    names = [name for name, _ in stage_run["runs"]]
    place_jobs = [(n, c) for n, c in stage_run["runs"] if n.startswith(place_stage.PLACE_JOB_PREFIX)]
    assert len(names) - len(place_jobs) == 1  # the scene job (the time series is skipped: nothing done)
    assert place_jobs[0] == (
        place_stage.PLAN_JOB_NAME,
        place_stage.plan_command(uri, "stage-mechanics", stage_run["init"]["output"]),
    )
    assert place_jobs[-1] == (
        place_stage.FINISH_JOB_NAME,
        place_stage.finish_command(uri, "stage-mechanics", stage_run["init"]["output"]),
    )
    listed = [(j["job_name"], j["command"]) for name in place_stage.JOB_LISTS for j in LISTS[name]]
    assert sorted(place_jobs[1:-1]) == sorted(listed)  # each item once, named and commanded as listed
    # the Maps run in the lists' order: both tiles before the assembly, the assembly before the trend
    order = [n for n, _ in place_jobs[1:-1]]
    assert set(order[:2]) == {TILE_OK, TILE_BAD} and order[2:] == [
        "scoresby-place-assemble-2016",
        "scoresby-place-trend",
    ]
    summary = stage_run["summary"]
    assert summary["places"] == places
    assert summary["place_stage"]["status"] == SUCCEEDED  # a failed tile fails its period, not the stage


def test_a_failed_place_job_is_recorded_in_the_ledger_partition_and_has_its_jobs_row(
    world: dict[str, Any], stage_run: dict[str, Any]
) -> None:
    stack: harness.MotoStack = world["stack"]
    round_id = stage_run["init"]["places"]["round"]
    items = boto3.client("dynamodb").query(
        TableName=stack.table_name,
        KeyConditionExpression="run_id = :p",
        ExpressionAttributeValues={":p": {"S": place_stage.ledger_partition("stage-mechanics")}},
    )["Items"]
    [failed] = [i for i in items if i["scene_id"]["S"].startswith(place_stage.FAILED_SK)]
    assert failed["scene_id"]["S"] == f"{place_stage.FAILED_SK}{round_id}#{TILE_BAD}"
    assert set(failed) == {"run_id", "scene_id", *place_stage.FAILED_FIELDS}
    assert failed["error"]["S"] == "States.TaskFailed"
    cause = json.loads(failed["cause"]["S"])  # Batch's DescribeJobs JSON, as Step Functions hands it on
    assert cause["StatusReason"] == REASON and cause["JobName"] == TILE_BAD
    rows = [r for r in job_rows.job_rows(DynamoTaskLog(stack.table_name), "stage-mechanics")]
    by_name = {r.job_name: r.status for r in rows if r.job_name.startswith(place_stage.PLACE_JOB_PREFIX)}
    assert by_name == {
        place_stage.PLAN_JOB_NAME: SUCCEEDED,
        TILE_OK: SUCCEEDED,
        TILE_BAD: FAILED,
        "scoresby-place-assemble-2016": SUCCEEDED,
        "scoresby-place-trend": SUCCEEDED,
        place_stage.FINISH_JOB_NAME: SUCCEEDED,
    }


def test_a_failed_plan_ends_the_stage_and_the_summary_gets_its_error(
    world: dict[str, Any], stand_in: StandIn, stage_run: dict[str, Any]
) -> None:
    stand_in.fail_plan = True
    try:
        run = execute(world, stand_in, "stage-plan-fails")
    finally:
        stand_in.fail_plan = False
    assert run["execution"]["status"] == SUCCEEDED, run["execution"].get("cause")
    assert [n for n, _ in run["runs"] if n.startswith(place_stage.PLACE_JOB_PREFIX)] == [
        place_stage.PLAN_JOB_NAME
    ]
    stage = run["summary"]["place_stage"]
    assert stage["Error"] == "States.TaskFailed" and json.loads(stage["Cause"])["StatusReason"] == REASON
    assert run["summary"]["places"] == run["init"]["places"]


def test_a_list_without_composites_has_no_place_stage(world: dict[str, Any], stand_in: StandIn) -> None:
    run = execute(world, stand_in, "stage-none", composites=False)
    assert run["execution"]["status"] == SUCCEEDED, run["execution"].get("cause")
    assert "places" not in run["init"]
    assert not [n for n, _ in run["runs"] if n.startswith(place_stage.PLACE_JOB_PREFIX)]
    assert "places" not in run["summary"] and "place_stage" not in run["summary"]
