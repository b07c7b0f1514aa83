"""`scoresby run`: process a scene list on this machine with a pool of worker processes.

Each scene runs in a worker process of our own small pool (spawned, never forked: GDAL's state does not
survive a fork). We keep our own pool instead of `ProcessPoolExecutor` because a worker that dies (out of
memory, a segfault in a native library) breaks a whole executor, whereas here we know exactly which scene
the dead worker was running: that scene is marked FAILED, a fresh worker takes its place and the run goes on.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Literal

from tqdm import tqdm
from tqdm.auto import tqdm as tqdm_auto
from tqdm.contrib.logging import logging_redirect_tqdm

from worker.core.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    InvalidInput,
    PipelineError,
    SceneError,
    one_line,
)
from worker.core.layout import DEFAULT_OUTPUT, run_dir_of, task_log_path
from worker.core.scene_list import RunPlan, Scene, load_scene_list
from worker.core.task_log import FAILED, PENDING, RUNNING, SKIPPED, SUCCEEDED
from worker.stores.run_files import write_report
from worker.stores.sqlite_log import SqliteTaskLog
from worker.stores.stats_log import SqliteStatsLog

log = logging.getLogger(__name__)

STOP_GRACE_S = 10.0  # how long a worker gets to clean up after Ctrl-C before it is killed


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


# --- the worker process ---------------------------------------------------------------------------


def _terminated(signum: int, frame: Any) -> None:
    # Raising (instead of dying on the default SIGTERM action) lets process_scene's `finally` blocks
    # remove their temporary files when the runner stops us after Ctrl-C.
    raise SystemExit(128 + signum)


def _worker_main(conn: Connection, log_level: int) -> None:
    """Loop of one worker process: receive a scene, process it, send back the outcome."""
    # Ctrl-C reaches the whole process group; only the runner decides what happens then.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _terminated)
    logging.basicConfig(
        level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    while True:
        try:
            job = conn.recv()
        except EOFError:  # the runner is gone
            return
        if job is None:
            return
        scene, output, run_name, overwrite = job
        started = time.monotonic()
        try:
            from worker.commands.process import process_scene  # imported once, on the first scene

            _remove_stale_partials(output, run_name, scene.scene_id)
            result = process_scene(scene, output, run_name=run_name, overwrite=overwrite)
            reply: tuple[Any, ...] = (
                "ok",
                {
                    "outputs": dict(result.outputs),
                    "duration_s": float(result.duration_s),
                    "skipped": bool(result.skipped),
                    "stats": result.stats,
                },
            )
        except SceneError as exc:
            reply = ("failed", type(exc).__name__, one_line(str(exc)), time.monotonic() - started)
        except PipelineError as exc:  # e.g. InvalidInput for a product the scene cannot make
            message = one_line(f"scene {scene.scene_id}: {exc}")
            reply = ("failed", type(exc).__name__, message, time.monotonic() - started)
        except Exception as exc:
            # Not a data problem we anticipated: keep the traceback in the log, keep the run going.
            log.exception("scene %s: unexpected error", scene.scene_id)
            message = one_line(f"scene {scene.scene_id}: {type(exc).__name__}: {exc}")
            reply = ("failed", type(exc).__name__, message, time.monotonic() - started)
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


def _remove_stale_partials(output: str, run_name: str, scene_id: str) -> None:
    """Delete hidden `.<name>.<id>.partial` files a killed earlier attempt left in the scene's folder.

    stores.publish copies each output to such a sibling and renames it into place; a SIGKILL between
    the two leaves the sibling behind. Only one worker processes a scene at a time, so none is in use.
    """
    if output.startswith("s3://"):
        return  # S3 objects appear whole or not at all; nothing is left behind
    for partial in (Path(output) / run_name / scene_id).glob(".*.partial"):
        log.info("removing %s left by an interrupted attempt", partial)
        partial.unlink(missing_ok=True)


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "did not exit"
    if exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


class _Worker:
    """One worker process, the pipe to it and the scene it is running."""

    def __init__(self, ctx: Any, log_level: int) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_worker_main, args=(child, log_level), daemon=True, name="scoresby-worker"
        )
        self.process.start()
        child.close()
        self.scene: Scene | None = None
        self.started = 0.0

    def stop(self, grace_s: float) -> None:
        """Ask the process to exit (SIGTERM if busy), then kill it if it does not."""
        if self.process.is_alive():
            if self.scene is None:
                try:
                    self.conn.send(None)
                except OSError:
                    pass
            else:
                self.process.terminate()
            self.process.join(grace_s)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
        self.conn.close()


# --- the runner -----------------------------------------------------------------------------------


def run_plan(
    plan: RunPlan,
    output: str,
    *,
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool | Literal["auto"] = True,
) -> RunSummary:
    """Process every scene of a validated plan in a process pool; the task log records each step."""
    workers = workers or os.cpu_count() or 1
    run_dir = run_dir_of(output, plan.run_name)
    db_path = task_log_path(output)
    if not output.startswith("s3://"):
        Path(output).mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    host = socket.gethostname()
    interrupted = False
    with SqliteTaskLog(db_path) as task_log:
        # Local outputs are cheap to check: a scene whose files were deleted is made again, not skipped.
        exists = None if output.startswith("s3://") else _is_file
        to_run = task_log.plan(plan.run_name, list(plan.scenes), run_dir, overwrite, output_exists=exists)
        n_skipped = len(plan.scenes) - len(to_run)
        log.info(
            "run %s: %d scenes, %d to process, %d already done; task log %s",
            plan.run_name,
            len(plan.scenes),
            len(to_run),
            n_skipped,
            db_path,
        )
        # "auto" (the Python API): tqdm.auto draws a notebook widget inside Jupyter, a text bar elsewhere.
        bar_class = tqdm_auto if progress == "auto" else tqdm
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
        try:
            with bar, logging_redirect_tqdm():
                _process(
                    to_run,
                    output,
                    plan.run_name,
                    overwrite,
                    min(workers, len(to_run)),
                    task_log,
                    host,
                    bar,
                    n_skipped,
                )
        except KeyboardInterrupt:
            interrupted = True
            requeued = task_log.requeue_running(plan.run_name)
            log.warning("run %s interrupted; %d running scenes put back to PENDING", plan.run_name, requeued)
        records = task_log.records(plan.run_name)
        counts = task_log.counts(plan.run_name)
    duration = time.monotonic() - started
    science = _update_timeseries(run_dir, records, plan.timelapse)
    summary_uri, report_uri = write_report(
        plan.run_name, run_dir, records, duration_s=duration, task_log=str(db_path.resolve()), science=science
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
    from worker.commands.timeseries import update_timeseries

    try:
        return update_timeseries(run_dir, records, timelapse)
    except Exception:
        log.exception("run folder %s: time series not updated", run_dir)
        return None


def _is_file(path: str) -> bool:
    return Path(path).is_file()


def _process(
    to_run: list[Scene],
    output: str,
    run_name: str,
    overwrite: bool,
    n_workers: int,
    task_log: SqliteTaskLog,
    host: str,
    bar: tqdm,
    n_skipped: int,
) -> None:
    """The dispatch loop: keep every worker busy, record each outcome, replace dead workers."""
    if not to_run:
        return
    ctx = multiprocessing.get_context("spawn")
    # Workers' INFO lines would tear the progress bar apart: warnings only, unless -v asked for DEBUG.
    root_level = logging.getLogger().getEffectiveLevel()
    log_level = logging.DEBUG if root_level <= logging.DEBUG else max(root_level, logging.WARNING)
    queue = deque(to_run)
    tally = {SUCCEEDED: 0, FAILED: 0, SKIPPED: n_skipped}
    pool = [_Worker(ctx, log_level) for _ in range(n_workers)]

    def finish(worker: _Worker, status: str) -> None:
        worker.scene = None
        tally[status] += 1
        bar.set_postfix(ok=tally[SUCCEEDED], failed=tally[FAILED], skipped=tally[SKIPPED], refresh=False)
        bar.update(1)

    try:
        while True:
            for i, worker in enumerate(pool):
                if worker.scene is None and queue:
                    if not worker.process.is_alive():
                        worker.stop(0)
                        pool[i] = worker = _Worker(ctx, log_level)
                    scene = queue.popleft()
                    task_log.start(run_name, scene.scene_id, ran_on=host)
                    worker.scene, worker.started = scene, time.monotonic()
                    try:
                        worker.conn.send((scene, output, run_name, overwrite))
                    except OSError:
                        pass  # the process died; its sentinel reports it below
            busy = [w for w in pool if w.scene is not None]
            if not busy:
                return
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
            for worker in busy:
                running = worker.scene
                if running is None:
                    continue
                if worker.conn in ready or worker.conn.poll():
                    try:
                        reply = worker.conn.recv()
                    except (EOFError, OSError):
                        reply = None
                elif worker.process.sentinel in ready:
                    reply = None
                else:
                    continue
                elapsed = time.monotonic() - worker.started
                if reply is None:
                    worker.process.join(5)
                    how = _describe_exit(worker.process.exitcode)
                    message = (
                        f"scene {running.scene_id}: the worker process {how} while processing this"
                        " scene (out of memory or a crash in a native library?)"
                    )
                    log.error("%s", message)
                    task_log.fail(run_name, running.scene_id, "WorkerCrashed", message, elapsed)
                    finish(worker, FAILED)
                elif reply[0] == "ok":
                    task_log.succeed(run_name, running.scene_id, reply[1]["outputs"], reply[1]["duration_s"])
                    if reply[1].get("stats") is not None:  # issue 12: statistics beside the task row
                        with SqliteStatsLog(task_log.path) as stats_log:
                            stats_log.record(run_name, running.scene_id, reply[1]["stats"])
                    finish(worker, SUCCEEDED)
                else:
                    _, error_type, message, duration_s = reply
                    log.warning("%s", message)
                    task_log.fail(run_name, running.scene_id, error_type, message, duration_s)
                    finish(worker, FAILED)
    finally:
        # Normal end: idle workers get a stop message. Ctrl-C: busy ones get SIGTERM, then SIGKILL.
        for worker in pool:
            worker.stop(STOP_GRACE_S)


# --- the command ----------------------------------------------------------------------------------


def expand_search(plan: RunPlan) -> RunPlan:
    """A plan's `search` block turned into its scenes (worker.search), with a progress line on stderr."""
    if plan.search is None:
        return plan
    from worker.search.plan import expand

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


def run_command(args: Any) -> int:
    """`scoresby run SCENES.json`: validate the list, process it, print the summary; return the exit code."""
    products = [p.strip() for p in args.products.split(",")] if args.products else None
    if args.workers is not None and args.workers < 1:
        sys.stderr.write(f"scoresby run: --workers {args.workers} is not allowed; allowed: 1 or more\n")
        return EXIT_INVALID
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
        summary = run_plan(plan, output, workers=args.workers, overwrite=args.overwrite, progress=True)
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
