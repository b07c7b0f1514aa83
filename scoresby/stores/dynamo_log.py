"""The AWS task log: one DynamoDB item per (run, scene), for the init Lambda, the Batch job and the summary.

The table schema is defined here once (`table_schema`) and used by the CDK stack and by the moto tests.
Items never hold None at the top level: DynamoDB rejects NULL for the index key `finished_at`, so absent
fields are left out. Inside a map None is kept as NULL: a scene's `stats` lists every figure, an unknown
one (no QA/SCL band) as NULL, never 0.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from decimal import Decimal
from typing import Any

from scoresby.core.task_log import (
    FAILED,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    TaskRecord,
    find_done,
    plan_step,
    utc_now,
)
from scoresby.core.timeseries import task_log_stats

log = logging.getLogger(__name__)

PARTITION_KEY = "run_id"
SORT_KEY = "scene_id"
SCENE_INDEX = "by-scene"
"""GSI to find a scene's earlier finished rows, newest first (skip-if-done across runs)."""
SCENE_INDEX_PARTITION_KEY = "scene_id"
SCENE_INDEX_SORT_KEY = "finished_at"
BULK_LOOKUP_MIN = 200
"""Runs with at least this many scenes look up earlier results with one index Scan, not a Query each."""


_KEEP_CREATED_AND_ATTEMPTS = (
    "#created_at = if_not_exists(#created_at, :now), #attempts = if_not_exists(#attempts, :zero)"
)


def table_schema() -> dict[str, Any]:
    """CreateTable keyword arguments of the task log (keys, GSI, on-demand); the stack mirrors them."""
    return {
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
            {"AttributeName": SCENE_INDEX_SORT_KEY, "AttributeType": "S"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": SCENE_INDEX,
                "KeySchema": [
                    {"AttributeName": SCENE_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": SCENE_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


def to_dynamo(value: Any, *, top: bool = True) -> Any:
    """Make a value storable by boto3: floats become Decimal; None dropped at the top level, NULL within."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: to_dynamo(v, top=False) for k, v in value.items() if not (top and v is None)}
    if isinstance(value, list | tuple):
        return [to_dynamo(v, top=False) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    """Undo `to_dynamo`: Decimal becomes int when integral, else float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


def record_from_item(item: dict[str, Any]) -> TaskRecord:
    """A TaskRecord from a deserialized DynamoDB item."""
    data = from_dynamo(item)
    if data.get("duration_s") is not None:
        data["duration_s"] = float(data["duration_s"])
    return TaskRecord.from_dict(data)


class DynamoTaskLog:
    """TaskLog protocol on a DynamoDB table keyed (run_id, scene_id) with the `by-scene` GSI."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self.table_name = table_name
        self._client_obj = client

    @property
    def _client(self) -> Any:
        # Created at first use (not at import) so moto and Lambda cold starts see the right environment;
        # low-level clients are thread-safe, unlike resources.
        if self._client_obj is None:
            import boto3

            self._client_obj = boto3.client("dynamodb")
        return self._client_obj

    # --- serialisation --------------------------------------------------------------------------

    @staticmethod
    def _ser(value: dict[str, Any]) -> dict[str, Any]:
        from boto3.dynamodb.types import TypeSerializer

        s = TypeSerializer()
        return {k: s.serialize(v) for k, v in to_dynamo(value).items()}

    @staticmethod
    def _deser(item: dict[str, Any]) -> dict[str, Any]:
        from boto3.dynamodb.types import TypeDeserializer

        d = TypeDeserializer()
        return {k: d.deserialize(v) for k, v in item.items()}

    def _key(self, run_id: str, scene_id: str) -> dict[str, Any]:
        return {PARTITION_KEY: {"S": run_id}, SORT_KEY: {"S": scene_id}}

    def _update(
        self, run_id: str, scene_id: str, sets: dict[str, Any], removes: Sequence[str] = (), extra: str = ""
    ) -> None:
        """One UpdateItem: SET `sets` plus `extra` clauses (#attempts, #created_at, :zero, :one, :now)."""
        names = {f"#{k}": k for k in [*sets, *removes]}
        plain = {f":{k}": v for k, v in sets.items()}
        expression = "SET " + ", ".join(f"#{k} = :{k}" for k in sets)
        if extra:
            expression += ", " + extra
            for name in ("attempts", "created_at"):
                if f"#{name}" in extra:
                    names[f"#{name}"] = name
            for token, value in ((":zero", 0), (":one", 1), (":now", utc_now())):
                if re.search(re.escape(token) + r"\b", extra):
                    plain[token] = value
        if removes:
            expression += " REMOVE " + ", ".join(f"#{k}" for k in removes)
        self._client.update_item(
            TableName=self.table_name,
            Key=self._key(run_id, scene_id),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=self._ser(plain),
        )

    # --- reads ----------------------------------------------------------------------------------

    def partition_items(self, partition: str) -> Iterator[dict[str, Any]]:
        """Every row of one partition (a run's scenes, its `watch:` or `jobs:` rows), deserialised."""
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues={":pk": {"S": partition}},
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                yield self._deser(item)

    def records(self, run_id: str) -> list[TaskRecord]:
        """All rows of a run in input order (the plan's `position`), paginated through the whole partition."""
        items = sorted(self.partition_items(run_id), key=lambda i: (int(i.get("position", 0)), i[SORT_KEY]))
        return [record_from_item(i) for i in items]

    def record(self, run_id: str, scene_id: str) -> TaskRecord | None:
        """One scene's row (a consistent GetItem), or None when the run has no such scene."""
        item = self._client.get_item(
            TableName=self.table_name, Key=self._key(run_id, scene_id), ConsistentRead=True
        ).get("Item")
        return None if item is None else record_from_item(self._deser(item))

    # --- plan -----------------------------------------------------------------------------------

    def plan(
        self,
        run_id: str,
        scenes: Sequence[Any],
        output_root: str,
        overwrite: bool,
        *,
        output_exists: Callable[[str], bool] | None = None,
        redo: Collection[str] = (),
    ) -> list[Any]:
        """Write PENDING rows, mark done scenes SKIPPED, reset RUNNING leftovers; return the scenes to run.

        The rule is core.task_log's (`find_done`, `plan_step`), shared with SqliteTaskLog.plan. Scenes in
        `redo` are planned as if `overwrite` (a watch's reprocessed items).
        """
        existing = {i[SORT_KEY]: i for i in self.partition_items(run_id)}
        now = utc_now()
        # Large runs read the finished rows of this output once (one Scan of the sparse index) instead of
        # one index Query per scene; small runs query, so they never read a big table's history.
        done_index = None
        if not overwrite and len(scenes) >= BULK_LOOKUP_MIN:
            done_index = self._done_rows(output_root, {sc.scene_id for sc in scenes})
        # Sequential on purpose: one write per scene (plus one query for small runs) fits the init
        # Lambda's 15 minutes for 10,000 scenes, and moto's in-process backend is not thread-safe.
        to_run = []
        new_rows: list[dict[str, Any]] = []
        for position, sc in enumerate(scenes):
            current = existing.get(sc.scene_id)
            again = overwrite or sc.scene_id in redo
            step_args = (run_id, position, sc, output_root, again, current, now, done_index, new_rows)
            if self._plan_one(*step_args, output_exists):
                to_run.append(sc)
        self._put_new_rows(new_rows)
        return to_run

    def _put_new_rows(self, rows: list[dict[str, Any]]) -> None:
        """Create PENDING rows, each only if absent (conditional PutItem; a transaction would cost double)."""
        condition = {
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
        }
        for row in rows:
            try:
                self._client.put_item(TableName=self.table_name, Item=self._ser(row), **condition)
            except self._client.exceptions.ConditionalCheckFailedException:
                # Planned concurrently by another execution of the same run: schedule it again.
                log.info("scene %s of run %s was planned concurrently", row[SORT_KEY], row[PARTITION_KEY])
                fields = {
                    k: v
                    for k, v in row.items()
                    if k not in (PARTITION_KEY, SORT_KEY, "attempts", "created_at")
                }
                self._update(
                    row[PARTITION_KEY],
                    row[SORT_KEY],
                    fields,
                    removes=("error", "finished_at", "duration_s", "stats"),
                    extra=_KEEP_CREATED_AND_ATTEMPTS,
                )

    def _done_rows(self, output_root: str, scene_ids: set[str]) -> dict[str, list[TaskRecord]]:
        """SUCCEEDED/SKIPPED rows of `output_root` for these scenes, newest first, from one index Scan."""
        found: dict[str, list[TaskRecord]] = {}
        paginator = self._client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table_name,
            IndexName=SCENE_INDEX,
            FilterExpression="#status IN (:ok, :skipped) AND #root = :root",
            ExpressionAttributeNames={"#status": "status", "#root": "output_root"},
            ExpressionAttributeValues=self._ser(
                {":ok": SUCCEEDED, ":skipped": SKIPPED, ":root": output_root}
            ),
        ):
            for item in page.get("Items", []):
                record = record_from_item(self._deser(item))
                if record.scene_id in scene_ids:
                    found.setdefault(record.scene_id, []).append(record)
        for records in found.values():
            records.sort(key=lambda r: r.finished_at or "", reverse=True)
        return found

    def _plan_one(
        self,
        run_id: str,
        position: int,
        scene: Any,
        output_root: str,
        overwrite: bool,
        current: dict[str, Any] | None,
        now: str,
        done_index: dict[str, list[TaskRecord]] | None,
        new_rows: list[dict[str, Any]],
        output_exists: Callable[[str], bool] | None,
    ) -> bool:
        """Plan one scene (core.task_log.plan_step); new PENDING rows are appended to `new_rows`."""
        record = record_from_item(current) if current is not None else None
        done = None
        if not overwrite:
            finished = [record] if record is not None else []
            if done_index is not None:
                finished += done_index.get(scene.scene_id, [])
            else:
                finished += self._finished_in_output(scene.scene_id, output_root)
            done = find_done(finished, run_id, scene.products, output_exists)
        if done is None and record is not None and record.status == RUNNING:
            log.info("scene %s was left RUNNING by an interrupted run; scheduling it again", scene.scene_id)
        step = plan_step(scene, position, output_root, record, done, now)
        if step.new and step.runs:
            new_rows.append({PARTITION_KEY: run_id, SORT_KEY: scene.scene_id, **step.sets})
            return True
        sets = {k: v for k, v in step.sets.items() if v is not None and k not in ("attempts", "created_at")}
        removes = tuple(k for k, v in step.sets.items() if v is None)
        self._update(run_id, scene.scene_id, sets, removes=removes, extra=_KEEP_CREATED_AND_ATTEMPTS)
        return step.runs

    def _finished_in_output(self, scene_id: str, output_root: str) -> list[TaskRecord]:
        """A scene's SUCCEEDED and SKIPPED rows of any run writing to `output_root` (one index Query)."""
        paginator = self._client.get_paginator("query")
        found = []
        for page in paginator.paginate(
            TableName=self.table_name,
            IndexName=SCENE_INDEX,
            KeyConditionExpression="#sk = :scene",
            FilterExpression="#status IN (:ok, :skipped) AND #root = :root",
            ExpressionAttributeNames={
                "#sk": SCENE_INDEX_PARTITION_KEY,
                "#status": "status",
                "#root": "output_root",
            },
            ExpressionAttributeValues=self._ser(
                {":scene": scene_id, ":ok": SUCCEEDED, ":skipped": SKIPPED, ":root": output_root}
            ),
        ):
            found += [record_from_item(self._deser(item)) for item in page.get("Items", [])]
        return found

    # --- state changes --------------------------------------------------------------------------

    def start(self, run_id: str, scene_id: str, ran_on: str) -> None:
        """Mark a scene RUNNING and count one more attempt."""
        self._update(
            run_id,
            scene_id,
            {"status": RUNNING, "started_at": utc_now(), "ran_on": ran_on},
            removes=("finished_at", "duration_s", "error", "stats"),
            extra="#created_at = if_not_exists(#created_at, :now), "
            "#attempts = if_not_exists(#attempts, :zero) + :one",
        )

    def succeed(
        self,
        run_id: str,
        scene_id: str,
        outputs: dict[str, str],
        duration_s: float,
        stats: dict[str, Any] | None = None,
    ) -> None:
        """Mark a scene SUCCEEDED with its outputs (product -> URI) and its statistics (TASK_LOG_STATS)."""
        sets: dict[str, Any] = {
            "status": SUCCEEDED,
            "outputs": dict(outputs),
            "finished_at": utc_now(),
            "duration_s": float(duration_s),
        }
        if stats is not None:
            sets["stats"] = task_log_stats(stats)
        self._update(run_id, scene_id, sets, removes=("error",) if stats is not None else ("error", "stats"))

    def fail(
        self, run_id: str, scene_id: str, error_type: str, message: str, duration_s: float | None
    ) -> None:
        """Mark a scene FAILED with the error's type and message."""
        sets: dict[str, Any] = {
            "status": FAILED,
            "error": {"type": error_type, "message": message},
            "finished_at": utc_now(),
        }
        if duration_s is not None:
            sets["duration_s"] = float(duration_s)
        self._update(run_id, scene_id, sets)
