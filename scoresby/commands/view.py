"""`scoresby view RUN`: serve a run folder (local or s3://) on 127.0.0.1 and open its map page."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from scoresby.core.errors import EXIT_INVALID, EXIT_OK
from scoresby.options import Subparsers

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


def make_server(run: str, port: int = 0) -> Any:
    """A threaded Werkzeug server of `run` bound to 127.0.0.1:`port` (0: a free port), not yet serving."""
    from werkzeug.serving import make_server as werkzeug_server

    from scoresby.view.app import LocalRun, S3Run, ViewerApp  # Werkzeug and rasterio: not for `--help`

    source = S3Run(run) if run.startswith("s3://") else LocalRun(Path(run))
    app = ViewerApp(source)
    server = werkzeug_server(HOST, port, app, threaded=True)
    app.port = server.server_port
    return server


HELP_ORDER = 80
"""Where `scoresby --help` lists this command."""


def add_parser(sub: Subparsers) -> None:
    """`scoresby view`: its parser, run by `view_command`."""
    v = sub.add_parser("view", help="serve a run on 127.0.0.1 and open its map page (full-resolution COGs)")
    v.add_argument(
        "run", metavar="RUN", help="the run folder (<output>/<run_name>) or s3://bucket/prefix/run/"
    )
    v.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    v.add_argument("--no-browser", action="store_true", help="print the URL only; do not open a browser")
    v.set_defaults(func=view_command)


def view_command(args: Any) -> int:
    """Serve until Ctrl-C or SIGTERM; exit 0 then, 2 when the run folder or the port cannot be used."""
    run = str(args.run)
    if not run.startswith("s3://") and not Path(run).is_dir():
        sys.stderr.write(
            f"scoresby view: error: {run}: not a run folder (allowed: a local folder or s3://...)\n"
        )
        return EXIT_INVALID
    try:
        server = make_server(run, args.port or 0)
    except (OSError, SystemExit) as exc:  # Werkzeug exits when the port is taken
        sys.stderr.write(f"scoresby view: error: port {args.port}: cannot listen on {HOST}: {exc}\n")
        return EXIT_INVALID
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per tile request
    url = f"http://{HOST}:{server.server_port}/"
    sys.stdout.write(f"Viewing {run} at {url} (Ctrl-C stops)\n")
    sys.stdout.flush()
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()  # shutdown() waits for serve_forever

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if not args.no_browser:
            import webbrowser

            webbrowser.open(url)
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    sys.stdout.write("scoresby view: stopped\n")
    return EXIT_OK
