"""Per-scene statistics in the local task log: a `scene_stats` table beside `tasks` in the same SQLite file.

A table of its own (not a column of `tasks`), so the task-log schema and its planner stay as they are.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from worker.core.task_log import utc_now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scene_stats (
    run_id      TEXT NOT NULL,
    scene_id    TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    stats       TEXT NOT NULL,
    PRIMARY KEY (run_id, scene_id)
);
"""

BUSY_TIMEOUT_S = 30.0


class SqliteStatsLog:
    """`scoresby:stats` of each scene of a run, keyed like the task log's rows."""

    def __init__(self, path: str | Path) -> None:
        self._conn = sqlite3.connect(Path(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.execute(_SCHEMA)
        self._conn.execute("COMMIT")

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __enter__(self) -> SqliteStatsLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, run_id: str, scene_id: str, stats: dict[str, Any]) -> None:
        """Store (or replace) a scene's statistics."""
        self._conn.execute(
            "INSERT OR REPLACE INTO scene_stats (run_id, scene_id, recorded_at, stats) VALUES (?, ?, ?, ?)",
            (run_id, scene_id, utc_now(), json.dumps(stats)),
        )

    def stats(self, run_id: str) -> dict[str, dict[str, Any]]:
        """scene_id -> statistics of every scene of a run recorded so far."""
        rows = self._conn.execute("SELECT scene_id, stats FROM scene_stats WHERE run_id = ?", (run_id,))
        return {scene_id: json.loads(text) for scene_id, text in rows}
