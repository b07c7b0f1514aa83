"""Several scenes per Batch job (commands.batch_job.run_batch) against moto's DynamoDB task log."""

from __future__ import annotations

from typing import Any

import pytest

from scoresby.commands import batch_job
from scoresby.commands.run_worker import Job, Reply
from scoresby.core.errors import Terminated
from scoresby.core.scene_list import Scene
from scoresby.core.task_log import FAILED, PENDING, RUNNING, SUCCEEDED
from scoresby.stores.dynamo_log import DynamoTaskLog
from tests.lambdas.conftest import OUTPUT_ROOT, TABLE

RUN = "batched"
ENV = {"SCORESBY_TASK_TABLE": TABLE, "SCORESBY_RUN_ID": RUN, "AWS_BATCH_JOB_ID": "job-7"}


def scene(n: int) -> Scene:
    return Scene(scene_id=f"S2B_48RXT_2020080{n}", source=f"s3://sentinel-cogs/x/{n}/", products=("ndvi",))


@pytest.fixture
def log(dynamodb: Any) -> DynamoTaskLog:
    return DynamoTaskLog(TABLE)


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """run_job replaced: scenes whose id ends in 'bad' fail, 'term' is SIGTERMed; returns the ids run."""
    calls: list[str] = []

    def fake_run_job(job: Job) -> Reply:
        sid = job.scene.scene_id
        calls.append(sid)
        if sid.endswith("term"):
            raise Terminated(15)
        if sid.endswith("bad"):
            return Reply(False, 0.5, error_type="MissingBands", message=f"scene {sid}: no B7")
        return Reply(True, 1.5, outputs={"ndvi": f"{OUTPUT_ROOT}{RUN}/{sid}/{sid}_ndvi.tif"})

    monkeypatch.setattr(batch_job, "run_job", fake_run_job)
    return calls


def rows(log: DynamoTaskLog) -> dict[str, Any]:
    return {r.scene_id: r for r in log.records(RUN)}


def test_each_scene_of_a_batch_has_its_own_row_and_a_bad_one_fails_alone(log, ran) -> None:
    good1, bad, good2 = scene(1), Scene("S2_bad", "s3://b/bad/", ("ndvi",)), scene(2)
    log.plan(RUN, [good1, bad, good2], OUTPUT_ROOT, False)
    outcomes = batch_job.run_batch([good1, bad, good2], OUTPUT_ROOT, run_name=RUN, overwrite=False, env=ENV)
    assert ran == [good1.scene_id, "S2_bad", good2.scene_id]
    assert [r.ok for _, r in outcomes if r] == [True, False, True]
    by_id = rows(log)
    assert by_id[good1.scene_id].status == by_id[good2.scene_id].status == SUCCEEDED
    assert by_id["S2_bad"].status == FAILED
    assert by_id["S2_bad"].error == {"type": "MissingBands", "message": "scene S2_bad: no B7"}
    assert {r.attempts for r in by_id.values()} == {1}
    assert {r.ran_on for r in by_id.values()} == {"job-7"}


def test_a_retried_batch_runs_only_the_scenes_not_yet_done(log, ran) -> None:
    done, bad, interrupted, waiting, stopped = (
        scene(1),
        Scene("S2_bad", "s3://b/bad/", ("ndvi",)),
        scene(2),
        scene(3),
        scene(4),
    )
    batch = [done, bad, interrupted, waiting, stopped]
    log.plan(RUN, batch, OUTPUT_ROOT, False)
    # what the reclaimed first attempt left behind
    for s in (done, bad, interrupted, stopped):
        log.start(RUN, s.scene_id, "job-7")
    log.succeed(RUN, done.scene_id, {"ndvi": "s3://x"}, 1.0)
    log.fail(RUN, bad.scene_id, "MissingBands", "no B7", 0.1)
    log.fail(RUN, stopped.scene_id, "Terminated", "stopped by signal 15 (SIGTERM)", 3.0)
    assert rows(log)[interrupted.scene_id].status == RUNNING  # SIGKILL: never recorded
    outcomes = batch_job.run_batch(batch, OUTPUT_ROOT, run_name=RUN, overwrite=False, env=ENV)
    assert ran == [interrupted.scene_id, waiting.scene_id, stopped.scene_id]
    assert [r is None for _, r in outcomes] == [True, True, False, False, False]
    by_id = rows(log)
    assert by_id[done.scene_id].attempts == 1 and by_id[done.scene_id].status == SUCCEEDED
    assert by_id[bad.scene_id].status == FAILED and by_id[bad.scene_id].attempts == 1
    assert by_id[interrupted.scene_id].attempts == 2 and by_id[interrupted.scene_id].status == SUCCEEDED
    assert by_id[stopped.scene_id].attempts == 2 and by_id[stopped.scene_id].status == SUCCEEDED
    assert by_id[waiting.scene_id].attempts == 1


def test_sigterm_records_the_interrupted_scene_and_stops_the_batch(log, ran) -> None:
    first, term, after = scene(1), Scene("S2_term", "s3://b/t/", ("ndvi",)), scene(2)
    log.plan(RUN, [first, term, after], OUTPUT_ROOT, False)
    with pytest.raises(Terminated):
        batch_job.run_batch([first, term, after], OUTPUT_ROOT, run_name=RUN, overwrite=False, env=ENV)
    assert ran == [first.scene_id, "S2_term"]
    by_id = rows(log)
    assert by_id[first.scene_id].status == SUCCEEDED
    assert by_id["S2_term"].status == FAILED and by_id["S2_term"].error["type"] == "Terminated"
    assert by_id[after.scene_id].status == PENDING


def test_without_a_task_table_every_scene_runs(dynamodb: Any, ran) -> None:
    outcomes = batch_job.run_batch([scene(1), scene(2)], OUTPUT_ROOT, run_name=RUN, overwrite=False, env={})
    assert len(ran) == 2 and all(r and r.ok for _, r in outcomes)
    assert dynamodb.scan(TableName=TABLE)["Count"] == 0


def test_a_sigterm_swallowed_mid_scene_still_stops_the_batch_before_the_next(log, ran) -> None:
    # e.g. the handler's exception landed in a logging call, which reports and drops errors
    first, second = scene(1), scene(2)
    log.plan(RUN, [first, second], OUTPUT_ROOT, False)
    signals: list[int] = []
    with pytest.raises(Terminated):
        batch_job.run_batch(
            [first, second],
            OUTPUT_ROOT,
            run_name=RUN,
            overwrite=False,
            env=ENV,
            report=lambda s, r: signals.append(15),
            stopped=lambda: signals[0] if signals else None,
        )
    assert ran == [first.scene_id]
    assert rows(log)[second.scene_id].status == PENDING
