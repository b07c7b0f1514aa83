"""`scoresby status [RUN] [--output DEST] [--watch]`: per-status counts, failed scenes, place products."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from scoresby.commands.place_status import local_place_lines
from scoresby.core.errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK
from scoresby.core.layout import DEFAULT_OUTPUT, task_log_path
from scoresby.core.summary import format_status, status_counts
from scoresby.core.task_log import FAILED, PENDING, RUNNING
from scoresby.options import Subparsers, output_option, stack_option

WATCH_INTERVAL_S = 2.0


HELP_ORDER = 70
"""Where `scoresby --help` lists this command."""


def add_parser(sub: Subparsers) -> None:
    """`scoresby status`: its parser, run by `status_command`."""
    s = sub.add_parser("status", help="per-status counts and failed scenes of a run (local or AWS)")
    s.add_argument("run", nargs="?", metavar="RUN", help="run name (default: the latest)")
    output_option(s, "where the local run wrote its outputs (default: ./output)")
    stack_option(s, "read the AWS task log of this stack instead")
    s.add_argument("--watch", action="store_true", help="refresh until the run finishes")
    s.set_defaults(func=status_command)


def status_command(args: Any) -> int:
    """Show a run's status; 0 when nothing failed, 1 when some scene FAILED, 2 when there is no such run."""
    if getattr(args, "stack", None):
        return aws_status(args)
    return local_status(args.output or DEFAULT_OUTPUT, args.run, watch=args.watch)


def aws_status(args: Any) -> int:
    """`--stack NAME`: the run from the stack's DynamoDB task log (scoresby.commands.aws); same exit codes."""
    from scoresby.commands.aws import aws_status_command

    return aws_status_command(args)


def local_status(
    output: str, run: str | None, *, watch: bool = False, interval_s: float = WATCH_INTERVAL_S
) -> int:
    """Print the status of a local run from its SQLite task log (the latest run when `run` is None)."""
    import sqlite3

    from scoresby.stores.sqlite_log import task_log_problem

    path = task_log_path(output)
    try:
        return _local_status(output, path, run, watch, interval_s)
    except FileNotFoundError:
        sys.stderr.write(
            f"scoresby status: no task log at {path.resolve()}; "
            "give the --output of the run (default: ./output)\n"
        )
        return EXIT_INVALID
    except sqlite3.Error as exc:
        sys.stderr.write(f"scoresby status: {task_log_problem(path, exc)}\n")
        return EXIT_INVALID


def _local_status(output: str, path: Path, run: str | None, watch: bool, interval_s: float) -> int:
    from scoresby.stores.sqlite_log import SqliteTaskLog

    with SqliteTaskLog(path, create=False) as task_log:
        runs = task_log.runs()
        if run is None:
            if not runs:
                sys.stderr.write(f"scoresby status: the task log {path.resolve()} holds no runs\n")
                return EXIT_INVALID
            run = runs[0]
        elif run not in runs:
            known = ", ".join(runs) or "none"
            sys.stderr.write(f"scoresby status: no run {run!r} in {path.resolve()}; runs: {known}\n")
            return EXIT_INVALID
        while True:
            records = task_log.records(run)
            counts = status_counts(records)
            sys.stdout.write(format_status(run, records, str(Path(task_log.path).resolve())) + "\n")
            sys.stdout.write("".join(f"{line}\n" for line in local_place_lines(output, run)))
            sys.stdout.flush()
            if not watch or counts[PENDING] + counts[RUNNING] == 0:
                return EXIT_FAILED if counts[FAILED] else EXIT_OK
            time.sleep(interval_s)
