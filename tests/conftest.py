"""Fixtures shared by every test package: fake AWS credentials, one moto server, real data, an HTTP server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import prerequisites
from tests.stac_server import StacServer, missing_prerequisite, real_items

# The one set of fake AWS credentials of the suite: nothing a test does can reach a real account.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def fake_aws_env(monkeypatch: pytest.MonkeyPatch, region: str) -> None:
    """Set the fake credentials and `region`; drop profiles and session tokens from the real environment."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_NO_SIGN_REQUEST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}.items():
        monkeypatch.setenv(name, value)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """`moto_server` as a subprocess on 127.0.0.1 and a free port; yields its endpoint URL, then stops it.

    A subprocess, not ThreadedMotoServer: GDAL /vsis3/ writes deadlock against an in-process server
    (TOOLCHAIN-NOTES.md). Point boto3 at it with AWS_ENDPOINT_URL, GDAL with AWS_S3_ENDPOINT=host:port,
    AWS_HTTPS=NO, AWS_VIRTUAL_HOSTING=FALSE (see `moto_server_env`).
    """
    exe = Path(sys.executable).with_name("moto_server")
    if not exe.exists():
        prerequisites.missing(
            f"moto_server not installed next to {sys.executable} (moto[server] in requirements.txt)"
        )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **FAKE_CREDENTIALS},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()  # noqa: S310 - local test server
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"moto_server did not start on {url} (exit code {proc.poll()})"
                    ) from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def moto_server_env(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Environment for boto3 and GDAL to use the moto_server subprocess with fake keys; yields its URL."""
    host_port = moto_server.removeprefix("http://")
    fake_aws_env(monkeypatch, "us-east-1")
    settings = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_S3_ENDPOINT": host_port,
        "AWS_HTTPS": "NO",
        "AWS_VIRTUAL_HOSTING": "FALSE",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return moto_server


@pytest.fixture(scope="session")
def chromium() -> str:
    """Headless Chromium for the report and viewer tests (Debian's package, `make install-chromium`)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    prerequisites.missing(
        "headless Chromium not installed (`make install-chromium` installs Debian's chromium)"
    )


REAL_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """../shared/data/real (real Landsat 8 and Sentinel-2 band files); skips when it is absent."""
    if not REAL_DATA_DIR.is_dir():
        prerequisites.missing(
            f"real sample data not found at {REAL_DATA_DIR} (see ../shared/data/real/README.md)"
        )
    return REAL_DATA_DIR


@pytest.fixture
def aws_test_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region, so no test can reach a real AWS account."""
    fake_aws_env(monkeypatch, "us-east-1")
    monkeypatch.delenv("AWS_S3_ENDPOINT", raising=False)


@pytest.fixture
def s3_endpoint(moto_server: str, aws_test_env: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The moto server's endpoint, set as AWS_ENDPOINT_URL so boto3 clients made during the test use it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    return moto_server


@pytest.fixture
def static_http_server() -> Iterator[tuple[str, Path]]:
    """A plain-HTTP server on 127.0.0.1 serving a fresh tmp folder with Range support (as GDAL needs).

    Yields (base URL, folder). Python's http.server ignores Range headers, which /vsicurl/ refuses, so
    werkzeug's `send_from_directory` (ranges, HEAD, conditional requests) serves the files.
    """
    import tempfile

    from werkzeug.exceptions import HTTPException
    from werkzeug.serving import make_server
    from werkzeug.utils import send_from_directory
    from werkzeug.wrappers import Request

    with tempfile.TemporaryDirectory(prefix="scoresby-http-") as tmp:
        root = Path(tmp)

        def app(environ, start_response):  # type: ignore[no-untyped-def]
            request = Request(environ)
            try:
                response = send_from_directory(root, request.path.lstrip("/"), environ)
            except HTTPException as exc:
                response = exc.get_response(environ)
            return response(environ, start_response)

        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}", root
        finally:
            server.shutdown()
            thread.join()


@pytest.fixture(scope="session")
def stac_api() -> Iterator[StacServer]:
    """A real STAC API (stac-fastapi-pgstac on PostgreSQL + PostGIS) on loopback, loaded with real items."""
    reason = missing_prerequisite()
    if reason:
        prerequisites.missing(reason)
    server = StacServer().start()
    try:
        server.add(real_items())
        yield server
    finally:
        server.stop()
