"""Shared worker-test fixtures: the real sample data folder, a moto S3 server, a ranged static HTTP server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REAL_DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """../shared/data/real (real Landsat 8 and Sentinel-2 band files); skips when it is absent."""
    if not REAL_DATA_DIR.is_dir():
        pytest.skip(f"real sample data not found at {REAL_DATA_DIR} (see ../shared/data/real/README.md)")
    return REAL_DATA_DIR


@pytest.fixture
def aws_test_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region, so no test can reach a real AWS account."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_S3_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture(scope="session")
def moto_s3_server() -> Iterator[str]:
    """An in-process moto server on 127.0.0.1 (random free port); yields its endpoint URL.

    Good for boto3 and for GDAL reads; GDAL *writes* to it deadlock (TOOLCHAIN-NOTES.md), use a
    `moto_server` subprocess for those.
    """
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_endpoint(moto_s3_server: str, aws_test_env: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """moto's endpoint, set as AWS_ENDPOINT_URL so boto3 clients made during the test use it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_s3_server)
    return moto_s3_server


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
