"""A wall-clock bound on each attempt of an HTTP request: urllib3 connections that a timer can cut."""

from __future__ import annotations

import socket
import threading
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class Watchdog:
    """A wall-clock bound on each attempt of a request: when it passes, the attempt's socket is shut down.

    Socket timeouts bound each read, not a server that sends one byte (of headers or body) just before
    each runs out; this bounds the whole attempt, headers included.
    """

    current = threading.local()

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._timer: threading.Timer | None = None

    def arm(self, connection: HTTPConnection) -> None:
        """Start the bound of a new attempt on `connection` (the previous attempt's is cancelled)."""
        self.disarm()
        self.expired = False
        self._timer = threading.Timer(self.seconds, self._cut, (connection,))
        self._timer.daemon = True
        self._timer.start()

    def disarm(self) -> None:
        """Cancel the running bound, if any."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _cut(self, connection: HTTPConnection) -> None:
        self.expired = True
        sock = getattr(connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # the blocked read returns at once
            except OSError:
                pass


class _WatchedHTTPConnection(HTTPConnection):
    """An HTTPConnection whose every request arms the calling thread's watchdog."""

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Arm the watchdog, then send as urllib3 does."""
        watchdog = getattr(Watchdog.current, "watchdog", None)
        if watchdog is not None:
            watchdog.arm(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    """An HTTPSConnection whose every request arms the calling thread's watchdog."""

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Arm the watchdog, then send as urllib3 does."""
        watchdog = getattr(Watchdog.current, "watchdog", None)
        if watchdog is not None:
            watchdog.arm(self)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def watched_pools() -> dict[str, type[HTTPConnectionPool]]:
    """The pool classes of a PoolManager whose connections arm the calling thread's watchdog."""
    return {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
