"""Fixtures shared by every test package: a moto S3 server run as a subprocess (GDAL can write to it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest


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
        pytest.skip(f"moto_server not installed next to {sys.executable} (moto[server] in requirements.txt)")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
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
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_NO_SIGN_REQUEST"):
        monkeypatch.delenv(name, raising=False)
    settings = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_S3_ENDPOINT": host_port,
        "AWS_HTTPS": "NO",
        "AWS_VIRTUAL_HOSTING": "FALSE",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return moto_server
