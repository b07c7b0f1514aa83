"""A run's Batch jobs in the task table: partition `jobs:<run name>`, one row per job, keyed by its JobId.

The state machine writes them (infra/job_times.py, one PutItem per job, from DescribeJobs' StartedAt and
StoppedAt); the summary Lambda reads them to price the run's compute. `jobs:` cannot start a run name
(core.layout.NAME_PATTERN has no ':'), so these rows never mix with a run's scene rows; they have no
`finished_at`, so the `by-scene` index does not see them either.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from worker.stores.dynamo_log import PARTITION_KEY, SORT_KEY

PARTITION_PREFIX = "jobs:"
STARTED_MS = "started_ms"
STOPPED_MS = "stopped_ms"
JOB_NAME = "job_name"
SCENES = "scenes"
STATUS = "status"
EXECUTION = "execution"
ATTRIBUTES = (PARTITION_KEY, SORT_KEY, STARTED_MS, STOPPED_MS, JOB_NAME, SCENES, STATUS, EXECUTION)
"""Every attribute of a job row; the state machine's PutItem writes exactly these (tests/infra)."""


@dataclass(frozen=True)
class JobRow:
    """One Batch job of a run: its id, start and stop (epoch ms), what it ran and how it ended."""

    job_id: str
    started_ms: int | None
    stopped_ms: int | None
    job_name: str
    scenes: int
    status: str
    execution: str


def partition(run_name: str) -> str:
    """The partition key of a run's job rows."""
    return PARTITION_PREFIX + run_name


def _number(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name, {}).get("N")
    return None if value is None else int(float(value))


def _text(item: dict[str, Any], name: str) -> str:
    return str(item.get(name, {}).get("S", ""))


def job_rows(table_name: str, run_name: str, *, client: Any = None) -> list[JobRow]:
    """Every job row of a run (all its executions), paginated through the partition, oldest start first."""
    if client is None:
        import boto3

        client = boto3.client("dynamodb")
    rows = [
        JobRow(
            job_id=_text(item, SORT_KEY),
            started_ms=_number(item, STARTED_MS),
            stopped_ms=_number(item, STOPPED_MS),
            job_name=_text(item, JOB_NAME),
            scenes=_number(item, SCENES) or 0,
            status=_text(item, STATUS),
            execution=_text(item, EXECUTION),
        )
        for item in _items(client, table_name, partition(run_name))
    ]
    return sorted(rows, key=lambda r: (r.started_ms or 0, r.job_id))


def _items(client: Any, table_name: str, key: str) -> Iterator[dict[str, Any]]:
    paginator = client.get_paginator("query")
    for page in paginator.paginate(
        TableName=table_name,
        KeyConditionExpression="#pk = :pk",
        ExpressionAttributeNames={"#pk": PARTITION_KEY},
        ExpressionAttributeValues={":pk": {"S": key}},
        ConsistentRead=True,
    ):
        yield from page.get("Items", [])
