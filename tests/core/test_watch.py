"""The watch rules: the round's window after the cursor, new work vs. items seen, schedules and periods."""

from __future__ import annotations

from typing import Any

import pytest

from scoresby.core.errors import InvalidInput
from scoresby.core.schedules import next_run, parse_every, rate_seconds, schedule_problem
from scoresby.core.search import SearchSpec
from scoresby.core.watch import (
    Cursor,
    advance,
    classify,
    cursor_field,
    item_version,
    parse_watch,
    query_supported,
    round_window,
)

SPEC = SearchSpec(stac="https://example.org/stac", collections=("landsat-c2-l2",), datetime="2013-04-01/..")


def item(item_id: str, when: str, updated: str | None = None, created: str | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"datetime": when}
    if updated:
        props["updated"] = updated
    if created:
        props["created"] = created
    return {"id": item_id, "properties": props}


def test_the_first_round_is_the_backfill() -> None:
    window = round_window(SPEC, None)
    assert window.spec == SPEC and window.query is None and window.since is None


def test_an_updated_cursor_keeps_the_date_range_and_queries_updated_from_three_days_before() -> None:
    window = round_window(SPEC, Cursor("updated", "2026-11-20T10:00:00.000Z"))
    assert window.spec.datetime == "2013-04-01/.."  # a reprocessed 2014 scene is still in range
    assert window.query == {"updated": {"gte": "2026-11-17T10:00:00.000Z"}}


def test_a_datetime_cursor_narrows_the_date_range_but_not_before_the_watch_start() -> None:
    window = round_window(SPEC, Cursor("datetime", "2026-11-20T10:00:00Z"))
    assert window.spec.datetime == "2026-10-21T10:00:00.000Z/.." and window.query is None
    early = round_window(SPEC, Cursor("datetime", "2013-04-10T00:00:00Z"))
    assert early.spec.datetime == "2013-04-01/.."


def test_the_cursor_field_is_updated_only_with_query_support_and_updated_everywhere() -> None:
    both = [item("a", "2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z")]
    assert cursor_field(both, True) == "updated"
    assert cursor_field(both, False) == "datetime"
    assert cursor_field([*both, item("b", "2020-01-01T00:00:00Z")], True) == "datetime"


def test_the_cursor_moves_to_the_newest_timestamp_and_never_back() -> None:
    items = [
        item("a", "2020-01-01T00:00:00Z", "2020-02-01T00:00:00Z"),
        item("b", "2020-03-01T00:00:00Z", "2020-01-15T00:00:00.5+01:00"),
    ]
    cursor = advance(None, "updated", items)
    assert cursor == Cursor("updated", "2020-02-01T00:00:00.000Z")
    assert advance(cursor, "datetime", [item("c", "2019-01-01T00:00:00Z", "2019-01-01T00:00:00Z")]) == cursor
    assert advance(None, "updated", []) is None


def test_new_work_is_an_unseen_id_or_a_newer_version_of_a_seen_one() -> None:
    seen = {"old": "2020-01-02T00:00:00.000Z", "same": "2020-01-02T00:00:00.000Z"}
    items = [
        item("old", "2020-01-01T00:00:00Z", "2021-06-01T00:00:00Z"),  # reprocessed in place
        item("same", "2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z"),  # seen in the overlap again
        item("LC08_new", "2020-01-01T00:00:00Z", "2021-06-01T00:00:00Z"),  # Landsat: a new id
    ]
    new, reprocessed = classify(items, seen)
    assert [i["id"] for i in new] == ["LC08_new"] and [i["id"] for i in reprocessed] == ["old"]


def test_an_items_version_is_updated_then_created_then_datetime() -> None:
    assert item_version(
        item("a", "2020-01-01T00:00:00Z", "2020-01-03T00:00:00Z", "2020-01-02T00:00:00Z")
    ) == ("2020-01-03T00:00:00.000Z")
    assert item_version(item("a", "2020-01-01T00:00:00Z", None, "2020-01-02T00:00:00Z")) == (
        "2020-01-02T00:00:00.000Z"
    )
    assert item_version(item("a", "2020-01-01")) == "2020-01-01T00:00:00.000Z"


def test_query_support_is_read_from_the_conformance_classes() -> None:
    assert query_supported(["https://api.stacspec.org/v1.0.0/item-search#query"])
    assert query_supported(["https://api.stacspec.org/v1.0.0-rc.2/item-search#query"])
    assert not query_supported(["https://api.stacspec.org/v1.0.0/item-search#filter"])


def test_a_watch_needs_an_open_end_and_a_run_name() -> None:
    block = {"stac": "earth-search", "collections": ["landsat-c2-l2"], "bbox": [0, 0, 1, 1]}
    plan = parse_watch({"run_name": "w", "search": {**block, "datetime": "2013-04-01/.."}})
    assert plan.run_name == "w" and plan.search is not None
    with pytest.raises(InvalidInput) as bad:
        parse_watch({"search": {**block, "datetime": "2013-04-01/2014-01-01"}})
    assert len(bad.value.problems) == 2
    assert any(
        p.startswith("search.datetime: '2013-04-01/2014-01-01' is not allowed") for p in bad.value.problems
    )
    assert any(p.startswith("run_name: missing") for p in bad.value.problems)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(16 days)",
        "rate(1 day)",
        "rate(5 minutes)",
        "rate(1 hour)",
        "cron(0 6 ? * MON *)",
        "cron(0 6 1 * ? *)",
    ],
)
def test_good_schedules(expression: str) -> None:
    assert schedule_problem(expression, "schedule") is None


@pytest.mark.parametrize(
    "expression",
    [
        "rate(16 day)",
        "rate(1 days)",
        "rate(0 days)",
        "rate(2 weeks)",
        "every 16 days",
        "cron(0 6 * * * *)",
        16,
    ],
)
def test_bad_schedules_name_the_value_and_what_is_allowed(expression: Any) -> None:
    problem = schedule_problem(expression, "watches[0].schedule")
    assert problem and problem.startswith(
        f"watches[0].schedule: {expression!r} is not allowed; allowed: rate("
    )


def test_periods_and_next_runs() -> None:
    assert parse_every("16d") == 16 * 86400 and parse_every("90m") == 5400 and parse_every("2s") == 2
    for bad in ("16", "0s", "16 days", "1w"):
        with pytest.raises(ValueError, match="is not allowed; allowed: a number and a unit"):
            parse_every(bad)
    assert rate_seconds("rate(16 days)") == 16 * 86400 and rate_seconds("cron(0 6 ? * MON *)") is None
    from datetime import UTC, datetime

    assert next_run("rate(2 days)", datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-03T00:00:00Z"
