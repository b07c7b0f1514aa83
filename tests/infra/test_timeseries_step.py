"""The time-series step after the Map: count the done scenes, one Batch job, the summary gets its outcome."""

from __future__ import annotations

from typing import Any

import pytest

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


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="module")
def states(synth: Synth) -> dict[str, dict[str, Any]]:
    return all_states(state_machine_definition(synth))


def test_both_maps_go_to_the_count_of_done_scenes_then_the_choice(states: dict[str, dict[str, Any]]) -> None:
    assert states["ScenesInline"]["Next"] == states["ScenesFromS3"]["Next"] == "CountDoneScenes"
    count = states["CountDoneScenes"]
    assert count["Resource"].endswith(":states:::aws-sdk:dynamodb:query")
    params = count["Parameters"]
    assert params["Select"] == "COUNT" and params["ConsistentRead"] is True
    assert params["FilterExpression"] == "#status IN (:ok, :skipped)"
    assert params["ExpressionAttributeValues"][":run"] == {"S.$": "$.run_name"}
    assert count["ResultPath"] == "$.done"
    assert count["Next"] == "AnySceneDone?"
    # a failed count does not stop the run: the job runs and finds out itself
    assert count["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.count_error", "Next": "BuildTimeseriesCommand"}
    ]
    choice = states["AnySceneDone?"]
    [rule] = choice["Choices"]
    # skipped only when the whole run fit one page and none of it is done; otherwise the job runs
    assert rule["Next"] == "NoTimeseries" and choice["Default"] == "BuildTimeseriesCommand"
    assert {"Variable": "$.done.Count", "NumericEquals": 0} in rule["And"]
    assert {"Variable": "$.done.LastEvaluatedKey", "IsPresent": False} in rule["And"]
    assert states["NoTimeseries"]["ResultPath"] == "$.timeseries"
    assert (
        states["NoTimeseries"]["Next"] == "PlaceStage?"
    )  # then the summary (tests/infra/test_place_stage.py)


def test_the_time_series_job_runs_scoresby_timeseries_and_never_fails_the_run(
    states: dict[str, dict[str, Any]],
) -> None:
    build = states["BuildTimeseriesCommand"]
    assert build["Parameters"]["command.$"] == (
        "States.Array('timeseries', $.run_name, '--output', $.output, '--timelapse', "
        "States.JsonToString($.timelapse))"
    )
    assert build["Next"] == "RunTimeseries"
    job = states["RunTimeseries"]
    assert job["Resource"].endswith(":states:::batch:submitJob.sync")
    overrides = job["Parameters"]["ContainerOverrides"]
    assert overrides["Command.$"] == "$.timeseries_job.command"
    assert overrides["Environment"] == [{"Name": "SCORESBY_RUN_ID", "Value.$": "$.run_name"}]
    # the scene jobs' queue and job definition: same image, same role, same Spot retry
    scene_job = states["InlineRunScene"]["Parameters"]
    assert job["Parameters"]["JobQueue"] == scene_job["JobQueue"]
    assert job["Parameters"]["JobDefinition"] == scene_job["JobDefinition"]
    # then its jobs: row (tests/infra/test_job_times.py), on either way out, and the summary
    assert job["ResultPath"] == "$.timeseries" and job["Next"] == "RecordTimeseriesJobTimes"
    assert job["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.timeseries", "Next": "TimeseriesFailedJobDescribed?"}
    ]
    assert states["RecordTimeseriesJobTimes"]["Next"] == "PlaceStage?"
    [retry] = job["Retry"]
    assert "States.TaskFailed" not in retry["ErrorEquals"]
    for summarize in (states["Summarize"], states["SummarizePlaces"]):
        assert summarize["Parameters"]["timeseries.$"] == "$.timeseries"


def test_the_count_may_query_the_task_table_only(synth: Synth) -> None:
    by_action: dict[str, list[str]] = {}
    for s in policy_statements(synth, "WorkflowStateMachineRole"):
        for action in as_list(s["Action"]):
            by_action.setdefault(action, []).extend(join_to_text(r) for r in as_list(s["Resource"]))
    assert by_action["dynamodb:Query"] == ["<TaskLogTable51A46A66.Arn>"]


def test_the_summary_function_reads_only_the_runs_json_files(synth: Synth) -> None:
    statements = policy_statements(synth, "FunctionsSummaryRole")
    reads = [
        join_to_text(r)
        for s in statements
        if "s3:GetObject" in as_list(s["Action"])
        for r in as_list(s["Resource"])
    ]
    # timeseries.json and the STAC Items that collection.json links (issue 24); a place round's result
    assert reads == [
        "<StorageOutputBB69BB33.Arn>/products/*.json",
        "<StorageWorkD07184AE.Arn>/places/*/result.json",
    ]
    listing, work_listing = [s for s in statements if "s3:ListBucket" in as_list(s["Action"])]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["products/*"]}}
    assert join_to_text(work_listing["Resource"]) == "<StorageWorkD07184AE.Arn>"  # names only: 404, not 403
