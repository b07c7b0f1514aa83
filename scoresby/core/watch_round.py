"""A watch round's rules: the store it works against, which scenes it runs, when a redo is done.

The stores (stores.watch_state for `scoresby watch`, stores.watch_dynamo for the init Lambda) implement
WatchState; the one round (search.watch_round.open_round) runs against it, and the local round
(commands.watch_round) and the init step (steps.watch_round) decide here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol

from scoresby.core.errors import one_line
from scoresby.core.task_log import FAILED, PENDING, RUNNING, SUCCEEDED, TaskRecord
from scoresby.core.watch import Cursor, WatchStatus

Pair = tuple[Mapping[str, Any], Mapping[str, Any]]
"""(item, scene object) of one item a round found."""

NOTHING_NEW = "nothing new"
"""The outcome of a round that runs no scene (a quiet round)."""
UNFINISHED = (FAILED, PENDING)
"""Task-log states of a scene that an earlier round did not finish: it runs again."""


class WatchState(Protocol):
    """Where a watch keeps its cursor, rounds and the items seen (SQLite locally, DynamoDB on AWS)."""

    def status(self, run_id: str) -> WatchStatus | None:
        """The watch's cursor and last round, or None before its first round."""

    def versions(self, run_id: str) -> dict[str, str]:
        """item id -> version of every item the watch has seen."""

    def begin_round(
        self,
        run_id: str,
        watch: Mapping[str, Any],
        *,
        every_s: float | None,
        cursor: Cursor | None,
        new: Iterable[Pair],
        reprocessed: Iterable[Pair],
        versions: Mapping[str, str],
    ) -> int:
        """Record the round's new and reprocessed items and the new cursor; the round's number."""

    @property
    def claimed(self) -> Collection[str]:
        """Item ids the last begin_round took for this round alone (see round_scenes)."""

    def scenes(self, run_id: str) -> list[dict[str, Any]]:
        """The scene objects of every item seen, oldest acquisition first."""

    def redo_ids(self, run_id: str) -> set[str]:
        """Scene ids to make again over their earlier outputs (the provider reprocessed the item)."""

    def finish_round(self, run_id: str, outcome: str, done: Iterable[str]) -> None:
        """Record the round's outcome (also before its first round); scenes in `done` are redone no more."""


def failed_outcome(exc: BaseException) -> str:
    """The outcome of a round that failed (its search or its run), as the watches table shows it."""
    return f"failed: {one_line(exc)}"


def round_scenes(
    scenes: Sequence[Mapping[str, Any]],
    statuses: Mapping[str, str],
    *,
    claimed: Collection[str],
    redo: Collection[str],
    exclusive: bool,
) -> list[Mapping[str, Any]]:
    """The scenes of every item seen (`scenes`) that this round runs, in their order; empty: a quiet round.

    `statuses` is the run's task log (scene id -> status), `claimed` the scene ids of the items this round
    took as new work (a searched scene's id is its item id), `redo` the scenes to make again over their
    earlier outputs (reprocessed items). A scene runs when it was claimed; when it is unfinished (FAILED,
    PENDING); when it is to be redone; and, only if `exclusive`, when it is RUNNING or has no task-log row.

    `exclusive` is the one genuine difference. Locally (True) the round holds the run lock, so no one else
    can be running the run: a RUNNING row is the leftover of a killed runner and an item without a row was
    recorded by a round killed before it planned it, and both run again. On AWS (False) rounds and their
    executions may overlap: a RUNNING scene is left to the execution whose job runs it (a redo included),
    and an item without a row that this round did not claim was claimed by a concurrent round, which plans
    it.
    """
    claimed, redo = frozenset(claimed), frozenset(redo)

    def runs(scene_id: str) -> bool:
        if scene_id in claimed:
            return True
        status = statuses.get(scene_id)
        if status == RUNNING or (status is None and scene_id not in redo):
            return exclusive
        return scene_id in redo or status in UNFINISHED

    return [s for s in scenes if runs(str(s["scene_id"]))]


def redo_done(redo_since: Mapping[str, str], records: Iterable[TaskRecord]) -> set[str]:
    """Redo scenes (scene id -> when the redo began, UTC ISO) that SUCCEEDED since: no longer redone."""
    finished = {r.scene_id: r.finished_at or "" for r in records if r.status == SUCCEEDED}
    return {s for s, since in redo_since.items() if s in finished and finished[s] >= since}
