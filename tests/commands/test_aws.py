"""`scoresby submit`, `rerun` and `status --stack` against moto: a CloudFormation stack whose Outputs name a
moto state machine and a task table with the real schema (worker.task_log_dynamo.table_schema)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from scoresby.cli import main
from scoresby.commands import aws as aws_runs
from scoresby.commands import stack
from scoresby.core import contract
from scoresby.core.scene_list import parse_scene_list
from scoresby.core.task_log import FAILED, RUNNING, SUCCEEDED, TaskRecord
from scoresby.stores.dynamo_log import DynamoTaskLog, table_schema
from tests.conftest import fake_aws_env

REGION = "eu-west-1"
STACK = "ScoresbyTest"
TABLE = "scoresby-tasks"
WORK_BUCKET = "scoresby-work"
L8 = "s3://usgs-landsat/collection02/level-2/standard/oli-tirs/2014/226/010/LC08_L2SP_226010_20140820_20200911_02_T1/"
S2 = "s3://sentinel-cogs/sentinel-s2-l2a-cogs/29/R/KH/2020/2/S2A_29RKH_20200219_0_L2A/"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    """moto with fake credentials, a state machine, the task table and a stack whose outputs name them."""
    fake_aws_env(monkeypatch, REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        iam = boto3.client("iam")
        role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        sfn = boto3.client("stepfunctions")
        definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
        machine = sfn.create_state_machine(name="scoresby", definition=json.dumps(definition), roleArn=role)
        boto3.client("dynamodb").create_table(TableName=TABLE, **table_schema())
        boto3.client("s3").create_bucket(
            Bucket=WORK_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        template = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {
                contract.STATE_MACHINE_OUTPUT: {"Value": machine["stateMachineArn"]},
                contract.TASK_TABLE_OUTPUT: {"Value": TABLE},
                contract.OUTPUT_BUCKET_OUTPUT: {"Value": "scoresby-output"},
                contract.OUTPUT_ROOT_OUTPUT: {"Value": "s3://scoresby-output/products/"},
                contract.WORK_BUCKET_OUTPUT: {"Value": WORK_BUCKET},
            },
        }
        boto3.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(template))
        yield {"sfn": sfn, "machine": machine["stateMachineArn"]}


def write_list(tmp_path: Path, doc: object, name: str = "scenes.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def executions(aws) -> list[dict]:
    return aws["sfn"].list_executions(stateMachineArn=aws["machine"])["executions"]


# --- pure helpers ----------------------------------------------------------------------------------


def test_execution_name_is_deterministic_short_and_safe():
    payload = {"run_name": "x", "scenes": [{"scene_id": "a"}]}
    name = stack.execution_name("sund.2014 run/α" + "x" * 100, payload)
    assert name == stack.execution_name("sund.2014 run/α" + "x" * 100, dict(reversed(payload.items())))
    assert len(name) <= 80
    assert re.fullmatch(r"[A-Za-z0-9_-]+", name)
    assert name.startswith("sund-2014-run--")
    assert stack.execution_name("r", {"other": 1}) != stack.execution_name("r", payload)


def test_console_link_names_region_and_execution():
    arn = "arn:aws:states:eu-west-1:123456789012:execution:scoresby:run-1"
    assert stack.console_link("eu-west-1", arn) == (
        "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1"
        "#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:scoresby:run-1"
    )


def test_execution_arn_for_matches_the_arn_step_functions_gives():
    machine = "arn:aws:states:eu-west-1:123456789012:stateMachine:scoresby"
    assert (
        stack.execution_arn_for(machine, "n") == "arn:aws:states:eu-west-1:123456789012:execution:scoresby:n"
    )


def test_format_status_counts_every_status_and_lists_failures_with_reasons():
    records = [
        TaskRecord("r", "a", status=SUCCEEDED),
        TaskRecord("r", "b", status=FAILED, attempts=2, error={"type": "MissingBands", "message": "no B7"}),
        TaskRecord("r", "c", status=RUNNING),
    ]
    text = aws_runs.format_status("r", records)
    assert "3 scenes" in text
    assert "1 SUCCEEDED" in text and "1 FAILED" in text and "1 RUNNING" in text and "0 PENDING" in text
    assert "FAILED b  MissingBands: no B7  (attempts 2)" in text


def test_watch_run_polls_until_nothing_is_pending_or_running():
    rounds = [
        [TaskRecord("r", "a", status=RUNNING), TaskRecord("r", "b")],
        [TaskRecord("r", "a", status=SUCCEEDED), TaskRecord("r", "b", status=RUNNING)],
        [TaskRecord("r", "a", status=SUCCEEDED), TaskRecord("r", "b", status=FAILED)],
    ]
    calls, sleeps = iter(rounds), []
    final = aws_runs.watch_run(lambda: next(calls), interval_s=5, sleep=sleeps.append)
    assert [r.status for r in final] == [SUCCEEDED, FAILED]
    assert sleeps == [5, 5]


# --- submit ----------------------------------------------------------------------------------------


def test_submit_starts_one_execution_and_prints_run_id_and_console_link(aws, tmp_path, capsys):
    doc = {"run_name": "sund-2014", "scenes": [{"source": L8}, {"source": S2, "products": ["ndvi"]}]}
    assert main(["submit", str(write_list(tmp_path, doc)), "--stack", STACK]) == 0
    out = capsys.readouterr().out
    [execution] = executions(aws)
    assert execution["name"].startswith("sund-2014-")
    assert "run id: sund-2014" in out
    assert (
        f"https://{REGION}.console.aws.amazon.com/states/home?region={REGION}#/v2/executions/details/" in out
    )
    assert execution["executionArn"] in out
    sent = json.loads(aws["sfn"].describe_execution(executionArn=execution["executionArn"])["input"])
    # the input is the normalised list: the init Lambda (same module) accepts it back unchanged
    assert sent["run_name"] == "sund-2014"
    assert parse_scene_list(sent).to_dict()["scenes"] == sent["scenes"]
    assert [s["scene_id"] for s in sent["scenes"]] == [
        "LC08_L2SP_226010_20140820_20200911_02_T1",
        "S2A_29RKH_20200219_0_L2A",
    ]


def test_submit_of_a_list_with_composites_says_the_place_stage_makes_the_place_products(
    aws, tmp_path, capsys
):
    doc = {
        "run_name": "sund-place",
        "aoi": {"bbox": [-27.0, 70.2, -24.5, 71.2]},
        "composites": {"period": "year"},
        "scenes": [{"source": L8}],
    }
    assert main(["submit", str(write_list(tmp_path, doc)), "--stack", STACK]) == 0
    captured = capsys.readouterr()
    assert "run id: sund-place" in captured.out
    assert "local runs only" not in captured.out + captured.err  # issue 22: AWS runs make them too
    (line,) = [line for line in captured.out.splitlines() if line.startswith("place products:")]
    assert "place stage" in line and "sund-place/places/" in line


def test_submitting_the_same_list_twice_starts_one_execution(aws, tmp_path, capsys):
    path = write_list(tmp_path, [{"source": L8}])
    assert main(["submit", str(path), "--stack", STACK, "--name", "twice"]) == 0
    first = capsys.readouterr().out
    assert main(["submit", str(path), "--stack", STACK, "--name", "twice"]) == 0
    second = capsys.readouterr().out
    assert len(executions(aws)) == 1
    assert "already submitted" in second
    assert first.splitlines()[-3] == second.splitlines()[-3]  # same execution ARN line


def test_submit_with_another_name_is_another_run(aws, tmp_path):
    path = write_list(tmp_path, [{"source": L8}])
    assert main(["submit", str(path), "--stack", STACK, "--name", "one"]) == 0
    assert main(["submit", str(path), "--stack", STACK, "--name", "two"]) == 0
    assert sorted(e["name"].rsplit("-", 1)[0] for e in executions(aws)) == ["one", "two"]


def test_submit_rejects_an_invalid_list_locally_with_every_problem(aws, tmp_path, capsys):
    doc = {"scenes": [{"source": L8, "products": ["ndvi", "nvdi"]}, {"source": 42}]}
    assert main(["submit", str(write_list(tmp_path, doc)), "--stack", STACK]) == 2
    err = capsys.readouterr().err
    assert "nothing was submitted" in err
    assert "nvdi" in err and "source" in err
    assert executions(aws) == []


def test_submit_rejects_local_sources_which_batch_cannot_read(aws, tmp_path, capsys):
    (tmp_path / "scene").mkdir()
    assert main(["submit", str(write_list(tmp_path, [{"source": "scene"}])), "--stack", STACK]) == 2
    assert "local path" in capsys.readouterr().err
    assert executions(aws) == []


def test_submit_accepts_the_blog_shape(aws, tmp_path):
    cell = {
        "files": "s3://sentinel-s2-l2a/tiles/48/R/XT/2020/8/1/0/R10m/",
        "date": "20200801",
        "region_name": "x",
    }
    assert main(["submit", str(write_list(tmp_path, {"detail": {"cells": [cell]}})), "--stack", STACK]) == 0
    [execution] = executions(aws)
    sent = json.loads(aws["sfn"].describe_execution(executionArn=execution["executionArn"])["input"])
    assert "output" not in sent  # the stack's output root applies
    assert sent["scenes"][0]["products"] == ["band_merge", "true_color"]


def test_submit_rejects_an_output_outside_the_stack_output_root(aws, tmp_path, capsys):
    cell = {
        "files": "s3://sentinel-s2-l2a/tiles/48/R/XT/2020/8/1/0/R10m/",
        "date": "20200801",
        "output_bucket": "someone-elses-bucket",
    }
    assert main(["submit", str(write_list(tmp_path, {"detail": {"cells": [cell]}})), "--stack", STACK]) == 2
    err = capsys.readouterr().err
    assert "s3://someone-elses-bucket/" in err and "s3://scoresby-output/products/" in err
    assert executions(aws) == []


def test_a_list_over_the_input_quota_goes_to_s3_and_the_input_names_it(aws, tmp_path):
    doc = {
        "run_name": "backfill",
        "products": ["ndvi"],
        "scenes": [
            {"source": f"s3://sentinel-cogs/sentinel-s2-l2a-cogs/36/Q/WD/2020/7/S2A_36QWD_2020{i:05d}_0_L2A/"}
            for i in range(3000)
        ],
    }
    path = write_list(tmp_path, doc)
    assert main(["submit", str(path), "--stack", STACK]) == 0
    [execution] = executions(aws)
    sent = json.loads(aws["sfn"].describe_execution(executionArn=execution["executionArn"])["input"])
    assert sent == {"scene_list_s3": f"s3://{WORK_BUCKET}/lists/{execution['name']}.json"}
    stored = json.loads(
        boto3.client("s3")
        .get_object(Bucket=WORK_BUCKET, Key=f"lists/{execution['name']}.json")["Body"]
        .read()
    )
    assert len(stored["scenes"]) == 3000 and stored["run_name"] == "backfill"
    assert parse_scene_list(stored).to_dict()["scenes"] == stored["scenes"]
    # the same list again: same execution, nothing new stored or started
    assert main(["submit", str(path), "--stack", STACK]) == 0
    assert len(executions(aws)) == 1


def test_submit_to_a_missing_stack_says_so(aws, tmp_path, capsys):
    assert main(["submit", str(write_list(tmp_path, [{"source": L8}])), "--stack", "Nope"]) == 2
    assert "stack Nope not found" in capsys.readouterr().err


# --- status and rerun ------------------------------------------------------------------------------


def seed_run(run_id: str) -> DynamoTaskLog:
    """A finished run in the task log: one SUCCEEDED, two FAILED scenes."""
    log = DynamoTaskLog(TABLE)
    plan = parse_scene_list(
        {
            "run_name": run_id,
            "output": "s3://scoresby-output/products/",
            "scenes": [
                {"source": L8},
                {"source": S2, "products": ["ndvi"]},
                {"scene_id": "broken", "source": "s3://bucket/broken/", "products": ["true_color"]},
            ],
        }
    )
    log.plan(run_id, list(plan.scenes), f"s3://scoresby-output/products/{run_id}", False)
    ids = [s.scene_id for s in plan.scenes]
    for scene_id in ids:
        log.start(run_id, scene_id, "job-1")
    log.succeed(run_id, ids[0], {"true_color": "s3://x.tif"}, 3.0)
    log.fail(run_id, ids[1], "MissingBands", "scene S2A_29RKH_20200219_0_L2A: ndvi needs B08", 1.0)
    log.fail(run_id, ids[2], "SourceNotFound", "scene broken: no files under s3://bucket/broken/", 0.5)
    return log


def test_status_of_an_aws_run_counts_and_lists_failures(aws, capsys):
    seed_run("r1")
    assert main(["status", "r1", "--stack", STACK]) == 1  # some scenes failed
    out = capsys.readouterr().out
    assert f"run r1 (DynamoDB {TABLE}): 3 scenes" in out
    assert "1 SUCCEEDED" in out and "2 FAILED" in out
    assert "FAILED S2A_29RKH_20200219_0_L2A  MissingBands: scene S2A_29RKH_20200219_0_L2A" in out
    assert "FAILED broken  SourceNotFound" in out


def test_status_watch_returns_once_the_run_is_finished(aws, capsys):
    seed_run("r1")
    assert main(["status", "r1", "--stack", STACK, "--watch"]) == 1
    captured = capsys.readouterr()
    assert "3/3" in captured.err  # the tqdm bar reached the end
    assert "2 FAILED" in captured.out


def test_status_of_an_unknown_run_says_so(aws, capsys):
    assert main(["status", "nope", "--stack", STACK]) == 2
    assert "run nope has no task-log rows" in capsys.readouterr().err


def test_status_of_a_missing_stack_says_so(aws, capsys):
    assert main(["status", "r1", "--stack", "Nope"]) == 2
    assert "stack Nope not found" in capsys.readouterr().err


def test_rerun_failed_resubmits_only_the_failed_scenes_under_the_same_run_name(aws, capsys):
    seed_run("r1")
    assert main(["rerun", "r1", "--failed", "--stack", STACK]) == 0
    assert "resubmitted run r1: 2 scenes" in capsys.readouterr().out
    [execution] = executions(aws)
    sent = json.loads(aws["sfn"].describe_execution(executionArn=execution["executionArn"])["input"])
    assert sent["run_name"] == "r1"
    assert sent["overwrite"] is True
    assert sent["output"] == "s3://scoresby-output/products/"
    assert [(s["scene_id"], s["products"]) for s in sent["scenes"]] == [
        ("S2A_29RKH_20200219_0_L2A", ["ndvi"]),
        ("broken", ["true_color"]),
    ]
    # asking again before the rerun has changed anything finds the same execution
    assert main(["rerun", "r1", "--failed", "--stack", STACK]) == 0
    assert "already resubmitted" in capsys.readouterr().out
    assert len(executions(aws)) == 1


def test_rerun_after_another_failed_round_starts_a_new_execution(aws, capsys):
    log = seed_run("r1")
    assert main(["rerun", "r1", "--failed", "--stack", STACK]) == 0
    log.start("r1", "broken", "job-2")
    log.fail("r1", "broken", "SourceNotFound", "still missing", 0.1)
    assert main(["rerun", "r1", "--failed", "--stack", STACK]) == 0
    assert len(executions(aws)) == 2


def test_rerun_with_nothing_failed_starts_nothing(aws, capsys):
    log = DynamoTaskLog(TABLE)
    plan = parse_scene_list({"run_name": "ok", "scenes": [{"source": L8}]})
    log.plan("ok", list(plan.scenes), "s3://o/ok", False)
    log.start("ok", plan.scenes[0].scene_id, "j")
    log.succeed("ok", plan.scenes[0].scene_id, {"ndvi": "s3://o/x.tif"}, 1.0)
    assert main(["rerun", "ok", "--failed", "--stack", STACK]) == 0
    assert "nothing to rerun" in capsys.readouterr().out
    assert executions(aws) == []


def test_rerun_keeps_the_stretch_and_sensor_the_run_was_submitted_with(aws, tmp_path, capsys):
    stretch = {"true_color": {"mode": "fixed", "ranges": [[5900, 11000], [6200, 11000], [7600, 11000]]}}
    doc = {
        "run_name": "r2",
        "output": "s3://scoresby-output/products/custom/",
        "scenes": [
            {"source": L8, "products": ["true_color"], "stretch": stretch, "sensor": "landsat-8"},
            {"source": S2, "products": ["ndvi"]},
        ],
    }
    assert main(["submit", str(write_list(tmp_path, doc)), "--stack", STACK]) == 0
    # what the init Lambda and the jobs would have recorded: both scenes failed
    plan = parse_scene_list(doc)
    log = DynamoTaskLog(TABLE)
    log.plan("r2", list(plan.scenes), plan.output, False)
    for s in plan.scenes:
        log.start("r2", s.scene_id, "job")
        log.fail("r2", s.scene_id, "UnreadableRaster", "timeout", 1.0)
    assert main(["rerun", "r2", "--failed", "--stack", STACK]) == 0
    newest = executions(aws)[0]
    sent = json.loads(aws["sfn"].describe_execution(executionArn=newest["executionArn"])["input"])
    assert sent["overwrite"] is True
    assert sent["output"] == "s3://scoresby-output/products/custom/"
    landsat = next(s for s in sent["scenes"] if s["scene_id"].startswith("LC08"))
    assert landsat["stretch"]["true_color"]["ranges"] == [[5900, 11000], [6200, 11000], [7600, 11000]]
    assert landsat["sensor"] == "landsat-8"


def test_rerun_of_an_unknown_run_says_so(aws, capsys):
    assert main(["rerun", "nope", "--failed", "--stack", STACK]) == 2
    assert "run nope has no task-log rows" in capsys.readouterr().err
    assert executions(aws) == []


def test_submit_expands_a_search_block_into_the_scenes_it_starts(aws, tmp_path, capsys, stac_api):
    doc = {
        "run_name": "sund-search",
        "products": ["ndvi"],
        "search": {
            "stac": stac_api.url,
            "collections": ["sentinel-2-l2a"],
            "bbox": [-180, -90, 180, 90],
            "datetime": "2025-01-01/..",
        },
    }
    assert main(["submit", str(write_list(tmp_path, doc)), "--stack", STACK]) == 0
    [execution] = executions(aws)
    sent = json.loads(aws["sfn"].describe_execution(executionArn=execution["executionArn"])["input"])
    assert len(sent["scenes"]) == 6 and all(s["products"] == ["ndvi"] and "item" in s for s in sent["scenes"])
    assert parse_scene_list(sent).to_dict()["scenes"] == sent["scenes"]  # the init Lambda takes it as is
    doc["search"]["datetime"] = "1990-01-01/1990-12-31"
    assert main(["submit", str(write_list(tmp_path, doc)), "--stack", STACK]) == 0
    assert "the search found no scenes; nothing submitted" in capsys.readouterr().out
    assert len(executions(aws)) == 1


def test_a_search_too_large_to_send_expanded_goes_as_its_search_block(
    aws, tmp_path, capsys, stac_api, monkeypatch
):
    doc = {
        "run_name": "sund-big-search",
        "products": ["ndvi"],
        "search": {
            "stac": stac_api.url,
            "collections": ["sentinel-2-l2a"],
            "bbox": [-180, -90, 180, 90],
            "datetime": "2025-01-01/..",
        },
    }
    monkeypatch.setattr(aws_runs, "INPUT_INLINE_MAX", 2000)  # six inline items are about 40 kB
    assert main(["submit", str(write_list(tmp_path, doc)), "--stack", STACK]) == 0
    [execution] = executions(aws)
    sent = json.loads(aws["sfn"].describe_execution(executionArn=execution["executionArn"])["input"])
    assert sent == doc  # the init Lambda expands it (tests/lambdas/test_init_watch.py)
    assert "its search block" in capsys.readouterr().out


def test_the_python_api_submits_and_reads_an_aws_run_like_the_cli(aws, tmp_path):
    import scoresby

    started = scoresby.submit({"run_name": "api-run", "scenes": [{"source": L8}]}, stack=STACK)
    assert started.run_name == "api-run" and not started.already_existed
    again = scoresby.submit({"run_name": "api-run", "scenes": [{"source": L8}]}, stack=STACK)
    assert again.already_existed and again.execution_arn == started.execution_arn
    assert len(executions(aws)) == 1
    with pytest.raises(scoresby.InvalidInput, match="local path"):
        scoresby.submit([{"source": str(tmp_path)}], stack=STACK)
    with pytest.raises(scoresby.PipelineError, match="NoSuchStack"):
        scoresby.submit([{"source": L8}], stack="NoSuchStack")
    with pytest.raises(scoresby.InvalidInput, match="has no scenes in the task log"):
        scoresby.status("never-ran", stack=STACK)
