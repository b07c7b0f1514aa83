"""Init Lambda against moto: valid, invalid (nothing written), duplicates, already done, 10,000 scenes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lambdas.init_pipeline import handler as init
from scoresby.core.contract import MapItem, RunState
from scoresby.core.task_log import PENDING, SKIPPED
from scoresby.steps import init_run
from scoresby.stores.dynamo_log import DynamoTaskLog
from tests.lambdas.conftest import ITEMS_BUCKET, OUTPUT_ROOT, TABLE

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SOURCE = "s3://sentinel-cogs/sentinel-s2-l2a-cogs/36/Q/WD/2020/7/S2A_36QWD_20200701_0_L2A/"


def scene_obj(i: int) -> dict[str, Any]:
    return {
        "scene_id": f"S2A_36QWD_2020{i:05d}",
        "source": f"s3://sentinel-cogs/sentinel-s2-l2a-cogs/36/Q/WD/2020/7/S2A_36QWD_{i:05d}_0_L2A/",
        "sensor": "sentinel-2",
    }


def rows(dynamodb: Any) -> list[dict[str, Any]]:
    return dynamodb.scan(TableName=TABLE)["Items"]


def test_valid_list_writes_pending_rows_and_returns_inline_items(
    lambda_env: dict[str, str], dynamodb: Any
) -> None:
    doc = json.loads((EXAMPLES / "sentinel2-cogs.json").read_text())
    state = init.handler(doc, None)
    assert state["run_name"] == "sentinel2-cogs"
    assert state["output"] == OUTPUT_ROOT and state["overwrite"] == "false"
    assert state["inline"] is True and "items_s3" not in state
    assert state["counts"] == {"scenes": 3, "to_run": 3, "skipped": 0, "duplicates": 0}
    item = state["items"][0]
    assert item["scenes"][0]["source"] == doc["scenes"][0]["source"]
    assert item["scenes"][0]["products"] == doc["products"]
    assert item["job_name"].startswith("scoresby-") and len(item["job_name"]) <= 128
    assert json.loads(json.dumps(state)) == state  # JSON-safe
    assert set(state) <= set(RunState.__annotations__)  # the keys infra's state machine reads
    assert set(item) == set(MapItem.__annotations__)
    statuses = {r["scene_id"]["S"]: r["status"]["S"] for r in rows(dynamodb)}
    assert sorted(statuses) == sorted(i["scenes"][0]["scene_id"] for i in state["items"])
    assert set(statuses.values()) == {PENDING}


def test_invalid_list_raises_invalid_input_listing_problems_and_writes_nothing(
    lambda_env: dict[str, str], dynamodb: Any
) -> None:
    doc = {
        "run_name": "bad",
        "scenes": [{"source": SOURCE, "products": ["ndvi", "sparkle"]}, {"sensor": "modis"}],
    }
    with pytest.raises(init.InvalidInput) as err:
        init.handler(doc, None)
    assert type(err.value).__name__ == "InvalidInput"  # Step Functions' errorType
    assert len(err.value.problems) >= 2
    assert "sparkle" in str(err.value)
    assert rows(dynamodb) == []


def test_output_outside_the_stack_output_is_rejected(lambda_env: dict[str, str], dynamodb: Any) -> None:
    doc = {"run_name": "r", "output": "s3://someone-else/x/", "scenes": [{"source": SOURCE}]}
    with pytest.raises(init.InvalidInput, match="someone-else.*allowed: s3://scoresby-output-test/products/"):
        init.handler(doc, None)
    assert rows(dynamodb) == []


def test_bad_overwrite_flag_is_invalid_input(lambda_env: dict[str, str], dynamodb: Any) -> None:
    with pytest.raises(init.InvalidInput, match="overwrite"):
        init.handler({"scenes": [{"source": SOURCE}], "overwrite": "yes"}, None)


def test_duplicates_are_planned_once(lambda_env: dict[str, str], dynamodb: Any) -> None:
    doc = {"run_name": "dups", "scenes": [{"source": SOURCE}, {"source": SOURCE}, scene_obj(1)]}
    state = init.handler(doc, None)
    assert state["counts"] == {"scenes": 2, "to_run": 2, "skipped": 0, "duplicates": 1}
    assert len(state["items"]) == 2 and len(rows(dynamodb)) == 2


def test_scene_done_in_an_earlier_run_is_skipped(lambda_env: dict[str, str], dynamodb: Any) -> None:
    first = init.handler({"run_name": "first", "scenes": [scene_obj(1)]}, None)
    sid = first["items"][0]["scenes"][0]["scene_id"]
    log = DynamoTaskLog(TABLE)
    log.start("first", sid, "job-1")
    done = {p: f"{OUTPUT_ROOT}first/{sid}/{sid}_{p}.tif" for p in first["items"][0]["scenes"][0]["products"]}
    log.succeed("first", sid, done, 10.0)

    second = init.handler({"run_name": "second", "scenes": [scene_obj(1), scene_obj(2)]}, None)
    assert second["counts"] == {"scenes": 2, "to_run": 1, "skipped": 1, "duplicates": 0}
    assert [i["scenes"][0]["scene_id"] for i in second["items"]] == [scene_obj(2)["scene_id"]]
    by_id = {r.scene_id: r for r in log.records("second")}
    assert by_id[sid].status == SKIPPED and by_id[sid].outputs == done

    again = init.handler({"run_name": "third", "overwrite": True, "scenes": [scene_obj(1)]}, None)
    assert again["counts"]["to_run"] == 1 and again["overwrite"] == "true"


@pytest.mark.slow
def test_ten_thousand_scenes_go_to_s3_for_the_distributed_map(
    lambda_env: dict[str, str], dynamodb: Any, s3: Any
) -> None:
    doc = {"run_name": "big", "scenes": [scene_obj(i) for i in range(10_000)]}
    state = init.handler(doc, None)
    assert state["inline"] is False and "items" not in state
    assert state["items_s3"]["bucket"] == ITEMS_BUCKET
    assert state["items_s3"]["key"].startswith("items/big/")
    assert len(json.dumps(state)) < 2_000  # the state stays tiny whatever the list size
    body = s3.get_object(Bucket=ITEMS_BUCKET, Key=state["items_s3"]["key"])["Body"].read()
    items = json.loads(body)
    assert len(items) == 10_000
    assert items[9_999]["scenes"][0]["scene_id"] == scene_obj(9_999)["scene_id"]
    assert dynamodb.describe_table(TableName=TABLE)["Table"]["ItemCount"] in (0, 10_000)  # moto may not count
    assert state["counts"]["to_run"] == 10_000


def test_just_over_the_byte_threshold_goes_to_s3(
    lambda_env: dict[str, str], dynamodb: Any, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(init_run, "INLINE_MAX_BYTES", 600)
    small = init.handler({"run_name": "small", "scenes": [scene_obj(1)]}, None)
    assert small["inline"] is True
    large = init.handler({"run_name": "large", "scenes": [scene_obj(i) for i in range(5)]}, None)
    assert large["inline"] is False


def test_missing_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(KeyError, match="SCORESBY_TASK_TABLE"):
        init.handler({"scenes": [{"source": SOURCE}]}, None)


def test_a_list_stored_in_the_work_bucket_is_read_from_its_reference(
    lambda_env: dict[str, str], dynamodb: Any, s3: Any
) -> None:
    doc = {"run_name": "stored", "scenes": [scene_obj(1), scene_obj(2)]}
    s3.put_object(Bucket=ITEMS_BUCKET, Key="lists/stored.json", Body=json.dumps(doc).encode())
    state = init.handler({"scene_list_s3": f"s3://{ITEMS_BUCKET}/lists/stored.json", "overwrite": True}, None)
    assert state["run_name"] == "stored" and state["counts"]["to_run"] == 2 and state["overwrite"] == "true"


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ({"scene_list_s3": f"s3://{ITEMS_BUCKET}/items/x.json"}, "allowed"),
        ({"scene_list_s3": "s3://elsewhere/lists/x.json"}, "allowed"),
        ({"scene_list_s3": f"s3://{ITEMS_BUCKET}/lists/x.json", "run_name": "r"}, "only field"),
        ({"scene_list_s3": f"s3://{ITEMS_BUCKET}/lists/missing.json"}, "does not exist"),
    ],
)
def test_bad_list_references_are_invalid_input_and_write_nothing(
    lambda_env: dict[str, str], dynamodb: Any, s3: Any, reference: dict[str, Any], message: str
) -> None:
    with pytest.raises(init.InvalidInput, match=message):
        init.handler(reference, None)
    assert rows(dynamodb) == []


def test_scenes_are_grouped_into_jobs_of_scenes_per_job(
    lambda_env: dict[str, str], dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCORESBY_SCENES_PER_JOB", "3")
    state = init.handler({"run_name": "grouped", "scenes": [scene_obj(i) for i in range(7)]}, None)
    batches = [[s["scene_id"] for s in item["scenes"]] for item in state["items"]]
    assert batches == [
        [scene_obj(i)["scene_id"] for i in ids] for ids in ([0, 1, 2], [3, 4, 5], [6])
    ]  # in input order, every scene once
    assert [item["job_name"] for item in state["items"]] == [
        f"scoresby-{scene_obj(0)['scene_id']}-and-2-more",
        f"scoresby-{scene_obj(3)['scene_id']}-and-2-more",
        f"scoresby-{scene_obj(6)['scene_id']}",
    ]
    # every scene still has its own PENDING row
    assert len(rows(dynamodb)) == 7 and state["counts"]["to_run"] == 7


def test_done_scenes_are_left_out_of_the_batches(
    lambda_env: dict[str, str], dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCORESBY_SCENES_PER_JOB", "10")
    first = init.handler({"run_name": "partly", "scenes": [scene_obj(1)]}, None)
    sid = first["items"][0]["scenes"][0]["scene_id"]
    products = first["items"][0]["scenes"][0]["products"]
    outputs = {p: f"{OUTPUT_ROOT}partly/{sid}/{sid}_{p}.tif" for p in products}
    DynamoTaskLog(TABLE).succeed("partly", sid, outputs, 1.0)
    second = init.handler({"run_name": "partly", "scenes": [scene_obj(i) for i in range(4)]}, None)
    [item] = second["items"]
    assert [s["scene_id"] for s in item["scenes"]] == [scene_obj(i)["scene_id"] for i in (0, 2, 3)]
