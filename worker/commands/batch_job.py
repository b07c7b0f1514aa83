"""The Batch-job shell of `scoresby process`: the scene's DynamoDB row when SCORESBY_TASK_TABLE is set."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from worker.core.config import RUN_ID, JobSettings
from worker.core.errors import one_line
from worker.core.layout import check_name
from worker.stores.dynamo_log import DynamoTaskLog


@contextmanager
def record_job(
    scene_id: str, run_name: str, overwrite: bool, env: Mapping[str, str] | None = None
) -> Iterator[Any]:
    """Record a Batch job's scene in the DynamoDB task log when SCORESBY_TASK_TABLE is set (else a no-op).

    RUNNING (ran_on = AWS_BATCH_JOB_ID, else the host name) on entry; FAILED with the exception's type and
    message if the block raises (re-raised); the block calls `.succeed(outputs, duration_s)`. The row's run
    id is SCORESBY_RUN_ID, else `run_name`; `.overwrite` is `overwrite` or SCORESBY_OVERWRITE=true.
    """
    settings = JobSettings.from_env(env)
    # The run id names the row and, in the state machine's command, the run folder: same rule as --run-name.
    run_id = check_name(settings.run_id or run_name, "run name", RUN_ID if settings.run_id else "--run-name")
    recorder = _Recorder(
        DynamoTaskLog(settings.task_table) if settings.task_table else None,
        run_id,
        scene_id,
        overwrite or settings.overwrite,
    )
    if recorder.task_log is None:
        yield recorder
        return
    recorder.task_log.start(recorder.run_id, scene_id, settings.job_id or socket.gethostname())
    t0 = time.monotonic()
    try:
        yield recorder
    except BaseException as exc:
        message = one_line(exc) or repr(exc)
        recorder.task_log.fail(recorder.run_id, scene_id, type(exc).__name__, message, time.monotonic() - t0)
        raise


class _Recorder:
    """Handed to the `record_job` block: the effective overwrite flag and `succeed`."""

    def __init__(self, task_log: DynamoTaskLog | None, run_id: str, scene_id: str, overwrite: bool) -> None:
        self.task_log, self.run_id, self.scene_id, self.overwrite = task_log, run_id, scene_id, overwrite

    def succeed(self, outputs: dict[str, str], duration_s: float) -> None:
        """Mark the scene SUCCEEDED (nothing without a task log)."""
        if self.task_log is not None:
            self.task_log.succeed(self.run_id, self.scene_id, outputs, duration_s)
