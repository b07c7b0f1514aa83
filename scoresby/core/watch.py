"""Watches: a scene list whose `search` stays open at the end, searched again round after round.

The rules only (stdlib): what a watch is, the incremental window of a round and which items are new work.

The window: every round remembers the newest item timestamp it saw (the cursor) and the next round searches
from a little before it (the overlap), so an item the API indexed late is still found and the backfill is
not searched again. Where the STAC API has the query extension (stac-fastapi-pgstac and Earth Search's
stac-server both do) and the items carry `updated`, the cursor is on `updated` (`{"updated": {"gte": ...}}`
with the watch's whole date range): an item the provider reprocessed is found whatever its acquisition date.
Otherwise it falls back to the acquisition `datetime` (the date range starts at the cursor minus the
overlap): reprocessed items of older acquisitions are then not found again.

New work is an item id not seen before (Landsat reprocessing makes a new id) or a seen id with a newer
version (`updated`, else `created`, else `datetime`); a seen id at the same version is not new work.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from scoresby.core.checks import show
from scoresby.core.errors import InvalidInput
from scoresby.core.scene_list import RunPlan, parse_scene_list
from scoresby.core.search import SearchSpec

UPDATED = "updated"
DATETIME = "datetime"
OVERLAP = {UPDATED: timedelta(days=3), DATETIME: timedelta(days=30)}
"""How far before the cursor a round searches again. `updated`: an item can be indexed hours to days after
its processing time. `datetime`: Landsat Level-2 items appear one to three weeks after acquisition."""
QUERY_CONFORMANCE = "item-search#query"
"""The conformance-class suffix by which a STAC API says it takes `query` (any spec version)."""


@dataclass(frozen=True)
class Cursor:
    """The newest timestamp a watch has seen, on `field` ("updated" or "datetime")."""

    field: str
    value: str

    def to_dict(self) -> dict[str, str]:
        """JSON-safe form, accepted back by `Cursor.from_dict`."""
        return {"field": self.field, "value": self.value}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Cursor | None:
        """The stored form back (None for a watch that has not run a round yet)."""
        if not d or d.get("field") not in OVERLAP or not isinstance(d.get("value"), str):
            return None
        return cls(str(d["field"]), str(d["value"]))


@dataclass(frozen=True)
class Window:
    """What one round searches: the watch's search narrowed to the window, plus the query part."""

    spec: SearchSpec
    query: dict[str, Any] | None
    since: str | None  # the start of the window (None: the backfill, the whole date range)


@dataclass(frozen=True)
class WatchStatus:
    """A watch's state as `scoresby watches` shows it: cursor, rounds, the last round and the schedule."""

    run_id: str
    cursor: Cursor | None
    rounds: int
    round_started: str | None
    round_finished: str | None
    round_new: int | None  # new or reprocessed items the last round found
    round_outcome: str | None  # "running" (or killed), "nothing new", "N new", "failed: ..."
    schedule: str | None  # "rate(16 days)", "cron(...)", "every 1382400 s" (local --every), None (--once)
    period_s: float | None = None  # local --every, in seconds


def check_watch(doc: Any, plan: RunPlan) -> list[str]:
    """Problems that keep a validated scene list from being a watch, one line each."""
    problems = []
    if plan.search is None:
        problems.append(
            'search: missing; a watch finds its scenes with a "search" block, not a "scenes" list '
            '(allowed: {"search": {"stac": ..., "collections": [...], "bbox": [...], '
            '"datetime": "START/.."}})'
        )
    else:
        when = plan.search.datetime
        if not when.endswith("/.."):
            problems.append(
                f"search.datetime: {show(when)} is not allowed in a watch; allowed: an open end, "
                "START/.. (e.g. 2013-04-01/..)"
            )
        if plan.search.limit is not None:
            problems.append(
                f"search.limit: {plan.search.limit} is not allowed in a watch; allowed: no limit "
                "(every new item is work)"
            )
    if not (isinstance(doc, dict) and isinstance(doc.get("run_name"), str)):
        problems.append(
            "run_name: missing; allowed: a fixed name for the watch's run (every round adds to that run)"
        )
    return problems


def parse_watch(
    doc: Any,
    *,
    output: str | None = None,
    products: Sequence[str] | None = None,
    base_dir: str | None = None,
) -> RunPlan:
    """Validate a watch (a scene list with an open-ended `search` and a `run_name`); raises InvalidInput."""
    plan = parse_scene_list(doc, output=output, products=products, base_dir=base_dir)
    problems = check_watch(doc, plan)
    if problems:
        raise InvalidInput(problems)
    if products:  # the override reaches the searched scenes through the run-level defaults
        plan = dataclasses.replace(plan, defaults={**plan.defaults, "products": list(products)})
    return plan


def watch_plan(plan: RunPlan, scenes: Sequence[Mapping[str, Any]]) -> RunPlan:
    """The run plan of a round: the watch's run-level fields with the scenes of every item seen so far."""
    doc: dict[str, Any] = {"run_name": plan.run_name, **plan.defaults, "scenes": [dict(s) for s in scenes]}
    if plan.output is not None:
        doc["output"] = plan.output
    return parse_scene_list(doc)


def cursor_field(items: Iterable[Mapping[str, Any]], query_supported: bool) -> str:
    """`updated` when the API takes `query` and every item carries `updated`; else `datetime`."""
    if query_supported and all(_prop(i, UPDATED) for i in items):
        return UPDATED
    return DATETIME


def round_window(spec: SearchSpec, cursor: Cursor | None) -> Window:
    """The search of the next round: everything (no cursor), or from the cursor minus the overlap."""
    if cursor is None:
        return Window(spec, None, None)
    since = to_iso(parse_time(cursor.value) - OVERLAP[cursor.field])
    if cursor.field == UPDATED:
        return Window(spec, {UPDATED: {"gte": since}}, since)
    start = spec.datetime.split("/")[0]
    if start != ".." and parse_time(start) > parse_time(since):
        since = start
    return Window(dataclasses.replace(spec, datetime=f"{since}/.."), None, since)


def advance(cursor: Cursor | None, field: str, items: Iterable[Mapping[str, Any]]) -> Cursor | None:
    """The cursor after a round that saw `items` (never moves back; the field is the first round's)."""
    field = cursor.field if cursor is not None else field
    stamps = [parse_time(v) for v in (_prop(i, field) for i in items) if v]
    if cursor is not None:
        stamps.append(parse_time(cursor.value))
    return Cursor(field, to_iso(max(stamps))) if stamps else cursor


def item_version(item: Mapping[str, Any]) -> str:
    """Which processing of an item this is: its `updated`, else `created`, else `datetime` (UTC ISO)."""
    for name in (UPDATED, "created", DATETIME):
        value = _prop(item, name)
        if value:
            return to_iso(parse_time(value))
    return ""


def classify(
    items: Iterable[Mapping[str, Any]], seen: Mapping[str, str]
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """(new, reprocessed): ids not in `seen` (id -> version), and seen ids at a newer version."""
    new, reprocessed = [], []
    for item in items:
        known = seen.get(str(item.get("id")))
        if known is None:
            new.append(item)
        elif item_version(item) > known:
            reprocessed.append(item)
    return new, reprocessed


def query_supported(conforms_to: Iterable[str]) -> bool:
    """True when a STAC API's conformance classes include the query extension of item search."""
    return any(c.rstrip("/").endswith(QUERY_CONFORMANCE) for c in conforms_to)


def parse_time(value: str) -> datetime:
    """An ISO 8601 timestamp or date as an aware UTC datetime (a date is its midnight UTC)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def to_iso(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds and Z, so that stored versions compare as text in time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _prop(item: Mapping[str, Any], name: str) -> str | None:
    value = (item.get("properties") or {}).get(name)
    return value if isinstance(value, str) and value else None
