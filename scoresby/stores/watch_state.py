"""A local watch's state beside its task log: cursor and rounds (`watches`), items seen (`watch_items`).

Tables of their own in the task log's SQLite file, so the task-log schema and planner stay as they are.
The items are kept with their scene objects: a round that was killed leaves PENDING rows whose scenes the
next round's search (from the cursor) no longer finds, and plans again from here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from scoresby.core.task_log import utc_now
from scoresby.core.watch import Cursor, WatchStatus
from scoresby.stores.sqlite_file import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS watches (
    run_id         TEXT PRIMARY KEY,
    watch          TEXT NOT NULL,
    cursor         TEXT,
    every_s        REAL,
    rounds         INTEGER NOT NULL DEFAULT 0,
    round_started  TEXT,
    round_finished TEXT,
    round_new      INTEGER,
    round_outcome  TEXT
);
CREATE TABLE IF NOT EXISTS watch_items (
    run_id    TEXT NOT NULL,
    item_id   TEXT NOT NULL,
    version   TEXT NOT NULL,
    datetime  TEXT,
    scene     TEXT NOT NULL,
    redo      INTEGER NOT NULL DEFAULT 0,
    round     INTEGER NOT NULL,
    PRIMARY KEY (run_id, item_id)
);
"""


class SqliteWatchState(SqliteFile):
    """The `watches` and `watch_items` tables of one task-log file."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        super().__init__(path, _SCHEMA, create=create)
        # Locally a round holds the run lock, so it claims nothing: an item without a task-log row runs
        # anyway (core.watch_round.round_scenes, exclusive).
        self.claimed: list[str] = []

    def status(self, run_id: str) -> WatchStatus | None:
        """The watch's cursor and last round, or None before its first round."""
        found = [s for s in self.statuses() if s.run_id == run_id]
        return found[0] if found else None

    def statuses(self) -> list[WatchStatus]:
        """Every watch in this task log, by name (no table yet: none)."""
        try:
            rows = self._conn.execute("SELECT * FROM watches ORDER BY run_id").fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise
        names = [d[0] for d in self._conn.execute("SELECT * FROM watches LIMIT 0").description]
        out = []
        for row in rows:
            d = dict(zip(names, row, strict=True))
            out.append(
                WatchStatus(
                    run_id=d["run_id"],
                    cursor=Cursor.from_dict(json.loads(d["cursor"]) if d["cursor"] else None),
                    rounds=d["rounds"],
                    round_started=d["round_started"],
                    round_finished=d["round_finished"],
                    round_new=d["round_new"],
                    round_outcome=d["round_outcome"],
                    schedule=None if d["every_s"] is None else f"every {d['every_s']:g} s",
                    period_s=d["every_s"],
                )
            )
        return out

    def versions(self, run_id: str) -> dict[str, str]:
        """item id -> version of every item the watch has seen."""
        rows = self._conn.execute("SELECT item_id, version FROM watch_items WHERE run_id = ?", (run_id,))
        return dict(rows.fetchall())

    def begin_round(
        self,
        run_id: str,
        watch: Mapping[str, Any],
        *,
        every_s: float | None,
        cursor: Cursor | None,
        new: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
        reprocessed: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
        versions: Mapping[str, str],
    ) -> int:
        """Record the new and reprocessed (item, scene) pairs and the new cursor; the round's number."""
        now = utc_now()
        with self._write() as cur:
            cur.execute(
                "INSERT INTO watches (run_id, watch, cursor, every_s, rounds, round_started, round_outcome)"
                " VALUES (?, ?, ?, ?, 1, ?, 'running') ON CONFLICT (run_id) DO UPDATE SET"
                " watch = excluded.watch, cursor = excluded.cursor, every_s = excluded.every_s,"
                " rounds = rounds + 1, round_started = excluded.round_started, round_finished = NULL,"
                " round_outcome = 'running'",
                (run_id, json.dumps(watch), _cursor_json(cursor), every_s, now),
            )
            number = cur.execute("SELECT rounds FROM watches WHERE run_id = ?", (run_id,)).fetchone()[0]
            count = 0
            for redo, pairs in ((0, new), (1, reprocessed)):
                for item, scene in pairs:
                    count += 1
                    cur.execute(
                        "INSERT OR REPLACE INTO watch_items (run_id, item_id, version, datetime, scene,"
                        " redo, round) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            run_id,
                            str(item["id"]),
                            versions[str(item["id"])],
                            (item.get("properties") or {}).get("datetime"),
                            json.dumps(scene),
                            redo,
                            number,
                        ),
                    )
            cur.execute("UPDATE watches SET round_new = ? WHERE run_id = ?", (count, run_id))
            return int(number)

    def scenes(self, run_id: str) -> list[dict[str, Any]]:
        """The scene objects of every item seen, oldest acquisition first."""
        rows = self._conn.execute(
            "SELECT scene FROM watch_items WHERE run_id = ? ORDER BY datetime, item_id", (run_id,)
        )
        return [json.loads(text) for (text,) in rows]

    def redo_ids(self, run_id: str) -> set[str]:
        """Scene ids to make again over their earlier outputs (the provider reprocessed the item)."""
        rows = self._conn.execute("SELECT scene FROM watch_items WHERE run_id = ? AND redo = 1", (run_id,))
        return {json.loads(text)["scene_id"] for (text,) in rows}

    def finish_round(self, run_id: str, outcome: str, done: Iterable[str]) -> None:
        """Close the round with its outcome; scenes in `done` (SUCCEEDED now) are no longer redone."""
        done = set(done)
        with self._write() as cur:
            # A first round whose search failed has no row yet: it gets one, with no round counted.
            cur.execute(
                "INSERT INTO watches (run_id, watch, rounds, round_finished, round_outcome)"
                " VALUES (?, 'null', 0, ?, ?) ON CONFLICT (run_id) DO UPDATE SET"
                " round_finished = excluded.round_finished, round_outcome = excluded.round_outcome",
                (run_id, utc_now(), outcome),
            )
            for text, item_id in cur.execute(
                "SELECT scene, item_id FROM watch_items WHERE run_id = ? AND redo = 1", (run_id,)
            ).fetchall():
                if json.loads(text)["scene_id"] in done:
                    cur.execute(
                        "UPDATE watch_items SET redo = 0 WHERE run_id = ? AND item_id = ?", (run_id, item_id)
                    )


def _cursor_json(cursor: Cursor | None) -> str | None:
    return None if cursor is None else json.dumps(cursor.to_dict())
