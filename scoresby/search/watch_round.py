"""One round of a watch: search the window after the cursor and sort the items into new work and old.

Shared by the local `scoresby watch` and the AWS init Lambda; where the cursor and the items seen are kept
is the caller's (the SQLite task log, the DynamoDB task table).
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
    api = plan.search.stac
    result.new = [(dict(i), scene_from_item(dict(i), api)) for i in new]
    result.reprocessed = [(dict(i), scene_from_item(dict(i), api)) for i in reprocessed]
    result.versions = {str(i["id"]): item_version(i) for i in [*new, *reprocessed]}
    return result
