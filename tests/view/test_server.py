"""`scoresby view`: Range reads; refused: traversal, symlink escapes, other methods, other Hosts, listings."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from scoresby.commands.view import make_server

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(small_run: Path) -> Iterator[Any]:
    srv = make_server(str(small_run))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def request(
    srv: Any, method: str, path: str, host: str | None = "default", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Send `path` exactly as given (no client-side normalising or encoding)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_port, timeout=10)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    if host == "default":
        host = f"127.0.0.1:{srv.server_port}"
    if host is not None:
        conn.putheader("Host", host)
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


COG = "/run/s1/s1_ndsi.tif"


def test_it_binds_the_loopback_address_only(server: Any) -> None:
    assert server.server_address[0] == "127.0.0.1"


def test_range_reads_of_a_cog(server: Any, small_run: Path) -> None:
    whole = (small_run / "s1" / "s1_ndsi.tif").read_bytes()
    status, headers, body = request(server, "GET", COG)
    assert status == 200 and body == whole and headers["accept-ranges"] == "bytes"
    status, headers, body = request(server, "GET", COG, headers={"Range": "bytes=0-0"})
    assert status == 206 and body == whole[:1] and headers["content-range"] == f"bytes 0-0/{len(whole)}"
    status, _, body = request(server, "GET", COG, headers={"Range": "bytes=100-199"})
    assert status == 206 and body == whole[100:200]
    status, _, body = request(server, "GET", COG, headers={"Range": "bytes=-16"})
    assert status == 206 and body == whole[-16:]
    status, _, _ = request(server, "GET", COG, headers={"Range": f"bytes={len(whole) + 10}-"})
    assert status == 416
    status, headers, body = request(server, "HEAD", COG)
    assert status == 200 and body == b"" and int(headers["content-length"]) == len(whole)


@pytest.mark.parametrize(
    "path",
    [
        "/run/../secret.txt",
        "/run/%2e%2e/secret.txt",
        "/run/%2E%2E/secret.txt",
        "/run/%252e%252e/secret.txt",
        "/run/..%2fsecret.txt",
        "/run/..%252fsecret.txt",
        "/run/s1/..\\..\\secret.txt",
        "/run/s1/%5c..%5c..%5csecret.txt",
        "/run/s1/../../secret.txt",
        "/run/./s1/s1.json",
        "/run//s1/s1.json",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/run/s1/escape.txt",  # a symlink out of the run folder
        "/run/.scoresby-hidden.json",
        "/run/s1/s1.json%00.tif",
        "/run/",  # no listings
        "/run/s1/",
        "/run/s1",
        "/run/%2Fetc%2Fpasswd",
        "/run//etc/passwd",
        "/_viewer/../run/s1/s1.json",
        "/_viewer/index.htm",
        "/etc/passwd",
    ],
)
def test_nothing_outside_the_run_and_no_listing(server: Any, path: str) -> None:
    status, _, body = request(server, "GET", path)
    assert status in (400, 404), (path, status)
    assert b"SECRET" not in body and b"root:" not in body and b"s1_ndsi" not in body


def test_symlinks_inside_the_run_are_served(server: Any) -> None:
    status, _, body = request(server, "GET", "/run/s1/inside.json")
    assert status == 200 and json.loads(body)["id"] == "s1"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"])
def test_get_and_head_only(server: Any, method: str) -> None:
    status, headers, _ = request(server, method, COG)
    assert status == 405 and headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1",
        "127.0.0.1:1",
        "[::1]:{port}",
        "127.0.0.1.evil.example:{port}",
        "",
        None,
    ],
)
def test_host_must_be_this_loopback_server(server: Any, host: str | None) -> None:
    status, _, body = request(
        server, "GET", COG, host=None if host is None else host.format(port=server.server_port)
    )
    assert status == 403 and b"II*" not in body


def test_the_page_and_its_layers(server: Any) -> None:
    status, headers, body = request(server, "GET", "/")
    assert status == 200 and b"/_viewer/viewer.js" in body
    assert (
        "script-src 'self'" in headers["content-security-policy"]
        and headers["x-content-type-options"] == "nosniff"
    )
    status, _, body = request(server, "GET", "/_viewer/viewer.js")
    assert (
        status == 200 and len(body) > 100_000
    )  # the bundle (OpenLayers, geotiff.js, proj4) ships with the package
    layers = json.loads(request(server, "GET", "/_viewer/layers.json")[2])
    (layer,) = layers["layers"]
    assert layer["href"] == "s1/s1_ndsi.tif" and layer["crs"] == "EPSG:32624" and "+zone=24" in layer["proj4"]
    assert layer["legend"]["type"] == "ramp" and layer["nodata"] == "nan"


def test_an_s3_run_is_proxied_with_range(
    tmp_path: Path, small_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="runs")
        for path in [
            small_run / "collection.json",
            small_run / "s1" / "s1.json",
            small_run / "s1" / "s1_ndsi.tif",
        ]:
            s3.put_object(Bucket="runs", Key=f"out/r/{path.relative_to(small_run)}", Body=path.read_bytes())
        whole = (small_run / "s1" / "s1_ndsi.tif").read_bytes()
        srv = make_server("s3://runs/out/r/")
        thread = threading.Thread(target=srv.serve_forever, daemon=True)
        thread.start()
        try:
            status, headers, body = request(srv, "GET", COG, headers={"Range": "bytes=8-15"})
            assert (
                status == 206
                and body == whole[8:16]
                and headers["content-range"] == f"bytes 8-15/{len(whole)}"
            )
            status, headers, body = request(srv, "HEAD", COG)
            assert status == 200 and body == b"" and int(headers["content-length"]) == len(whole)
            assert request(srv, "GET", "/run/%2e%2e/secret.txt")[0] == 404
            assert request(srv, "GET", "/run/s1/nothing.tif")[0] == 404
            assert request(srv, "GET", COG, host="evil.example")[0] == 403
            layers = json.loads(request(srv, "GET", "/_viewer/layers.json")[2])
            assert [la["href"] for la in layers["layers"]] == ["s1/s1_ndsi.tif"]
        finally:
            srv.shutdown()
            srv.server_close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_command_prints_the_url_and_stops_cleanly(small_run: Path, sig: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "scoresby.cli", "view", str(small_run), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"Viewing {small_run} at http://127.0.0.1:"), line
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/_viewer/layers.json")
        assert conn.getresponse().status == 200
        conn.close()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_a_missing_folder_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "scoresby.cli", "view", str(tmp_path / "nope"), "--no-browser"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "not a run folder" in proc.stderr
