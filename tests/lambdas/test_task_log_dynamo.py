"""DynamoTaskLog against moto: plan (PENDING, SKIPPED, requeue), start/succeed/fail, records, Decimals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from scoresby.commands.batch_job import record_job
from scoresby.core.scene_list import Scene
from scoresby.core.task_log import FAILED, PENDING, RUNNING, SKIPPED, SUCCEEDED
from scoresby.stores import dynamo_log as task_log_dynamo
from scoresby.stores.dynamo_log import DynamoTaskLog, to_dynamo
from tests.lambdas.conftest import OUTPUT_ROOT, TABLE

PRODUCTS = ("true_color", "ndvi")


def scene(n: int, products: tuple[str, ...] = PRODUCTS) -> Scene:
    return Scene(scene_id=f"S2B_48RXT_2020080{n}", source=f"s3://sentinel-cogs/x/{n}/", products=products)


def outputs_for(s: Scene, run: str) -> dict[str, str]:
    return {p: f"{OUTPUT_ROOT}{run}/{s.scene_id}/{s.scene_id}_{p}.tif" for p in s.products}


@pytest.fixture
def log(dynamodb: Any) -> DynamoTaskLog:
    return DynamoTaskLog(TABLE)


@pytest.fixture(params=["query-per-scene", "one-index-scan"])
def lookup(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with both ways plan() finds earlier results (small runs query, large runs scan)."""
    monkeypatch.setattr(
        task_log_dynamo, "BULK_LOOKUP_MIN", 10_000 if request.param == "query-per-scene" else 1
    )
    return str(request.param)


def test_plan_writes_pending_rows_in_input_order(log: DynamoTaskLog) -> None:
    scenes = [scene(3), scene(1), scene(2)]
    assert log.plan("run-a", scenes, OUTPUT_ROOT, False) == scenes
    rows = log.records("run-a")
    assert [r.scene_id for r in rows] == [s.scene_id for s in scenes]
    assert {r.status for r in rows} == {PENDING}
    assert rows[0].products == list(PRODUCTS) and rows[0].output_root == OUTPUT_ROOT and rows[0].attempts == 0
    assert rows[0].source == "s3://sentinel-cogs/x/3/"


def test_start_succeed_fail_count_attempts_and_store_floats(log: DynamoTaskLog, dynamodb: Any) -> None:
    s1, s2 = scene(1), scene(2)
    log.plan("run-a", [s1, s2], OUTPUT_ROOT, False)
    log.start("run-a", s1.scene_id, "job-1")
    log.succeed("run-a", s1.scene_id, outputs_for(s1, "run-a"), 12.5)
    log.start("run-a", s2.scene_id, "job-2")
    log.fail("run-a", s2.scene_id, "MissingBands", "scene x: needs B08", 1.25)
    log.start("run-a", s2.scene_id, "job-3")
    rows = {r.scene_id: r for r in log.records("run-a")}
    assert rows[s1.scene_id].status == SUCCEEDED
    assert rows[s1.scene_id].attempts == 1 and rows[s1.scene_id].duration_s == 12.5
    assert rows[s1.scene_id].outputs == outputs_for(s1, "run-a")
    assert rows[s1.scene_id].finished_at and rows[s1.scene_id].ran_on == "job-1"
    assert rows[s2.scene_id].status == RUNNING and rows[s2.scene_id].attempts == 2
    assert rows[s2.scene_id].error is None and rows[s2.scene_id].finished_at is None  # cleared by start
    raw = dynamodb.get_item(TableName=TABLE, Key={"run_id": {"S": "run-a"}, "scene_id": {"S": s1.scene_id}})
    assert raw["Item"]["duration_s"] == {"N": "12.5"}


def test_fail_records_type_and_message(log: DynamoTaskLog) -> None:
    s = scene(1)
    log.plan("run-a", [s], OUTPUT_ROOT, False)
    log.start("run-a", s.scene_id, "job-1")
    log.fail("run-a", s.scene_id, "SourceNotFound", "no files under s3://x/", None)
    (row,) = log.records("run-a")
    assert row.status == FAILED and row.error == {
        "type": "SourceNotFound",
        "message": "no files under s3://x/",
    }
    assert row.duration_s is None


def test_plan_skips_scenes_done_in_an_earlier_run_with_the_same_output(
    log: DynamoTaskLog, lookup: str
) -> None:
    done, todo = scene(1), scene(2)
    log.plan("run-a", [done], OUTPUT_ROOT, False)
    log.start("run-a", done.scene_id, "job-1")
    log.succeed("run-a", done.scene_id, outputs_for(done, "run-a"), 3.0)

    assert log.plan("run-b", [done, todo], OUTPUT_ROOT, False) == [todo]
    rows = {r.scene_id: r for r in log.records("run-b")}
    assert rows[done.scene_id].status == SKIPPED
    assert rows[done.scene_id].outputs == outputs_for(done, "run-a")  # carried over: where the products are
    assert rows[todo.scene_id].status == PENDING


def test_plan_does_not_skip_other_outputs_more_products_or_overwrite(log: DynamoTaskLog, lookup: str) -> None:
    s = scene(1, ("true_color",))
    log.plan("run-a", [s], OUTPUT_ROOT, False)
    log.succeed("run-a", s.scene_id, outputs_for(s, "run-a"), 1.0)
    elsewhere = "s3://other-bucket/x/"
    assert log.plan("run-b", [s], elsewhere, False) == [s]
    bigger = scene(1, ("true_color", "ndvi"))
    assert log.plan("run-c", [bigger], OUTPUT_ROOT, False) == [bigger]
    assert log.plan("run-d", [s], OUTPUT_ROOT, True) == [s]


def test_replan_keeps_done_rows_and_requeues_failed_and_running(log: DynamoTaskLog) -> None:
    ok, bad, stuck = scene(1), scene(2), scene(3)
    log.plan("run-a", [ok, bad, stuck], OUTPUT_ROOT, False)
    log.start("run-a", ok.scene_id, "j1")
    log.succeed("run-a", ok.scene_id, outputs_for(ok, "run-a"), 1.0)
    log.start("run-a", bad.scene_id, "j2")
    log.fail("run-a", bad.scene_id, "UnreadableRaster", "truncated", 1.0)
    log.start("run-a", stuck.scene_id, "j3")

    assert log.plan("run-a", [ok, bad, stuck], OUTPUT_ROOT, False) == [bad, stuck]
    rows = {r.scene_id: r for r in log.records("run-a")}
    assert rows[ok.scene_id].status in (SUCCEEDED, SKIPPED)
    assert rows[ok.scene_id].outputs == outputs_for(ok, "run-a")
    assert rows[bad.scene_id].status == PENDING and rows[bad.scene_id].error is None
    assert rows[bad.scene_id].attempts == 1  # kept
    assert rows[stuck.scene_id].status == PENDING


def test_records_paginates_a_large_run(log: DynamoTaskLog) -> None:
    scenes = [Scene(scene_id=f"S{i:05d}", source="s3://b/x/", products=("ndvi",)) for i in range(1200)]
    # ~1 MB of rows forces more than one Query page.
    log.plan("big", scenes, OUTPUT_ROOT, False)
    rows = log.records("big")
    assert len(rows) == 1200 and rows[-1].scene_id == "S01199"


def test_to_dynamo_makes_floats_decimal_and_drops_none() -> None:
    assert to_dynamo({"a": 1.5, "b": None, "c": [0.1], "d": True}) == {
        "a": Decimal("1.5"),
        "c": [Decimal("0.1")],
        "d": True,
    }


def test_record_job_records_running_success_and_failure(
    log: DynamoTaskLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    s1, s2 = scene(1), scene(2)
    log.plan("run-a", [s1, s2], OUTPUT_ROOT, False)
    env = {"SCORESBY_TASK_TABLE": TABLE, "SCORESBY_RUN_ID": "run-a", "AWS_BATCH_JOB_ID": "job-123"}
    with record_job(s1.scene_id, "ignored", False, env) as job:
        assert log.records("run-a")[0].status == RUNNING
        job.succeed(outputs_for(s1, "run-a"), 2.0)
    with pytest.raises(ValueError, match="bad\nband"), record_job(s2.scene_id, "ignored", False, env):
        raise ValueError("bad\nband")
    rows = {r.scene_id: r for r in log.records("run-a")}
    assert rows[s1.scene_id].status == SUCCEEDED and rows[s1.scene_id].ran_on == "job-123"
    assert rows[s2.scene_id].status == FAILED
    assert rows[s2.scene_id].error == {"type": "ValueError", "message": "bad band"}


def test_record_job_without_table_records_nothing_and_passes_overwrite(dynamodb: Any) -> None:
    with record_job("x", "run", False, {"SCORESBY_OVERWRITE": "true"}) as job:
        assert job.overwrite is True and job.task_log is None
        job.succeed({}, 1.0)
    assert dynamodb.scan(TableName=TABLE)["Count"] == 0
