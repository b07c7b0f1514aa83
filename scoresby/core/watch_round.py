"""Which scenes a watch round runs, and when a redo is done: one rule for the local and the AWS round.

The stores (stores.watch_state, stores.watch_dynamo) only read and write the items seen; the local round
(commands.watch_round) and the init Lambda (lambdas.init_pipeline.watch_round) both decide here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from scoresby.core.task_log import FAILED, PENDING, RUNNING, SUCCEEDED, TaskRecord

NOTHING_NEW = "nothing new"
"""The outcome of a round that runs no scene (a quiet round)."""
UNFINISHED = (FAILED, PENDING)
"""Task-log states of a scene that an earlier round did not finish: it runs again."""


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
