"""What infra, the Lambdas and the CLI agree on: the stack's output names and the state machine's payloads.

One module (stdlib-only) that infra/pipeline_stack.py and infra/scene_workflow.py, the step functions in
scoresby/steps and the AWS commands import, so a renamed output or payload key changes here only.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict, get_type_hints, is_typeddict

from scoresby.core.place_stage import PlaceRound

STACK_NAME = "Scoresby"
"""The stack's name: what app.py deploys, and the CLI's --stack unless it names another."""

# --- CloudFormation output keys of the stack (infra/pipeline_stack.py; read by scoresby/commands/stack.py) --
STATE_MACHINE_OUTPUT = "StateMachineArn"
OUTPUT_BUCKET_OUTPUT = "OutputBucketName"
OUTPUT_ROOT_OUTPUT = "OutputRoot"
TASK_TABLE_OUTPUT = "TaskTableName"
WORK_BUCKET_OUTPUT = "WorkBucketName"
"""Where lists too large for the execution input go (the init Lambda reads {"scene_list_s3": uri})."""
TOPIC_OUTPUT = "TopicArn"
EXECUTION_LOG_GROUP_OUTPUT = "ExecutionLogGroupName"
JOB_LOG_GROUP_OUTPUT = "JobLogGroupName"
JOB_QUEUE_OUTPUT = "JobQueueArn"
WATCHES_OUTPUT = "Watches"
"""The deployed watches (JSON), read by `scoresby watches --stack`."""

# --- the execution input beside a scene list ------------------------------------------------------------
WATCH_KEY = "watch"
"""The execution input of a scheduled round: {"watch": <a watch scene list>}."""
LIST_REFERENCE = "scene_list_s3"
"""The input of a list too large for it: {"scene_list_s3": "s3://<work bucket>/lists/<name>.json"}."""
OVERWRITE_KEY = "overwrite"


class WatchInfo(TypedDict):
    """A watch round's part of the run state: its number, the new items and the start of its window."""

    round: int
    new_items: int
    since: str


class ItemsS3(TypedDict):
    """Where the init function put the Map's items when they are too many to pass inline."""

    bucket: str
    key: str


class MapItem(TypedDict):
    """One item of the scene Map: one Batch job's scenes (core.batches.map_items)."""

    job_name: str
    scenes: list[dict[str, Any]]


class RunState(TypedDict, total=False):
    """The init function's result: the state the Map, the time-series step and the summary read."""

    run_name: str
    output: str
    overwrite: Literal["true", "false"]  # a string: it becomes the Batch job's environment variable
    counts: dict[str, int]
    quiet: bool  # True: nothing to run (a quiet watch round); the state machine ends at once
    timelapse: dict[str, Any]
    watch: WatchInfo
    inline: bool
    items: list[MapItem]
    items_s3: ItemsS3
    timeseries: dict[str, Any]  # the state machine's time-series step: {"status": ..., ...}
    places: PlaceRound  # set by init when the scene list has `composites` (core/place_stage.py)
    place_stage: dict[str, Any]  # the place stage: {"status": SUCCEEDED} or the Catch's {Error, Cause}
    summary: SummaryResult  # the summary function's result


class JobInput(TypedDict):
    """The state of one Batch job in the Map: its item's scenes and job name, and the run's fields."""

    scenes: list[dict[str, Any]]
    job_name: str
    output: str
    run_name: str
    overwrite: Literal["true", "false"]


class PlaceJobInput(TypedDict):
    """The state of one place job in a place Map: its item (core.place_stage.PlaceJob), run and round."""

    job_name: str
    command: list[str]
    run_name: str
    round: str


class SummaryInput(TypedDict, total=False):
    """What the Summarize task passes the summary function (built from RunState in infra/scene_workflow)."""

    run_name: str
    output: str
    counts: dict[str, int]
    timeseries: dict[str, Any]
    places: PlaceRound  # when the run has a place stage: where its result.json is
    place_stage: dict[str, Any]


class SummaryResult(TypedDict):
    """The summary function's result: the e-mail's subject and message, the counts, where summary.json is."""

    subject: str
    message: str
    counts: dict[str, int]
    summary_uri: str
    timeseries: str


class BatchJobTimes(TypedDict):
    """What a submitJob.sync task keeps of DescribeJobs' job (infra/job_times.JOB_TIMES); epoch ms."""

    JobId: str
    StartedAt: int
    StoppedAt: int


class DescribedJob(BatchJobTimes, total=False):
    """A failed job's DescribeJobs JSON, parsed from its Catch's Cause; StatusReason is Batch's reason."""

    StatusReason: str


class StateError(TypedDict):
    """A Catch's result: the error and its Cause (a failed Batch job's Cause is its DescribeJobs JSON)."""

    Error: str
    Cause: str


class JobFailure(TypedDict):
    """Where the state machine keeps a failed job's parsed description (`failure`, `failed_job`)."""

    job: DescribedJob


class SceneKey(TypedDict):
    """A scene object of a job's `scenes` (Scene.to_dict()) as the failed-scene chain reads it."""

    scene_id: str


class UpdatedRow(TypedDict):
    """A DynamoDB UpdateItem result with ReturnValues ALL_NEW: the row, attribute-value typed ({"S": ...})."""

    Attributes: dict[str, Any]


class FailedScene(TypedDict, total=False):
    """One scene of a failed Batch job in the failed-scene chain's Map (infra/failed_scene.py)."""

    scene: SceneKey
    run_name: str
    error: StateError  # the job's Catch
    failure: JobFailure  # Batch's StatusReason (from the Cause, else the Cause text itself)
    recorded: UpdatedRow  # the task-log row after the FAILED update
    record_error: StateError
    notify_error: StateError


class JobRecordState(TypedDict, total=False):
    """What the job-times states (infra/job_times) read of a job's state (RunState, JobInput) and add."""

    run_name: str
    failed_job: JobFailure


def state_path(payload: type, *keys: str) -> str:
    """The JSONPath `$.a.b` of a payload TypedDict's keys; KeyError (at synth) for a key it does not have.

    Each key is checked while the value before it is a TypedDict; below a plain dict the keys are free.
    """
    current: Any = payload
    for key in keys:
        if not is_typeddict(current):
            break
        hints = get_type_hints(current)
        if key not in hints:
            raise KeyError(f"{key!r} is not a key of {current.__name__}")
        current = hints[key]
    return "$." + ".".join(keys)
