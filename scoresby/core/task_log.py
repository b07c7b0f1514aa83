"""The task log record of DESIGN.md and the interface both back ends (SQLite, DynamoDB) implement."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Protocol

PENDING = "PENDING"
RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
SKIPPED = "SKIPPED"
STATUSES = (PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED)

log = logging.getLogger(__name__)


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
    stats: dict[str, Any] | None = None  # core.timeseries.TASK_LOG_STATS of a SUCCEEDED (or SKIPPED) scene

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


def covers(record: TaskRecord, products: Sequence[str]) -> bool:
    """True when a SUCCEEDED (or SKIPPED-because-done) record already made every requested product."""
    return record.status in (SUCCEEDED, SKIPPED) and set(products) <= set(record.outputs)


def find_done(
    candidates: Iterable[TaskRecord],
    run_id: str,
    products: Sequence[str],
    output_exists: Callable[[str], bool] | None = None,
) -> TaskRecord | None:
    """The row whose outputs a scene can reuse: this run's own first, then the newest of the other runs.

    With `output_exists`, a row whose outputs are no longer all there (someone deleted them) is not reused.
    """
    ordered = sorted(candidates, key=lambda r: (r.run_id == run_id, r.finished_at or ""), reverse=True)
    done = next((r for r in ordered if covers(r, products)), None)
    if (
        done is not None
        and output_exists is not None
        and not all(output_exists(done.outputs[p]) for p in products)
    ):
        log.info("scene %s: outputs of its earlier success are gone; scheduling it again", done.scene_id)
        return None
    return done


@dataclass(frozen=True)
class PlanStep:
    """What planning writes into one scene's row: `sets` (None means clear the field), for a new row too."""

    scene: Any
    runs: bool
    new: bool
    sets: dict[str, Any]


def plan_step(
    scene: Any, position: int, output_root: str, current: TaskRecord | None, done: TaskRecord | None, now: str
) -> PlanStep:
    """The one planning rule of both task logs: a done scene is SKIPPED with its outputs, others run again.

    A SKIPPED row keeps the timings and host of the attempt that made the outputs: that is what a reader
    of the log wants to know, and it shows the scene was not processed again. A scene that runs again
    (FAILED, PENDING, a RUNNING leftover of a killed runner, or too few products) keeps its attempt count
    and creation time; a new row starts at 0 attempts.
    """
    products = list(scene.products)
    sets: dict[str, Any] = {
        "position": position,
        "products": products,
        "source": scene.source,
        "output_root": output_root,
        "error": None,
    }
    if done is not None:
        sets |= {
            "status": SKIPPED,
            "outputs": {p: done.outputs[p] for p in products},
            "started_at": done.started_at,
            "finished_at": done.finished_at,
            "duration_s": done.duration_s,
            "ran_on": done.ran_on,
            "stats": done.stats,  # the figures of the run that made the outputs
        }
    else:
        sets |= {"status": PENDING, "outputs": {}, "finished_at": None, "duration_s": None, "stats": None}
    if current is None:
        sets |= {"attempts": 0, "created_at": now}
    return PlanStep(scene=scene, runs=done is None, new=current is None, sets=sets)


class TaskLog(Protocol):
    """What the runners need from a task log; SqliteTaskLog and DynamoTaskLog implement it."""

    def plan(
        self,
        run_id: str,
        scenes: list[Any],
        output_root: str,
        overwrite: bool,
        *,
        output_exists: Callable[[str], bool] | None = None,
        redo: Any = (),
    ) -> list[Any]:
        """Write PENDING rows, mark done scenes SKIPPED, requeue RUNNING leftovers; return scenes to run.

        Scenes in `redo` (ids) are planned as if `overwrite` (a watch's reprocessed items)."""
        ...

    def start(self, run_id: str, scene_id: str, ran_on: str) -> None:
        """Mark a scene RUNNING and count one more attempt."""
        ...

    def succeed(
        self,
        run_id: str,
        scene_id: str,
        outputs: dict[str, str],
        duration_s: float,
        stats: dict[str, Any] | None = None,
    ) -> None:
        """Mark a scene SUCCEEDED with its outputs (product -> URI) and, where made, its statistics."""
        ...

    def fail(
        self, run_id: str, scene_id: str, error_type: str, message: str, duration_s: float | None
    ) -> None:
        """Mark a scene FAILED with the error's type and message."""
        ...

    def records(self, run_id: str) -> list[TaskRecord]:
        """All rows of a run, in input order where the back end keeps it."""
        ...
