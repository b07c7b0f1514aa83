"""The viewer's web app (WSGI, Werkzeug): the map page, its layer list, and the run's files with HTTP Range.

Werkzeug (Pallets) does the HTTP: Range and If-Range, 206/416, HEAD, conditional requests. This module
decides what may be served: GET and HEAD only, a Host header naming this loopback server (a DNS-rebinding
guard), the viewer's own files, and files inside the run folder (paths/paths.py); an s3:// run is proxied
with the user's credentials, Range passed on, so the bucket needs no CORS rule and nothing is made public.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from scoresby.core.layout import split_s3_uri
from scoresby.view.layers import run_layers
from scoresby.view.paths import Refused, local_file, run_relative

log = logging.getLogger(__name__)

STATIC_FILES = {"index.html": "text/html", "viewer.js": "text/javascript", "viewer.css": "text/css"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
MEDIA = {".tif": "image/tiff", ".png": "image/png", ".json": "application/json", ".gif": "image/gif",
         ".html": "text/html; charset=utf-8", ".csv": "text/csv", ".mp4": "video/mp4"}  # fmt: skip


class LocalRun:
    """A run folder on this machine."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve(strict=True)
        self.name = self.root.name

    def read_json(self, rel: str) -> Any:
        """A JSON file of the run folder (None when absent or not allowed)."""
        try:
            return json.loads(local_file(self.root, run_relative("/run/" + rel)).read_text(encoding="utf-8"))
        except (Refused, OSError, ValueError):
            return None

    def response(self, rel: str, request: Request) -> Response:
        """The file, with Range, If-Range and HEAD handled by Werkzeug."""
        path = local_file(self.root, rel)
        return send_file(path, request.environ, mimetype=MEDIA.get(path.suffix.lower()), conditional=True)


class S3Run:
    """A run under s3://bucket/prefix/, read with the user's own credentials."""

    def __init__(self, uri: str, s3_client: Any = None) -> None:
        import boto3

        self.uri = uri if uri.endswith("/") else uri + "/"
        self.bucket, self.prefix = split_s3_uri(self.uri)
        self.name = self.prefix.rstrip("/").rsplit("/", 1)[-1]
        self.s3 = s3_client or boto3.client("s3")

    def read_json(self, rel: str) -> Any:
        """A JSON object of the run (None when absent or unreadable)."""
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self.prefix + rel)["Body"].read()
            return json.loads(body)
        except Exception:  # noqa: BLE001 - a missing Item is left off the map
            return None

    def response(self, rel: str, request: Request) -> Response:
        """The object, or the byte range asked for, proxied (HEAD: its headers only)."""
        from botocore.exceptions import ClientError

        key, kwargs = self.prefix + rel, {}
        if request.headers.get("Range"):
            kwargs["Range"] = request.headers["Range"]
        try:
            if request.method == "HEAD":
                meta = self.s3.head_object(Bucket=self.bucket, Key=key)
                body: Iterable[bytes] = []
            else:
                meta = self.s3.get_object(Bucket=self.bucket, Key=key, **kwargs)
                body = _chunks(meta["Body"])
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("InvalidRange", "416"):
                return Response("range not satisfiable", status=416)
            raise NotFound() from exc
        headers = {"Accept-Ranges": "bytes", "Content-Length": str(meta["ContentLength"])}
        if meta.get("ContentRange"):
            headers["Content-Range"] = meta["ContentRange"]
        mimetype = MEDIA.get(Path(rel).suffix.lower(), "application/octet-stream")
        status = 206 if meta.get("ContentRange") else 200
        return Response(body, status=status, headers=headers, mimetype=mimetype, direct_passthrough=True)


def _chunks(stream: Any) -> Iterator[bytes]:
    try:
        yield from stream.iter_chunks(64 * 1024)
    finally:
        stream.close()


class ViewerApp:
    """The WSGI app of one run; `port` is set once the server is bound (the Host check needs it)."""

    def __init__(self, run: LocalRun | S3Run, port: int = 0) -> None:
        self.run, self.port = run, port

    def allowed_hosts(self) -> set[str]:
        """Host headers a request may carry: this server's loopback address and port, nothing else."""
        return {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """Answer one request."""
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except HTTPException as exc:
            response = Response(f"{exc.code} {exc.name}\n", status=exc.code, mimetype="text/plain")
            if isinstance(exc, MethodNotAllowed):
                response.headers["Allow"] = "GET, HEAD"
        except Refused:
            response = Response("404 Not Found\n", status=404, mimetype="text/plain")
        except Exception:
            log.exception("view: %s %s failed", request.method, request.path)
            response = Response("500 Internal Server Error\n", status=500, mimetype="text/plain")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-cache"
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Route a checked request: the page, its files, the layer list, or a file of the run."""
        if request.headers.get("Host", "") not in self.allowed_hosts():
            text = "403 Forbidden: the Host header must name this loopback server\n"
            return Response(text, status=403, mimetype="text/plain")
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed(valid_methods=["GET", "HEAD"])
        path = request.path
        if path in ("/", "/index.html"):
            return self.static("index.html")
        if path.startswith("/_viewer/"):
            name = path[len("/_viewer/") :]
            if name == "layers.json":
                layers = run_layers(self.run.name, self.run.read_json)
                return Response(json.dumps(layers), mimetype="application/json")
            if name in STATIC_FILES:
                return self.static(name)
            raise NotFound()
        return self.run.response(run_relative(path), request)

    def static(self, name: str) -> Response:
        """One of the page's own files (package data)."""
        data = resources.files("scoresby.view").joinpath("static", name).read_bytes()
        response = Response(data, mimetype=STATIC_FILES[name])
        if name == "index.html":
            response.headers["Content-Security-Policy"] = CSP
        return response
