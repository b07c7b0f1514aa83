"""The summary step: count a run's task log, write `<output>/<run_name>/summary.json`, compose the e-mail.

With a place stage (issue 22), the round's result.json (core/place_stage.py PlaceResult) and the stage's own
Batch jobs (names starting PLACE_JOB_PREFIX, priced apart from the scene jobs) go in as `places`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from scoresby.core.config import SummarySettings
from scoresby.core.contract import SummaryResult
from scoresby.core.errors import InvalidInput
from scoresby.core.layout import SUMMARY_NAME, TIMESERIES_JSON, split_s3_uri
from scoresby.core.place_stage import PLACE_JOB_PREFIX, RESULT_FILE, list_key
from scoresby.core.summary import build_summary
from scoresby.core.task_log import FAILED, PENDING, RUNNING, SKIPPED, SUCCEEDED, TaskRecord
from scoresby.pricing.cost import actual_compute_cost, batch_jobs_cost
from scoresby.report.footprints import footprints_of
from scoresby.steps.mail import compose_message, compose_places, compose_science, compose_subject
from scoresby.stores.dynamo_log import DynamoTaskLog
from scoresby.stores.job_rows import JobRow, job_rows, partition
from scoresby.stores.place_ledger import DynamoPlaceLedger
from scoresby.stores.run_collection import write_collection
from scoresby.stores.run_files import summary_json

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
    return {"status": FAILED, "error": catch_error(step)}


def catch_error(step: dict[str, Any]) -> str:
    """One line of a Catch's {"Error", "Cause"}; a Batch job's Cause is DescribeJobs JSON (StatusReason)."""
    reason = str(step.get("Cause", ""))
    try:
        job = json.loads(reason)
        reason = str(job.get("StatusReason") or job.get("Status") or reason)
    except (ValueError, AttributeError):
        pass
    return f"{step.get('Error', 'Error')}: {' '.join(reason[:500].split()) or 'no cause given'}"


def place_outcome(
    event: dict[str, Any], s3_client: Any, failures: Callable[[str], list[dict[str, str]]] | None = None
) -> dict[str, Any] | None:
    """The place stage for summary.json's `places`: the round's result.json, or why there is none.

    None when the run has no place stage. A Catch result ({Error, Cause}) is the stage's failure; so is a
    result.json that cannot be read. Either way the scene results stay and the run does not fail. The
    round's failed jobs the state machine recorded (`failures(round)`, the ledger) are added to `failed`.
    """
    round_ = event.get("places")
    if not isinstance(round_, dict):
        return None
    outcome: dict[str, Any] = {"round": str(round_.get("round", ""))}
    recorded = []
    if failures is not None and outcome["round"]:
        try:
            recorded = failures(outcome["round"])
        except Exception as exc:  # noqa: BLE001 - the summary goes on without the ledger's records
            log.warning("cannot read the place round's failed jobs: %s", exc)
    stage = event.get("place_stage")
    if isinstance(stage, dict) and ("Error" in stage or "Cause" in stage):
        return outcome | {"status": FAILED, "error": catch_error(stage), "failed": _failed_jobs([], recorded)}
    bucket, prefix = str(round_.get("bucket", "")), str(round_.get("prefix", ""))
    try:
        body = s3_client.get_object(Bucket=bucket, Key=list_key(prefix, RESULT_FILE))["Body"].read()
        result = json.loads(body)
        if not isinstance(result, dict):
            raise ValueError(f"expected an object, got {type(result).__name__}")
    except Exception as exc:  # noqa: BLE001 - an unreadable result is reported, the summary goes on
        log.warning("cannot read the place round's %s: %s", RESULT_FILE, exc)
        where = f"s3://{bucket}/{prefix}{RESULT_FILE}"
        return outcome | {
            "status": FAILED,
            "error": f"{where} could not be read: {' '.join(str(exc).split())}",
        }
    failed = _failed_jobs([f for f in _list(result.get("failed")) if isinstance(f, dict)], recorded)
    jobs = result.get("jobs")
    return outcome | {
        "status": FAILED if failed else SUCCEEDED,
        "place": result.get("place"),
        "made": [str(i) for i in _list(result.get("made"))],
        "failed": failed,
        "notes": [str(n) for n in _list(result.get("notes"))],
        "jobs": {
            str(k): v for k, v in (jobs if isinstance(jobs, dict) else {}).items() if isinstance(v, int)
        },
    }


def _list(value: Any) -> list[Any]:
    """A result.json list field, or [] when it is missing or not a list."""
    return value if isinstance(value, list) else []


def _failed_jobs(listed: list[dict[str, Any]], recorded: list[dict[str, str]]) -> list[dict[str, str]]:
    """result.json's failed items, then the recorded failed jobs it does not name: {"item", "reason"}."""
    failed = [{"item": str(f.get("item", "")), "reason": str(f.get("reason", ""))} for f in listed]
    named = {f["item"] for f in failed}
    for r in recorded:
        if r.get("job_name") not in named:
            reason = catch_error({"Error": r.get("error") or "Error", "Cause": r.get("cause", "")})
            failed.append({"item": str(r.get("job_name", "")), "reason": reason})
    return failed


def is_place_job(job: JobRow) -> bool:
    """A Batch job of the place stage (its name starts PLACE_JOB_PREFIX)."""
    return job.job_name.startswith(PLACE_JOB_PREFIX)


def place_cost(jobs: list[JobRow], job_vcpus: int) -> dict[str, Any]:
    """The place stage's actual compute cost: its jobs' StartedAt-StoppedAt, priced as the scene jobs."""
    return {
        "source": "batch jobs",
        **batch_jobs_cost(((j.started_ms, j.stopped_ms) for j in jobs), job_vcpus=job_vcpus),
        "executions": len({j.execution for j in jobs}),
    }


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
    ledger: Any = None,
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
    # collection.json links every Item of the run (a stdlib builder: this function has no pystac layer);
    # its Items give the footprints summary.json keeps (simplified, once).
    _, items = write_collection(run_name, run_root, s3_client)
    if science is not None:
        science["footprints"] = footprints_of(items)
    summary = build_summary(run_name, records, task_log=f"dynamodb://{settings.task_table}", science=science)
    summary["output"] = output
    search_skipped = _duplicates(event, "search_skipped")  # Items the init function's search left out
    if search_skipped:
        summary["search"] = {"skipped": search_skipped}
    summary.setdefault("timeseries", {})["status"] = outcome["status"]
    if "error" in outcome:
        summary["timeseries"]["error"] = outcome["error"]
    totals = summary["totals"]
    if jobs is None:
        jobs = job_rows(task_log, run_name)
    place_jobs = [j for j in jobs if is_place_job(j)]
    totals["cost"] = run_cost(records, [j for j in jobs if not is_place_job(j)], run_name, settings.job_vcpus)
    if ledger is None and isinstance(event.get("places"), dict):
        ledger = DynamoPlaceLedger(settings.task_table, run_name)
    places = place_outcome(event, s3_client, ledger.failures if ledger is not None else None)
    if place_jobs:  # every execution's place jobs, as totals.cost counts every execution's scene jobs
        places = (places or {"status": SKIPPED}) | {"cost": place_cost(place_jobs, settings.job_vcpus)}
    if places is not None:
        summary["places"] = places
    summary_uri = f"{run_root}{SUMMARY_NAME}"
    bucket, key = split_s3_uri(summary_uri)
    s3_client.put_object(
        Bucket=bucket,
        Key=key,
        Body=summary_json(summary, run_root).encode("utf-8"),
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
            compose_science(run_root, summary, outcome) + compose_places(places),
            search_skipped,
        ),
        counts={k: totals[k] for k in ("scenes", SUCCEEDED, FAILED, SKIPPED, PENDING, RUNNING)},
        summary_uri=summary_uri,
        timeseries=outcome["status"],
    )
