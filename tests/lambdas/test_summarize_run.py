"""Summary Lambda against moto: counts from the task log, summary.json in S3, subject and message text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.summarize_run import handler as summary
from scoresby.core.config import SummarySettings
from scoresby.core.contract import SummaryResult
from scoresby.core.errors import InvalidInput
from scoresby.core.scene_list import Scene
from scoresby.steps import mail
from scoresby.steps import summary as summary_step
from scoresby.stores.dynamo_log import DynamoTaskLog
from tests.lambdas.conftest import OUTPUT_BUCKET, OUTPUT_ROOT, TABLE


def plan_run(run: str, n: int) -> list[Scene]:
    scenes = [
        Scene(scene_id=f"LC08_{i:03d}", source=f"s3://usgs-landsat/x/{i}/", products=("ndvi",))
        for i in range(n)
    ]
    DynamoTaskLog(TABLE).plan(run, scenes, OUTPUT_ROOT, False)
    return scenes


def test_summary_counts_statuses_writes_summary_json_and_composes_message(
    lambda_env: dict[str, str], s3: Any
) -> None:
    log = DynamoTaskLog(TABLE)
    ok, bad, also_bad, pending = plan_run("sund", 4)
    for s in (ok, bad, also_bad):
        log.start("sund", s.scene_id, "job")
    log.succeed("sund", ok.scene_id, {"ndvi": f"{OUTPUT_ROOT}sund/{ok.scene_id}/{ok.scene_id}_ndvi.tif"}, 4.0)
    log.fail("sund", bad.scene_id, "MissingBands", "needs B5", 1.0)
    log.fail("sund", also_bad.scene_id, "SourceNotFound", "no files", 0.5)
    plan_run("other-run", 2)  # must not be counted

    result = summary.handler({"run_name": "sund", "output": OUTPUT_ROOT, "counts": {"duplicates": 2}}, None)
    assert set(result) == set(SummaryResult.__annotations__)  # what infra's PublishSummary reads

    assert result["counts"] == {
        "scenes": 4,
        "SUCCEEDED": 1,
        "FAILED": 2,
        "SKIPPED": 0,
        "PENDING": 1,
        "RUNNING": 0,
    }
    assert result["summary_uri"] == f"{OUTPUT_ROOT}sund/summary.json"
    assert result["subject"] == "Scoresby sund: 1 succeeded, 2 failed, 0 skipped, 1 unfinished"
    message = result["message"]
    assert f"{bad.scene_id}: MissingBands: needs B5" in message
    assert f"{also_bad.scene_id}: SourceNotFound: no files" in message
    assert f"Outputs: {OUTPUT_ROOT}sund/" in message and "scoresby rerun sund --failed" in message
    assert ok.scene_id not in message
    assert "2 duplicate scene(s) in the list were processed once" in message
    body = s3.get_object(Bucket=OUTPUT_BUCKET, Key="products/sund/summary.json")["Body"].read()
    written = json.loads(body)
    assert written["run_name"] == "sund" and written["totals"]["FAILED"] == 2
    assert [row["scene_id"] for row in written["scenes"]] == [
        ok.scene_id,
        bad.scene_id,
        also_bad.scene_id,
        pending.scene_id,
    ]
    assert json.loads(json.dumps(result)) == result


def test_subject_fits_sns_limit_for_long_run_names() -> None:
    totals = {"SUCCEEDED": 12345, "FAILED": 2, "SKIPPED": 3, "PENDING": 0, "RUNNING": 0}
    subject = mail.compose_subject("r" * 80, totals)
    assert len(subject) <= 100 and subject.endswith("12345 succeeded, 2 failed, 3 skipped")
    assert "\n" not in subject and subject.isascii()


def test_message_lists_at_most_fifty_failures(lambda_env: dict[str, str], s3: Any) -> None:
    log = DynamoTaskLog(TABLE)
    scenes = plan_run("many", 60)
    for s in scenes:
        log.fail("many", s.scene_id, "UnreadableRaster", "truncated", None)
    result = summary.handler({"run_name": "many", "output": OUTPUT_ROOT}, None)
    assert result["counts"]["FAILED"] == 60
    assert "... and 10 more (see summary.json)" in result["message"]
    assert "duplicate" not in result["message"]


@pytest.mark.parametrize(
    "event", [{"output": OUTPUT_ROOT}, {"run_name": "x", "output": "/tmp/local"}, ["not", "an", "object"]]
)
def test_bad_event_is_invalid_input(lambda_env: dict[str, str], event: Any) -> None:
    with pytest.raises(InvalidInput):
        summary.handler(event, None)


def test_without_job_rows_the_cost_falls_back_to_the_scene_rows(lambda_env: dict[str, str], s3: Any) -> None:
    from scoresby.pricing.cost import SPOT_PRICE_DEFAULT, actual_compute_cost

    log = DynamoTaskLog(TABLE)
    ok, bad, skipped_later = plan_run("priced", 3)
    for s in (ok, bad):
        log.start("priced", s.scene_id, "job")
    log.succeed("priced", ok.scene_id, {"ndvi": f"{OUTPUT_ROOT}priced/{ok.scene_id}_ndvi.tif"}, 40.0)
    log.fail("priced", bad.scene_id, "MissingBands", "needs B5", 20.0)

    result = summary.handler({"run_name": "priced", "output": OUTPUT_ROOT}, None)

    rows = {r.scene_id: r for r in log.records("priced")}
    expected = actual_compute_cost(
        [(rows[s].started_at, rows[s].finished_at, rows[s].duration_s) for s in (ok.scene_id, bad.scene_id)]
    )
    assert expected["busy_s"] >= 60.0  # the pending scene costs nothing
    body = s3.get_object(Bucket=OUTPUT_BUCKET, Key="products/priced/summary.json")["Body"].read()
    written = json.loads(body)["totals"]["cost"]
    assert written["source"] == "scene rows" and "jobs:priced" in written["note"]
    assert {k: written[k] for k in expected} == expected
    assert f"at ${SPOT_PRICE_DEFAULT.value:g} per r6i.large-hour" in result["message"]
    assert f"{expected['vcpu_hours']:.3f} vCPU-hours" in result["message"]
    assert "from the scene rows" in result["message"]


def put_job_row(run: str, job_id: str, started_ms: int, stopped_ms: int, status: str = "SUCCEEDED") -> None:
    """A job row as the state machine's RecordJobTimes PutItem writes it (infra/job_times.py)."""
    import boto3

    boto3.client("dynamodb").put_item(
        TableName=TABLE,
        Item={
            "run_id": {"S": f"jobs:{run}"},
            "scene_id": {"S": job_id},
            "started_ms": {"N": str(started_ms)},
            "stopped_ms": {"N": str(stopped_ms)},
            "job_name": {"S": f"scoresby-{job_id}"},
            "scenes": {"N": "2"},
            "status": {"S": status},
            "execution": {"S": f"{run}-0123abcd"},
        },
    )


def test_the_cost_comes_from_the_batch_jobs_start_and_stop_times(lambda_env: dict[str, str], s3: Any) -> None:
    log = DynamoTaskLog(TABLE)
    scenes = plan_run("jobbed", 4)
    for s in scenes:
        log.start("jobbed", s.scene_id, "job")
        log.succeed("jobbed", s.scene_id, {}, 30.0)
    t0 = 1_764_700_000_000
    put_job_row("jobbed", "job-1", t0, t0 + 100_000)  # 100 s: two scenes of 30 s plus start-up
    put_job_row("jobbed", "job-2", t0 + 5_000, t0 + 95_500, status="FAILED")  # 90.5 s
    put_job_row("jobbed", "job-ts", t0 + 200_000, t0 + 261_000)  # the time series: 61 s
    put_job_row("other", "job-9", t0, t0 + 999_000)  # another run's job must not count

    result = summary_step.summarize_run(
        {"run_name": "jobbed", "output": OUTPUT_ROOT}, SummarySettings(TABLE, job_vcpus=2)
    )

    body = s3.get_object(Bucket=OUTPUT_BUCKET, Key="products/jobbed/summary.json")["Body"].read()
    cost = json.loads(body)["totals"]["cost"]
    busy = 100 + 90.5 + 61
    # 2 vCPU of an r6i.large (2 vCPU) at the default $0.045 per hour
    assert cost["source"] == "batch jobs" and cost["jobs"] == 3 and cost["executions"] == 1
    assert cost["busy_s"] == busy
    assert cost["vcpu_hours"] == pytest.approx(busy * 2 / 3600, abs=1e-6)
    assert cost["compute_usd"] == pytest.approx(busy / 3600 * 0.045, abs=1e-6)
    assert cost["scene_rows"]["busy_s"] >= 4 * 30.0
    assert cost["scene_rows"]["busy_s"] < busy
    message = result["message"]
    assert f"compute: 3 Batch job(s) ran {busy / 3600:.2f} h (StartedAt to StoppedAt)" in message
    assert f"about ${cost['compute_usd']:.4f} at $0.045 per r6i.large-hour" in message
    assert "of which the scenes themselves:" in message


def test_a_job_row_without_times_counts_as_a_job_of_no_time(lambda_env: dict[str, str], s3: Any) -> None:
    from scoresby.stores.job_rows import JobRow

    plan_run("untimed", 1)
    jobs = [
        JobRow("j-1", None, None, "scoresby-x", 1, "FAILED", "e"),
        JobRow("j-2", 0, 2000, "y", 1, "", "e"),
    ]
    summary_step.summarize_run(
        {"run_name": "untimed", "output": OUTPUT_ROOT}, SummarySettings(TABLE), jobs=jobs
    )
    body = s3.get_object(Bucket=OUTPUT_BUCKET, Key="products/untimed/summary.json")["Body"].read()
    cost = json.loads(body)["totals"]["cost"]
    assert cost["jobs"] == 2 and cost["busy_s"] == 2.0
