"""A counting, delaying HTTP proxy on loopback in front of an S3 endpoint (moto), for the S3 read figures.

Every request is forwarded to the upstream host:port as is; the proxy counts requests per method and object
key and the response body bytes, and can add a fixed delay before each request is forwarded (a stand-in for
the round trip to S3 from another machine). Used by `make bench` (bench/s3_bench.py) and by the test that
asserts the byte and request counts of a scene read from S3 (tests/raster/test_s3_reads.py).
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"}


@dataclass
class Traffic:
    """What went through the proxy: requests per (method, key) and body bytes per key."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    body_bytes: Counter[str] = field(default_factory=Counter)
    ranges: list[tuple[str, str]] = field(default_factory=list)  # (key, Range header) of each GET

    def gets(self, suffix: str = "") -> int:
        """GET requests of keys ending with `suffix` (case-insensitive)."""
        return sum(n for (m, k), n in self.requests.items() if m == "GET" and k.lower().endswith(suffix))

    def bytes_of(self, suffix: str = "") -> int:
        """Body bytes sent for keys ending with `suffix` (case-insensitive)."""
        return sum(n for k, n in self.body_bytes.items() if k.lower().endswith(suffix))


class CountingProxy:
    """`with CountingProxy(host, port, delay_s=0.02) as proxy:`, then point clients at `proxy.endpoint`."""

    def __init__(self, upstream_host: str, upstream_port: int, *, delay_s: float = 0.0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.delay_s = delay_s
        self.traffic = Traffic()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="s3-proxy", daemon=True)

    @property
    def endpoint(self) -> str:
        """host:port of the proxy (GDAL's AWS_S3_ENDPOINT form)."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def reset(self) -> Traffic:
        """Start counting afresh; returns what was counted so far."""
        with self._lock:
            old, self.traffic = self.traffic, Traffic()
        return old

    def record(self, method: str, key: str, nbytes: int, range_header: str | None) -> None:
        """Count one forwarded request (called by the handler threads)."""
        with self._lock:
            self.traffic.requests[(method, key)] += 1
            self.traffic.body_bytes[key] += nbytes
            if method == "GET":
                self.traffic.ranges.append((key, range_header or ""))

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler_for(proxy: CountingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as curl and botocore expect from S3

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

        def _forward(self) -> None:
            if proxy.delay_s:
                time.sleep(proxy.delay_s)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            conn = http.client.HTTPConnection(*proxy.upstream, timeout=120)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            finally:
                conn.close()
            key = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            proxy.record(self.command, key, len(data), self.headers.get("Range"))
            self.send_response(response.status, response.reason)
            for k, v in response.getheaders():
                if k.lower() not in HOP_HEADERS and k.lower() != "content-length":
                    self.send_header(k, v)
            # A HEAD answer keeps the object's length (GDAL learns file sizes from it); a body sets its own.
            length_out = response.getheader("Content-Length", "0") if self.command == "HEAD" else len(data)
            self.send_header("Content-Length", str(length_out))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward  # noqa: N815 - http.server's names

    return Handler
