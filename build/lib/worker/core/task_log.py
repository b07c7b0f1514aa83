"""The task log record of DESIGN.md and the interface both back ends (SQLite, DynamoDB) implement."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Protocol

PENDING = "PENDING"
RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
SKIPPED = "SKIPPED"
STATUSES = (PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED)


def utc_now() -> str:
    """The current time as UTC ISO 8601 with seconds, e.g. 2026-11-22T00:17:03Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class TaskRecord:
    """One (run, scene) row of the task log."""

    run_id: str
    scene_id: str
    status: str = PENDING
    attempts: int = 0
    created_at: str = field(default_factory=utc_now)
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    products: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    error: dict[str, str] | None = None  # {"type": ..., "message": ...} for FAILED
    ran_on: str | None = None  # host name (local) or Batch job id (AWS)
    source: str | None = None
    output_root: str | None = None  # <output>/<run_name>/, to find earlier successful runs
    batch_status_reason: str | None = None  # written by the state machine's Catch when a Batch job fails

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskRecord:
        """Build from a stored row, ignoring unknown keys."""
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


FIELDS = tuple(f.name for f in fields(TaskRecord))
"""The attribute names of a task-log row; the state machine's writes use only these."""


def covers(record: TaskRecord, products: list[str] | tuple[str, ...]) -> bool:
    """True when a SUCCEEDED (or SKIPPED-because-done) record already made every requested product."""
    return record.status in (SUCCEEDED, SKIPPED) and set(products) <= set(record.outputs)


class TaskLog(Protocol):
    """What the runners need from a task log; SqliteTaskLog and DynamoTaskLog implement it."""

    def plan(self, run_id: str, scenes: list[Any], output_root: str, overwrite: bool) -> list[Any]:
        """Write PENDING rows, mark done scenes SKIPPED, requeue RUNNING leftovers; return scenes to run."""
        ...

    def start(self, run_id: str, scene_id: str, ran_on: str) -> None:
        """Mark a scene RUNNING and count one more attempt."""
        ...

    def succeed(self, run_id: str, scene_id: str, outputs: dict[str, str], duration_s: float) -> None:
        """Mark a scene SUCCEEDED with its outputs (product -> URI)."""
        ...

    def fail(
        self, run_id: str, scene_id: str, error_type: str, message: str, duration_s: float | None
    ) -> None:
        """Mark a scene FAILED with the error's type and message."""
        ...

    def records(self, run_id: str) -> list[TaskRecord]:
        """All rows of a run, in input order where the back end keeps it."""
        ...
