"""A run's Batch jobs in the task table: partition `jobs:<run name>`, one row per job, keyed by its JobId.

The state machine writes them (infra/job_times.py, one PutItem per job, from DescribeJobs' StartedAt and
StoppedAt); the summary Lambda reads them to price the run's compute. `jobs:` cannot start a run name
(core.layout.NAME_PATTERN has no ':'), so these rows never mix with a run's scene rows; they have no
`finished_at`, so the `by-scene` index does not see them either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scoresby.stores.dynamo_log import PARTITION_KEY, SORT_KEY, DynamoTaskLog

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
    value = item.get(name)
    return None if value is None else int(value)


def job_rows(task_log: DynamoTaskLog, run_name: str) -> list[JobRow]:
    """Every job row of a run (all its executions), from the task log's table, oldest start first."""
    rows = [
        JobRow(
            job_id=str(item[SORT_KEY]),
            started_ms=_number(item, STARTED_MS),
            stopped_ms=_number(item, STOPPED_MS),
            job_name=str(item.get(JOB_NAME, "")),
            scenes=_number(item, SCENES) or 0,
            status=str(item.get(STATUS, "")),
            execution=str(item.get(EXECUTION, "")),
        )
        for item in task_log.partition_items(partition(run_name))
    ]
    return sorted(rows, key=lambda r: (r.started_ms or 0, r.job_id))
