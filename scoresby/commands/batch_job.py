"""The Batch-job shell of `scoresby process`: the scenes' DynamoDB rows when SCORESBY_TASK_TABLE is set.

One scene (`record_job`, around `process_scene`) or a job's batch of scenes (`run_batch`, several scenes per
Batch job, one after the other). Either way each scene has its own row: RUNNING with one more attempt when it
starts, then SUCCEEDED or FAILED with its error.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from scoresby.commands.run_worker import Job, Reply, run_job
from scoresby.core.config import RUN_ID, JobSettings
from scoresby.core.errors import Terminated, one_line
from scoresby.core.layout import check_name
from scoresby.core.scene_list import Scene
from scoresby.core.task_log import FAILED, SKIPPED, SUCCEEDED, TaskRecord
from scoresby.stores.dynamo_log import DynamoTaskLog

log = logging.getLogger(__name__)


class _Recorder:
    """One scene's task-log row in a Batch job (every method is a no-op without a task table)."""

    def __init__(self, scene_id: str, run_name: str, overwrite: bool, env: Mapping[str, str] | None) -> None:
        settings = JobSettings.from_env(env)
        # The run id names the row and, in the state machine's command, the run folder: --run-name's rule.
        self.run_id = check_name(
            settings.run_id or run_name, "run name", RUN_ID if settings.run_id else "--run-name"
        )
        self.task_log = DynamoTaskLog(settings.task_table) if settings.task_table else None
        self.scene_id = scene_id
        self.overwrite = overwrite or settings.overwrite
        self.ran_on = settings.job_id or socket.gethostname()

    def done(self) -> bool:
        """Whether an earlier attempt of this job already finished the scene (see `done_in_this_run`)."""
        return self.task_log is not None and done_in_this_run(
            self.task_log.record(self.run_id, self.scene_id)
        )

    @contextmanager
    def attempt(self) -> Iterator[_Recorder]:
        """RUNNING on entry; FAILED with the exception's type and message if the block raises (re-raised)."""
        if self.task_log is None:
            yield self
            return
        self.task_log.start(self.run_id, self.scene_id, self.ran_on)
        t0 = time.monotonic()
        try:
            yield self
        except BaseException as exc:
            self.fail(type(exc).__name__, one_line(exc) or repr(exc), time.monotonic() - t0)
            raise

    def succeed(
        self, outputs: dict[str, str], duration_s: float, stats: dict[str, Any] | None = None
    ) -> None:
        """Mark the scene SUCCEEDED with its statistics, when it has any (nothing without a task log)."""
        if self.task_log is not None:
            self.task_log.succeed(self.run_id, self.scene_id, outputs, duration_s, stats=stats)

    def fail(self, error_type: str, message: str, duration_s: float | None) -> None:
        """Mark the scene FAILED with its error."""
        if self.task_log is not None:
            self.task_log.fail(self.run_id, self.scene_id, error_type, message, duration_s)


@contextmanager
def record_job(
    scene_id: str, run_name: str, overwrite: bool, env: Mapping[str, str] | None = None
) -> Iterator[Any]:
    """Record a Batch job's scene in the DynamoDB task log when SCORESBY_TASK_TABLE is set (else a no-op).

    RUNNING (ran_on = AWS_BATCH_JOB_ID, else the host name) on entry; FAILED with the exception's type and
    message if the block raises (re-raised); the block calls `.succeed(outputs, duration_s, stats)`. The
    row's run id is SCORESBY_RUN_ID, else `run_name`; `.overwrite` is `overwrite` or SCORESBY_OVERWRITE=true.
    """
    with _Recorder(scene_id, run_name, overwrite, env).attempt() as recorder:
        yield recorder


def done_in_this_run(record: TaskRecord | None) -> bool:
    """Whether a Batch job attempt leaves this scene alone: it SUCCEEDED, was SKIPPED, or FAILED on its own.

    A retried job (Spot reclaim) so re-runs only what the reclaimed attempt did not finish: PENDING scenes,
    the one left RUNNING, and one FAILED by the SIGTERM (Terminated), which was no fault of the scene.
    """
    if record is None:
        return False
    if record.status in (SUCCEEDED, SKIPPED):
        return True
    return record.status == FAILED and (record.error or {}).get("type") != Terminated.__name__


def run_batch(
    scenes: Sequence[Scene],
    output: str,
    *,
    run_name: str,
    overwrite: bool,
    env: Mapping[str, str] | None = None,
    report: Callable[[Scene, Reply | None], None] | None = None,
    stopped: Callable[[], int | None] | None = None,
) -> list[tuple[Scene, Reply | None]]:
    """Run a Batch job's scenes one after the other; (scene, its Reply or None if already done) per scene.

    Each scene is the same step as one scene of `scoresby run` (run_worker.run_job) with its own task-log
    row, attempts, error and outcome: a failing scene does not stop the others. `report` is called after
    each scene. Terminated (SIGTERM) is recorded on the scene it interrupted and raised; `stopped` (the
    signal number once one arrived) is also asked before each scene.
    """
    outcomes: list[tuple[Scene, Reply | None]] = []
    for scene in scenes:
        signum = stopped() if stopped is not None else None
        if signum is not None:
            raise Terminated(signum)
        recorder = _Recorder(scene.scene_id, run_name, overwrite, env)
        if recorder.done():
            log.info("scene %s: done by an earlier attempt of this job; not run again", scene.scene_id)
            outcomes.append((scene, None))
            if report is not None:
                report(scene, None)
            continue
        with recorder.attempt():
            reply = run_job(Job(scene, output, run_name, recorder.overwrite))
        if reply.ok:
            recorder.succeed(reply.outputs, reply.duration_s, reply.stats)
        else:
            recorder.fail(reply.error_type, reply.message, reply.duration_s)
        outcomes.append((scene, reply))
        if report is not None:
            report(scene, reply)
    return outcomes
