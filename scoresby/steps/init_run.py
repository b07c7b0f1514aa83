"""The init step: validate the execution input (core.scene_list), plan the task log, hand scenes to the Map.

Raises InvalidInput (errorType "InvalidInput" in Step Functions) listing every problem, before anything is
written. The scenes to run are grouped into Batch jobs of up to SCORESBY_SCENES_PER_JOB scenes (one Map item
each). Small item lists return inline; large ones go to S3 for the Distributed Map's ItemReader.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from scoresby.core.batches import map_items
from scoresby.core.config import InitSettings
from scoresby.core.contract import LIST_REFERENCE, OVERWRITE_KEY, WATCH_KEY, ItemsS3, RunState, WatchInfo
from scoresby.core.errors import InvalidInput
from scoresby.core.json_input import load_json
from scoresby.core.layout import LISTS_PREFIX, items_key
from scoresby.core.scene_list import RunPlan, Scene, parse_scene_list
from scoresby.steps.place_round import start_place_round
from scoresby.steps.watch_round import check_watch_event, plan_watch_round
from scoresby.stores.dynamo_log import DynamoTaskLog
from scoresby.stores.watch_dynamo import DynamoWatchState

log = logging.getLogger(__name__)

INLINE_MAX_ITEMS = 500
"""More items than this go to S3: an inline Map's events count against the execution's history limit."""
INLINE_MAX_BYTES = 128 * 1024
"""Serialized items above this go to S3: half of Step Functions' 256 KiB state payload, leaving room."""

__all__ = ["InvalidInput", "plan_run"]


def _s3_client() -> Any:
    """boto3's S3 client, made only when the run needs S3 (imported late: tests point it at moto)."""
    import boto3

    return boto3.client("s3")


def _check_event(event: Any) -> tuple[Any, bool]:
    """Split the execution input into the scene list and the `overwrite` flag (not a scene-list field)."""
    if isinstance(event, dict) and OVERWRITE_KEY in event:
        doc = {k: v for k, v in event.items() if k != OVERWRITE_KEY}
        if not isinstance(event[OVERWRITE_KEY], bool):
            raise InvalidInput(f"overwrite: {event[OVERWRITE_KEY]!r} is not allowed; allowed: true or false")
        return doc, event[OVERWRITE_KEY]
    return event, False


def _load_list_reference(doc: Any, settings: InitSettings, s3_client: Any) -> Any:
    """{"scene_list_s3": "s3://<work bucket>/lists/..."} -> the scene list stored there; other input as is."""
    if not (isinstance(doc, dict) and LIST_REFERENCE in doc):
        return doc
    uri = doc[LIST_REFERENCE]
    allowed = f"s3://{settings.items_bucket}/{LISTS_PREFIX}"
    if set(doc) != {LIST_REFERENCE} or not isinstance(uri, str) or not uri.startswith(allowed):
        raise InvalidInput(
            f"{LIST_REFERENCE}: {uri!r} is not allowed; allowed: {allowed}<name>.json as the only field "
            "(besides overwrite)"
        )
    s3_client = s3_client or _s3_client()
    key = uri[len(f"s3://{settings.items_bucket}/") :]
    try:
        body = s3_client.get_object(Bucket=settings.items_bucket, Key=key)["Body"].read()
    except s3_client.exceptions.NoSuchKey as exc:
        raise InvalidInput(f"{LIST_REFERENCE}: {uri} does not exist") from exc
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{LIST_REFERENCE}: {uri} is not UTF-8 text") from exc
    return load_json(text, uri)


def _check_output(plan: RunPlan, default_output: str) -> str:
    """The run's output: the list's own or the stack's; must lie under the stack's output root."""
    output = plan.output or default_output
    root = default_output if default_output.endswith("/") else default_output + "/"
    if not output.startswith(root):
        raise InvalidInput(
            f"output: {output!r} is not allowed on this stack; allowed: {root} or a prefix below it "
            "(the Batch jobs may write only there)"
        )
    return output


def _expand_search(plan: RunPlan) -> RunPlan:
    """A `search` block's scenes (pystac-client from the function's layer, imported only when needed)."""
    if plan.search is None:
        return plan
    from scoresby.search.plan import expand

    return expand(plan, progress=lambda n: log.info("run %s: %d items so far", plan.run_name, n))


def plan_run(
    event: Any,
    settings: InitSettings,
    *,
    task_log: Any = None,
    s3_client: Any = None,
    watch_state: Any = None,
) -> RunState:
    """Validate, plan and package one run (or one round of a watch); returns the state the Map reads."""
    doc, overwrite = _check_event(event)
    doc = _load_list_reference(doc, settings, s3_client)
    task_log = task_log or DynamoTaskLog(settings.task_table)
    watch_info: WatchInfo | None = None
    redo: frozenset[str] = frozenset()
    if isinstance(doc, dict) and WATCH_KEY in doc:
        watch = check_watch_event(doc)
        _check_output(watch, settings.output)  # before searching: a wrong output fails fast
        store = watch_state or DynamoWatchState(settings.task_table)
        round_ = plan_watch_round(watch, task_log=task_log, state=store)
        watch_info = WatchInfo(round=round_.number, new_items=round_.new, since=round_.since or "the start")
        if round_.plan is None:
            return _quiet_state(watch, _check_output(watch, settings.output), watch_info)
        plan, redo = round_.plan, round_.redo
    else:
        plan = _expand_search(parse_scene_list(doc))
    output = _check_output(plan, settings.output)
    to_run: list[Scene] = task_log.plan(plan.run_name, list(plan.scenes), output, overwrite, redo=redo)
    # A reprocessed item is made again over its outputs; the other scenes planned here have none (whole
    # scenes are published or nothing), so the run-level flag the jobs read can cover the round.
    overwrite = overwrite or bool(redo & {s.scene_id for s in to_run})
    # One item per Batch job: up to scenesPerJob scenes each (core.batches), run one after the other.
    items = map_items([s.to_dict() for s in to_run], settings.scenes_per_job)
    counts = {
        "scenes": len(plan.scenes),
        "to_run": len(to_run),
        "skipped": len(plan.scenes) - len(to_run),
        "duplicates": len(plan.duplicates),
    }
    if plan.skipped:  # Items the search left out (a bad id, geometry or asset): each note is in the log
        counts["search_skipped"] = len(plan.skipped)
    state = RunState(
        run_name=plan.run_name,
        output=output,
        overwrite="true" if overwrite else "false",
        counts=counts,
        quiet=watch_info is not None and not to_run,
        timelapse=plan.timelapse or {},  # for the time-series job after the Map
    )
    if watch_info is not None:
        state["watch"] = watch_info
        counts["new_items"] = watch_info["new_items"]
    if plan.composites is not None and not state["quiet"]:  # the place stage after the time series
        s3_client = s3_client or _s3_client()
        state["places"] = start_place_round(plan, settings.items_bucket, s3_client)
    body = json.dumps(items, separators=(",", ":"))
    if len(items) <= INLINE_MAX_ITEMS and len(body.encode("utf-8")) <= INLINE_MAX_BYTES:
        state["inline"], state["items"] = True, items
    else:
        s3_client = s3_client or _s3_client()
        key = items_key(plan.run_name, uuid.uuid4().hex)
        s3_client.put_object(
            Bucket=settings.items_bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/json"
        )
        state["inline"], state["items_s3"] = False, ItemsS3(bucket=settings.items_bucket, key=key)
    log.info(
        "run %s: %d scenes, %d to run in %d jobs, %d skipped, %d duplicates, items %s",
        plan.run_name,
        counts["scenes"],
        counts["to_run"],
        len(items),
        counts["skipped"],
        counts["duplicates"],
        "inline" if state["inline"] else f"s3://{settings.items_bucket}/{state['items_s3']['key']}",
    )
    return state


def _quiet_state(plan: RunPlan, output: str, watch_info: WatchInfo) -> RunState:
    """A round that found nothing new: the state machine ends at once (no Map, no summary, no e-mail)."""
    log.info(
        "watch %s round %s: nothing new since %s", plan.run_name, watch_info["round"], watch_info["since"]
    )
    counts = {"scenes": 0, "to_run": 0, "skipped": 0, "duplicates": 0, "new_items": 0}
    return RunState(
        run_name=plan.run_name,
        output=output,
        overwrite="false",
        counts=counts,
        quiet=True,
        watch=watch_info,
        inline=True,
        items=[],
    )
