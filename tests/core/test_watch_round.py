"""The one rule of a watch round's scenes (core.watch_round), locally (exclusive) and on AWS (overlapping)."""

from __future__ import annotations

from typing import Any

import pytest

from scoresby.core.task_log import FAILED, PENDING, RUNNING, SKIPPED, SUCCEEDED, TaskRecord
from scoresby.core.watch_round import redo_done, round_scenes

SCENES = [{"scene_id": s} for s in ("new", "claimed", "ok", "skip", "failed", "pending", "running", "redo")]
STATUSES = {
    "claimed": SUCCEEDED,  # an earlier version's row; this round took the item as new work
    "ok": SUCCEEDED,
    "skip": SKIPPED,
    "failed": FAILED,
    "pending": PENDING,
    "running": RUNNING,
    "redo": SUCCEEDED,
}


def ids(scenes: list[Any]) -> list[str]:
    return [s["scene_id"] for s in scenes]


@pytest.mark.parametrize(
    ("exclusive", "expected"),
    [
        (True, ["new", "claimed", "failed", "pending", "running", "redo"]),
        (False, ["claimed", "failed", "pending", "redo"]),  # "new" has no row: another round claimed it
    ],
)
def test_which_scenes_a_round_runs(exclusive: bool, expected: list[str]) -> None:
    got = round_scenes(SCENES, STATUSES, claimed={"claimed"}, redo={"redo"}, exclusive=exclusive)
    assert ids(got) == expected  # in the order of the items seen


def test_a_running_redo_is_left_to_its_execution_on_aws_and_made_again_locally() -> None:
    scenes, statuses = [{"scene_id": "a"}], {"a": RUNNING}
    assert round_scenes(scenes, statuses, claimed=(), redo={"a"}, exclusive=False) == []
    assert ids(round_scenes(scenes, statuses, claimed=(), redo={"a"}, exclusive=True)) == ["a"]
    # Reprocessed again this round: a newer version than the one running, so it runs.
    assert ids(round_scenes(scenes, statuses, claimed={"a"}, redo={"a"}, exclusive=False)) == ["a"]


def test_a_redo_without_a_row_runs_everywhere() -> None:
    for exclusive in (True, False):
        assert ids(round_scenes([{"scene_id": "a"}], {}, claimed=(), redo={"a"}, exclusive=exclusive)) == [
            "a"
        ]


def test_a_round_with_every_scene_done_is_quiet() -> None:
    scenes = [{"scene_id": "a"}, {"scene_id": "b"}]
    for exclusive in (True, False):
        assert (
            round_scenes(scenes, {"a": SUCCEEDED, "b": SKIPPED}, claimed=(), redo=(), exclusive=exclusive)
            == []
        )


def record(scene_id: str, status: str, finished_at: str | None) -> TaskRecord:
    return TaskRecord(run_id="r", scene_id=scene_id, status=status, finished_at=finished_at)


def test_a_redo_is_done_once_its_scene_succeeded_after_the_redo_began() -> None:
    since = "2026-01-02T00:00:00Z"
    records = [
        record("made", SUCCEEDED, "2026-01-02T00:00:00Z"),  # the same second counts
        record("old", SUCCEEDED, "2026-01-01T23:59:59Z"),  # the earlier version's success
        record("failed", FAILED, "2026-01-03T00:00:00Z"),
        record("other", SUCCEEDED, "2026-01-03T00:00:00Z"),  # not a redo
    ]
    redo = dict.fromkeys(["made", "old", "failed", "missing"], since)
    assert redo_done(redo, records) == {"made"}
