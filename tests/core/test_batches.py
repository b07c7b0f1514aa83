"""core.batches: scenes grouped into Batch jobs by count and by the bytes of the job's command."""

from __future__ import annotations

import json

from scoresby.core import batches


def scenes(n: int, pad: int = 0) -> list[dict[str, str]]:
    return [{"scene_id": f"S{i:03d}", "source": "s3://b/" + "x" * pad} for i in range(n)]


def test_groups_keep_input_order_and_every_scene_once() -> None:
    groups = list(batches.group_scenes(scenes(10), 4))
    assert [len(g) for g in groups] == [4, 4, 2]
    assert [s for g in groups for s in g] == scenes(10)


def test_one_scene_per_job_is_one_item_per_scene() -> None:
    items = batches.map_items(scenes(3), 1)
    assert [i["job_name"] for i in items] == ["scoresby-S000", "scoresby-S001", "scoresby-S002"]


def test_a_batch_never_exceeds_the_command_byte_budget() -> None:
    many = scenes(100, pad=200)
    groups = list(batches.group_scenes(many, 100))
    assert len(groups) > 1
    assert all(len(json.dumps(g, separators=(",", ":"))) <= batches.BATCH_MAX_BYTES for g in groups)
    assert sum(len(g) for g in groups) == 100


def test_a_scene_bigger_than_the_budget_still_runs_alone() -> None:
    [group] = list(batches.group_scenes(scenes(1, pad=10_000), 5))
    assert len(group) == 1


def test_batch_job_names_fit_batch_rules() -> None:
    name = batches.batch_job_name(["L" * 200, "b", "c"])
    assert len(name) <= 128 and name.endswith("-and-2-more")
    assert batches.job_name("S2A 36/QWD") == "scoresby-S2A-36-QWD"
