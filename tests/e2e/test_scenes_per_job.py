"""Several scenes per Batch job, end to end under moto: the synthesized definition, real jobs, real scenes.

The init function runs with scenesPerJob = 3 (its environment variable, as `-c scenesPerJob=3` deploys it;
the definition is the same for any value). One job runs a good Landsat scene, the Landsat scene without
SR_B7 and a good Sentinel-2 scene, one after the other: each keeps its own row and attempts, only the bad
one fails and gets a message. A second run's job is reclaimed (SIGTERM) after its first scene and retried
by "Batch": the retry runs only the scenes the first attempt did not finish.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from scoresby.core.config import SCENES_PER_JOB
from scoresby.core.task_log import FAILED, PENDING, SUCCEEDED
from scoresby.stores.dynamo_log import DynamoTaskLog
from tests.e2e import harness
from tests.e2e.harness import BROKEN_ID, L8, L8_ID, S2, S2_ID, SOURCES_BUCKET
from tests.e2e.moto_patches import BatchOutcome, run_batch_jobs_with

pytestmark = pytest.mark.slow

BATCH_RUN = "e2e-batched"
GOOD_L8, BAD, GOOD_S2 = f"{L8_ID}_batched", f"{BROKEN_ID}_batched", f"{S2_ID}_batched"
RETRY_RUN = "e2e-reclaimed"


@pytest.fixture(scope="module")
def three_per_job(world: dict[str, Any]) -> Iterator[None]:
    """The init function groups up to 3 scenes per job while this module runs."""
    old = harness.set_init_env(world["stack"], SCENES_PER_JOB, "3")
    yield
    harness.set_init_env(world["stack"], SCENES_PER_JOB, old)


def rows(stack: harness.MotoStack, run: str) -> dict[str, Any]:
    return {r.scene_id: r for r in DynamoTaskLog(stack.table_name).records(run)}


@pytest.fixture(scope="module")
def batched_run(world: dict[str, Any], three_per_job: None) -> dict[str, Any]:
    stack: harness.MotoStack = world["stack"]
    stack.drain_messages()
    doc = {
        "run_name": BATCH_RUN,
        # Scene ids of their own: the main run's scenes must not find these outputs done (same output root).
        "scenes": [
            {
                "scene_id": GOOD_L8,
                "source": f"s3://{SOURCES_BUCKET}/{L8}/",
                "products": ["true_color", "ndvi"],
            },
            {
                "scene_id": BAD,
                "source": f"s3://{SOURCES_BUCKET}/broken/{L8_ID}/",
                "products": ["false_color_ice"],
            },
            {
                "scene_id": GOOD_S2,
                "source": f"s3://{SOURCES_BUCKET}/{S2}/",
                "products": ["true_color", "ndvi"],
            },
        ],
    }
    before = len(world["container"].runs)
    execution = stack.wait(stack.start("batched", doc))
    return {
        "execution": execution,
        "runs": harness.scene_runs(world["container"].runs[before:]),
        "messages": stack.drain_messages(),
    }


def test_three_scenes_run_in_one_job_with_one_row_each(batched_run, world):
    assert batched_run["execution"]["status"] == "SUCCEEDED", batched_run["execution"].get("cause")
    [job] = batched_run["runs"]
    assert job.job_name == f"scoresby-{GOOD_L8}-and-2-more"
    assert [s["scene_id"] for s in json.loads(job.argv[-5])] == [GOOD_L8, BAD, GOOD_S2]
    assert job.returncode == 1  # a scene failed: the Catch looks at each scene of the job
    lines = [json.loads(x) for x in job.stdout.splitlines()]
    assert [(x["scene_id"], x["ok"]) for x in lines] == [(GOOD_L8, True), (BAD, False), (GOOD_S2, True)]
    by_id = rows(world["stack"], BATCH_RUN)
    assert by_id[GOOD_L8].status == by_id[GOOD_S2].status == SUCCEEDED
    assert set(by_id[GOOD_L8].outputs) == {"true_color", "ndvi"}
    assert by_id[BAD].status == FAILED
    assert by_id[BAD].error["type"] == "MissingBands" and "B7" in by_id[BAD].error["message"]
    assert by_id[BAD].batch_status_reason == "Essential container in task exited"
    assert {r.attempts for r in by_id.values()} == {1}
    assert {r.ran_on for r in by_id.values()} == {job.job_id}


def test_only_the_bad_scene_of_the_batch_gets_a_failure_message(batched_run):
    failures = [m for m in batched_run["messages"] if m["Subject"] == "Scoresby: a scene failed"]
    assert len(failures) == 1
    assert failures[0]["Message"].startswith(f"Scene {BAD} of run {BATCH_RUN} failed: MissingBands: ")
    [summary] = [m for m in batched_run["messages"] if m["Subject"].startswith(f"Scoresby {BATCH_RUN}:")]
    assert "2 succeeded, 1 failed" in summary["Subject"]


def test_good_batch_mates_of_a_bad_scene_have_their_outputs(batched_run, world):
    import boto3

    stack: harness.MotoStack = world["stack"]
    keys = {
        o["Key"]
        for o in boto3.client("s3").list_objects_v2(
            Bucket=stack.output_bucket, Prefix=f"products/{BATCH_RUN}/"
        )["Contents"]
    }
    for sid in (GOOD_L8, GOOD_S2):
        assert f"products/{BATCH_RUN}/{sid}/{sid}.json" in keys
    assert not any(k.startswith(f"products/{BATCH_RUN}/{BAD}/") for k in keys)


class Reclaimer:
    """A job runner that stops a job's first attempt once a scene SUCCEEDED (SIGTERM, as ECS does on a Spot
    reclaim), then runs the job again as Batch's retry does; every other job runs normally."""

    def __init__(self, container: harness.WorkerContainer, stack: harness.MotoStack, run_id: str) -> None:
        self.container, self.stack, self.run_id = container, stack, run_id
        self.first: dict[str, Any] = {}

    def __call__(self, job: Any, command: list[str], job_env: dict[str, str]) -> BatchOutcome:
        if self.first or job_env.get("SCORESBY_RUN_ID") != self.run_id:
            return self.container(job, command, job_env)
        # The first attempt as a host process (also when the other jobs run in the image): a SIGTERM to
        # it is what ECS sends the container on a Spot reclaim.
        argv, env = self.container.host_command(command, job_env)
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=harness.REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None
        proc.stdout.readline()  # the job prints a line as each scene ends: stop it after the first
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        self.first = {
            "returncode": proc.returncode,
            "stderr": err.decode(),
            "statuses": {sid: r.status for sid, r in rows(self.stack, self.run_id).items()},
        }
        return self.container(job, command, job_env)  # the retry attempt


@pytest.fixture(scope="module")
def reclaimed_run(world: dict[str, Any], three_per_job: None) -> dict[str, Any]:
    stack: harness.MotoStack = world["stack"]
    reclaimer = Reclaimer(world["container"], stack, RETRY_RUN)
    doc = {
        "run_name": RETRY_RUN,
        "scenes": [
            # new scene ids, so that nothing is skipped as done by the runs before
            {"scene_id": "L8-reclaim-1", "source": f"s3://{SOURCES_BUCKET}/{L8}/", "products": ["ndvi"]},
            {"scene_id": "S2-reclaim-2", "source": f"s3://{SOURCES_BUCKET}/{S2}/", "products": ["ndvi"]},
            {
                "scene_id": "L8-reclaim-3",
                "source": f"s3://{SOURCES_BUCKET}/{L8}/",
                "products": ["true_color"],
            },
        ],
    }
    before = len(world["container"].runs)
    with pytest.MonkeyPatch.context() as mp:
        run_batch_jobs_with(mp, reclaimer)
        execution = stack.wait(stack.start("reclaimed", doc))
    stack.drain_messages()
    return {
        "execution": execution,
        "first": reclaimer.first,
        "runs": harness.scene_runs(world["container"].runs[before:]),
    }


def test_a_reclaimed_job_is_retried_and_redoes_only_the_scenes_not_done(reclaimed_run, world):
    assert reclaimed_run["execution"]["status"] == "SUCCEEDED", reclaimed_run["execution"].get("cause")
    first = reclaimed_run["first"]
    assert first["returncode"] == 143, first["stderr"][-1500:]  # stopped by SIGTERM, as on a reclaim
    done_first = {sid for sid, status in first["statuses"].items() if status == SUCCEEDED}
    assert 1 <= len(done_first) < 3, first["statuses"]  # the first attempt was stopped after a scene
    [retry] = reclaimed_run["runs"]
    assert retry.returncode == 0, retry.stderr[-1500:]
    lines = {x["scene_id"]: x for x in map(json.loads, retry.stdout.splitlines())}
    assert {sid for sid, x in lines.items() if x["done_before"]} == done_first
    assert all(x["ok"] for x in lines.values())
    by_id = rows(world["stack"], RETRY_RUN)
    assert {r.status for r in by_id.values()} == {SUCCEEDED}
    # one more attempt only for the scenes the first attempt had started and not finished
    expected = {sid: 1 if status in (SUCCEEDED, PENDING) else 2 for sid, status in first["statuses"].items()}
    assert {sid: r.attempts for sid, r in by_id.items()} == expected


def test_each_batch_job_has_a_jobs_row_with_its_times_and_the_summary_prices_them(batched_run, world):
    import boto3

    from infra.timeseries_step import TIMESERIES_JOB_NAME
    from scoresby.pricing.cost import batch_jobs_cost
    from scoresby.stores.job_rows import job_rows

    stack: harness.MotoStack = world["stack"]
    runs = [r for r in world["container"].runs if r.job_env.get("SCORESBY_RUN_ID") == BATCH_RUN]
    jobs = job_rows(DynamoTaskLog(stack.table_name), BATCH_RUN)
    # one row per Batch job: the failed scene job (from the Catch's Cause) and the time-series job
    assert sorted(j.job_id for j in jobs) == sorted(r.job_id for r in runs) and len(jobs) == 2
    by_name = {j.job_name: j for j in jobs}
    [scene_job] = batched_run["runs"]
    assert by_name[scene_job.job_name].status == FAILED and by_name[scene_job.job_name].scenes == 3
    assert by_name[TIMESERIES_JOB_NAME].status == SUCCEEDED
    assert {j.execution for j in jobs} == {batched_run["execution"]["name"]}
    for j in jobs:
        assert j.started_ms is not None and j.stopped_ms is not None and j.started_ms <= j.stopped_ms
    body = boto3.client("s3").get_object(Bucket=stack.output_bucket, Key=f"products/{BATCH_RUN}/summary.json")
    cost = json.loads(body["Body"].read())["totals"]["cost"]
    expected = batch_jobs_cost([(j.started_ms, j.stopped_ms) for j in jobs])
    assert cost["source"] == "batch jobs"
    assert {k: cost[k] for k in expected} == expected
    # moto's jobs run the real worker between StartedAt and StoppedAt: the scene job took its scenes' time
    assert cost["busy_s"] >= cost["scene_rows"]["busy_s"] * 0.9


def test_a_retried_job_has_one_succeeded_jobs_row(reclaimed_run, world):
    from scoresby.stores.job_rows import job_rows

    [retry] = reclaimed_run["runs"]
    rows = job_rows(DynamoTaskLog(world["stack"].table_name), RETRY_RUN)
    [row] = [j for j in rows if j.job_id == retry.job_id]
    assert row.status == SUCCEEDED and row.scenes == 3
    assert row.started_ms is not None and row.stopped_ms is not None and row.started_ms <= row.stopped_ms
