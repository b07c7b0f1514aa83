"""The run lock: one `scoresby run` at a time per task log, released by the kernel when its holder dies."""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from types import TracebackType

from scoresby.core.errors import PipelineError, one_line
from scoresby.core.layout import RUN_LOCK_NAME
from scoresby.core.task_log import utc_now


class RunLocked(PipelineError):
    """Another live process holds the run lock of this output."""


class RunLock:
    """An exclusive flock on `<task-log folder>/scoresby-run.lock` holding "pid host started_at".

    flock, not a PID file: a killed holder's lock is released by the kernel, so a stale lock recovers by
    itself and no PID has to be probed (PIDs are reused, and another host's cannot be probed at all).
    """

    def __init__(self, task_log_path: Path) -> None:
        self.path = task_log_path.parent / RUN_LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise RunLocked(
                f"another scoresby run is using {self.path.parent} ({one_line(holder)}); "
                "wait for it to finish, or stop it, then run this command again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on host {socket.gethostname()}, since {utc_now()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
