"""A recording gate in front of the moto S3 server: requester pays enforced as AWS does, signatures recorded.

moto accepts any request to a requester-pays bucket and checks no signature. The gate answers 403
AccessDenied, as S3 does for a requester who did not say it pays, to every request on a requester-pays
bucket without `x-amz-request-payer: requester`, and records for every request who sent it (User-Agent:
GDAL or Boto3), the access key id its SigV4 signature names and its session token, so a test can see which
credentials GDAL and boto3 signed with. Everything else is passed through to moto unchanged.
"""

from __future__ import annotations

import http.client
import re
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
}
_CREDENTIAL = re.compile(r"Credential=([^/]+)/")
_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Access Denied (requester pays: x-amz-request-payer missing)</Message></Error>"
)


@dataclass(frozen=True)
class SeenRequest:
    """One request that reached the gate."""

    method: str
    bucket: str
    key: str
    user_agent: str
    access_key_id: str | None
    session_token: str | None
    request_payer: str | None
    status: int


class S3Gate:
    """Serves on 127.0.0.1 and forwards to the moto server at `upstream` (http://host:port)."""

    def __init__(self, upstream: str, requester_pays: set[str]) -> None:
        self.upstream = urllib.parse.urlsplit(upstream).netloc
        self.requester_pays = requester_pays
        self.seen: list[SeenRequest] = []
        self._lock = threading.Lock()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as GDAL and botocore expect

            def _handle(self) -> None:
                gate.forward(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle  # noqa: N815 - http.server's names

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> S3Gate:
        """Serve in a thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def forward(self, request: BaseHTTPRequestHandler) -> None:
        """Refuse or pass one request, and record it."""
        path = urllib.parse.urlsplit(request.path).path
        bucket, _, key = urllib.parse.unquote(path).lstrip("/").partition("/")
        body = _read_body(request)
        payer = request.headers.get("x-amz-request-payer")
        if bucket in self.requester_pays and payer != "requester":
            status, headers, data = 403, [("Content-Type", "application/xml")], _DENIED
        else:
            upstream = http.client.HTTPConnection(self.upstream, timeout=120)
            try:
                headers_out = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
                if body is not None:
                    headers_out["Content-Length"] = str(len(body))
                upstream.request(request.command, request.path, body=body, headers=headers_out)
                response = upstream.getresponse()
                data = response.read()
                status = response.status
                headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            finally:
                upstream.close()
        signature = _CREDENTIAL.search(request.headers.get("Authorization", ""))
        with self._lock:
            self.seen.append(
                SeenRequest(
                    request.command,
                    bucket,
                    key,
                    request.headers.get("User-Agent", ""),
                    signature.group(1) if signature else None,
                    request.headers.get("x-amz-security-token"),
                    payer,
                    status,
                )
            )
        request.send_response(status)
        for name, value in headers:
            if name.lower() != "content-length":
                request.send_header(name, value)
        # A HEAD answer keeps the object's length (what GDAL and boto3 read) but carries no body.
        length = next((v for k, v in headers if k.lower() == "content-length"), str(len(data)))
        request.send_header("Content-Length", length if request.command == "HEAD" else str(len(data)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(data)


def _read_body(request: BaseHTTPRequestHandler) -> bytes | None:
    """The request body: by Content-Length, or de-chunked (Transfer-Encoding: chunked)."""
    if request.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(request.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while request.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(request.rfile.read(size))
            request.rfile.readline()
    length = request.headers.get("Content-Length")
    return request.rfile.read(int(length)) if length else None
