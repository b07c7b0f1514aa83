"""`scoresby status [RUN] [--output DEST] [--watch]`: per-status counts and failed scenes of a run."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from worker.task_log import FAILED, PENDING, RUNNING, STATUSES, TaskRecord
from worker.task_log_sqlite import SqliteTaskLog, task_log_path

DEFAULT_OUTPUT = "output"
WATCH_INTERVAL_S = 2.0
EXIT_OK, EXIT_FAILED, EXIT_NOT_FOUND = 0, 1, 2


def status_command(args: Any) -> int:
    """Show a run's status; 0 when nothing failed, 1 when some scene FAILED, 2 when there is no such run."""
    if getattr(args, "stack", None):
        return aws_status(args)
    return local_status(args.output or DEFAULT_OUTPUT, args.run, watch=args.watch)


def aws_status(args: Any) -> int:
    """`--stack NAME`: the run from the stack's DynamoDB task log (worker.aws_runs); same exit codes."""
    from worker.aws_runs import aws_status_command

    return aws_status_command(args)


def local_status(
    output: str, run: str | None, *, watch: bool = False, interval_s: float = WATCH_INTERVAL_S
) -> int:
    """Print the status of a local run from its SQLite task log (the latest run when `run` is None)."""
    path = task_log_path(output)
    try:
        task_log = SqliteTaskLog(path, create=False)
    except FileNotFoundError:
        sys.stderr.write(
            f"scoresby status: no task log at {path.resolve()}; "
            "give the --output of the run (default: ./output)\n"
        )
        return EXIT_NOT_FOUND
    with task_log:
        runs = task_log.runs()
        if run is None:
            if not runs:
                sys.stderr.write(f"scoresby status: the task log {path.resolve()} holds no runs\n")
                return EXIT_NOT_FOUND
            run = runs[0]
        elif run not in runs:
            known = ", ".join(runs) or "none"
            sys.stderr.write(f"scoresby status: no run {run!r} in {path.resolve()}; runs: {known}\n")
            return EXIT_NOT_FOUND
        while True:
            records = task_log.records(run)
            counts = status_counts(records)
            sys.stdout.write(format_status(run, records, str(Path(task_log.path).resolve())) + "\n")
            sys.stdout.flush()
            if not watch or counts[PENDING] + counts[RUNNING] == 0:
                return EXIT_FAILED if counts[FAILED] else EXIT_OK
            time.sleep(interval_s)


def status_counts(records: Iterable[TaskRecord]) -> dict[str, int]:
    """Rows per status, every status present (zero when none)."""
    counts = Counter(r.status for r in records)
    return {status: counts.get(status, 0) for status in STATUSES}


def format_status(run_id: str, records: list[TaskRecord], where: str = "DynamoDB") -> str:
    """The status block of a local or AWS run: counts per status, then one line per failed scene."""
    counts = status_counts(records)
    lines = [
        f"run {run_id} ({where}): {len(records)} scenes, " + ", ".join(f"{n} {s}" for s, n in counts.items())
    ]
    for r in records:
        if r.status == FAILED:
            error = r.error or {}
            reason = f"{error.get('type', 'Error')}: {error.get('message', 'no reason recorded')}"
            lines.append(f"  FAILED {r.scene_id}  {reason}  (attempts {r.attempts})")
    return "\n".join(lines)
