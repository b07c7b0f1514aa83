"""A watch round in the init step: {"watch": <watch>} in, the round's plan (only what is new) out.

The scheduler starts the state machine with {"watch": ...}. The cursor and the items seen live in the task
table (stores.watch_dynamo); the round itself is search.watch_round.open_round, as for `scoresby watch`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from scoresby.core.contract import WATCH_KEY
from scoresby.core.errors import InvalidInput
from scoresby.core.scene_list import RunPlan
from scoresby.core.watch import parse_watch, watch_plan
from scoresby.core.watch_round import NOTHING_NEW, redo_done
from scoresby.stores.watch_dynamo import DynamoWatchState

log = logging.getLogger(__name__)


@dataclass
class WatchRound:
    """The plan of one round (None: nothing to do) and what its search found."""

    run_name: str
    output: str | None
    number: int
    new: int
    since: str | None
    plan: RunPlan | None
    redo: frozenset[str]


def check_watch_event(doc: Any) -> RunPlan:
    """The validated watch of a {"watch": ...} input; InvalidInput names each problem."""
    if set(doc) != {WATCH_KEY}:
        extra = ", ".join(sorted(set(doc) - {WATCH_KEY}))
        raise InvalidInput(f'{extra}: not allowed beside {WATCH_KEY!r}; allowed: {{"watch": <watch>}} only')
    try:
        return parse_watch(doc[WATCH_KEY])
    except InvalidInput as exc:
        raise InvalidInput([f"watch.{p}" for p in exc.problems]) from exc


def plan_watch_round(watch: RunPlan, *, task_log: Any, state: DynamoWatchState) -> WatchRound:
    """Search after the cursor, claim the new items, and plan them with the run's unfinished scenes."""
    from scoresby.search.watch_round import open_round  # pystac-client, from the function's layer

    run = watch.run_name
    records = task_log.records(run)
    state.clear_redo(run, redo_done(state.redo_since(run), records))  # reprocessed items now made
    # Rounds may overlap on AWS: RUNNING scenes are left to the execution that runs them.
    opened = open_round(watch, state, {r.scene_id: r.status for r in records}, exclusive=False)
    found, scenes = opened.search, opened.scenes
    log.info(
        "watch %s round %d: %d items in the window since %s, %d new, %d to plan",
        run, opened.number, found.found, found.window.since, opened.claimed, len(scenes),
    )  # fmt: skip
    plan = watch_plan(watch, scenes) if scenes else None
    state.finish_round(run, f"planned {len(scenes)}" if scenes else NOTHING_NEW, ())
    return WatchRound(run, watch.output, opened.number, opened.claimed, found.window.since, plan, opened.redo)
