"""Each Batch job's start and stop times go into the task table (`jobs:<run>`), on success and on failure."""

from __future__ import annotations

from typing import Any

import pytest

from scoresby.stores import job_rows
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

SELECTOR = {"JobId.$": "$.JobId", "StartedAt.$": "$.StartedAt", "StoppedAt.$": "$.StoppedAt"}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="module")
def states(synth: Synth) -> dict[str, dict[str, Any]]:
    return all_states(state_machine_definition(synth))


def _item(state: dict[str, Any], job_path: str, status: str) -> dict[str, Any]:
    assert state["Resource"].endswith(":states:::dynamodb:putItem")
    assert state["Parameters"]["TableName"] == "<TaskLogTable51A46A66>"
    item = state["Parameters"]["Item"]
    assert set(item) <= set(job_rows.ATTRIBUTES)
    assert item["run_id"] == {"S.$": f"States.Format('{job_rows.PARTITION_PREFIX}{{}}', $.run_name)"}
    assert item["scene_id"] == {"S.$": f"{job_path}.JobId"}
    assert item["started_ms"] == {"N.$": f"States.JsonToString({job_path}.StartedAt)"}
    assert item["stopped_ms"] == {"N.$": f"States.JsonToString({job_path}.StoppedAt)"}
    assert item["status"] == {"S": status}
    assert item["execution"] == {"S.$": "$$.Execution.Name"}
    # bookkeeping never fails the run: retried, then caught onto the next state
    assert state["Retry"] and state["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": state["Next"]}
    ]
    assert state["ResultPath"] is None
    return dict(item)


@pytest.mark.parametrize("prefix", ["Inline", "Distributed"])
def test_a_scene_job_keeps_its_times_and_records_them(states: dict[str, dict[str, Any]], prefix: str) -> None:
    run = states[f"{prefix}RunScene"]
    assert run["ResultSelector"] == SELECTOR and run["ResultPath"] == "$.batch_job"
    record = states[run["Next"]]
    assert run["Next"] == f"{prefix}RecordJobTimes" and record["Next"] == f"{prefix}JobDone"
    item = _item(record, "$.batch_job", "SUCCEEDED")
    assert item["job_name"] == {"S.$": "$.job_name"}
    assert item["scenes"] == {"N.$": "States.JsonToString($.job.scene_count)"}


@pytest.mark.parametrize("prefix", ["Inline", "Distributed"])
def test_a_failed_scene_job_records_its_times_from_the_cause(
    states: dict[str, dict[str, Any]], prefix: str
) -> None:
    described = states[f"{prefix}FailedJobDescribed?"]
    [rule] = described["Choices"]
    assert {"Variable": "$.error.Error", "StringEquals": "States.TaskFailed"} in rule["And"]
    assert rule["Next"] == f"{prefix}ParseFailedJob"
    assert described["Default"] == f"{prefix}FailedJobScenes"  # no job ran: nothing to record
    parse = states[f"{prefix}ParseFailedJob"]
    assert parse["Parameters"] == {"job.$": "States.StringToJson($.error.Cause)"}
    started = states[parse["Next"]]
    [rule] = started["Choices"]
    present = {c["Variable"] for c in rule["And"] if c["IsPresent"]}
    assert present == {"$.failed_job.job.JobId", "$.failed_job.job.StartedAt", "$.failed_job.job.StoppedAt"}
    assert started["Default"] == f"{prefix}FailedJobScenes"  # a job that never started: no row
    record = states[rule["Next"]]
    _item(record, "$.failed_job.job", "FAILED")
    assert record["Next"] == f"{prefix}FailedJobScenes"


def test_the_time_series_job_records_its_times_on_success_and_failure(
    states: dict[str, dict[str, Any]],
) -> None:
    run = states["RunTimeseries"]
    assert run["ResultSelector"]["job"] == SELECTOR and run["ResultPath"] == "$.timeseries"
    assert run["Next"] == "RecordTimeseriesJobTimes"
    item = _item(states["RecordTimeseriesJobTimes"], "$.timeseries.job", "SUCCEEDED")
    assert item["job_name"] == {"S": "scoresby-timeseries"} and "scenes" not in item
    assert states["RecordTimeseriesJobTimes"]["Next"] == "PlaceStage?"
    assert run["Catch"][0]["Next"] == "TimeseriesFailedJobDescribed?"
    parse = states["TimeseriesParseFailedJob"]
    assert parse["Parameters"] == {"job.$": "States.StringToJson($.timeseries.Cause)"}
    _item(states["TimeseriesRecordFailedJobTimes"], "$.failed_job.job", "FAILED")
    assert states["TimeseriesFailedJobDescribed?"]["Default"] == "PlaceStage?"


def test_the_state_machine_may_only_put_items_into_the_task_table(synth: Synth) -> None:
    by_action: dict[str, list[str]] = {}
    for s in policy_statements(synth, "WorkflowStateMachineRole"):
        for action in as_list(s["Action"]):
            by_action.setdefault(action, []).extend(join_to_text(r) for r in as_list(s["Resource"]))
    dynamodb = {a for a in by_action if a.startswith("dynamodb:")}
    assert dynamodb == {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}
    # CDK's DynamoPutItem grant: the task table's ARN, built from its name
    assert set(by_action["dynamodb:PutItem"]) == {
        "arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/<TaskLogTable51A46A66>"
    }
