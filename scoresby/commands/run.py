"""`scoresby run`: process a scene list on this machine with a pool of worker processes.

Each scene runs in a worker process of our own small pool (spawned, never forked: GDAL's state does not
survive a fork). We keep our own pool instead of `ProcessPoolExecutor` because a worker that dies (out of
memory, a segfault in a native library) breaks a whole executor, whereas here we know exactly which scene
the dead worker was running: that scene is marked FAILED, a fresh worker takes its place and the run goes on.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from scoresby.core.errors import (
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    InvalidInput,
    PipelineError,
    StorageError,
    one_line,
)
from scoresby.core.layout import DEFAULT_OUTPUT, run_dir_of, scene_files_of, task_log_path
from scoresby.core.task_log import FAILED, PENDING, RUNNING, SKIPPED, SUCCEEDED
from scoresby.options import (
    DEFAULT_SCENE_TIMEOUT_HELP,
    Subparsers,
    output_option,
    overwrite_option,
    products_option,
    run_name_option,
    scene_timeout_option,
    workers_option,
)

if TYPE_CHECKING:
    from scoresby.core.scene_list import RunPlan

log = logging.getLogger(__name__)

DEFAULT_SCENE_TIMEOUT_S = 3600.0  # a full scene takes a minute or two; an hour without a result is a hang


@dataclass
class RunSummary:
    """What a local run did: counts per status, failed scenes, where the report and task log are."""

    run_name: str
    output: str
    run_dir: str
    task_log: str
    counts: dict[str, int]
    failed: list[tuple[str, str]] = field(default_factory=list)  # (scene_id, "ErrorType: message")
    summary_json: str = ""
    report_html: str = ""
    duration_s: float = 0.0
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """0 when every scene SUCCEEDED or was SKIPPED, 1 when any FAILED, 130 after Ctrl-C."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FAILED if self.failed else EXIT_OK


# --- the runner -----------------------------------------------------------------------------------


def run_plan(
    plan: RunPlan,
    output: str,
    *,
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool | Literal["auto"] = True,
    scene_timeout_s: float | None = DEFAULT_SCENE_TIMEOUT_S,
    redo: frozenset[str] = frozenset(),
    lock: bool = True,
) -> RunSummary:
    """Process every scene of a validated plan in a process pool; the task log records each step.

    `redo`: scene ids made again over their outputs (a watch's reprocessed items). `lock=False`: the
    caller already holds the run lock (a watch round holds it from its search on). Raises RunLocked when
    another runner uses the same task log, StorageError when the task log or the output cannot be used.
    """
    from tqdm.contrib.logging import logging_redirect_tqdm

    from scoresby.commands.dispatch import Dispatch
    from scoresby.commands.progress import progress_class
    from scoresby.places.after_run import update_places
    from scoresby.stores.run_files import write_report
    from scoresby.stores.run_lock import RunLock
    from scoresby.stores.sqlite_log import SqliteTaskLog

    workers = workers or os.cpu_count() or 1
    run_dir = run_dir_of(output, plan.run_name)
    db_path = task_log_path(output)
    started = time.monotonic()
    interrupted = False
    held = RunLock(db_path) if lock else nullcontext()
    with held, task_log_errors(db_path), SqliteTaskLog(db_path) as task_log:
        # Local outputs are cheap to check: a scene with any file deleted is made again, not skipped.
        exists = None if output.startswith("s3://") else _scene_complete
        to_run = task_log.plan(
            plan.run_name, list(plan.scenes), run_dir, overwrite, output_exists=exists, redo=redo
        )
        n_skipped = len(plan.scenes) - len(to_run)
        log.info(
            "run %s: %d scenes, %d to process, %d already done; task log %s",
            plan.run_name,
            len(plan.scenes),
            len(to_run),
            n_skipped,
            db_path,
        )
        # "auto" (the Python API): tqdm.auto draws a notebook widget inside Jupyter; a terminal gets the bar,
        # a log (stderr not a terminal) a plain line every 5 % or 30 s.
        bar_class = progress_class(progress)
        bar = bar_class(
            total=len(plan.scenes),
            initial=n_skipped,
            desc=plan.run_name,
            unit="scene",
            file=sys.stderr,
            disable=not progress,
            dynamic_ncols=True,
            mininterval=0.5,
        )
        dispatch = Dispatch(plan.run_name, output, overwrite, task_log, bar, n_skipped, scene_timeout_s)
        dispatch.redo = redo
        try:
            with bar, logging_redirect_tqdm():
                dispatch.run(to_run, min(workers, len(to_run)))
        except KeyboardInterrupt:
            interrupted = True
            requeued = task_log.requeue_running(plan.run_name)
            log.warning("run %s interrupted; %d running scenes put back to PENDING", plan.run_name, requeued)
        records = task_log.records(plan.run_name)
        counts = task_log.counts(plan.run_name)
    duration = time.monotonic() - started
    science = _update_timeseries(run_dir, records, plan.timelapse)
    if (places := update_places(plan, run_dir, records)) is not None:  # issue 21: composites, change, trend
        science = {**(science or {}), "places": places}
    # After the place products, so the Collection links their Items too.
    footprints = _write_collection(plan.run_name, run_dir)
    if science is not None:
        science["footprints"] = footprints
    summary_uri, report_uri = write_report(
        plan.run_name,
        run_dir,
        records,
        duration_s=duration,
        task_log=str(db_path.resolve()),
        science=science,
        search_skipped=plan.skipped,
    )
    failed = [
        (r.scene_id, f"{(r.error or {}).get('type', 'Error')}: {(r.error or {}).get('message', '')}")
        for r in records
        if r.status == FAILED
    ]
    return RunSummary(
        plan.run_name,
        output,
        run_dir,
        str(db_path.resolve()),
        counts,
        failed,
        summary_uri,
        report_uri,
        duration,
        interrupted,
    )


def _update_timeseries(run_dir: str, records: list[Any], timelapse: dict[str, Any] | None) -> Any:
    """The run's time series (issue 12); a failure there is logged and leaves the report without it."""
    from scoresby.commands.timeseries import update_timeseries

    try:
        return update_timeseries(run_dir, records, timelapse)
    except Exception:
        log.exception("run folder %s: time series not updated", run_dir)
        return None


def _write_collection(run_name: str, run_dir: str) -> dict[str, Any]:
    """collection.json of the run (issue 24); the scene footprints for the summary. A failure is logged."""
    from scoresby.report.footprints import footprints_of
    from scoresby.stores.run_collection import write_collection

    try:
        _, items = write_collection(run_name, run_dir)
    except Exception:
        log.exception("run folder %s: collection.json not updated", run_dir)
        return {}
    return footprints_of(items)


@contextmanager
def task_log_errors(path: Path) -> Iterator[None]:
    """SQLite's errors (corrupt, truncated, read-only, full disk) as one StorageError naming the file."""
    import sqlite3

    from scoresby.stores.sqlite_log import task_log_problem

    try:
        yield
    except sqlite3.Error as exc:
        raise StorageError(task_log_problem(path, exc)) from exc


def _scene_complete(cog_uri: str) -> bool:
    return all(Path(f).is_file() for f in scene_files_of(cog_uri))


# --- the command ----------------------------------------------------------------------------------


def expand_search(plan: RunPlan) -> RunPlan:
    """A plan's `search` block turned into its scenes (scoresby.search), with a progress line on stderr."""
    if plan.search is None:
        return plan
    from scoresby.search.plan import expand

    return expand(plan, progress=lambda n: log.info("search: %d items so far", n))


def prepare_output(plan: RunPlan) -> str:
    """The run's output (the list's, else ./output), created when local; InvalidInput when it cannot be."""
    output = plan.output or str(Path(DEFAULT_OUTPUT).resolve())
    if not output.startswith("s3://"):
        try:
            Path(output).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInput([f"cannot create the output folder {output}: {exc}"]) from exc
    if plan.duplicates:
        log.info("duplicate scenes processed once: %s", ", ".join(plan.duplicates))
    return output


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


HELP_ORDER = 20
"""Where `scoresby --help` lists this command."""


def add_parser(sub: Subparsers) -> None:
    """`scoresby run`: its parser, run by `run_command`."""
    r = sub.add_parser("run", help="process a scene list on this machine")
    r.add_argument("scenes", metavar="SCENES.json", help="scene list (full form, bare list or blog shape)")
    output_option(r, "local folder or s3:// prefix (default: the list's, else ./output)")
    workers_option(r)
    run_name_option(r, "run name (default: the list's run_name)")
    products_option(r, "comma-separated products, overriding the list's")
    overwrite_option(r, "redo scenes that already succeeded")
    scene_timeout_option(
        r, f"fail a scene whose worker gives no result for this long ({DEFAULT_SCENE_TIMEOUT_HELP})"
    )
    r.set_defaults(func=run_command)


def run_command(args: Any) -> int:
    """`scoresby run SCENES.json`: validate the list, process it, print the summary; return the exit code."""
    from scoresby.stores.publish import check_writable
    from scoresby.stores.run_lock import RunLocked

    products = [p.strip() for p in args.products.split(",")] if args.products else None
    if args.workers is not None and args.workers < 1:
        sys.stderr.write(f"scoresby run: --workers {args.workers} is not allowed; allowed: 1 or more\n")
        return EXIT_INVALID
    timeout = getattr(args, "scene_timeout", None)
    timeout = DEFAULT_SCENE_TIMEOUT_S if timeout is None else timeout
    if timeout < 0:
        sys.stderr.write(
            f"scoresby run: --scene-timeout {timeout:g} is not allowed; allowed: 0 (none) or more\n"
        )
        return EXIT_INVALID
    from scoresby.core.scene_list import load_scene_list

    try:
        plan = load_scene_list(args.scenes, output=args.output, run_name=args.run_name, products=products)
    except InvalidInput as exc:
        lines = [f"scoresby run: {args.scenes}: {len(exc.problems)} problem(s), nothing was processed:"]
        lines += [f"  - {p}" for p in exc.problems]
        sys.stderr.write("\n".join(lines) + "\n")
        return EXIT_INVALID
    try:
        plan = expand_search(plan)
    except PipelineError as exc:
        sys.stderr.write(f"scoresby run: {args.scenes}: {one_line(exc)}\n")
        return EXIT_INVALID
    if plan.skipped:
        n = len(plan.skipped)
        sys.stderr.write(f"scoresby run: {args.scenes}: the search skipped {n} items (notes above)\n")
    if not plan.scenes:
        sys.stderr.write(f"scoresby run: {args.scenes}: the search found no scenes; nothing to do\n")
        return EXIT_OK
    try:
        output = prepare_output(plan)
    except InvalidInput as exc:
        sys.stderr.write(f"scoresby run: {exc.problems[0]}\n")
        return EXIT_INVALID
    # `kill` / a service manager stopping us gets the same clean stop as Ctrl-C.
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        check_writable(output)  # before any scene: read-only folder, no credentials, no bucket, no permission
        summary = run_plan(
            plan,
            output,
            workers=args.workers,
            overwrite=args.overwrite,
            progress=True,
            scene_timeout_s=timeout or None,
        )
    except RunLocked as exc:
        sys.stderr.write(f"scoresby run: {one_line(exc)}\n")
        return EXIT_BUSY
    except (StorageError, OSError) as exc:
        sys.stderr.write(f"scoresby run: {one_line(exc)}\n")
        return EXIT_INVALID
    except KeyboardInterrupt:  # Ctrl-C before processing started (run_plan handles it during processing)
        sys.stderr.write("scoresby run: interrupted\n")
        return EXIT_INTERRUPTED
    sys.stdout.write(format_summary(summary))
    return summary.exit_code


def format_summary(summary: RunSummary) -> str:
    """The end-of-run text: totals, where the report is, and every failed scene with its error."""
    c = summary.counts
    total = sum(c.values())
    not_run = c[PENDING] + c[RUNNING]
    lines = [
        f"run {summary.run_name}: {total} scenes: {c[SUCCEEDED]} succeeded,"
        f" {c[SKIPPED]} skipped (already done), {c[FAILED]} failed"
        + (f", {not_run} not run" if not_run else "")
        + f" in {summary.duration_s:.1f} s",
        f"report:   {summary.report_html}",
        f"summary:  {summary.summary_json}",
        f"task log: {summary.task_log}",
    ]
    if summary.interrupted:
        lines.append("interrupted: run the same command again to finish the remaining scenes")
    if summary.failed:
        lines.append(f"failed scenes ({len(summary.failed)}):")
        lines += [f"  {scene_id}  {error}" for scene_id, error in summary.failed]
    return "\n".join(lines) + "\n"
