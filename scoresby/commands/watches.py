"""`scoresby watches [--output DEST] [--stack NAME]`: each watch, its last round, scenes and next round."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from scoresby.core.contract import TASK_TABLE_OUTPUT, WATCHES_OUTPUT
from scoresby.core.errors import EXIT_INVALID, EXIT_OK, PipelineError, one_line
from scoresby.core.layout import DEFAULT_OUTPUT, task_log_path
from scoresby.core.schedules import next_run
from scoresby.core.summary import status_counts
from scoresby.core.task_log import FAILED, PENDING, RUNNING, SKIPPED, SUCCEEDED, TaskRecord
from scoresby.options import Subparsers, output_option, stack_option

if TYPE_CHECKING:
    from scoresby.core.watch import WatchStatus

"""The stack output listing the deployed watches (infra/watch_schedules.py)."""
COLUMNS = ("WATCH", "ROUNDS", "LAST ROUND", "OUTCOME", "DONE", "FAILED", "PENDING", "CURSOR", "NEXT ROUND")


HELP_ORDER = 60
"""Where `scoresby --help` lists this command."""


def add_parser(sub: Subparsers) -> None:
    """`scoresby watches`: its parser, run by `watches_command`."""
    ws = sub.add_parser("watches", help="the watches of an output (or a stack) and their last rounds")
    output_option(ws, "where the local watches write (default: ./output)")
    stack_option(ws, "the watches deployed with this stack instead")
    ws.set_defaults(func=watches_command)


def watches_command(args: Any) -> int:
    """Print the watches of a local output or a deployed stack; 2 when there are none to read."""
    if getattr(args, "stack", None):
        return _aws_watches(args.stack)
    return _local_watches(args.output or DEFAULT_OUTPUT)


def _local_watches(output: str) -> int:
    import sqlite3

    from scoresby.stores.sqlite_log import SqliteTaskLog, task_log_problem
    from scoresby.stores.watch_state import SqliteWatchState

    path = task_log_path(output)
    try:
        with SqliteWatchState(path, create=False) as state, SqliteTaskLog(path, create=False) as log:
            rows = [(s, log.records(s.run_id), _local_next(s)) for s in state.statuses()]
    except FileNotFoundError:
        return _err(f"no task log at {path.resolve()}; give the --output the watches write to")
    except sqlite3.Error as exc:
        return _err(task_log_problem(path, exc))
    if not rows:
        sys.stdout.write(f"no watches in {path.resolve()} (start one with: scoresby watch WATCH.json)\n")
        return EXIT_OK
    sys.stdout.write(f"watches in {path.resolve()}:\n" + format_watches(rows))
    return EXIT_OK


def _local_next(status: WatchStatus) -> str:
    from scoresby.core.watch import parse_time, to_iso

    if status.round_outcome == "running" and status.round_finished is None:
        return "running now (or stopped mid-round)"
    if status.period_s is None:
        return "when cron or the timer runs it (--once)"
    if status.round_started is None:
        return "-"
    return to_iso(parse_time(status.round_started) + timedelta(seconds=status.period_s))[:19] + "Z"


def _aws_watches(stack_name: str) -> int:
    import boto3

    from scoresby.commands.stack import find_stack, read_run
    from scoresby.core.watch import WatchStatus, parse_time
    from scoresby.stores.watch_dynamo import DynamoWatchState

    try:
        session = boto3.session.Session()
        stack = find_stack(stack_name, session)
        deployed = json.loads(stack.outputs.get(WATCHES_OUTPUT) or "[]")
        table = stack.require(TASK_TABLE_OUTPUT)
        state = DynamoWatchState(table, client=session.client("dynamodb"))
        rows = []
        for watch in deployed:
            status = state.status(watch["run_name"], watch["schedule"]) or WatchStatus(
                watch["run_name"], None, 0, None, None, None, None, watch["schedule"]
            )
            started = parse_time(status.round_started) if status.round_started else None
            rows.append(
                (status, read_run(stack, watch["run_name"], session), next_run(watch["schedule"], started))
            )
    except (PipelineError, OSError, ValueError) as exc:
        return _err(one_line(exc))
    if not rows:
        sys.stdout.write(f"stack {stack_name} has no watches (deploy with: cdk deploy -c watches=FILE)\n")
        return EXIT_OK
    sys.stdout.write(f"watches of stack {stack_name}:\n" + format_watches(rows))
    return EXIT_OK


def format_watches(rows: Sequence[tuple[WatchStatus, list[TaskRecord], str]]) -> str:
    """A fixed-width table: one line per watch with its last round, scene counts, cursor and next round."""
    table = [COLUMNS]
    for status, records, upcoming in rows:
        c = status_counts(records)
        cursor = f"{status.cursor.field} {status.cursor.value}" if status.cursor else "-"
        table.append(
            (
                status.run_id,
                str(status.rounds),
                status.round_started or "-",
                status.round_outcome or "-",
                str(c[SUCCEEDED] + c[SKIPPED]),
                str(c[FAILED]),
                str(c[PENDING] + c[RUNNING]),
                cursor,
                upcoming,
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    return "".join(
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() + "\n" for r in table
    )


def _err(text: str) -> int:
    sys.stderr.write(f"scoresby watches: {text}\n")
    return EXIT_INVALID
