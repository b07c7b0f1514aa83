"""The scale path: large lists go through the init Lambda into an S3 item list read by the Distributed Map.

What runs where (moto 5.2.5):
- The Distributed Map really executes in moto: with the init handler's inline threshold lowered to 1 item,
  two real scenes take the S3 item-list branch (ItemReader s3:getObject, JSON) end to end, real Batch jobs
  included. Only the threshold differs from a 10,000-scene run.
- A 10,000-scene list (about 1 MB, over the 256 KiB execution-input quota) is stored in S3 by
  `scoresby submit`'s code and read back and planned by the real init code (`plan_run`) into a real S3
  item list in moto. Its
  task-log writes go to an in-memory planner: moto's DynamoDB answers the per-scene GSI lookup by scanning
  the whole table, so 10,000 scenes took 504 s there (O(n^2)); the DynamoDB planning itself is covered by
  the 600-scene test below and by tests/lambdas.
- What moto cannot show: real Distributed Map concurrency (child executions, MaxConcurrency throttling) and
  the 256 KiB execution-input quota, which moto does not enforce. Those are checked on the definition and
  on the payload sizes.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from infra.settings import CONTEXT_DEFAULTS
from scoresby.commands import aws as aws_runs
from scoresby.commands.stack import StackInfo, execution_input
from scoresby.core.config import InitSettings
from scoresby.core.scene_list import parse_scene_list
from scoresby.core.task_log import SUCCEEDED
from scoresby.steps import init_run
from scoresby.stores.dynamo_log import DynamoTaskLog
from tests.e2e import harness
from tests.e2e.harness import L8, L8_ID, S2, S2_ID, SOURCES_BUCKET

pytestmark = pytest.mark.slow

SFN_PAYLOAD_QUOTA = 256 * 1024
"""Step Functions' limit on an execution input and on every state's input/output (bytes)."""


def big_list(n: int, run_name: str) -> dict[str, Any]:
    """n distinct Sentinel-2 COG scenes, the shape of a real backfill list."""
    return {
        "run_name": run_name,
        "products": ["true_color", "ndvi"],
        "scenes": [
            {"source": f"s3://sentinel-cogs/sentinel-s2-l2a-cogs/36/Q/WD/2020/7/S2A_36QWD_2020{i:05d}_0_L2A/"}
            for i in range(n)
        ],
    }


class InMemoryPlanner:
    """Stands in for DynamoTaskLog.plan where moto's DynamoDB is too slow (10,000 GSI scans): plans all."""

    def __init__(self) -> None:
        self.planned: list[Any] = []

    def plan(
        self, run_id: str, scenes: list[Any], output_root: str, overwrite: bool, *, redo: Any = ()
    ) -> list[Any]:
        """Every scene is new: all of them run."""
        self.planned = list(scenes)
        return list(scenes)


def init_settings(stack: harness.MotoStack) -> InitSettings:
    """The init function's settings exactly as the template sets its environment."""
    fn_id = next(k for k, v in stack.functions.items() if v.startswith("lambdas.init_pipeline"))
    env = boto3.client("lambda").get_function_configuration(FunctionName=fn_id)["Environment"]["Variables"]
    return InitSettings.from_env(env)


def distributed_map(stack: harness.MotoStack) -> dict[str, Any]:
    [(name, state)] = [
        (k, v)
        for k, v in stack.definition["States"].items()
        if v["Type"] == "Map"
        and k.startswith("Scenes")  # the place stage's Maps: test_place_stage_e2e.py
        and v.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED"
    ]
    return state


def test_ten_thousand_scenes_go_from_submit_through_s3_to_one_s3_item_list(world):
    stack: harness.MotoStack = world["stack"]
    settings = init_settings(stack)
    # `scoresby submit`: the ~1 MB list cannot be the execution input; it is stored and named instead
    plan = parse_scene_list(big_list(10_000, "backfill-10k"))
    payload = execution_input(plan)
    info = StackInfo(harness.STACK_NAME, harness.REGION, stack.outputs)
    reference = aws_runs.store_if_large(boto3.session.Session(), info, "backfill-10k-x", payload)
    assert reference == {"scene_list_s3": f"s3://{stack.items_bucket}/lists/backfill-10k-x.json"}
    assert len(json.dumps(reference)) < 200
    # the init function: reads the stored list, plans it, writes the item list for the Distributed Map
    planner = InMemoryPlanner()
    state = init_run.plan_run(reference, settings, task_log=planner)
    assert len(planner.planned) == 10_000
    assert state["inline"] is False
    assert state["counts"] == {"scenes": 10_000, "to_run": 10_000, "skipped": 0, "duplicates": 0}
    assert state["items_s3"]["bucket"] == stack.items_bucket
    assert state["items_s3"]["key"].startswith("items/backfill-10k/")
    # the state handed to the Map stays far below the payload quota; the items live in S3
    assert len(json.dumps(state)) < 2_000
    body = (
        boto3.client("s3").get_object(Bucket=stack.items_bucket, Key=state["items_s3"]["key"])["Body"].read()
    )
    items = json.loads(body)
    assert len(items) == 10_000
    assert len({i["scenes"][0]["scene_id"] for i in items}) == 10_000
    assert all(i["job_name"].startswith("scoresby-") and len(i["job_name"]) <= 128 for i in items)
    assert items[0]["scenes"][0]["products"] == ["true_color", "ndvi"]


def test_a_list_over_the_inline_limit_is_planned_in_dynamodb_and_written_to_s3(world):
    stack: harness.MotoStack = world["stack"]
    n = init_run.INLINE_MAX_ITEMS + 100
    state = init_run.plan_run(big_list(n, "backfill-600"), init_settings(stack))
    assert state["inline"] is False and state["counts"]["to_run"] == n
    rows = DynamoTaskLog(stack.table_name).records("backfill-600")
    assert len(rows) == n and {r.status for r in rows} == {"PENDING"}
    items = json.loads(
        boto3.client("s3").get_object(Bucket=stack.items_bucket, Key=state["items_s3"]["key"])["Body"].read()
    )
    assert [i["scenes"][0]["scene_id"] for i in items] == [r.scene_id for r in rows]


def test_the_distributed_map_reads_the_item_list_the_init_function_writes(world):
    stack: harness.MotoStack = world["stack"]
    dmap = distributed_map(stack)
    reader = dmap["ItemReader"]
    assert reader["Resource"] == "arn:aws:states:::s3:getObject"
    assert reader["ReaderConfig"]["InputType"] == "JSON"
    # the bucket the definition reads is the bucket the init function's environment names
    assert reader["Parameters"]["Bucket"] == init_settings(stack).items_bucket == stack.items_bucket
    assert reader["Parameters"]["Key.$"] == "$.items_s3.key"
    assert dmap["MaxConcurrency"] == CONTEXT_DEFAULTS["mapMaxConcurrency"]
    assert dmap["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    # the Choice sends inline=false to it, and it feeds the same summary step as the inline map
    name = next(k for k, v in stack.definition["States"].items() if v is dmap)
    [choice] = [  # ItemsInline? (NothingNew?, the watches' choice, comes before it)
        v
        for v in stack.definition["States"].values()
        if v["Type"] == "Choice" and name in (v.get("Default"), *(c["Next"] for c in v["Choices"]))
    ]
    assert choice["Default"] == name or any(
        c["Next"] == name and c.get("BooleanEquals") is False for c in choice["Choices"]
    )
    [inline] = [
        v
        for k, v in stack.definition["States"].items()
        if v["Type"] == "Map" and k.startswith("Scenes") and v is not dmap
    ]
    assert inline["MaxConcurrency"] == dmap["MaxConcurrency"] and inline["Next"] == dmap["Next"]
    # one scene chain, two copies: the same states apart from their name prefix
    shape = {k.removeprefix("Distributed"): v["Type"] for k, v in dmap["ItemProcessor"]["States"].items()}
    inline_shape = {k.removeprefix("Inline"): v["Type"] for k, v in inline["ItemProcessor"]["States"].items()}
    assert shape == inline_shape


def test_init_output_and_item_lists_stay_under_the_payload_quota_and_the_input_does_not(world):
    """The 10,000-scene *input* itself is ~1 MB: over the 256 KiB quota of StartExecution on AWS."""
    doc = big_list(10_000, "backfill-10k")
    assert len(json.dumps(doc)) > SFN_PAYLOAD_QUOTA  # documented limit: see docs/OPERATIONS.md
    inline = big_list(init_run.INLINE_MAX_ITEMS, "inline-max")
    state = init_run.plan_run(inline, init_settings(world["stack"]), task_log=InMemoryPlanner())
    assert state["inline"] is True
    assert len(json.dumps(state)) < SFN_PAYLOAD_QUOTA


def test_the_distributed_map_branch_executes_in_moto_with_real_jobs(world, monkeypatch):
    stack: harness.MotoStack = world["stack"]
    monkeypatch.setattr(init_run, "INLINE_MAX_ITEMS", 1)  # the only difference from a 10,000-scene run
    jobs_before = len(world["container"].runs)
    doc = {
        "run_name": "e2e-distributed",
        "products": ["ndsi"],  # made by no other e2e test: a done scene would be SKIPPED, with no job
        "scenes": [{"source": f"s3://{SOURCES_BUCKET}/{L8}/"}, {"source": f"s3://{SOURCES_BUCKET}/{S2}/"}],
    }
    described = stack.wait(stack.start("e2e-distributed", doc))
    assert described["status"] == "SUCCEEDED", described.get("cause")
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in stack.history(described["executionArn"])
        if "stateEnteredEventDetails" in e
    ]
    assert "ScenesFromS3" in entered and "ScenesInline" not in entered
    runs = harness.scene_runs(world["container"].runs[jobs_before:])
    assert sorted(r.job_name for r in runs) == sorted(["scoresby-" + L8_ID, "scoresby-" + S2_ID])
    assert all(r.returncode == 0 for r in runs), [r.stderr[-1500:] for r in runs]
    rows = DynamoTaskLog(stack.table_name).records("e2e-distributed")
    assert {r.scene_id: r.status for r in rows} == {L8_ID: SUCCEEDED, S2_ID: SUCCEEDED}
    assert json.loads(described["output"])["counts"][SUCCEEDED] == 2
    stack.drain_messages()


def test_a_list_reference_outside_the_work_bucket_lists_prefix_is_invalid_input(world):
    from scoresby.core.errors import InvalidInput

    stack: harness.MotoStack = world["stack"]
    settings = init_settings(stack)
    for bad in (
        {"scene_list_s3": "s3://someone-elses-bucket/lists/x.json"},
        {"scene_list_s3": f"s3://{stack.items_bucket}/items/x.json"},
        {"scene_list_s3": f"s3://{stack.items_bucket}/lists/x.json", "scenes": []},
    ):
        with pytest.raises(InvalidInput, match="scene_list_s3"):
            init_run.plan_run(bad, settings, task_log=InMemoryPlanner())
    with pytest.raises(InvalidInput, match="does not exist"):
        init_run.plan_run(
            {"scene_list_s3": f"s3://{stack.items_bucket}/lists/missing.json"},
            settings,
            task_log=InMemoryPlanner(),
        )
