"""One SQLite file opened the way every local store needs it: WAL, FULL sync, short IMMEDIATE writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Self

BUSY_TIMEOUT_S = 30.0


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write (`scoresby status`): no schema, no journal-mode change, no -wal file.

    `mode=ro` reads a live WAL database; where the folder is read-only and no -shm file exists, SQLite
    cannot set up WAL's shared memory, and `immutable=1` (no runner can be writing there) reads it anyway.
    """
    if not path.is_file():
        raise FileNotFoundError(f"no task log at {path}")
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.OperationalError as exc:
        if "unable to open" not in str(exc):
            raise
        conn.close()
        conn = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


class SqliteFile:
    """A store in one SQLite file: created with `schema` (or opened read-only), closed as a context."""

    def __init__(self, path: str | Path, schema: str, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create:
            self._conn = open_read_only(self.path)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so each write is exactly one short
        # transaction that takes the write lock up front instead of failing half-way on a busy database.
        self._conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        # FULL: a committed transaction is on disk before commit returns (also across power loss).
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.executescript("BEGIN IMMEDIATE;" + schema + "COMMIT;")

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
        with closing(self._conn.cursor()) as cur:
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
