"""The worker processes of `scoresby run`: one scene at a time, never outliving the runner.

Each worker is spawned (never forked: GDAL's state does not survive a fork) with its own temp folder, which
the runner removes when the worker ends, however it ends (so a killed worker leaves no temp data behind).
A worker dies with its runner: Linux's parent-death signal, plus a watchdog thread for the race where the
runner dies before the signal is armed (and for systems without prctl).
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from scoresby.core.errors import EXIT_TERMINATED, PipelineError, SceneError, Terminated, one_line
from scoresby.core.scene_list import Scene
from scoresby.core.warnings import ScoresbyWarning

log = logging.getLogger(__name__)

PARENT_POLL_S = 1.0
"""How often the watchdog thread checks that the runner is still alive."""


@dataclass(frozen=True)
class Job:
    """What the runner sends a worker: one scene and where it goes."""

    scene: Scene
    output: str
    run_name: str
    overwrite: bool


@dataclass(frozen=True)
class Reply:
    """What a worker sends back: the outputs of a scene, or the type and one-line message of its error."""

    ok: bool
    duration_s: float
    outputs: dict[str, str] = field(default_factory=dict)
    skipped: bool = False
    stats: dict[str, Any] | None = None
    error_type: str = ""
    message: str = ""


def _terminated(signum: int, frame: Any) -> None:
    # Raising (instead of dying on the default SIGTERM action) lets process_scene's `finally` blocks
    # remove their temporary files; a second SIGTERM must not cut that clean-up short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(EXIT_TERMINATED)


def _die_with_parent(parent_pid: int) -> None:
    """SIGTERM this process when the runner is gone (prctl where Linux has it, else the watchdog alone)."""
    try:
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (AttributeError, OSError):
        pass

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="scoresby-parent-watch", daemon=True).start()


def worker_main(conn: Connection, log_level: int, parent_pid: int, temp_root: str) -> None:
    """Loop of one worker process: receive a Job, process it, send back a Reply."""
    # Ctrl-C reaches the whole process group; only the runner decides what happens then.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _terminated)
    _die_with_parent(parent_pid)
    tempfile.tempdir = temp_root
    logging.basicConfig(
        level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # As in the command line (cli.main): each one is a note in the scene's STAC Item already; printed here
    # it would be a source line through the progress bar. A spawned worker does not inherit the filter.
    warnings.simplefilter("ignore", ScoresbyWarning)
    while True:
        try:
            job = conn.recv()
        except EOFError:  # the runner is gone
            return
        if job is None:
            return
        reply = run_job(job)
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


def run_job(job: Job) -> Reply:
    """Process one scene; every failure becomes a Reply with its type and one-line message.

    The one per-scene step of both shells: each `scoresby run` worker process and each scene of a Batch
    job (commands/batch_job.py `run_batch`). Only Terminated (SIGTERM in a Batch job) is raised: the job
    must stop, not go on to the next scene.
    """
    scene = job.scene
    started = time.monotonic()
    try:
        from scoresby.commands.scene import process_scene  # imported once, on the first scene
        from scoresby.stores.publish import remove_stale_staging

        if not job.output.startswith("s3://"):
            # Only one worker processes a scene at a time (the run lock), so no leftover is in use.
            remove_stale_staging(Path(job.output) / job.run_name, scene.scene_id)
        result = process_scene(scene, job.output, run_name=job.run_name, overwrite=job.overwrite)
        return Reply(True, float(result.duration_s), dict(result.outputs), bool(result.skipped), result.stats)
    except Terminated:
        raise
    except SceneError as exc:
        return _failed(exc, one_line(exc), started)
    except PipelineError as exc:  # e.g. InvalidInput for a product the scene cannot make
        return _failed(exc, one_line(f"scene {scene.scene_id}: {exc}"), started)
    except Exception as exc:
        # Not a data problem we anticipated: keep the traceback in the log, keep the run going.
        log.exception("scene %s: unexpected error", scene.scene_id)
        return _failed(exc, one_line(f"scene {scene.scene_id}: {type(exc).__name__}: {exc}"), started)


def _failed(exc: BaseException, message: str, started: float) -> Reply:
    return Reply(False, time.monotonic() - started, error_type=type(exc).__name__, message=message)


def describe_exit(exitcode: int | None) -> str:
    """How a worker process ended, with the likely cause, for the FAILED row of the scene it was running."""
    if exitcode is None:
        return "did not exit"
    if exitcode in (-signal.SIGTERM, EXIT_TERMINATED):
        return "was stopped by SIGTERM from outside this runner (a kill or a service manager?)"
    if exitcode == -signal.SIGKILL:
        return "was killed by SIGKILL (out of memory? the kernel's OOM killer sends SIGKILL)"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"was killed by {name} (a crash in a native library?)"
    return f"exited with code {exitcode}"


class Worker:
    """One worker process, the pipe to it, its temp folder and the scene it is running."""

    def __init__(self, ctx: Any, log_level: int) -> None:
        self.temp_root = tempfile.mkdtemp(prefix="scoresby-worker-")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=worker_main,
            args=(child, log_level, os.getpid(), self.temp_root),
            daemon=True,
            name="scoresby-worker",
        )
        self.process.start()
        child.close()
        self.scene: Scene | None = None
        self.started = 0.0

    def send(self, job: Job) -> None:
        """Hand the worker a scene (a dead worker's sentinel reports the failure to the dispatch loop)."""
        self.scene, self.started = job.scene, time.monotonic()
        try:
            self.conn.send(job)
        except OSError:
            pass

    def stop(self, grace_s: float) -> None:
        """Ask the process to exit (SIGTERM if busy), kill it if it does not, then remove its temp folder."""
        if self.process.is_alive():
            if self.scene is None:
                try:
                    self.conn.send(None)
                except OSError:
                    pass
            else:
                self.process.terminate()
            self.process.join(grace_s)
        self.kill()

    def kill(self) -> None:
        """SIGKILL (works on a stopped or hung process too), reap it, remove its temp folder."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()
        shutil.rmtree(self.temp_root, ignore_errors=True)
