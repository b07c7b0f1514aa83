"""One local round of a watch: under the run lock, search after the cursor, record items, run scenes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from scoresby.commands.run import DEFAULT_SCENE_TIMEOUT_S, RunSummary, run_plan, task_log_errors
from scoresby.core.layout import REPORT_NAME, run_dir_of, task_log_path
from scoresby.core.scene_list import RunPlan
from scoresby.core.task_log import SKIPPED, SUCCEEDED, TaskRecord, utc_now
from scoresby.core.watch import watch_plan
from scoresby.core.watch_round import NOTHING_NEW, failed_outcome, redo_done
from scoresby.search.watch_round import open_round
from scoresby.stores.run_lock import RunLock
from scoresby.stores.sqlite_log import SqliteTaskLog
from scoresby.stores.watch_state import SqliteWatchState

log = logging.getLogger(__name__)


@dataclass
class RoundResult:
    """What a round did: its number, the items found and new, and the run's summary if scenes ran."""

    run_name: str
    number: int
    found: int  # items in the round's window
    new: int  # new or reprocessed items: new work
    since: str | None  # start of the window (None: the backfill)
    summary: RunSummary | None  # None: nothing to process
    report_html: str
    done: int  # scenes of the run done (SUCCEEDED or SKIPPED) after the round

    @property
    def outcome(self) -> str:
        """One word or phrase for the watches table and `scoresby watches`."""
        if self.summary is None:
            return NOTHING_NEW
        if self.summary.interrupted:
            return "interrupted"
        failed = len(self.summary.failed)
        return f"{self.new} new, {failed} failed" if failed else f"{self.new} new"


def watch_round(
    plan: RunPlan,
    output: str,
    *,
    every_s: float | None = None,
    workers: int | None = None,
    scene_timeout_s: float | None = DEFAULT_SCENE_TIMEOUT_S,
    progress: bool | Literal["auto"] = True,
) -> RoundResult:
    """Run one round; raises RunLocked (another round or run), SearchError, StorageError."""
    db = task_log_path(output)
    run = plan.run_name
    # The lock spans the search too: two rounds at once would both see the same items as new.
    with RunLock(db), task_log_errors(db):
        with SqliteTaskLog(db):  # creates the task log (WAL mode) before the watch tables go into it
            pass
        with SqliteWatchState(db) as state:
            # The run lock is held: RUNNING rows and items without a row are a killed round's, so they run.
            opened = open_round(
                plan,
                state,
                _statuses(db, run),
                exclusive=True,
                every_s=every_s,
                progress=lambda n: log.info("watch %s: %d items so far", run, n),
            )
        found, number, redo = opened.search, opened.number, opened.redo
        report = str(Path(run_dir_of(output, run)) / REPORT_NAME)
        if not opened.scenes:
            log.info("watch %s round %d: nothing new since %s", run, number, found.window.since)
            with SqliteWatchState(db) as state:
                state.finish_round(run, NOTHING_NEW, ())
            return RoundResult(
                run, number, found.found, 0, found.window.since, None, report, len(opened.seen)
            )
        started = utc_now()  # a redo is done when its scene SUCCEEDED from here on
        try:
            summary = run_plan(
                watch_plan(plan, opened.seen),
                output,
                workers=workers,
                progress=progress,
                scene_timeout_s=scene_timeout_s,
                redo=redo,
                lock=False,
            )
        except Exception as exc:
            with SqliteWatchState(db) as state:
                state.finish_round(run, failed_outcome(exc), ())
            raise
        records = _records(db, run)
        result = RoundResult(
            run, number, found.found, found.work, found.window.since, summary, summary.report_html,
            sum(r.status in (SUCCEEDED, SKIPPED) for r in records),
        )  # fmt: skip
        with SqliteWatchState(db) as state:
            state.finish_round(run, result.outcome, redo_done(dict.fromkeys(redo, started), records))
        return result


def _records(db: Path, run: str) -> list[TaskRecord]:
    with SqliteTaskLog(db) as task_log:
        return list(task_log.records(run))


def _statuses(db: Path, run: str) -> dict[str, str]:
    return {r.scene_id: r.status for r in _records(db, run)}
