"""`scoresby watch WATCH.json [--once | --every 16d]`: keep a place up to date, one round at a time.

`--once` (the default) runs one round and exits: what cron or a systemd timer calls. `--every` keeps
running: a round, then sleep until the next one is due; a failed round is logged and the next one tries
again; Ctrl-C exits 130 and SIGTERM 143 after the running round has put its scenes back to PENDING.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scoresby.commands.run import DEFAULT_SCENE_TIMEOUT_S, format_summary, prepare_output
from scoresby.core.errors import (
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_TERMINATED,
    InvalidInput,
    PipelineError,
    one_line,
)
from scoresby.core.json_input import load_json
from scoresby.core.schedules import parse_every
from scoresby.options import (
    DEFAULT_SCENE_TIMEOUT_HELP,
    Subparsers,
    output_option,
    products_option,
    scene_timeout_option,
    workers_option,
)

if TYPE_CHECKING:
    from scoresby.commands.watch_round import RoundResult

log = logging.getLogger(__name__)

PREFIX = "scoresby watch"


class _Stopped(KeyboardInterrupt):
    """SIGTERM, raised where the process is (a round or the sleep) like Ctrl-C, remembered for exit 143."""


_TERMINATED: list[int] = []  # set by the handler: run_plan catches the KeyboardInterrupt and returns


def _on_sigterm(signum: int, frame: Any) -> None:
    _TERMINATED.append(signum)
    raise _Stopped


def load_watch(path: str, *, output: str | None = None, products: list[str] | None = None) -> Any:
    """Read and validate a watch file (InvalidInput lists every problem)."""
    import os

    from scoresby.core.watch import parse_watch

    try:
        with open(path, encoding="utf-8") as f:  # noqa: PTH123 - str paths, as core.scene_list
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read the watch: {one_line(exc)}") from exc
    base_dir = os.path.dirname(os.path.abspath(path))  # noqa: PTH100, PTH120
    return parse_watch(load_json(text, path), output=output, products=products, base_dir=base_dir)


HELP_ORDER = 50
"""Where `scoresby --help` lists this command."""


def add_parser(sub: Subparsers) -> None:
    """`scoresby watch`: its parser, run by `watch_command`."""
    w = sub.add_parser("watch", help="keep a place up to date: search again, process only new scenes")
    w.add_argument("watch", metavar="WATCH.json", help='a scene list with a "search" block open at the end')
    when = w.add_mutually_exclusive_group()
    when.add_argument("--once", action="store_true", help="one round, then exit (for cron; the default)")
    when.add_argument("--every", metavar="PERIOD", help="a round every PERIOD (e.g. 16d, 12h) until stopped")
    output_option(w, "local folder or s3:// prefix (default: the watch's, else ./output)")
    workers_option(w)
    products_option(w, "comma-separated products, overriding the watch's")
    scene_timeout_option(w, f"as for run ({DEFAULT_SCENE_TIMEOUT_HELP})")
    w.set_defaults(func=watch_command)


def watch_command(args: Any, *, sleep: Callable[[float], None] = time.sleep) -> int:
    """Run rounds of a watch; the exit code of the last round (0, 1 failed scenes, 2, 75, 130, 143)."""
    from scoresby.stores.publish import check_writable

    every_s = None
    if args.every is not None:
        try:
            every_s = parse_every(args.every)
        except ValueError as exc:
            return _err(str(exc), EXIT_INVALID)
    if args.workers is not None and args.workers < 1:
        return _err(f"--workers {args.workers} is not allowed; allowed: 1 or more", EXIT_INVALID)
    products = [p.strip() for p in args.products.split(",")] if args.products else None
    try:
        plan = load_watch(args.watch, output=args.output, products=products)
        output = prepare_output(plan)
        check_writable(output)
    except InvalidInput as exc:
        lines = [f"{PREFIX}: {args.watch}: {len(exc.problems)} problem(s), nothing was searched:"]
        return _err("\n".join([*lines, *(f"  - {p}" for p in exc.problems)]), EXIT_INVALID, prefix=False)
    except (PipelineError, OSError) as exc:
        return _err(one_line(exc), EXIT_INVALID)
    timeout = DEFAULT_SCENE_TIMEOUT_S if args.scene_timeout is None else args.scene_timeout
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        while True:
            started = time.monotonic()
            code = _one_round(plan, output, every_s, args.workers, timeout or None)
            if every_s is None or code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
                return code
            wait = max(0.0, every_s - (time.monotonic() - started))
            log.info("watch %s: next round in %.0f s", plan.run_name, wait)
            sleep(wait)
    except _Stopped:
        sys.stderr.write(f"{PREFIX}: stopped (SIGTERM)\n")
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        sys.stderr.write(f"{PREFIX}: interrupted\n")
        return EXIT_INTERRUPTED


def _one_round(plan: Any, output: str, every_s: float | None, workers: int | None, timeout: Any) -> int:
    """One round with its report on stdout; a failed round is one line on stderr and an exit code."""
    from scoresby.commands.watch_round import watch_round
    from scoresby.stores.run_lock import RunLocked

    try:
        result = watch_round(
            plan, output, every_s=every_s, workers=workers, scene_timeout_s=timeout, progress=True
        )
    except RunLocked as exc:
        return _err(f"round skipped: {one_line(exc)}", EXIT_BUSY)
    except (PipelineError, OSError) as exc:  # the STAC API, the task log or the output failed
        return _err(f"round failed ({type(exc).__name__}): {one_line(exc)}", EXIT_INVALID)
    sys.stdout.write(format_round(result))
    sys.stdout.flush()
    if result.summary is None:
        return EXIT_OK
    if result.summary.interrupted:
        raise _Stopped if _TERMINATED else KeyboardInterrupt
    return EXIT_FAILED if result.summary.failed else EXIT_OK


def format_round(result: RoundResult) -> str:
    """The text of a round: what the search found, then the run's summary (or that nothing was new)."""
    window = f"since {result.since}" if result.since else "backfill (the whole date range)"
    head = f"watch {result.run_name} round {result.number}: "
    if result.summary is None:
        return (
            head + f"nothing new {window} ({result.found} items in the window, all seen before); "
            f"{result.done} scenes done so far\nreport:   {result.report_html}\n"
        )
    items = f"{result.new} new item" + ("" if result.new == 1 else "s")
    return head + f"{items}, {window}\n" + format_summary(result.summary)


def _err(text: str, code: int, *, prefix: bool = True) -> int:
    sys.stderr.write((f"{PREFIX}: " if prefix else "") + text + "\n")
    return code
