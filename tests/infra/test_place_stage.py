"""The place stage in the synthesized template: its states in order, its Maps, failures, and its IAM scope."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.place_jobs import PLACE_JOB_MEMORY_MIB, PLACES_DIR
from infra.place_stage import map_label
from infra.settings import CONTEXT_DEFAULTS
from scoresby.core import place_stage
from scoresby.core.contract import PlaceJobInput, SummaryInput
from tests.infra.conftest import (
    Synth,
    all_states,
    as_list,
    join_to_text,
    policy_statements,
    state_machine_definition,
    synthesize,
)

pytestmark = pytest.mark.slow

MAPS = [map_label(name) for name in place_stage.JOB_LISTS]
ROUND_URI = "States.Format('s3://{}/{}', $.places.bucket, $.places.prefix)"
THROTTLING = {"Batch.AWSBatchException", "Batch.TooManyRequestsException", "Batch.ServerException"}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="module")
def definition(synth: Synth) -> dict[str, Any]:
    return state_machine_definition(synth)


@pytest.fixture(scope="module")
def states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return all_states(definition)


def _job_definition(synth: Synth, name: str) -> str:
    [logical_id] = [k for k in synth.resources("AWS::Batch::JobDefinition") if name in k]
    return f"<{logical_id}>"


def _by_action(statements: list[dict[str, Any]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for s in statements:
        assert s["Effect"] == "Allow"
        for action in as_list(s["Action"]):
            found.setdefault(action, []).extend(join_to_text(r) for r in as_list(s["Resource"]))
    return found


def test_the_stage_runs_after_the_time_series_plan_four_maps_finish_then_the_summary(
    states: dict[str, dict[str, Any]],
) -> None:
    assert states["RecordTimeseriesJobTimes"]["Next"] == "PlaceStage?"
    assert states["NoTimeseries"]["Next"] == "PlaceStage?"
    choice = states["PlaceStage?"]
    assert choice["Choices"] == [{"Variable": "$.places", "IsPresent": True, "Next": "BuildPlacePlanCommand"}]
    assert choice["Default"] == "Summarize"  # no composites: the summary as before
    order, name = [], "BuildPlacePlanCommand"
    while name != "PublishSummary":
        order.append(name)
        name = states[name]["Next"]
    assert order == [
        "BuildPlacePlanCommand",
        "PlacePlan",
        "RecordPlacePlanJobTimes",
        *MAPS,
        "BuildPlaceFinishCommand",
        "PlaceFinish",
        "RecordPlaceFinishJobTimes",
        "SummarizePlaces",
    ]
    assert MAPS == ["PlaceCompositeTiles", "PlaceCompositeItems", "PlaceDerivedTiles", "PlaceDerivedItems"]


@pytest.mark.parametrize(
    ("job", "verb", "job_name"),
    [
        ("PlacePlan", "plan", place_stage.PLAN_JOB_NAME),
        ("PlaceFinish", "finish", place_stage.FINISH_JOB_NAME),
    ],
)
def test_plan_and_finish_are_batch_jobs_of_the_place_job_definition(
    synth: Synth, states: dict[str, dict[str, Any]], job: str, verb: str, job_name: str
) -> None:
    build = states[f"Build{job}Command"]
    assert build["Parameters"]["command.$"] == (
        f"States.Array('places', '{verb}', {ROUND_URI}, '--run-name', $.run_name, '--output', $.output)"
    )
    assert place_stage.plan_command("U", "R", "O")[2:] == place_stage.finish_command("U", "R", "O")[2:]
    run = states[job]
    assert run["Resource"].endswith(":states:::batch:submitJob.sync")
    params = run["Parameters"]
    assert params["JobName"] == job_name and job_name.startswith(place_stage.PLACE_JOB_PREFIX)
    assert params["JobDefinition"] == _job_definition(synth, "PlaceJobs")
    assert params["JobQueue"] == states["InlineRunScene"]["Parameters"]["JobQueue"]  # the one Spot queue
    assert params["ContainerOverrides"]["Command.$"] == "$.place_job.command"
    assert THROTTLING == set(run["Retry"][0]["ErrorEquals"])
    # The outcome goes to $.place_stage either way; a failed plan or finish ends the stage at the summary.
    assert run["ResultPath"] == "$.place_stage" and run["ResultSelector"]["status"] == "SUCCEEDED"
    assert run["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.place_stage", "Next": f"{job}FailedJobDescribed?"}
    ]
    assert states[f"{job}FailedJobDescribed?"]["Default"] == "SummarizePlaces"
    assert states[f"{job}RecordFailedJobTimes"]["Next"] == "SummarizePlaces"
    times = states[f"Record{job}JobTimes"]["Parameters"]["Item"]
    assert times["job_name"] == {"S": job_name} and times["scene_id"] == {"S.$": "$.place_stage.job.JobId"}


@pytest.mark.parametrize("list_name", place_stage.JOB_LISTS)
def test_each_map_reads_its_job_list_from_the_round_folder_and_runs_one_job_per_item(
    synth: Synth, states: dict[str, dict[str, Any]], list_name: str
) -> None:
    label = map_label(list_name)
    m = states[label]
    assert m["Type"] == "Map" and m["Label"] == label
    assert m["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    reader = m["ItemReader"]
    assert reader["Resource"].endswith(":states:::s3:getObject")
    assert reader["ReaderConfig"] == {"InputType": "JSON"}
    work = [k for k in synth.resources("AWS::S3::Bucket") if k.startswith("StorageWork")]
    assert reader["Parameters"] == {
        "Bucket": f"<{work[0]}>",
        "Key.$": f"States.Format('{{}}{list_name}.json', $.places.prefix)",
    }
    assert place_stage.list_key("P/", list_name) == f"P/{list_name}.json"
    assert m["MaxConcurrency"] == CONTEXT_DEFAULTS["mapMaxConcurrency"]
    assert m["ResultPath"] is None  # nothing accumulates in the run's state
    assert m["ItemSelector"] == {
        "job_name.$": "$$.Map.Item.Value.job_name",
        "command.$": "$$.Map.Item.Value.command",
        "run_name.$": "$.run_name",
        "round.$": "$.places.round",
    }
    assert {k.removesuffix(".$") for k in m["ItemSelector"]} == set(PlaceJobInput.__annotations__)
    assert m["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.place_stage", "Next": "SummarizePlaces"}
    ]
    job = states[f"{label}Job"]
    assert m["ItemProcessor"]["StartAt"] == f"{label}Job"
    params = job["Parameters"]
    assert params["JobName.$"] == "$.job_name" and params["ContainerOverrides"]["Command.$"] == "$.command"
    assert params["JobDefinition"] == _job_definition(synth, "PlaceJobs")
    assert params["ContainerOverrides"]["Environment"] == [
        {"Name": "SCORESBY_RUN_ID", "Value.$": "$.run_name"}
    ]
    [retry] = job["Retry"]
    assert set(retry["ErrorEquals"]) == THROTTLING  # Batch throttling only: a failed job is not retried here
    assert job["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": f"{label}FailedJobDescribed?"}
    ]
    ok = states[job["Next"]]
    assert ok["Parameters"]["Item"]["job_name"] == {"S.$": "$.job_name"}
    assert ok["Parameters"]["Item"]["run_id"] == {"S.$": "States.Format('jobs:{}', $.run_name)"}
    assert ok["Next"] == f"{label}Done" and states[f"{label}Done"].get("End") is True


@pytest.mark.parametrize("label", MAPS)
def test_a_failed_place_job_is_recorded_failed_in_the_ledger_and_the_map_goes_on(
    states: dict[str, dict[str, Any]], label: str
) -> None:
    # its jobs row first (from the Cause's DescribeJobs JSON when it ran), then the failed# record
    assert states[f"{label}FailedJobDescribed?"]["Default"] == f"{label}HasCause?"
    assert states[f"{label}RecordFailedJobTimes"]["Parameters"]["Item"]["status"] == {"S": "FAILED"}
    assert states[f"{label}RecordFailedJobTimes"]["Next"] == f"{label}HasCause?"
    has_cause = states[f"{label}HasCause?"]
    assert has_cause["Choices"] == [
        {"Variable": "$.error.Cause", "IsPresent": True, "Next": f"{label}RecordFailure"}
    ]
    assert states[has_cause["Default"]] == {
        "Type": "Pass",
        "Result": "(no cause given)",
        "ResultPath": "$.error.Cause",
        "Next": f"{label}RecordFailure",
    }
    record = states[f"{label}RecordFailure"]
    assert record["Resource"].endswith(":states:::dynamodb:putItem")
    item = record["Parameters"]["Item"]
    assert item == {
        "run_id": {"S.$": "States.Format('places:{}', $.run_name)"},
        "scene_id": {"S.$": "States.Format('failed#{}#{}', $.round, $.job_name)"},
        "error": {"S.$": "$.error.Error"},
        "cause": {"S.$": "$.error.Cause"},
    }
    assert place_stage.ledger_partition("r") == "places:r" and tuple(item)[2:] == place_stage.FAILED_FIELDS
    assert record["Next"] == f"{label}Done"
    assert record["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": f"{label}Done"}]
    assert record["Retry"][0]["MaxAttempts"] >= 3


def test_the_summary_gets_the_round_and_the_stage_outcome_only_when_there_is_a_stage(
    states: dict[str, dict[str, Any]],
) -> None:
    with_places = states["SummarizePlaces"]["Parameters"]
    assert with_places["places.$"] == "$.places" and with_places["place_stage.$"] == "$.place_stage"
    assert {k.removesuffix(".$") for k in with_places} <= set(SummaryInput.__annotations__)
    assert "places.$" not in states["Summarize"]["Parameters"]
    assert {k: v for k, v in with_places.items() if not k.startswith("place")} == states["Summarize"][
        "Parameters"
    ]
    for name in ("Summarize", "SummarizePlaces"):
        assert states[name]["Next"] == "PublishSummary"
        assert states[name]["Catch"][0]["Next"] == "NotifyRunError"


def test_the_definition_is_valid_amazon_states_language(definition: dict[str, Any]) -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    text = json.dumps(definition).replace("<AWS::Partition>", "aws")
    # The summary's and init's Resource are function ARNs at deploy time; any ARN parses the same.
    text = re.sub(
        r'"Resource": "<[^"]*>"', '"Resource": "arn:aws:lambda:us-east-1:123456789012:function:f"', text
    )
    AmazonStateLanguageParser.parse(text)  # raises on a state, path or intrinsic function it cannot read


# --- IAM ------------------------------------------------------------------------------------------


def test_place_jobs_write_only_the_places_part_of_a_run_and_their_round(synth: Synth) -> None:
    statements = policy_statements(synth, "PlaceJobsJobRole")
    by_action = _by_action(statements)
    assert PLACES_DIR == __import__("scoresby.places.build", fromlist=["PLACES_DIR"]).PLACES_DIR
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"):
        assert sorted(by_action[action]) == [
            "<StorageOutputBB69BB33.Arn>/products/*/places/*",
            "<StorageWorkD07184AE.Arn>/places/*",
        ], action
    assert sorted(by_action["s3:GetObject"]) == sorted(
        [
            "<StorageOutputBB69BB33.Arn>/products/*",  # the run's scene products and Items
            "<StorageWorkD07184AE.Arn>/places/*",  # the round's scenes.json and job lists
            *(
                f"arn:<AWS::Partition>:s3:::{b}/*"
                for b in ("usgs-landsat", "sentinel-cogs", "sentinel-s2-l2a")
            ),
        ]
    )
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert not any(a.endswith("*") for a in actions), actions  # no s3:* or dynamodb:* wildcards
    assert {a for a in actions if a.startswith("s3:")} == {
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
    }


def test_place_jobs_write_only_the_ledgers_partitions_of_the_task_table(synth: Synth) -> None:
    statements = policy_statements(synth, "PlaceJobsJobRole")
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))]
    unconditioned = [s for s in dynamo if "Condition" not in s]
    assert [as_list(s["Action"]) for s in unconditioned] == [["dynamodb:Query"]]  # reading the run's rows
    [ledger] = [s for s in dynamo if "Condition" in s]
    assert ledger["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{place_stage.LEDGER_PARTITION_PREFIX}*"]}
    }
    assert set(as_list(ledger["Action"])) == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
    }
    for s in dynamo:
        assert [join_to_text(r) for r in as_list(s["Resource"])] == ["<TaskLogTable51A46A66.Arn>"]  # no index


def test_the_place_job_definition_is_the_worker_image_on_the_spot_queue_with_its_own_role(
    synth: Synth,
) -> None:
    place = synth.only("AWS::Batch::JobDefinition", "PlaceJobs")["Properties"]
    scene = synth.only("AWS::Batch::JobDefinition", "BatchWorkerJob")["Properties"]
    assert place["RetryStrategy"] == scene["RetryStrategy"]  # Spot reclaims retried, nothing else
    assert place["Timeout"] == scene["Timeout"]
    p, s = place["ContainerProperties"], scene["ContainerProperties"]
    for key in (
        "Image",
        "ReadonlyRootFilesystem",
        "Volumes",
        "MountPoints",
        "LogConfiguration",
        "Environment",
    ):
        assert p[key] == s[key], key
    memory = {r["Type"]: r["Value"] for r in p["ResourceRequirements"]}
    assert memory["MEMORY"] == str(PLACE_JOB_MEMORY_MIB)
    assert memory["VCPU"] == {r["Type"]: r["Value"] for r in s["ResourceRequirements"]}["VCPU"]
    assert join_to_text(p["JobRoleArn"]).startswith("<PlaceJobsJobRole")
    assert join_to_text(s["JobRoleArn"]).startswith("<BatchJobRole")
    scene_actions = {a for st in policy_statements(synth, "BatchJobRole") for a in as_list(st["Action"])}
    assert not scene_actions & {"s3:DeleteObject", "dynamodb:PutItem", "dynamodb:DeleteItem"}  # unchanged


def test_the_state_machine_reads_only_item_lists_and_round_lists_and_submits_to_the_place_definition(
    synth: Synth,
) -> None:
    by_action = _by_action(policy_statements(synth, "WorkflowStateMachineRole"))
    assert sorted(by_action["s3:GetObject"]) == [
        "<StorageWorkD07184AE.Arn>/items/*",  # the scene Map's item list
        "<StorageWorkD07184AE.Arn>/places/*",  # the place Maps' job lists
    ]
    assert "<BatchQueue00F466B7.JobQueueArn>" in by_action["batch:SubmitJob"]
    assert set(by_action["dynamodb:PutItem"]) == {  # jobs rows and failed# records: the task table only
        "arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/<TaskLogTable51A46A66>"
    }
