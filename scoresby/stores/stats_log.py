"""Per-scene statistics in the local task log: a `scene_stats` table beside `tasks` in the same SQLite file.

A table of its own (not a column of `tasks`), so the task-log rows and their planner stay as they are;
SqliteTaskLog writes it inside its own transactions (a second connection would wait on their lock).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from scoresby.core.task_log import utc_now
from scoresby.core.timeseries import task_log_stats

STATS_SCHEMA = """
CREATE TABLE IF NOT EXISTS scene_stats (
    run_id      TEXT NOT NULL,
    scene_id    TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    stats       TEXT NOT NULL,
    PRIMARY KEY (run_id, scene_id)
);
"""


def write_stats(cur: sqlite3.Cursor, run_id: str, scene_id: str, stats: dict[str, Any] | None) -> None:
    """Store (or replace) a scene's statistics, cut to core.timeseries.TASK_LOG_STATS; None clears them."""
    if stats is None:
        cur.execute("DELETE FROM scene_stats WHERE run_id = ? AND scene_id = ?", (run_id, scene_id))
        return
    cur.execute(
        "INSERT OR REPLACE INTO scene_stats (run_id, scene_id, recorded_at, stats) VALUES (?, ?, ?, ?)",
        (run_id, scene_id, utc_now(), json.dumps(task_log_stats(stats))),
    )


def read_stats(conn: sqlite3.Connection, run_id: str) -> dict[str, dict[str, Any]]:
    """scene_id -> statistics of a run from an open task log ({} when the file has no `scene_stats` yet)."""
    try:
        rows = conn.execute("SELECT scene_id, stats FROM scene_stats WHERE run_id = ?", (run_id,)).fetchall()
    except sqlite3.OperationalError:  # a task log written before statistics existed, opened read-only
        return {}
    return {str(row[0]): json.loads(row[1]) for row in rows}
