"""A real STAC API on loopback for the tests: stac-fastapi-pgstac on a throw-away PostgreSQL + PostGIS."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PG_BIN = Path("/usr/lib/postgresql/15/bin")
REAL_ITEMS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "stac" / "earth-search"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def missing_prerequisite() -> str | None:
    """Why the server cannot start here (PostgreSQL/PostGIS or the Python packages absent), or None."""
    if not (PG_BIN / "initdb").exists():
        return "PostgreSQL 15 not installed (make test installs postgresql-15-postgis-3)"
    if not list(Path("/usr/share/postgresql/15/extension").glob("postgis.control")):
        return "PostGIS not installed (make test installs postgresql-15-postgis-3)"
    try:
        import pypgstac  # noqa: F401
        import stac_fastapi.pgstac  # noqa: F401
    except ImportError as exc:
        return f"stac-fastapi-pgstac / pypgstac not installed ({exc})"
    return None


def collection_of(collection_id: str, items: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """A minimal valid STAC Collection for `collection_id` (extent from its items where given)."""
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": collection_id,
        "description": f"{collection_id} (test copy)",
        "license": "proprietary",
        "links": [],
        "extent": {
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [["1982-01-01T00:00:00Z", None]]},
        },
    }


class StacServer:
    """PostgreSQL + pgstac + uvicorn(stac-fastapi-pgstac), all on 127.0.0.1; `add` loads more items."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="scoresby-pg-"))
        shutil.chown(self.dir, "postgres", "postgres")  # PostgreSQL refuses to run as root
        self.pg_port, self.api_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.api_port}"
        self.dsn = f"postgresql://postgres:postgres@127.0.0.1:{self.pg_port}/stac"
        self._api: subprocess.Popen[bytes] | None = None
        self._collections: set[str] = set()

    def _pg(self, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=120
        )

    def start(self) -> StacServer:
        """initdb, start PostgreSQL, migrate pgstac, start the API; returns self once it answers."""
        data = self.dir / "data"
        self._pg(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.pg_port} -k {self.dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._pg(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(self.dir / "pg.log"),
            "-w",
            "start",
        )
        self._pg(
            str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", "stac"
        )
        from pypgstac.db import PgstacDB
        from pypgstac.migrate import Migrate

        with PgstacDB(dsn=self.dsn) as db:
            Migrate(db).run_migration()
        env = {
            **os.environ,
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.pg_port),
            "PGUSER": "postgres",
            "PGPASSWORD": "postgres",
            "PGDATABASE": "stac",
            "POSTGRES_HOST_READER": "127.0.0.1",
            "POSTGRES_HOST_WRITER": "127.0.0.1",
            "POSTGRES_PORT": str(self.pg_port),
            "POSTGRES_USER": "postgres",
            "POSTGRES_PASS": "postgres",
            "POSTGRES_DBNAME": "stac",
        }
        uvicorn = Path(os.sys.executable).with_name("uvicorn")
        self._api = subprocess.Popen(
            [
                str(uvicorn),
                "--factory",
                "stac_fastapi.pgstac.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.api_port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(self.dir / "api.log").open("wb"),
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/collections", timeout=2).close()  # noqa: S310 - loopback
                return self
            except OSError:
                if self._api.poll() is not None or time.monotonic() > deadline:
                    log = (self.dir / "api.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"the STAC API did not start on {self.url}: {log}") from None
                time.sleep(0.2)

    def add(self, items: Iterable[dict[str, Any]]) -> None:
        """Load items (and a collection for each new collection id) into the API's database."""
        from pypgstac.db import PgstacDB
        from pypgstac.load import Loader, Methods

        items = list(items)
        new = sorted({i["collection"] for i in items} - self._collections)
        with PgstacDB(dsn=self.dsn) as db:
            loader = Loader(db)
            if new:
                loader.load_collections(iter([collection_of(c) for c in new]), insert_mode=Methods.upsert)
                self._collections.update(new)
            loader.load_items(iter(items), insert_mode=Methods.upsert)

    def stop(self) -> None:
        """Stop the API and PostgreSQL and delete the database folder."""
        if self._api is not None:
            self._api.terminate()
            try:
                self._api.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._api.kill()
        try:
            self._pg(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def real_items() -> list[dict[str, Any]]:
    """The real Earth Search items of ../shared/data/stac, unchanged."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(REAL_ITEMS.glob("*.json"))]
