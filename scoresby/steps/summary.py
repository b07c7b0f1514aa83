"""The summary step: count a run's task log, write `<output>/<run_name>/summary.json`, compose the e-mail."""

from __future__ import annotations

import json
import logging
from typing import Any

from scoresby.core.config import SummarySettings
from scoresby.core.contract import SummaryResult
from scoresby.core.errors import InvalidInput
from scoresby.core.layout import SUMMARY_NAME, TIMESERIES_JSON, split_s3_uri
from scoresby.core.summary import build_summary
from scoresby.core.task_log import FAILED, PENDING, RUNNING, SKIPPED, SUCCEEDED, TaskRecord
from scoresby.pricing.cost import actual_compute_cost, batch_jobs_cost
from scoresby.steps.mail import compose_message, compose_science, compose_subject
from scoresby.stores.dynamo_log import DynamoTaskLog
from scoresby.stores.job_rows import JobRow, job_rows, partition

log = logging.getLogger(__name__)


def _check_event(event: Any) -> tuple[str, str]:
    """The run name and the s3:// output (ending in "/") of the event; InvalidInput lists what is wrong."""
    problems = []
    if not isinstance(event, dict):
        raise InvalidInput(f"event: expected an object with run_name and output; got {type(event).__name__}")
    run_name, output = event.get("run_name"), event.get("output")
    if not isinstance(run_name, str) or not run_name:
        problems.append(f"run_name: {run_name!r} is not allowed; allowed: the run's name")
    if not isinstance(output, str) or not output.startswith("s3://"):
        problems.append(f"output: {output!r} is not allowed; allowed: s3://bucket/prefix/")
    if problems or not isinstance(run_name, str) or not isinstance(output, str):
        raise InvalidInput(problems)
    return run_name, output if output.endswith("/") else output + "/"


def _duplicates(event: dict[str, Any], key: str = "duplicates") -> int:
    """A count of the init function (`duplicates`, a watch round's `new_items`) from `counts`; 0 if absent."""
    counts = event.get("counts")
    value = counts.get(key) if isinstance(counts, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def run_cost(records: list[TaskRecord], jobs: list[JobRow], run_name: str, job_vcpus: int) -> dict[str, Any]:
    """`totals.cost`: the Batch jobs' StartedAt-StoppedAt at the estimator's prices, else the scene rows'."""
    # What the scenes kept their jobs busy for (skipped scenes cost nothing): beside the jobs' own figure,
    # it shows how much went to job start-up, the time between scenes and the time series.
    scene_time = actual_compute_cost(
        ((r.started_at, r.finished_at, r.duration_s) for r in records if r.status in (SUCCEEDED, FAILED)),
        job_vcpus=job_vcpus,
    )
    if not jobs:
        return {
            "source": "scene rows",
            **scene_time,
            "note": f"no Batch job times in {partition(run_name)} (a run of an older state machine): priced "
            "from the scenes' started_at/finished_at, without job start-up and the time-series job",
        }
    return {
        "source": "batch jobs",
        **batch_jobs_cost(((j.started_ms, j.stopped_ms) for j in jobs), job_vcpus=job_vcpus),
        "executions": len({j.execution for j in jobs}),
        "scene_rows": {k: scene_time[k] for k in ("busy_s", "vcpu_hours", "compute_usd")},
    }


def timeseries_outcome(event: dict[str, Any]) -> dict[str, Any]:
    """What the state machine's time-series step did: {"status": SUCCEEDED | SKIPPED | FAILED, ...}.

    A failed job arrives as the Catch's {"Error", "Cause"}; a Batch job's Cause is its DescribeJobs JSON,
    whose StatusReason says why. An event without the key (an older state machine) counts as SKIPPED.
    """
    step = event.get("timeseries")
    if not isinstance(step, dict):
        return {"status": SKIPPED, "reason": "the state machine ran no time-series step"}
    if step.get("status") in (SUCCEEDED, SKIPPED):
        return {k: v for k, v in step.items() if k != "job"}  # the job's times are in its jobs: row
    reason = str(step.get("Cause", ""))
    try:
        job = json.loads(reason)
        reason = str(job.get("StatusReason") or job.get("Status") or reason)
    except (ValueError, AttributeError):
        pass
    return {"status": FAILED, "error": f"{step.get('Error', 'Error')}: {reason[:500] or 'no cause given'}"}


def read_timeseries(run_root: str, s3_client: Any) -> dict[str, Any] | None:
    """The run's timeseries.json (what the time-series job made), or None when it cannot be read."""
    bucket, key = split_s3_uri(run_root + TIMESERIES_JSON)
    try:
        body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
        science = json.loads(body)
    except Exception as exc:  # noqa: BLE001 - a missing manifest leaves the summary without the series
        log.warning("cannot read s3://%s/%s: %s", bucket, key, exc)
        return None
    return science if isinstance(science, dict) else None


def summarize_run(
    event: Any,
    settings: SummarySettings,
    *,
    task_log: Any = None,
    s3_client: Any = None,
    jobs: list[JobRow] | None = None,
) -> SummaryResult:
    """Read the run's scene and job rows, write summary.json next to its outputs, return subject/message."""
    run_name, output = _check_event(event)
    task_log = task_log or DynamoTaskLog(settings.task_table)
    records = task_log.records(run_name)
    run_root = f"{output}{run_name}/"
    if s3_client is None:
        import boto3

        s3_client = boto3.client("s3")
    outcome = timeseries_outcome(event)
    science = read_timeseries(run_root, s3_client) if outcome["status"] == SUCCEEDED else None
    summary = build_summary(run_name, records, task_log=f"dynamodb://{settings.task_table}", science=science)
    summary["output"] = output
    summary.setdefault("timeseries", {})["status"] = outcome["status"]
    if "error" in outcome:
        summary["timeseries"]["error"] = outcome["error"]
    totals = summary["totals"]
    if jobs is None:
        jobs = job_rows(task_log, run_name)
    totals["cost"] = run_cost(records, jobs, run_name, settings.job_vcpus)
    summary_uri = f"{run_root}{SUMMARY_NAME}"
    bucket, key = split_s3_uri(summary_uri)
    s3_client.put_object(
        Bucket=bucket,
        Key=key,
        Body=(json.dumps(summary, indent=2) + "\n").encode("utf-8"),
        ContentType="application/json",
    )
    log.info("run %s: %s; summary at %s", run_name, totals, summary_uri)
    return SummaryResult(
        subject=compose_subject(run_name, totals),
        message=compose_message(
            run_name,
            run_root,
            summary_uri,
            records,
            totals,
            _duplicates(event),
            _duplicates(event, "new_items") if "new_items" in (event.get("counts") or {}) else None,
            compose_science(run_root, summary, outcome),
        ),
        counts={k: totals[k] for k in ("scenes", SUCCEEDED, FAILED, SKIPPED, PENDING, RUNNING)},
        summary_uri=summary_uri,
        timeseries=outcome["status"],
    )
