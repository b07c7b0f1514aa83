"""The init Lambda expands `search` blocks and plans watch rounds against the real STAC API (moto)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from lambdas.init_pipeline import handler as init
from scoresby.core.task_log import PENDING
from scoresby.stores.dynamo_log import DynamoTaskLog
from scoresby.stores.watch_dynamo import DynamoWatchState
from tests.lambdas.conftest import TABLE
from tests.stac_server import REAL_ITEMS, StacServer

S2_ITEM = REAL_ITEMS / "sentinel-2-l2a__S2B_24MUV_20250731_0_L2A.json"


def item(collection: str, item_id: str, when: str, updated: str) -> dict[str, Any]:
    """The real Earth Search Sentinel-2 item under a new id, acquisition time and `updated`."""
    doc = copy.deepcopy(json.loads(S2_ITEM.read_text()))
    doc.update(id=item_id, collection=collection, links=[])
    doc["properties"].update(datetime=when, created=updated, updated=updated)
    return doc


def watch_doc(
    stac: StacServer, collection: str, run_name: str, when: str = "2013-04-01/.."
) -> dict[str, Any]:
    return {
        "run_name": run_name,
        "products": ["ndvi"],
        "search": {
            "stac": stac.url,
            "collections": [collection],
            "bbox": [-180, -90, 180, 90],
            "datetime": when,
        },
    }


def finish_all(state: dict[str, Any], run: str) -> None:
    """What the Map's Batch jobs would do: every planned scene SUCCEEDED with its ndvi."""
    log = DynamoTaskLog(TABLE)
    for entry in state["items"]:
        for scene in entry["scenes"]:  # a job's scenes (scenesPerJob)
            scene_id = scene["scene_id"]
            log.start(run, scene_id, "job-1")
            log.succeed(run, scene_id, {"ndvi": f"s3://x/{run}/{scene_id}/{scene_id}_ndvi.tif"}, 1.0)


def planned(state: dict[str, Any]) -> list[str]:
    return sorted(s["scene_id"] for i in state["items"] for s in i["scenes"])


def test_a_watch_round_plans_only_new_work_and_a_quiet_round_nothing(
    lambda_env: dict[str, str], dynamodb: Any, stac_api: StacServer
) -> None:
    c = "scoresby-lambda-watch"
    stac_api.add(
        [
            item(c, "S2B_W1_20240101_0_L2A", "2024-01-01T10:00:00Z", "2024-01-01T12:00:00Z"),
            item(c, "S2B_W2_20240201_0_L2A", "2024-02-01T10:00:00Z", "2024-02-01T12:00:00Z"),
        ]
    )
    event = {"watch": watch_doc(stac_api, c, "lambda-watch")}

    first = init.handler(event, None)
    assert planned(first) == ["S2B_W1_20240101_0_L2A", "S2B_W2_20240201_0_L2A"]
    assert first["quiet"] is False and first["watch"] == {"round": 1, "new_items": 2, "since": "the start"}
    assert first["counts"]["new_items"] == 2 and first["overwrite"] == "false"
    assert all(s["products"] == ["ndvi"] and s["item"] for i in first["items"] for s in i["scenes"])
    finish_all(first, "lambda-watch")

    second = init.handler(event, None)
    assert second["quiet"] is True and second["items"] == [] and second["counts"]["to_run"] == 0
    assert second["watch"] == {"round": 2, "new_items": 0, "since": "2024-01-29T12:00:00.000Z"}
    status = DynamoWatchState(TABLE).status("lambda-watch")
    assert status is not None and status.round_outcome == "nothing new" and status.rounds == 2

    # A new acquisition, and W1 reprocessed in place (same id, newer `updated`).
    stac_api.add(
        [
            item(c, "S2B_W3_20240301_0_L2A", "2024-03-01T10:00:00Z", "2024-03-01T12:00:00Z"),
            item(c, "S2B_W1_20240101_0_L2A", "2024-01-01T10:00:00Z", "2024-03-02T12:00:00Z"),
        ]
    )
    third = init.handler(event, None)
    assert planned(third) == ["S2B_W1_20240101_0_L2A", "S2B_W3_20240301_0_L2A"]
    assert third["overwrite"] == "true"  # W1's jobs replace its earlier outputs
    rows = {r.scene_id: r for r in DynamoTaskLog(TABLE).records("lambda-watch")}
    assert (
        rows["S2B_W2_20240201_0_L2A"].status == "SUCCEEDED"
        and rows["S2B_W3_20240301_0_L2A"].status == PENDING
    )
    log = DynamoTaskLog(TABLE)
    log.start("lambda-watch", "S2B_W1_20240101_0_L2A", "job-2")
    log.fail("lambda-watch", "S2B_W1_20240101_0_L2A", "SceneTimeout", "Spot reclaim", 1.0)
    finish_all({"items": [i for i in third["items"] if "W3" in i["scenes"][0]["scene_id"]]}, "lambda-watch")
    fourth = init.handler(event, None)  # the failed redo runs again, still over the old outputs
    assert planned(fourth) == ["S2B_W1_20240101_0_L2A"] and fourth["overwrite"] == "true"
    finish_all(fourth, "lambda-watch")
    assert init.handler(event, None)["quiet"] is True  # made once it succeeded: not redone every round


def test_a_failed_scene_of_an_earlier_round_is_planned_again(
    lambda_env: dict[str, str], dynamodb: Any, stac_api: StacServer
) -> None:
    c = "scoresby-lambda-watch-failed"
    stac_api.add([item(c, "S2B_F1_20240101_0_L2A", "2024-01-01T10:00:00Z", "2024-01-01T12:00:00Z")])
    event = {"watch": watch_doc(stac_api, c, "lambda-failed")}
    first = init.handler(event, None)
    DynamoTaskLog(TABLE).fail("lambda-failed", "S2B_F1_20240101_0_L2A", "MissingBands", "no B08", 1.0)
    again = init.handler(event, None)
    assert planned(again) == planned(first) and again["quiet"] is False and again["watch"]["new_items"] == 0


def test_a_search_block_is_expanded_by_the_lambda(
    lambda_env: dict[str, str], dynamodb: Any, stac_api: StacServer
) -> None:
    doc = watch_doc(stac_api, "sentinel-2-l2a", "lambda-search", when="2025-01-01/2025-12-31")
    state = init.handler(doc, None)
    assert state["counts"]["to_run"] == 6 and state["quiet"] is False and "watch" not in state
    assert DynamoWatchState(TABLE).status("lambda-search") is None  # a plain search is no watch


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        ({"watch": {"run_name": "w", "scenes": [{"source": "s3://my-bucket/k/"}]}}, "watch.search: missing"),
        (
            {
                "watch": {
                    "search": {
                        "stac": "earth-search",
                        "collections": ["x"],
                        "bbox": [0, 0, 1, 1],
                        "datetime": "2020-01-01/..",
                    }
                }
            },
            "watch.run_name: missing",
        ),
        ({"watch": {}, "run_name": "x"}, "run_name: not allowed beside 'watch'"),
    ],
)
def test_a_bad_watch_input_is_invalid_input(
    lambda_env: dict[str, str], dynamodb: Any, event: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(init.InvalidInput, match=fragment.replace("(", r"\(")):
        init.handler(event, None)
    assert dynamodb.scan(TableName=TABLE)["Items"] == []


def test_without_updated_on_every_item_the_cursor_falls_back_to_the_acquisition_datetime(
    lambda_env: dict[str, str], dynamodb: Any, stac_api: StacServer
) -> None:
    c = "scoresby-lambda-watch-dt"

    def bare(item_id: str, when: str) -> dict[str, Any]:
        doc = item(c, item_id, when, "2000-01-01T00:00:00Z")
        del doc["properties"]["updated"], doc["properties"]["created"]
        return doc

    stac_api.add(
        [
            bare("S2B_D1_20240101_0_L2A", "2024-01-01T10:00:00Z"),
            bare("S2B_D2_20240601_0_L2A", "2024-06-01T10:00:00Z"),
        ]
    )
    event = {"watch": watch_doc(stac_api, c, "lambda-dt")}
    first = init.handler(event, None)
    assert planned(first) == ["S2B_D1_20240101_0_L2A", "S2B_D2_20240601_0_L2A"]
    status = DynamoWatchState(TABLE).status("lambda-dt")
    assert status is not None and status.cursor is not None
    assert (status.cursor.field, status.cursor.value) == ("datetime", "2024-06-01T10:00:00.000Z")
    finish_all(first, "lambda-dt")
    # A new acquisition is found; one acquired before the cursor minus 30 days is not (the fallback's limit).
    stac_api.add(
        [
            bare("S2B_D3_20240610_0_L2A", "2024-06-10T10:00:00Z"),
            bare("S2B_D0_20230101_0_L2A", "2023-01-01T10:00:00Z"),
        ]
    )
    second = init.handler(event, None)
    assert planned(second) == ["S2B_D3_20240610_0_L2A"]
    assert second["watch"]["since"] == "2024-05-02T10:00:00.000Z"
