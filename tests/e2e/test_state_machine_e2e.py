"""The deployed flow end to end under moto: synthesized state machine, real Lambda handlers, real worker.

One moto world for the tests/e2e package (fixtures in conftest.py): `mock_aws` in this process (Step
Functions executing ASL, Lambda, Batch, DynamoDB, SNS, SQS, S3, CloudFormation) plus a `ThreadedMotoServer`
in this process that serves the *same* backends over HTTP to the worker subprocesses. GDAL in those
subprocesses writes to it without trouble: the deadlock TOOLCHAIN-NOTES.md describes is GDAL writing to a
server that runs in GDAL's *own* process; here the writer is always another process (as the Batch container
is on AWS). A separate `moto_server` subprocess would split S3 from DynamoDB/Step Functions into two worlds
that cannot see each other's data.

Every Batch job the state machine submits runs the real `scoresby process` entrypoint, with exactly the
submitted command and environment, against real Landsat 8 / Sentinel-2 files uploaded at package start.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest

from scoresby.cli import main as scoresby
from scoresby.core.task_log import FAILED, SKIPPED, SUCCEEDED
from scoresby.stores.dynamo_log import DynamoTaskLog
from tests import prerequisites
from tests.e2e import harness
from tests.e2e.harness import BLOG_FILES, BROKEN_ID, L8, L8_ID, S2, S2_ID, SOURCES_BUCKET
from tests.e2e.moto_patches import BatchOutcome, throttle_batch_submits

pytestmark = pytest.mark.slow

MAIN_RUN = "e2e-main"
SAMPLE_MESSAGES_ENV = "SCORESBY_SAMPLE_MESSAGES"
"""Set to a file path to get the run's SNS messages there as Markdown (the samples in docs/OPERATIONS.md)."""


def main_list() -> dict[str, Any]:
    """Two good scenes and one whose source lacks SR_B7, which false_color_ice needs."""
    return {
        "run_name": MAIN_RUN,
        "scenes": [
            {"source": f"s3://{SOURCES_BUCKET}/{L8}/", "products": ["true_color", "ndvi"]},
            {"source": f"s3://{SOURCES_BUCKET}/{S2}/", "products": ["true_color", "ndvi"]},
            {
                "scene_id": BROKEN_ID,
                "source": f"s3://{SOURCES_BUCKET}/broken/{L8_ID}/",
                "products": ["false_color_ice"],
            },
        ],
    }


@pytest.fixture(scope="module")
def main_run(world: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The main list submitted with `scoresby submit`, run to the end."""
    stack: harness.MotoStack = world["stack"]
    path = tmp_path_factory.mktemp("lists") / "main.json"
    path.write_text(json.dumps(main_list()))
    jobs_before = len(world["container"].runs)
    assert scoresby(["submit", str(path), "--stack", harness.STACK_NAME]) == 0
    [execution] = main_executions(stack)
    described = stack.wait(execution["executionArn"])
    return {
        "execution": described,
        "list_path": path,
        "runs": harness.scene_runs(world["container"].runs[jobs_before:]),
        "all_runs": list(world["container"].runs[jobs_before:]),
        "messages": stack.drain_messages(),
    }


def main_executions(stack: harness.MotoStack) -> list[dict[str, Any]]:
    """Executions `scoresby submit` started for the main list (named <run name>-<hash>)."""
    sfn = boto3.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    mine = [e for e in executions if e["name"].startswith(MAIN_RUN + "-")]
    return [
        e
        for e in mine
        if "overwrite" not in json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])
    ]


def records(stack: harness.MotoStack, run: str) -> dict[str, Any]:
    return {r.scene_id: r for r in DynamoTaskLog(stack.table_name).records(run)}


def s3_keys(bucket: str, prefix: str = "") -> set[str]:
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def job_failure_detail(runs: list[harness.ContainerRun]) -> str:
    return "\n".join(f"{r.job_name} rc={r.returncode}: {r.stderr[-1500:]}" for r in runs if r.returncode)


# --- the main run ----------------------------------------------------------------------------------


def test_execution_succeeds_and_runs_one_real_job_per_scene(main_run):
    assert main_run["execution"]["status"] == "SUCCEEDED", main_run["execution"].get("cause")
    runs = main_run["runs"]
    assert sorted(r.job_name for r in runs) == sorted(
        ["scoresby-" + L8_ID, "scoresby-" + S2_ID, "scoresby-" + BROKEN_ID]
    )
    by_name = {r.job_name: r for r in runs}
    assert by_name["scoresby-" + L8_ID].returncode == 0, job_failure_detail(runs)
    assert by_name["scoresby-" + S2_ID].returncode == 0, job_failure_detail(runs)
    broken = by_name["scoresby-" + BROKEN_ID]
    assert broken.returncode != 0
    assert "B7" in broken.stderr
    # exactly what the state machine submitted: the image entrypoint + its command override, and the
    # environment of the job definition plus the per-job overrides
    assert broken.argv[-4:] == [
        "--output",
        f"s3://{world_output_bucket(main_run)}/products/",
        "--run-name",
        MAIN_RUN,
    ]
    [scene] = json.loads(broken.argv[-5])  # the job's scenes: one per job in these tests
    assert scene["scene_id"] == BROKEN_ID
    assert broken.job_env["SCORESBY_RUN_ID"] == MAIN_RUN
    assert broken.job_env["SCORESBY_OVERWRITE"] == "false"
    assert broken.job_env["SCORESBY_TASK_TABLE"]
    assert broken.job_env["MANAGED_BY_AWS"] == "STARTED_BY_STEP_FUNCTIONS"
    # no AWS keys in the job's environment: on AWS the job role provides credentials
    assert not {k for k in broken.job_env if k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}


def test_each_job_ran_as_a_container_of_the_image_with_the_jobs_command_env_and_limits(
    main_run, world, template
):
    container: harness.WorkerContainer = world["container"]
    if container.image is None:
        prerequisites.missing("Batch jobs ran as host processes (no Docker)")
    _, job_definition = harness.only(template, "AWS::Batch::JobDefinition", "BatchWorkerJob")
    props = job_definition["Properties"]["ContainerProperties"]
    limits = {r["Type"]: r["Value"] for r in props["ResourceRequirements"]}
    assert props["ReadonlyRootFilesystem"] is True
    batch = boto3.client("batch")
    for run in main_run["runs"]:
        at = run.argv.index(container.image)
        options, command = run.argv[1:at], run.argv[at + 1 :]
        assert options[0] == "run"
        option = {a: b for a, b in zip(options, options[1:], strict=False) if a.startswith("--")}
        assert (option["--cpus"], option["--memory"]) == (
            f"{float(limits['VCPU']):g}",
            f"{limits['MEMORY']}m",
        )
        assert "--read-only" in options
        assert option["--mount"] == "type=volume,dst=/tmp"  # the job definition's scratch volume
        env = dict(b.split("=", 1) for a, b in zip(options, options[1:], strict=False) if a == "--env")
        submitted = batch.describe_jobs(jobs=[run.job_id])["jobs"][0]["container"]
        assert command == submitted["command"]
        assert {e["name"]: e["value"] for e in submitted.get("environment", [])}.items() <= env.items()
        assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == container.credentials_url
        assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} & set(env)


def world_output_bucket(main_run: dict[str, Any]) -> str:
    return json.loads(main_run["execution"]["output"])["summary_uri"].split("/")[2]


def test_outputs_are_valid_cogs_with_stac_items_in_the_output_bucket(main_run, world, tmp_path):
    from rio_cogeo.cogeo import cog_validate

    stack: harness.MotoStack = world["stack"]
    keys = s3_keys(stack.output_bucket, f"products/{MAIN_RUN}/")
    s3 = boto3.client("s3")
    for scene_id in (L8_ID, S2_ID):
        base = f"products/{MAIN_RUN}/{scene_id}/{scene_id}"
        for product in ("true_color", "ndvi"):
            assert f"{base}_{product}.tif" in keys
            assert f"{base}_{product}.png" in keys
            local = tmp_path / f"{scene_id}_{product}.tif"
            s3.download_file(stack.output_bucket, f"{base}_{product}.tif", str(local))
            valid, errors, _ = cog_validate(str(local))
            assert valid, errors
        item = json.loads(s3.get_object(Bucket=stack.output_bucket, Key=f"{base}.json")["Body"].read())
        assert item["type"] == "Feature" and item["id"] == scene_id
    assert not any(f"/{BROKEN_ID}/" in k for k in keys), "a failed scene must leave no outputs"


def test_task_log_has_succeeded_rows_and_the_failed_scene_with_its_reason(main_run, world):
    rows = records(world["stack"], MAIN_RUN)
    assert {k: r.status for k, r in rows.items()} == {L8_ID: SUCCEEDED, S2_ID: SUCCEEDED, BROKEN_ID: FAILED}
    for scene_id in (L8_ID, S2_ID):
        assert set(rows[scene_id].outputs) == {"true_color", "ndvi"}
        assert rows[scene_id].attempts == 1
        assert rows[scene_id].ran_on  # the Batch job id
    broken = rows[BROKEN_ID]
    assert broken.error["type"] == "MissingBands"
    assert "B7" in broken.error["message"]
    item = boto3.client("dynamodb").get_item(
        TableName=world["stack"].table_name, Key={"run_id": {"S": MAIN_RUN}, "scene_id": {"S": BROKEN_ID}}
    )["Item"]
    assert item["batch_status_reason"]["S"] == "Essential container in task exited"


def test_succeeded_rows_carry_the_scene_statistics_and_the_failed_one_none(main_run, world):
    from scoresby.core.timeseries import TASK_LOG_STATS

    stack: harness.MotoStack = world["stack"]
    rows = records(stack, MAIN_RUN)
    s3 = boto3.client("s3")
    for scene_id in (L8_ID, S2_ID):
        item = json.loads(
            s3.get_object(Bucket=stack.output_bucket, Key=f"products/{MAIN_RUN}/{scene_id}/{scene_id}.json")[
                "Body"
            ].read()
        )
        stats = item["properties"]["scoresby:stats"]
        assert set(rows[scene_id].stats) == set(TASK_LOG_STATS)
        assert rows[scene_id].stats == pytest.approx({k: stats[k] for k in TASK_LOG_STATS})
        assert rows[scene_id].stats["valid_percent"] > 0
    assert rows[BROKEN_ID].stats is None


def test_the_time_series_job_writes_csv_and_chart_but_no_timelapse_of_single_scenes(main_run, world):
    import csv
    import io

    from infra.timeseries_step import TIMESERIES_JOB_NAME

    stack: harness.MotoStack = world["stack"]
    [series_job] = [r for r in main_run["all_runs"] if r.job_name == TIMESERIES_JOB_NAME]
    assert series_job.returncode == 0, series_job.stderr[-2000:]
    assert main_run["all_runs"][-1] is series_job  # after every scene job
    keys = s3_keys(stack.output_bucket, f"products/{MAIN_RUN}/")
    assert {
        f"products/{MAIN_RUN}/{n}" for n in ("timeseries.csv", "timeseries.png", "timeseries.json")
    } <= keys
    assert not [k for k in keys if k.endswith("_timelapse.gif")]  # two places, one date each
    body = boto3.client("s3").get_object(
        Bucket=stack.output_bucket, Key=f"products/{MAIN_RUN}/timeseries.csv"
    )
    table = list(csv.DictReader(io.StringIO(body["Body"].read().decode())))
    assert sorted(r["scene_id"] for r in table) == sorted([L8_ID, S2_ID])


def test_sns_sends_one_failure_message_and_the_run_summary(main_run):
    messages = main_run["messages"]
    failures = [m for m in messages if m["Subject"] == "Scoresby: a scene failed"]
    assert len(failures) == 1
    assert BROKEN_ID in failures[0]["Message"] and MAIN_RUN in failures[0]["Message"]
    [summary] = [m for m in messages if m["Subject"].startswith(f"Scoresby {MAIN_RUN}:")]
    assert summary["Subject"] == f"Scoresby {MAIN_RUN}: 2 succeeded, 1 failed, 0 skipped"
    assert f"{BROKEN_ID}: MissingBands" in summary["Message"]
    assert f"scoresby rerun {MAIN_RUN} --failed" in summary["Message"]
    write_sample_messages(messages)


def write_sample_messages(messages: list[dict[str, Any]], *, append: bool = False) -> None:
    """With SCORESBY_SAMPLE_MESSAGES=path set, write the captured notifications as Markdown to that path."""
    target = os.environ.get(SAMPLE_MESSAGES_ENV)
    if not target:
        return
    parts = (
        []
        if append
        else ["<!-- written by tests/e2e/test_state_machine_e2e.py (SCORESBY_SAMPLE_MESSAGES) -->", ""]
    )
    for m in messages:
        parts += [f"Subject: {m['Subject']}", "", "```", m["Message"].rstrip("\n"), "```", ""]
    with Path(target).open("a" if append else "w", encoding="utf-8") as f:
        f.write("\n".join(parts))


def test_summary_json_is_written_next_to_the_outputs(main_run, world):
    stack: harness.MotoStack = world["stack"]
    output = json.loads(main_run["execution"]["output"])
    assert output["counts"] == {"scenes": 3, SUCCEEDED: 2, FAILED: 1, SKIPPED: 0, "PENDING": 0, "RUNNING": 0}
    key = f"products/{MAIN_RUN}/summary.json"
    assert output["summary_uri"] == f"s3://{stack.output_bucket}/{key}"
    summary = json.loads(boto3.client("s3").get_object(Bucket=stack.output_bucket, Key=key)["Body"].read())
    assert summary["totals"][SUCCEEDED] == 2 and summary["totals"][FAILED] == 1
    assert {s["scene_id"]: s["status"] for s in summary["scenes"]}[BROKEN_ID] == FAILED


def test_status_reports_the_run_from_the_task_log(main_run, capsys):
    capsys.readouterr()
    assert scoresby(["status", MAIN_RUN, "--stack", harness.STACK_NAME]) == 1  # a scene failed
    out = capsys.readouterr().out
    assert "2 SUCCEEDED" in out and "1 FAILED" in out
    assert (
        f"FAILED {BROKEN_ID}  MissingBands: scene {BROKEN_ID}: product 'false_color_ice' needs band 'B7'"
        in out
    )


# --- idempotence, reruns, bad input, the blog shape ------------------------------------------------


def test_submitting_the_same_list_again_starts_no_second_execution(main_run, world, capsys):
    stack: harness.MotoStack = world["stack"]
    capsys.readouterr()
    assert scoresby(["submit", str(main_run["list_path"]), "--stack", harness.STACK_NAME]) == 0
    assert "already submitted" in capsys.readouterr().out
    assert len(main_executions(stack)) == 1


def test_a_second_execution_of_the_same_list_skips_done_scenes(main_run, world):
    stack: harness.MotoStack = world["stack"]
    jobs_before = len(world["container"].runs)
    described = stack.wait(stack.start("second-run-of-e2e-main", main_list()))
    assert described["status"] == "SUCCEEDED", described.get("cause")
    new_jobs = harness.scene_runs(world["container"].runs[jobs_before:])
    # only the scene that is not done runs again; the done ones get no Batch job
    assert [r.job_name for r in new_jobs] == ["scoresby-" + BROKEN_ID]
    rows = records(stack, MAIN_RUN)
    assert rows[L8_ID].status == SKIPPED and rows[S2_ID].status == SKIPPED
    assert set(rows[L8_ID].outputs) == {"true_color", "ndvi"}
    assert rows[BROKEN_ID].status == FAILED and rows[BROKEN_ID].attempts == 2
    counts = json.loads(described["output"])["counts"]
    assert (counts[SKIPPED], counts[FAILED], counts[SUCCEEDED]) == (2, 1, 0)
    stack.drain_messages()


def test_rerun_failed_resubmits_only_the_failed_scene(main_run, world, capsys):
    stack: harness.MotoStack = world["stack"]
    sfn = boto3.client("stepfunctions")
    before = {
        e["executionArn"] for e in sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    }
    jobs_before = len(world["container"].runs)
    assert scoresby(["rerun", MAIN_RUN, "--failed", "--stack", harness.STACK_NAME]) == 0
    after = sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    [new] = [e for e in after if e["executionArn"] not in before]
    described = stack.wait(new["executionArn"])
    assert described["status"] == "SUCCEEDED", described.get("cause")
    sent = json.loads(described["input"])
    assert sent["overwrite"] is True and [s["scene_id"] for s in sent["scenes"]] == [BROKEN_ID]
    new_jobs = harness.scene_runs(world["container"].runs[jobs_before:])
    assert [r.job_name for r in new_jobs] == ["scoresby-" + BROKEN_ID]
    assert new_jobs[0].job_env["SCORESBY_OVERWRITE"] == "true"
    assert records(stack, MAIN_RUN)[BROKEN_ID].status == FAILED  # its band is still missing
    stack.drain_messages()


def test_invalid_input_fails_fast_with_invalid_input_and_submits_nothing(world):
    stack: harness.MotoStack = world["stack"]
    jobs_before = len(world["container"].runs)
    bad = {
        "run_name": "e2e-bad",
        "scenes": [{"source": f"s3://{SOURCES_BUCKET}/{L8}/", "products": ["nvdi"]}],
    }
    described = stack.wait(stack.start("e2e-bad", bad))
    assert described["status"] == "FAILED"
    assert described["error"] == "InvalidInput"
    assert "nvdi" in described["cause"]
    assert len(world["container"].runs) == jobs_before
    assert records(stack, "e2e-bad") == {}
    rejected = [m for m in stack.drain_messages() if m["Subject"] == "Scoresby: scene list rejected"]
    assert len(rejected) == 1 and "nvdi" in rejected[0]["Message"]
    write_sample_messages(rejected, append=True)


def test_the_blog_input_shape_runs_as_is(world):
    stack: harness.MotoStack = world["stack"]
    jobs_before = len(world["container"].runs)
    blog = {
        "detail": {
            "cells": [
                {
                    "files": f"s3://{SOURCES_BUCKET}/{BLOG_FILES}",
                    "date": "20230122",
                    "region_name": harness.REGION,
                }
            ]
        }
    }
    described = stack.wait(stack.start("e2e-blog", blog))
    assert described["status"] == "SUCCEEDED", described.get("cause")
    [job] = harness.scene_runs(world["container"].runs[jobs_before:])
    assert job.returncode == 0, job.stderr[-2000:]
    output = json.loads(described["output"])
    assert output["counts"][SUCCEEDED] == 1
    run_name = output["summary_uri"].split("/")[-2]
    [row] = DynamoTaskLog(stack.table_name).records(run_name)
    assert set(row.outputs) == {"band_merge", "true_color"}
    keys = s3_keys(stack.output_bucket, f"products/{run_name}/{row.scene_id}/")
    assert f"products/{run_name}/{row.scene_id}/{row.scene_id}_band_merge.tif" in keys
    stack.drain_messages()


def test_a_list_stored_in_s3_by_submit_runs_like_an_inline_one(world, tmp_path, monkeypatch, capsys):
    """Lists over the execution-input quota: `scoresby submit` stores them and the input names the object."""
    from scoresby.commands import aws as aws_runs

    stack: harness.MotoStack = world["stack"]
    monkeypatch.setattr(aws_runs, "INPUT_INLINE_MAX", 0)  # as if the list were over 200 KiB
    path = tmp_path / "stored.json"
    path.write_text(
        json.dumps(
            {
                "run_name": "e2e-stored",
                "products": ["ndwi"],  # made by no other e2e test: a done scene would be SKIPPED
                "scenes": [{"source": f"s3://{SOURCES_BUCKET}/{S2}/"}],
            }
        )
    )
    assert scoresby(["submit", str(path), "--stack", harness.STACK_NAME]) == 0
    sfn = boto3.client("stepfunctions")
    [execution] = [
        e
        for e in sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
        if e["name"].startswith("e2e-stored-")
    ]
    described = stack.wait(execution["executionArn"])
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["input"]) == {
        "scene_list_s3": f"s3://{stack.items_bucket}/lists/{execution['name']}.json"
    }
    [row] = DynamoTaskLog(stack.table_name).records("e2e-stored")
    assert row.scene_id == S2_ID and row.status == SUCCEEDED and set(row.outputs) == {"ndwi"}
    stack.drain_messages()


def test_a_throttled_submit_job_is_retried_and_the_scene_still_runs(world, monkeypatch):
    stack: harness.MotoStack = world["stack"]
    throttled = throttle_batch_submits(monkeypatch, times=1)
    jobs_before = len(world["container"].runs)
    doc = {
        "run_name": "e2e-throttled",
        "products": ["false_color_vegetation"],  # made by no other e2e test
        "scenes": [{"source": f"s3://{SOURCES_BUCKET}/{S2}/"}],
    }
    described = stack.wait(stack.start("e2e-throttled", doc))
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert throttled == ["scoresby-" + S2_ID]
    failures = [
        e["taskFailedEventDetails"]["error"]
        for e in stack.history(described["executionArn"])
        if e["type"] == "TaskFailed"
    ]
    assert failures == ["Batch.TooManyRequestsException"]  # retried by the state machine, not caught
    [job] = harness.scene_runs(world["container"].runs[jobs_before:])
    assert job.returncode == 0, job.stderr[-2000:]
    [row] = DynamoTaskLog(stack.table_name).records("e2e-throttled")
    assert row.status == SUCCEEDED and row.attempts == 1
    stack.drain_messages()


def test_a_container_killed_before_it_could_record_fails_with_batchs_reason(world):
    """The worker never ran (e.g. killed for memory): the Catch alone records FAILED, with Batch's reason."""
    stack: harness.MotoStack = world["stack"]
    reason = "OutOfMemoryError: Container killed due to memory usage"
    world["container"].faults["scoresby-" + L8_ID] = BatchOutcome(137, reason)
    doc = {
        "run_name": "e2e-killed",
        "products": ["false_color_vegetation"],
        "scenes": [{"source": f"s3://{SOURCES_BUCKET}/{L8}/"}],
    }
    described = stack.wait(stack.start("e2e-killed", doc))
    assert described["status"] == "SUCCEEDED", described.get("cause")
    [row] = DynamoTaskLog(stack.table_name).records("e2e-killed")
    assert row.status == FAILED
    assert row.error == {"type": "States.TaskFailed", "message": reason}
    messages = stack.drain_messages()
    [failure] = [m for m in messages if m["Subject"] == "Scoresby: a scene failed"]
    assert reason in failure["Message"] and L8_ID in failure["Message"]
    [summary] = [m for m in messages if m["Subject"].startswith("Scoresby e2e-killed:")]
    assert f"{L8_ID}: States.TaskFailed: {reason}" in summary["Message"]


def test_status_watch_follows_a_live_run_until_it_finishes(world, monkeypatch, capsys):
    import time

    from scoresby.commands import aws as aws_runs

    stack: harness.MotoStack = world["stack"]
    monkeypatch.setattr(aws_runs, "WATCH_INTERVAL_S", 0.2)
    doc = {
        "run_name": "e2e-watched",
        "products": ["ndwi"],  # made for this scene by no other e2e test
        "scenes": [{"source": f"s3://{SOURCES_BUCKET}/{L8}/"}],
    }
    arn = stack.start("e2e-watched", doc)
    deadline = time.monotonic() + 60
    while not DynamoTaskLog(stack.table_name).records("e2e-watched"):  # the init Lambda has not planned yet
        assert time.monotonic() < deadline
        time.sleep(0.05)
    capsys.readouterr()
    assert scoresby(["status", "e2e-watched", "--stack", harness.STACK_NAME, "--watch"]) == 0
    captured = capsys.readouterr()
    assert "1/1" in captured.err  # the progress bar reached the end
    assert "1 SUCCEEDED" in captured.out
    assert stack.wait(arn)["status"] == "SUCCEEDED"
    stack.drain_messages()


def test_a_search_block_is_submitted_and_its_items_run_as_batch_jobs(world, tmp_path, stac_api):
    """A STAC search whose items point at real band files in S3: submit expands it, Batch runs each item."""
    stack: harness.MotoStack = world["stack"]
    item = json.loads(
        (
            Path(harness.__file__).parents[2].parent
            / "shared"
            / "data"
            / "stac"
            / "earth-search"
            / "landsat-c2-l2__LC08_L2SP_033032_20231008_02_T1.json"
        ).read_text()
    )
    item.update(id=f"{L8_ID}-item", collection="scoresby-e2e-aws", links=[])
    bands = {"blue": "B2", "green": "B3", "red": "B4", "nir08": "B5", "swir16": "B6", "swir22": "B7"}
    item["assets"] = {
        key: {**item["assets"][key], "href": f"s3://{SOURCES_BUCKET}/{L8}/{L8_ID}_SR_{band}.TIF"}
        for key, band in bands.items()
    }
    stac_api.add([item])
    path = tmp_path / "search.json"
    path.write_text(
        json.dumps(
            {
                "run_name": "e2e-search",
                "products": ["false_color_vegetation"],  # made by no other e2e test
                "search": {
                    "stac": stac_api.url,
                    "collections": ["scoresby-e2e-aws"],
                    "bbox": [-180, -90, 180, 90],
                    "datetime": "2013-04-01/..",
                },
            }
        )
    )
    jobs_before = len(world["container"].runs)
    assert scoresby(["submit", str(path), "--stack", harness.STACK_NAME]) == 0
    sfn = boto3.client("stepfunctions")
    [execution] = [
        e
        for e in sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
        if e["name"].startswith("e2e-search-")
    ]
    described = stack.wait(execution["executionArn"])
    assert described["status"] == "SUCCEEDED", described.get("cause")
    [job] = harness.scene_runs(world["container"].runs[jobs_before:])
    assert job.returncode == 0, job.stderr[-2000:]
    [row] = DynamoTaskLog(stack.table_name).records("e2e-search")
    assert row.scene_id == item["id"] and row.status == SUCCEEDED
    key = f"products/e2e-search/{item['id']}/{item['id']}_false_color_vegetation.tif"
    assert key in s3_keys(stack.output_bucket, "products/e2e-search/")
    stac = json.loads(
        boto3.client("s3")
        .get_object(Bucket=stack.output_bucket, Key=f"products/e2e-search/{item['id']}/{item['id']}.json")[
            "Body"
        ]
        .read()
    )
    assert stac["properties"]["platform"] == "landsat-8"
    stack.drain_messages()
