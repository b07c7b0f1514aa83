"""A scene of a failed Batch job: recorded FAILED with Batch's reason (unless it finished) and notified."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from scoresby.core.contract import FailedScene, state_path
from scoresby.core.task_log import FAILED, FIELDS, SKIPPED, SUCCEEDED

SCENE_FAILED_SUBJECT = "Scoresby: a scene failed"


def _row_field(name: str) -> str:
    """A task-log attribute name, checked against TaskRecord so a rename cannot leave the Catch behind."""
    if name not in FIELDS:
        raise ValueError(f"{name!r} is not a TaskRecord field; fields: {', '.join(FIELDS)}")
    return name


def _path(*keys: str) -> str:
    """A JSONPath into the chain's state (a FailedScene), checked against the contract at synth."""
    return state_path(FailedScene, *keys)


CAUSE = _path("error", "Cause")
ERROR_NAME = _path("error", "Error")
FAILURE = _path("failure")
JOB = _path("failure", "job")
REASON = _path("failure", "job", "StatusReason")
SCENE_ID = _path("scene", "scene_id")
RUN_NAME = _path("run_name")
# The row ALL_NEW returns is DynamoDB-typed: error is a map (M) of two strings (S).
WORKER_ERROR_TYPE = _path("recorded", "Attributes", _row_field("error"), "M", "type", "S")
WORKER_ERROR_MESSAGE = _path("recorded", "Attributes", _row_field("error"), "M", "message", "S")


def failed_scene_chain(
    scope: Construct, prefix: str, task_table: dynamodb.ITable, topic: sns.ITopic
) -> sfn.IChainable:
    """One scene of a failed job: FAILED with Batch's reason (unless it finished) and its message."""
    done = sfn.Pass(scope, f"{prefix}SceneDone", result=sfn.Result.from_object({}))

    # The job's StatusReason is inside the error Cause (the DescribeJobs JSON) for a failed job; for any
    # other error the Cause text itself is the reason.
    defaults = sfn.Pass(
        scope,
        f"{prefix}FailureDefaults",
        parameters={"job": {"StatusReason.$": CAUSE}},
        result_path=FAILURE,
    )
    parse = sfn.Pass(
        scope,
        f"{prefix}ParseJobCause",
        parameters={"job.$": f"States.JsonMerge({JOB}, States.StringToJson({CAUSE}), false)"},
        result_path=FAILURE,
    )
    record = tasks.DynamoUpdateItem(
        scope,
        f"{prefix}RecordFailed",
        table=task_table,
        key={
            _row_field("run_id"): tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at(RUN_NAME)),
            _row_field("scene_id"): tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at(SCENE_ID)),
        },
        # A scene the job finished keeps its row (the condition fails, caught below). Keep an error the
        # worker recorded itself (e.g. MissingBands); add Batch's reason beside it.
        condition_expression="#status <> :succeeded AND #status <> :skipped",
        update_expression=(
            "SET #status = :failed, #finished_at = :now, #reason = :reason, "
            "#error = if_not_exists(#error, :error)"
        ),
        expression_attribute_names={
            "#status": _row_field("status"),
            "#finished_at": _row_field("finished_at"),
            "#reason": _row_field("batch_status_reason"),
            "#error": _row_field("error"),
        },
        expression_attribute_values={
            ":failed": tasks.DynamoAttributeValue.from_string(FAILED),
            ":succeeded": tasks.DynamoAttributeValue.from_string(SUCCEEDED),
            ":skipped": tasks.DynamoAttributeValue.from_string(SKIPPED),
            ":now": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$$.State.EnteredTime")),
            ":reason": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at(REASON)),
            ":error": tasks.DynamoAttributeValue.from_map(
                {
                    "type": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at(ERROR_NAME)),
                    "message": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at(REASON)),
                }
            ),
        },
        # ALL_NEW hands the row (with the worker's own error, if it recorded one) to the notification.
        return_values=tasks.DynamoReturnValues.ALL_NEW,
        result_path=_path("recorded"),
    )
    record.add_retry(interval=Duration.seconds(2), backoff_rate=2, max_attempts=4)
    notify_worker_error = tasks.SnsPublish(
        scope,
        f"{prefix}NotifySceneError",
        topic=topic,
        subject=SCENE_FAILED_SUBJECT,
        message=sfn.TaskInput.from_text(
            sfn.JsonPath.format(
                "Scene {} of run {} failed: {}: {} (Batch: {})",
                sfn.JsonPath.string_at(SCENE_ID),
                sfn.JsonPath.string_at(RUN_NAME),
                sfn.JsonPath.string_at(WORKER_ERROR_TYPE),
                sfn.JsonPath.string_at(WORKER_ERROR_MESSAGE),
                sfn.JsonPath.string_at(REASON),
            )
        ),
        result_path=sfn.JsonPath.DISCARD,
    )
    notify_worker_error.add_retry(interval=Duration.seconds(2), backoff_rate=2, max_attempts=3)
    notify = tasks.SnsPublish(
        scope,
        f"{prefix}NotifySceneFailed",
        topic=topic,
        subject=SCENE_FAILED_SUBJECT,
        message=sfn.TaskInput.from_text(
            sfn.JsonPath.format(
                "Scene {} of run {} failed ({}): {}",
                sfn.JsonPath.string_at(SCENE_ID),
                sfn.JsonPath.string_at(RUN_NAME),
                sfn.JsonPath.string_at(ERROR_NAME),
                sfn.JsonPath.string_at(REASON),
            )
        ),
        result_path=sfn.JsonPath.DISCARD,
    )
    notify.add_retry(interval=Duration.seconds(2), backoff_rate=2, max_attempts=3)
    # The condition failed: the job finished this scene (SUCCEEDED or SKIPPED) before it failed.
    record.add_catch(
        done, errors=["DynamoDB.ConditionalCheckFailedException"], result_path=sfn.JsonPath.DISCARD
    )
    # Bookkeeping failures must not stop the other scenes: fall through to the next step.
    record.add_catch(notify, result_path=_path("record_error"))
    notify.add_catch(done, result_path=_path("notify_error"))
    notify_worker_error.add_catch(done, result_path=_path("notify_error"))
    notify.next(done)
    notify_worker_error.next(done)
    record.next(
        sfn.Choice(scope, f"{prefix}WorkerRecordedError?")
        .when(
            sfn.Condition.and_(
                sfn.Condition.is_present(WORKER_ERROR_TYPE),
                sfn.Condition.is_present(WORKER_ERROR_MESSAGE),
            ),
            notify_worker_error,
        )
        .otherwise(notify)
    )
    is_job_failure = (
        sfn.Choice(scope, f"{prefix}JobFailed?")
        .when(sfn.Condition.string_equals(ERROR_NAME, "States.TaskFailed"), parse.next(record))
        .otherwise(record)
    )
    # A Catch result normally has a Cause; without one, a path to it would be a runtime error.
    no_cause = sfn.Pass(
        scope,
        f"{prefix}FailureWithoutCause",
        result=sfn.Result.from_object({"job": {"StatusReason": "(no cause given)"}}),
        result_path=FAILURE,
    )
    has_cause = (
        sfn.Choice(scope, f"{prefix}HasCause?")
        .when(sfn.Condition.is_present(CAUSE), defaults.next(is_job_failure))
        .otherwise(no_cause.next(record))
    )
    return has_cause
