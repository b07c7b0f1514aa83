"""One round of a watch, written once: search after the cursor, record what is new, pick the scenes to run.

Run by the local `scoresby watch` (commands.watch_round, SQLite state) and by the init Lambda
(steps.watch_round, DynamoDB state) through open_round; where the cursor and the items seen are kept is the
WatchState the caller passes. What differs is only what the caller does with the scenes (run them, or plan
them for the Map) and `exclusive` (core.watch_round.round_scenes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scoresby.core.scene_list import RunPlan
from scoresby.core.watch import (
    Cursor,
    Window,
    advance,
    classify,
    cursor_field,
    item_version,
    query_supported,
    round_window,
)
from scoresby.core.watch_round import WatchState, failed_outcome, round_scenes
from scoresby.search.client import conforms_to, open_client, scene_from_item, search_items

Pair = tuple[dict[str, Any], dict[str, Any]]
"""(item, scene object) of one item a round found."""


@dataclass
class RoundSearch:
    """What a round's search found: new and reprocessed items with their scenes, and the new cursor."""

    window: Window
    cursor: Cursor | None
    found: int
    new: list[Pair] = field(default_factory=list)
    reprocessed: list[Pair] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)  # item id -> version, of new and reprocessed

    @property
    def work(self) -> int:
        """How many items are new work this round."""
        return len(self.new) + len(self.reprocessed)


def search_round(
    plan: RunPlan,
    cursor: Cursor | None,
    seen: Mapping[str, str],
    progress: Callable[[int], None] | None = None,
) -> RoundSearch:
    """Search a watch's window (raises SearchError) and classify the items against `seen` (id -> version)."""
    assert plan.search is not None  # noqa: S101 - parse_watch guarantees a search block
    client = open_client(plan.search)
    window = round_window(plan.search, cursor)
    items = search_items(window.spec, progress, query=window.query, client=client)
    first_field = cursor_field(items, query_supported(conforms_to(client))) if cursor is None else ""
    result = RoundSearch(window, advance(cursor, first_field, items), len(items))
    new, reprocessed = classify(items, seen)
    result.new = [(dict(i), scene_from_item(dict(i))) for i in new]
    result.reprocessed = [(dict(i), scene_from_item(dict(i))) for i in reprocessed]
    result.versions = {str(i["id"]): item_version(i) for i in [*new, *reprocessed]}
    return result


@dataclass
class OpenRound:
    """A round recorded in its WatchState: its number, what its search found and the scenes it runs."""

    number: int
    search: RoundSearch
    seen: list[dict[str, Any]]  # the scenes of every item the watch has seen
    scenes: list[Mapping[str, Any]]  # those this round runs (round_scenes), in their order
    redo: frozenset[str]
    claimed: int  # items this round took as new work (on AWS: not taken first by a concurrent round)


def open_round(
    plan: RunPlan,
    state: WatchState,
    statuses: Mapping[str, str],
    *,
    exclusive: bool,
    every_s: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> OpenRound:
    """Search after the cursor and record the new items in `state`; a failed search is the round's outcome.

    `statuses` is the run's task log (scene id -> status). Raises what the search raised (SearchError)
    after recording it, so `scoresby watches` shows the failure locally and on AWS alike.
    """
    run = plan.run_name
    status = state.status(run)
    try:
        found = search_round(plan, status.cursor if status else None, state.versions(run), progress)
    except Exception as exc:
        state.finish_round(run, failed_outcome(exc), ())
        raise
    number = state.begin_round(
        run,
        plan.to_dict(),
        every_s=every_s,
        cursor=found.cursor,
        new=found.new,
        reprocessed=found.reprocessed,
        versions=found.versions,
    )
    claimed = frozenset(state.claimed)
    seen, redo = state.scenes(run), frozenset(state.redo_ids(run))
    scenes = round_scenes(seen, statuses, claimed=claimed, redo=redo, exclusive=exclusive)
    return OpenRound(number, found, seen, scenes, redo, len(claimed))
