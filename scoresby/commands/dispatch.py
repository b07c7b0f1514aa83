"""`scoresby run`'s dispatch loop: keep a pool of worker processes busy, record each scene, replace the dead.

Each scene runs in a worker process of our own small pool (commands.run_worker); a worker that dies or
hangs costs only its scene, which is recorded FAILED, and a fresh worker takes its place.
"""

from __future__ import annotations

import logging
import multiprocessing
import socket
import time
from collections import deque
from multiprocessing.connection import wait
from typing import Any

from tqdm import tqdm

from scoresby.commands.run_worker import Job, Reply, Worker, describe_exit
from scoresby.core.scene_list import Scene
from scoresby.core.task_log import FAILED, SKIPPED, SUCCEEDED
from scoresby.stores.sqlite_log import SqliteTaskLog

log = logging.getLogger(__name__)

STOP_GRACE_S = 10.0  # how long a worker gets to clean up after Ctrl-C before it is killed


class Dispatch:
    """The dispatch loop: keep every worker busy, record each Reply, replace dead and hung workers."""

    def __init__(
        self,
        run_name: str,
        output: str,
        overwrite: bool,
        task_log: SqliteTaskLog,
        bar: tqdm,
        n_skipped: int,
        scene_timeout_s: float | None,
    ) -> None:
        self.run_name, self.output, self.overwrite = run_name, output, overwrite
        self.task_log, self.bar, self.timeout = task_log, bar, scene_timeout_s
        self.host = socket.gethostname()
        self.redo: frozenset[str] = frozenset()
        self.tally = {SUCCEEDED: 0, FAILED: 0, SKIPPED: n_skipped}
        self.ctx = multiprocessing.get_context("spawn")
        # Workers' INFO lines would tear the progress bar apart: warnings only, unless -v asked for DEBUG.
        root_level = logging.getLogger().getEffectiveLevel()
        self.log_level = logging.DEBUG if root_level <= logging.DEBUG else max(root_level, logging.WARNING)

    def run(self, to_run: list[Scene], n_workers: int) -> None:
        """Process `to_run`; on return or Ctrl-C every worker process has ended."""
        if not to_run:
            return
        queue = deque(to_run)
        pool = [Worker(self.ctx, self.log_level) for _ in range(n_workers)]
        try:
            while True:
                for i, worker in enumerate(pool):
                    if worker.scene is None and queue:
                        if not worker.process.is_alive():
                            worker.kill()
                            pool[i] = worker = Worker(self.ctx, self.log_level)
                        scene = queue.popleft()
                        self.task_log.start(self.run_name, scene.scene_id, ran_on=self.host)
                        overwrite = self.overwrite or scene.scene_id in self.redo
                        worker.send(Job(scene, self.output, self.run_name, overwrite))
                busy = [w for w in pool if w.scene is not None]
                if not busy:
                    return
                ready = set(
                    wait([w.conn for w in busy] + [w.process.sentinel for w in busy], self._wait_s(busy))
                )
                for worker in pool:
                    if worker.scene is not None and self._collect(worker, ready):
                        worker.scene = None
                        if not worker.process.is_alive():
                            worker.kill()
        finally:
            # Normal end: idle workers get a stop message. Ctrl-C: busy ones get SIGTERM, then SIGKILL.
            for worker in pool:
                worker.stop(STOP_GRACE_S)

    def _wait_s(self, busy: list[Worker]) -> float | None:
        if self.timeout is None:
            return None
        now = time.monotonic()
        return max(0.0, min(w.started + self.timeout - now for w in busy)) + 0.05

    def _collect(self, worker: Worker, ready: set[Any]) -> bool:
        """Record the outcome of a busy worker's scene if there is one yet; True when the scene is over."""
        scene = worker.scene
        assert scene is not None  # noqa: S101 - only busy workers are collected
        elapsed = time.monotonic() - worker.started
        reply: Reply | None = None
        if worker.conn in ready or worker.conn.poll():
            try:
                reply = worker.conn.recv()
            except (EOFError, OSError):
                reply = None
        elif worker.process.sentinel not in ready:
            if self.timeout is None or elapsed < self.timeout:
                return False
            worker.kill()  # SIGKILL: a stopped or hung worker cannot answer a SIGTERM
            message = (
                f"scene {scene.scene_id}: no result after {elapsed:.0f} s (--scene-timeout "
                f"{self.timeout:g}); the worker process was killed"
            )
            self._record(scene, Reply(False, elapsed, error_type="SceneTimeout", message=message))
            return True
        if reply is None:
            worker.process.join(5)
            message = (
                f"scene {scene.scene_id}: the worker process {describe_exit(worker.process.exitcode)}"
                " while processing this scene"
            )
            reply = Reply(False, elapsed, error_type="WorkerCrashed", message=message)
        self._record(scene, reply)
        return True

    def _record(self, scene: Scene, reply: Reply) -> None:
        if reply.ok:
            self.task_log.succeed(
                self.run_name, scene.scene_id, reply.outputs, reply.duration_s, stats=reply.stats
            )
            status = SUCCEEDED
        else:
            log.warning("%s", reply.message)
            self.task_log.fail(
                self.run_name, scene.scene_id, reply.error_type, reply.message, reply.duration_s
            )
            status = FAILED
        self.tally[status] += 1
        self.bar.set_postfix(
            ok=self.tally[SUCCEEDED], failed=self.tally[FAILED], skipped=self.tally[SKIPPED], refresh=False
        )
        self.bar.update(1)
