"""After the Map: the run's time series, built by one Batch job of the worker image (`scoresby timeseries`).

CountDoneScenes → AnySceneDone? → BuildTimeseriesCommand → RunTimeseries (Batch submitJob.sync) →
RecordTimeseriesJobTimes (its `jobs:<run>` row, infra/job_times.py; a failed job's too) → the summary.
Every way out sets `$.timeseries` ({"status": SUCCEEDED | SKIPPED} or the Catch's {"Error", "Cause"}),
which the summary Lambda reports. A failure here never fails the run: the summary and its e-mail still go
out. The job uses the scene jobs' queue and job definition (same image, role, Spot retry).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_batch as batch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.job_times import JOB_TIMES, record_failed_job, record_succeeded_job
from scoresby.core import config
from scoresby.core.contract import RunState, state_path
from scoresby.core.task_log import FIELDS, SKIPPED, SUCCEEDED
from scoresby.stores.dynamo_log import PARTITION_KEY

STATUS_FIELD = "status"
if not {STATUS_FIELD, PARTITION_KEY} <= set(FIELDS):  # a rename must not leave the count query behind
    raise ValueError(f"{STATUS_FIELD!r}/{PARTITION_KEY!r} are not TaskRecord fields: {', '.join(FIELDS)}")

TIMESERIES_JOB_NAME = "scoresby-timeseries"
TIMESERIES_SKIPPED = {"status": "SKIPPED", "reason": "no scene of the run is done"}


def timeseries_step(
    scope: Construct,
    *,
    job_queue: batch.IJobQueue,
    job_definition: batch.IJobDefinition,
    task_table: dynamodb.ITable,
    retry_errors: list[str],
    then: sfn.IChainable,
) -> sfn.IChainable:
    """The states between the Map and `then` (the summary); returns the first one."""
    # One Query page with Select COUNT: a run whose rows fit one page (about 2,000 scenes) is counted
    # exactly; a longer one (LastEvaluatedKey) may have done scenes further on, so its job runs anyway.
    count = tasks.CallAwsService(
        scope,
        "CountDoneScenes",
        service="dynamodb",
        action="query",
        parameters={
            "TableName": task_table.table_name,
            "KeyConditionExpression": "#run = :run",
            "FilterExpression": "#status IN (:ok, :skipped)",
            "ExpressionAttributeNames": {"#run": PARTITION_KEY, "#status": STATUS_FIELD},
            "ExpressionAttributeValues": {
                ":run": {"S": sfn.JsonPath.string_at(state_path(RunState, "run_name"))},
                ":ok": {"S": SUCCEEDED},
                ":skipped": {"S": SKIPPED},
            },
            "Select": "COUNT",
            "ConsistentRead": True,
        },
        iam_resources=[task_table.table_arn],
        iam_action="dynamodb:Query",
        result_path="$.done",  # {Count, ScannedCount[, LastEvaluatedKey]}: no items (Select COUNT)
        comment="How many scenes of the run are SUCCEEDED or SKIPPED (one page)",
    )
    skipped = sfn.Pass(
        scope,
        "NoTimeseries",
        result=sfn.Result.from_object(TIMESERIES_SKIPPED),
        result_path=state_path(RunState, "timeseries"),
    )
    command = sfn.Pass(
        scope,
        "BuildTimeseriesCommand",
        parameters={
            "command": sfn.JsonPath.array(
                "timeseries",
                sfn.JsonPath.string_at(state_path(RunState, "run_name")),
                "--output",
                sfn.JsonPath.string_at(state_path(RunState, "output")),
                "--timelapse",
                sfn.JsonPath.json_to_string(sfn.JsonPath.object_at(state_path(RunState, "timelapse"))),
            )
        },
        result_path="$.timeseries_job",
    )
    run = tasks.BatchSubmitJob(
        scope,
        "RunTimeseries",
        job_name=TIMESERIES_JOB_NAME,
        job_queue_arn=job_queue.job_queue_arn,
        job_definition_arn=job_definition.job_definition_arn,
        container_overrides=tasks.BatchContainerOverrides(
            command=sfn.JsonPath.list_at("$.timeseries_job.command"),
            environment={config.RUN_ID: sfn.JsonPath.string_at(state_path(RunState, "run_name"))},
        ),
        integration_pattern=sfn.IntegrationPattern.RUN_JOB,
        result_selector={"status": SUCCEEDED, "job_id.$": "$.JobId", "job": JOB_TIMES},
        result_path=state_path(RunState, "timeseries"),
        comment="Rebuild timeseries.csv/.png and the timelapses from the task log and the STAC Items",
    )
    run.add_retry(
        errors=retry_errors,
        interval=Duration.seconds(5),
        backoff_rate=2,
        max_attempts=8,
        max_delay=Duration.minutes(5),
        jitter_strategy=sfn.JitterType.FULL,
    )
    times = {"task_table": task_table, "job_name": TIMESERIES_JOB_NAME, "then": then}
    # The summary reports the failure (Error, and Batch's DescribeJobs JSON as Cause); the run goes on.
    run.add_catch(
        record_failed_job(scope, "Timeseries", error_path=state_path(RunState, "timeseries"), **times),
        result_path=state_path(RunState, "timeseries"),
    )
    run.next(
        record_succeeded_job(
            scope, "RecordTimeseriesJobTimes", job_path=state_path(RunState, "timeseries", "job"), **times
        )
    )
    skipped.next(then)
    command.next(run)
    count.add_catch(command, result_path="$.count_error")  # cannot count: build it anyway, the job knows
    any_done = (
        sfn.Choice(scope, "AnySceneDone?")
        .when(
            sfn.Condition.and_(
                sfn.Condition.number_equals("$.done.Count", 0),
                sfn.Condition.is_not_present("$.done.LastEvaluatedKey"),
            ),
            skipped,
        )
        .otherwise(command)
    )
    count.next(any_done)
    return count
