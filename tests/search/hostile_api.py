"""A hostile fake STAC API for the tests: stdlib http.server on loopback, every answer scripted per test."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

COLLECTION = "hostile-c"
CONFORMS = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/collections",
]


class Handler(BaseHTTPRequestHandler):
    """Answers from the server's routes: path -> callable(handler, body) doing the whole reply."""

    server: HostileServer
    protocol_version = "HTTP/1.1"
    # One send per reply (headers and body buffered, flushed after each request): no 40 ms delayed-ACK stalls.
    wbufsize = -1
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet: the tests read `server.requests` instead."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        self.server.requests.append((self.command, self.path))
        route = self.server.routes.get(path)
        if route is None:
            send_json(self, {"code": "NotFound", "description": "CANARY_TEXT-404"}, status=404)
            return
        route(self, body)

    do_GET = do_POST = _serve  # noqa: N815 - http.server's names


class HostileServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer with scripted routes and a record of every request it received."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, Callable[[Handler, bytes], None]] = {}
        self.requests: list[tuple[str, str]] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def landing(self, *, search_method: str = "POST") -> None:
        """A plain STAC API landing page, /collections with one collection, /search left to the test."""
        base = self.url
        page = {
            "type": "Catalog",
            "stac_version": "1.0.0",
            "id": "hostile",
            "description": "a hostile test API",
            "conformsTo": CONFORMS,
            "links": [
                {"rel": "self", "href": f"{base}/", "type": "application/json"},
                {"rel": "root", "href": f"{base}/", "type": "application/json"},
                {"rel": "data", "href": f"{base}/collections", "type": "application/json"},
                {
                    "rel": "search",
                    "href": f"{base}/search",
                    "type": "application/geo+json",
                    "method": search_method,
                },
            ],
        }
        collection = {
            "type": "Collection",
            "stac_version": "1.0.0",
            "id": COLLECTION,
            "description": "x",
            "license": "proprietary",
            "links": [],
            "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}},
        }
        self.routes["/"] = lambda h, b: send_json(h, page)
        self.routes["/collections"] = lambda h, b: send_json(h, {"collections": [collection], "links": []})

    def pages(self, make_page: Callable[[int], dict[str, Any]]) -> None:
        """/search and /page/N answer make_page(N) (the search itself is page 0)."""
        self.routes["/search"] = lambda h, b: send_json(h, make_page(0))
        for n in range(1, 5000):
            self.routes[f"/page/{n}"] = lambda h, b, n=n: send_json(h, make_page(n))

    def count(self, path: str) -> int:
        """How many requests `path` received."""
        return sum(1 for _, p in self.requests if p.split("?")[0] == path)


def send_json(
    handler: BaseHTTPRequestHandler, doc: Any, status: int = 200, reason: str | None = None
) -> None:
    """One JSON reply with its length."""
    data = json.dumps(doc).encode()
    handler.send_response(status, reason)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def item(
    item_id: str, day: int = 1, href: Any = "https://assets.example.com/B04.tif", **extra: Any
) -> dict[str, Any]:
    """A small valid Sentinel-2-like Item (one band asset on a public host) with `extra` fields set."""
    doc: dict[str, Any] = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "collection": COLLECTION,
        "geometry": {"type": "Polygon", "coordinates": [[[10, 60], [11, 60], [11, 61], [10, 61], [10, 60]]]},
        "bbox": [10, 60, 11, 61],
        "properties": {"datetime": f"2024-06-{day:02d}T10:00:00Z", "platform": "sentinel-2a"},
        "links": [],
        "assets": {"red": {"href": href, "type": "image/tiff; application=geotiff", "roles": ["data"]}},
    }
    doc.update(extra)
    return doc


def collection_page(items: list[Any], next_href: str | None = None, **next_extra: Any) -> dict[str, Any]:
    """A FeatureCollection page, with a `next` link when given."""
    links = [{"rel": "next", "href": next_href, **next_extra}] if next_href else []
    return {"type": "FeatureCollection", "features": items, "links": links}


@contextmanager
def serving(server: HostileServer) -> Iterator[HostileServer]:
    """Serve in a thread until the block ends."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def silent_server() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) and never answers; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def trickle(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    """Headers at once, then one byte of body every 0.3 s, forever (until the client hangs up)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.end_headers()
    try:
        while True:
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.3)
    except OSError:
        return


def endless_bytes(handler: BaseHTTPRequestHandler, body: bytes, total: int, declare: bool) -> None:
    """A JSON page of `total` bytes (a huge string), streamed; Content-Length declared or not."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    if declare:
        handler.send_header("Content-Length", str(total))
    else:
        handler.send_header("Connection", "close")
    handler.end_headers()
    chunk = b"x" * (1024 * 1024)
    try:
        handler.wfile.write(b'{"type": "FeatureCollection", "features": [], "pad": "')
        sent = 0
        while sent < total:
            handler.wfile.write(chunk)
            sent += len(chunk)
        handler.wfile.write(b'"}')
    except OSError:
        return
    handler.close_connection = True


def trickle_headers(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    """A status line, then one header byte every 0.3 s, forever: each read is quick, the answer never ends."""
    try:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        handler.wfile.flush()
        while True:
            handler.wfile.write(b"a")
            handler.wfile.flush()
            time.sleep(0.3)
    except OSError:
        return
