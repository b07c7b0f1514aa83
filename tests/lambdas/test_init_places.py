"""The init step starts a place round when the scene list has `composites`: scenes.json in the work bucket."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from lambdas.init_pipeline import handler as init
from scoresby.core import place_stage
from scoresby.core.contract import RunState
from scoresby.core.place_options import check_composites
from scoresby.core.scene_list import parse_scene_list
from scoresby.stores.dynamo_log import DynamoTaskLog
from scoresby.stores.watch_dynamo import DynamoWatchState
from tests.lambdas.conftest import ITEMS_BUCKET, OUTPUT_ROOT, TABLE

AOI = {"bbox": [-27.0, 70.2, -24.5, 71.2]}
COMPOSITES = {"period": "year", "months": [9, 7, 8], "change": "consecutive"}


def scene(i: int) -> dict[str, Any]:
    sid = f"LC08_L2SP_226010_2014{i:02d}20_20200911_02_T1"
    return {"scene_id": sid, "source": f"s3://usgs-landsat/collection02/level-2/{sid}/"}


def doc(n: int, run_name: str = "sund-place", **extra: Any) -> dict[str, Any]:
    return {
        "run_name": run_name,
        "aoi": AOI,
        "composites": COMPOSITES,
        "scenes": [scene(i) for i in range(1, n + 1)],
        **extra,
    }


def scenes_json(s3: Any, places: dict[str, str]) -> dict[str, Any]:
    key = place_stage.list_key(places["prefix"], place_stage.SCENES_FILE)
    return json.loads(s3.get_object(Bucket=places["bucket"], Key=key)["Body"].read())


def test_a_list_with_composites_writes_the_rounds_scenes_and_names_the_round(
    lambda_env: dict[str, str], s3: Any
) -> None:
    state = init.handler(doc(3), None)
    places = state["places"]
    assert set(places) == set(place_stage.PlaceRound.__annotations__)
    assert set(state) <= set(RunState.__annotations__)
    assert places["bucket"] == ITEMS_BUCKET
    assert places["prefix"] == place_stage.round_prefix("sund-place", places["round"])
    assert places["prefix"].startswith(f"{place_stage.ROUNDS_PREFIX}sund-place/")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,60}", places["round"])  # fits a Batch job name
    written = scenes_json(s3, places)
    problems: list[str] = []
    assert written["composites"] == json.loads(json.dumps(check_composites(COMPOSITES, "c", problems)))
    assert not problems and written["composites"]["months"] == [7, 8, 9]  # the normalised option
    expected = parse_scene_list(doc(3)).scenes
    assert written["scenes"] == [s.to_dict() for s in expected]
    assert [s["scene_id"] for s in written["scenes"]] == [scene(i)["scene_id"] for i in (1, 2, 3)]


def test_every_execution_is_a_round_of_its_own_with_every_scene_done_ones_included(
    lambda_env: dict[str, str], s3: Any
) -> None:
    first = init.handler(doc(2), None)
    log = DynamoTaskLog(TABLE)
    for item in first["items"]:
        sid, products = item["scenes"][0]["scene_id"], item["scenes"][0]["products"]
        log.start("sund-place", sid, "job-1")
        log.succeed(
            "sund-place", sid, {p: f"{OUTPUT_ROOT}sund-place/{sid}/{sid}_{p}.tif" for p in products}, 1.0
        )
    second = init.handler(doc(3), None)
    assert second["counts"]["to_run"] == 1 and second["counts"]["skipped"] == 2
    assert second["places"]["round"] != first["places"]["round"]
    assert second["places"]["prefix"] != first["places"]["prefix"]
    ids = [s["scene_id"] for s in scenes_json(s3, second["places"])["scenes"]]
    assert ids == [scene(i)["scene_id"] for i in (1, 2, 3)]  # the skipped (done) scenes count for the place
    assert len(scenes_json(s3, first["places"])["scenes"]) == 2  # the first round's file is its own


def test_without_composites_there_is_no_place_round(lambda_env: dict[str, str], s3: Any) -> None:
    plain = {k: v for k, v in doc(2).items() if k != "composites"}
    state = init.handler(plain, None)
    assert "places" not in state
    assert s3.list_objects_v2(Bucket=ITEMS_BUCKET, Prefix=place_stage.ROUNDS_PREFIX).get("KeyCount") == 0


@pytest.mark.parametrize("bad", [{"period": "decade"}, {"period": "year", "method": "mode"}])
def test_bad_composites_are_rejected_before_anything_is_written(
    lambda_env: dict[str, str], s3: Any, bad: dict[str, Any]
) -> None:
    with pytest.raises(init.InvalidInput, match="composites"):
        init.handler(doc(1) | {"composites": bad}, None)
    assert s3.list_objects_v2(Bucket=ITEMS_BUCKET).get("KeyCount") == 0


def test_a_quiet_watch_round_starts_no_place_round(
    lambda_env: dict[str, str], s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scoresby.steps import init_run

    plan = parse_scene_list(doc(2))
    calls: list[Any] = []

    class Round:
        number, new, since, redo = 2, 0, "2026-12-01T00:00:00Z", frozenset()

    quiet_round = Round()
    quiet_round.plan = plan  # type: ignore[attr-defined]  # something found, all of it done already
    monkeypatch.setattr(init_run, "check_watch_event", lambda event: plan)
    monkeypatch.setattr(init_run, "plan_watch_round", lambda *a, **k: calls.append(a) or quiet_round)
    done = DynamoTaskLog(TABLE)
    for s in plan.scenes:
        done.plan("sund-place", [s], OUTPUT_ROOT, False)
        done.start("sund-place", s.scene_id, "job-1")
        outputs = {p: f"{OUTPUT_ROOT}sund-place/{s.scene_id}/{s.scene_id}_{p}.tif" for p in s.products}
        done.succeed("sund-place", s.scene_id, outputs, 1.0)
    state = init_run.plan_run(
        {"watch": {}}, init_run.InitSettings.from_env(lambda_env), watch_state=DynamoWatchState(TABLE)
    )
    assert calls and state["quiet"] is True and "places" not in state
    assert s3.list_objects_v2(Bucket=ITEMS_BUCKET, Prefix=place_stage.ROUNDS_PREFIX).get("KeyCount") == 0
