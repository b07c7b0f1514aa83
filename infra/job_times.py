"""Record a Batch job's start and stop times in the task table (`jobs:<run>`), to price what the run ran.

One row per job (scoresby/stores/job_rows.py), written by a DynamoPutItem after the job's submitJob.sync task:
on success from the task's ResultSelector (`JOB_TIMES`), on failure from the Catch's Cause, which is the
failed job's DescribeJobs JSON. A job that never started (no StartedAt) gets no row. A failed write never
stops the run (retried, then caught): the summary then prices the jobs it has rows for.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from scoresby.core.contract import BatchJobTimes, JobFailure, JobRecordState, StateError, state_path
from scoresby.core.task_log import FAILED, SUCCEEDED
from scoresby.stores import job_rows
from scoresby.stores.dynamo_log import PARTITION_KEY, SORT_KEY

JOB_TIMES = {f"{key}.$": state_path(BatchJobTimes, key) for key in BatchJobTimes.__annotations__}
"""What a submitJob.sync task keeps of DescribeJobs' job (StartedAt/StoppedAt are epoch milliseconds)."""
RUN_NAME = state_path(JobRecordState, "run_name")
FAILED_JOB = state_path(JobRecordState, "failed_job")
"""Where a failed job's parsed description goes in the job's state."""


def _key(payload: type, key: str) -> str:
    """`key` of the contract's `payload` TypedDict (KeyError at synth if it has none), for relative paths."""
    return state_path(payload, key).removeprefix("$.")


_JOB_ID, _STARTED, _STOPPED = (_key(BatchJobTimes, k) for k in ("JobId", "StartedAt", "StoppedAt"))


def record_job_times(
    scope: Construct,
    construct_id: str,
    *,
    task_table: dynamodb.ITable,
    job_path: str,
    job_name: str,
    status: str,
    scenes_path: str | None = None,
) -> tasks.DynamoPutItem:
    """PutItem of one job row from the `JOB_TIMES` object at `job_path`; errors retried, then passed over."""
    value = tasks.DynamoAttributeValue

    def number(path: str) -> tasks.DynamoAttributeValue:
        # DynamoDB takes an N as text: a JSON number passed as it is fails the PutItem.
        return value.number_from_string(sfn.JsonPath.json_to_string(sfn.JsonPath.object_at(path)))

    item = {
        PARTITION_KEY: value.from_string(
            sfn.JsonPath.format(
                job_rows.PARTITION_PREFIX + "{}",
                sfn.JsonPath.string_at(state_path(JobRecordState, "run_name")),
            )
        ),
        SORT_KEY: value.from_string(sfn.JsonPath.string_at(f"{job_path}.{_JOB_ID}")),
        job_rows.STARTED_MS: number(f"{job_path}.{_STARTED}"),
        job_rows.STOPPED_MS: number(f"{job_path}.{_STOPPED}"),
        job_rows.JOB_NAME: value.from_string(job_name),
        job_rows.STATUS: value.from_string(status),
        job_rows.EXECUTION: value.from_string(sfn.JsonPath.string_at("$$.Execution.Name")),
    }
    if scenes_path is not None:
        item[job_rows.SCENES] = number(scenes_path)
    put = tasks.DynamoPutItem(
        scope,
        construct_id,
        table=task_table,
        item=item,
        result_path=sfn.JsonPath.DISCARD,
        comment="The job's Batch StartedAt/StoppedAt, for the run's actual compute cost",
    )
    put.add_retry(interval=Duration.seconds(2), backoff_rate=2, max_attempts=4)
    return put


def record_succeeded_job(
    scope: Construct,
    construct_id: str,
    *,
    task_table: dynamodb.ITable,
    job_path: str,
    job_name: str,
    then: sfn.IChainable,
    scenes_path: str | None = None,
) -> sfn.IChainable:
    """The row of a job that SUCCEEDED (its task's `JOB_TIMES` at `job_path`), then `then`."""
    put = record_job_times(
        scope,
        construct_id,
        task_table=task_table,
        job_path=job_path,
        job_name=job_name,
        status=SUCCEEDED,
        scenes_path=scenes_path,
    )
    # Bookkeeping: a row that cannot be written leaves the cost a little short, never the run failed.
    put.add_catch(then, result_path=sfn.JsonPath.DISCARD)
    return put.next(then)


def record_failed_job(
    scope: Construct,
    prefix: str,
    *,
    task_table: dynamodb.ITable,
    error_path: str,
    job_name: str,
    then: sfn.IChainable,
    scenes_path: str | None = None,
) -> sfn.IChainable:
    """The row of a failed job, from the Catch's Cause at `error_path` when the job started; then `then`.

    Only States.TaskFailed carries the DescribeJobs JSON (what the failed-scene chain also parses); any other
    error (SubmitJob refused, retries exhausted) ran no job. A job that never started has no StartedAt.
    """
    job = f"{FAILED_JOB}.{_key(JobFailure, 'job')}"
    error, cause = f"{error_path}.{_key(StateError, 'Error')}", f"{error_path}.{_key(StateError, 'Cause')}"
    put = record_job_times(
        scope,
        f"{prefix}RecordFailedJobTimes",
        task_table=task_table,
        job_path=job,
        job_name=job_name,
        status=FAILED,
        scenes_path=scenes_path,
    )
    put.add_catch(then, result_path=sfn.JsonPath.DISCARD)
    put.next(then)
    started = (
        sfn.Choice(scope, f"{prefix}FailedJobStarted?")
        .when(
            sfn.Condition.and_(
                *(sfn.Condition.is_present(f"{job}.{key}") for key in (_JOB_ID, _STARTED, _STOPPED)),
            ),
            put,
        )
        .otherwise(then)
    )
    parse = sfn.Pass(
        scope,
        f"{prefix}ParseFailedJob",
        parameters={f"{_key(JobFailure, 'job')}.$": f"States.StringToJson({cause})"},
        result_path=FAILED_JOB,
    )
    return (
        sfn.Choice(scope, f"{prefix}FailedJobDescribed?")
        .when(
            sfn.Condition.and_(
                sfn.Condition.string_equals(error, "States.TaskFailed"),
                sfn.Condition.is_present(cause),
            ),
            parse.next(started),
        )
        .otherwise(then)
    )
