"""The local runner's task log: one SQLite file next to the outputs (DESIGN.md, task log).

The file is `<output>/scoresby-tasklog.sqlite` for a local output folder and
`./.scoresby/<bucket>/<prefix>/scoresby-tasklog.sqlite` for an `s3://` output (SQLite cannot live in S3).
It is opened in WAL mode with `synchronous=FULL`, and every state change is one short transaction, so
a reader (`scoresby status`) never blocks the runner and a SIGKILL at any moment loses nothing committed.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from scoresby.core.task_log import (
    FAILED,
    PENDING,
    RUNNING,
    SKIPPED,
    STATUSES,
    SUCCEEDED,
    PlanStep,
    TaskRecord,
    find_done,
    plan_step,
    utc_now,
)
from scoresby.stores.sqlite_file import SqliteFile
from scoresby.stores.stats_log import STATS_SCHEMA, read_stats, write_stats

log = logging.getLogger(__name__)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    output_root TEXT,
    created_at  TEXT NOT NULL,
    planned_at  TEXT NOT NULL,
    plan_seq    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    run_id      TEXT NOT NULL,
    scene_id    TEXT NOT NULL,
    position    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    duration_s  REAL,
    products    TEXT NOT NULL DEFAULT '[]',
    outputs     TEXT NOT NULL DEFAULT '{}',
    error       TEXT,
    ran_on      TEXT,
    source      TEXT,
    output_root TEXT,
    PRIMARY KEY (run_id, scene_id)
);
CREATE INDEX IF NOT EXISTS tasks_scene ON tasks (scene_id, output_root);
"""

_COLUMNS = (
    "run_id",
    "scene_id",
    "status",
    "attempts",
    "created_at",
    "started_at",
    "finished_at",
    "duration_s",
    "products",
    "outputs",
    "error",
    "ran_on",
    "source",
    "output_root",
)


_JSON_COLUMNS = ("products", "outputs", "error")


def _to_column(name: str, value: Any) -> Any:
    """A task field as stored: JSON text for the list and dict columns (NULL stays NULL)."""
    return json.dumps(value) if name in _JSON_COLUMNS and value is not None else value


def _row_to_record(row: sqlite3.Row) -> TaskRecord:
    d: dict[str, Any] = {k: row[k] for k in _COLUMNS}
    d["products"] = json.loads(d["products"] or "[]")
    d["outputs"] = json.loads(d["outputs"] or "{}")
    d["error"] = json.loads(d["error"]) if d["error"] else None
    return TaskRecord.from_dict(d)


def task_log_problem(path: Path, exc: BaseException) -> str:
    """One line saying what is wrong with a task log file, for `run` and `status`."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return f"the task log {path.resolve()} cannot be used: {reason} (corrupt, truncated or read-only?)"


class SqliteTaskLog(SqliteFile):
    """Task log in one SQLite file; implements the `TaskLog` protocol of scoresby/task_log.py."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        super().__init__(path, _SCHEMA + STATS_SCHEMA, create=create)

    # --- planning -------------------------------------------------------------------------------

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

        A scene is done when a SUCCEEDED or SKIPPED row of this run, or of another run writing to the same
        `output_root`, already made every requested product (`covers`); its outputs are carried over.
        FAILED, PENDING and RUNNING rows (RUNNING means an earlier runner was killed) are scheduled again,
        keeping their attempt count. With `output_exists`, a done scene whose outputs are no longer all
        there (someone deleted them) is scheduled again too. Scenes in `redo` are planned as if `overwrite`.
        """
        now = utc_now()
        to_run: list[Any] = []
        with self._write() as cur:
            seq = cur.execute("SELECT COALESCE(MAX(plan_seq), 0) + 1 FROM runs").fetchone()[0]
            cur.execute(
                "INSERT INTO runs (run_id, output_root, created_at, planned_at, plan_seq)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (run_id) DO UPDATE SET planned_at = excluded.planned_at,"
                " plan_seq = excluded.plan_seq, output_root = excluded.output_root",
                (run_id, output_root, now, now, seq),
            )
            for position, scene in enumerate(scenes):
                products = list(scene.products)
                row = cur.execute(
                    "SELECT * FROM tasks WHERE run_id = ? AND scene_id = ?", (run_id, scene.scene_id)
                ).fetchone()
                current = _row_to_record(row) if row else None
                done = None
                if not overwrite and scene.scene_id not in redo:
                    finished = self._finished(cur, run_id, scene.scene_id, output_root)
                    done = find_done(finished, run_id, products, output_exists)
                if done is None and current is not None and current.status == RUNNING:
                    log.info(
                        "scene %s was left RUNNING by an interrupted run; scheduling it again", scene.scene_id
                    )
                step = plan_step(scene, position, output_root, current, done, now)
                self._write_step(cur, run_id, step)
                if step.runs:
                    to_run.append(scene)
        return to_run

    @staticmethod
    def _finished(cur: sqlite3.Cursor, run_id: str, scene_id: str, output_root: str) -> list[TaskRecord]:
        """A scene's SUCCEEDED and SKIPPED rows in this run or in another run writing to `output_root`."""
        rows = cur.execute(
            "SELECT tasks.*, scene_stats.stats AS stats_json FROM tasks LEFT JOIN scene_stats"
            " USING (run_id, scene_id)"
            " WHERE scene_id = ? AND (run_id = ? OR output_root = ?) AND status IN (?, ?)",
            (scene_id, run_id, output_root, SUCCEEDED, SKIPPED),
        ).fetchall()
        records = [_row_to_record(row) for row in rows]
        for record, row in zip(records, rows, strict=True):  # a SKIPPED row carries the figures too
            record.stats = json.loads(row["stats_json"]) if row["stats_json"] else None
        return records

    @staticmethod
    def _write_step(cur: sqlite3.Cursor, run_id: str, step: PlanStep) -> None:
        """Insert or update one planned row."""
        values = {k: _to_column(k, v) for k, v in step.sets.items() if k != "stats"}
        if "stats" in step.sets:  # the statistics live in their own table (stores/stats_log.py)
            write_stats(cur, run_id, step.scene.scene_id, step.sets["stats"])
        if step.new:
            values |= {"run_id": run_id, "scene_id": step.scene.scene_id}
            columns = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            cur.execute(f"INSERT INTO tasks ({columns}) VALUES ({marks})", tuple(values.values()))  # noqa: S608
        else:
            assignments = ", ".join(f"{k} = ?" for k in values)
            cur.execute(
                f"UPDATE tasks SET {assignments} WHERE run_id = ? AND scene_id = ?",  # noqa: S608
                (*values.values(), run_id, step.scene.scene_id),
            )

    # --- state changes --------------------------------------------------------------------------

    def start(self, run_id: str, scene_id: str, ran_on: str) -> None:
        """Mark a scene RUNNING and count one more attempt."""
        with self._write() as cur:
            cur.execute(
                "UPDATE tasks SET status = ?, attempts = attempts + 1, started_at = ?, finished_at = NULL,"
                " duration_s = NULL, error = NULL, ran_on = ? WHERE run_id = ? AND scene_id = ?",
                (RUNNING, utc_now(), ran_on, run_id, scene_id),
            )
            self._check_one(cur, run_id, scene_id)
            write_stats(cur, run_id, scene_id, None)  # an earlier attempt's figures are not this one's

    def succeed(
        self,
        run_id: str,
        scene_id: str,
        outputs: dict[str, str],
        duration_s: float,
        stats: dict[str, Any] | None = None,
    ) -> None:
        """Mark a scene SUCCEEDED with its outputs (product -> URI); its statistics go to `scene_stats`."""
        with self._write() as cur:
            cur.execute(
                "UPDATE tasks SET status = ?, outputs = ?, error = NULL, finished_at = ?, duration_s = ?"
                " WHERE run_id = ? AND scene_id = ?",
                (SUCCEEDED, json.dumps(outputs), utc_now(), duration_s, run_id, scene_id),
            )
            self._check_one(cur, run_id, scene_id)
            write_stats(cur, run_id, scene_id, stats)

    def fail(
        self, run_id: str, scene_id: str, error_type: str, message: str, duration_s: float | None
    ) -> None:
        """Mark a scene FAILED with the error's type and message."""
        with self._write() as cur:
            cur.execute(
                "UPDATE tasks SET status = ?, error = ?, finished_at = ?, duration_s = ?"
                " WHERE run_id = ? AND scene_id = ?",
                (
                    FAILED,
                    json.dumps({"type": error_type, "message": message}),
                    utc_now(),
                    duration_s,
                    run_id,
                    scene_id,
                ),
            )
            self._check_one(cur, run_id, scene_id)

    def requeue_running(self, run_id: str) -> int:
        """Put the RUNNING rows of a run back to PENDING (after Ctrl-C); return how many there were."""
        with self._write() as cur:
            cur.execute(
                "UPDATE tasks SET status = ? WHERE run_id = ? AND status = ?",
                (PENDING, run_id, RUNNING),
            )
            return cur.rowcount

    @staticmethod
    def _check_one(cur: sqlite3.Cursor, run_id: str, scene_id: str) -> None:
        if cur.rowcount != 1:
            raise KeyError(f"task log has no row for run {run_id!r}, scene {scene_id!r}; call plan() first")

    # --- reading --------------------------------------------------------------------------------

    def records(self, run_id: str) -> list[TaskRecord]:
        """All rows of a run, in the order of its scene list."""
        rows = self._conn.execute(
            "SELECT * FROM tasks WHERE run_id = ? ORDER BY position, scene_id", (run_id,)
        ).fetchall()
        records = [_row_to_record(r) for r in rows]
        stats = read_stats(self._conn, run_id)
        for record in records:
            record.stats = stats.get(record.scene_id)
        return records

    def runs(self) -> list[str]:
        """Run ids in this task log, the most recently planned first."""
        rows = self._conn.execute("SELECT run_id FROM runs ORDER BY plan_seq DESC").fetchall()
        return [r["run_id"] for r in rows]

    def counts(self, run_id: str) -> dict[str, int]:
        """Number of rows per status (every status present, zero included)."""
        result = dict.fromkeys(STATUSES, 0)
        for row in self._conn.execute(
            "SELECT status, COUNT(*) AS n FROM tasks WHERE run_id = ? GROUP BY status", (run_id,)
        ):
            result[row["status"]] = row["n"]
        return result
