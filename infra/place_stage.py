"""After the time series: the run's place stage (issue 22), Batch jobs of the place job definition.

PlaceStage? ($.places present) → BuildPlacePlanCommand → PlacePlan (`scoresby places plan`) → its times →
one Distributed Map per job list (core/place_stage.JOB_LISTS, read from the round's folder in the work
bucket; each item one Batch job) → BuildPlaceFinishCommand → PlaceFinish → its times → the summary.
A failed item job is recorded (`failed#<round>#<job>` in `places:<run>`, and its `jobs:<run>` row) and the
Map goes on: a failed tile fails its period only, the assembly finds the tile missing. `$.place_stage` gets
{"status": SUCCEEDED, ...} from the finish job or the Catch's {Error, Cause} of the plan job, a Map or the
finish job, which ends the stage there. Nothing in it fails the run; without `$.places` it is skipped.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_batch as batch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.item_reader import PrefixJsonItemReader
from infra.job_times import JOB_TIMES, record_failed_job, record_succeeded_job
from scoresby.core import config, place_stage
from scoresby.core.contract import PlaceJobInput, RunState, state_path
from scoresby.core.place_stage import PlaceJob
from scoresby.core.task_log import SUCCEEDED
from scoresby.stores.dynamo_log import PARTITION_KEY, SORT_KEY

STAGE = state_path(RunState, "place_stage")
RUN_NAME = state_path(RunState, "run_name")
if state_path(PlaceJobInput, "run_name") != RUN_NAME:  # the jobs rows and env read it on either level
    raise KeyError("RunState and PlaceJobInput must carry the run name at the same path")
PLACE_JOB = "$.place_job"
"""Where the plan and finish jobs' command is built (a scratch key of the run state)."""
BATCH_JOB = "$.batch_job"
ERROR = "$.error"
"""Scratch keys of a Map item's state: its job's JOB_TIMES, and the Catch's {Error, Cause}."""
CATCH_FIELDS = dict(zip(place_stage.FAILED_FIELDS, ("Error", "Cause"), strict=True))
"""failed# record attribute -> the Catch's field it is written from."""


def map_label(list_name: str) -> str:
    """The state (and Distributed Map label) of a job list: composite-tiles -> PlaceCompositeTiles."""
    return "Place" + "".join(part.capitalize() for part in list_name.split("-"))


class _Stage:
    """What every state of the stage shares: queue, definition, table, retries."""

    def __init__(
        self,
        scope: Construct,
        job_queue: batch.IJobQueue,
        job_definition: batch.IJobDefinition,
        task_table: dynamodb.ITable,
        retry_errors: list[str],
    ) -> None:
        self.scope, self.queue, self.definition = scope, job_queue, job_definition
        self.table, self.retry_errors = task_table, retry_errors

    def submit(
        self,
        construct_id: str,
        job_name: str,
        command: list[str],
        result_selector: dict[str, Any],
        result_path: str,
    ) -> tasks.BatchSubmitJob:
        """submitJob.sync of one place job (the Batch throttling errors retried, failed jobs not)."""
        run = tasks.BatchSubmitJob(
            self.scope,
            construct_id,
            job_name=job_name,
            job_queue_arn=self.queue.job_queue_arn,
            job_definition_arn=self.definition.job_definition_arn,
            container_overrides=tasks.BatchContainerOverrides(
                command=command,
                environment={config.RUN_ID: sfn.JsonPath.string_at(RUN_NAME)},
            ),
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            result_selector=result_selector,
            result_path=result_path,
        )
        run.add_retry(
            errors=self.retry_errors,
            interval=Duration.seconds(5),
            backoff_rate=2,
            max_attempts=8,
            max_delay=Duration.minutes(5),
            jitter_strategy=sfn.JitterType.FULL,
        )
        return run

    def stage_job(
        self, name: str, job_name: str, argv: list[str], then: sfn.IChainable, end: sfn.IChainable
    ) -> sfn.IChainable:
        """Build the command, run the plan or finish job; `then` after it, `end` (the summary) on failure."""
        build = sfn.Pass(
            self.scope,
            f"Build{name}Command",
            parameters={"command": sfn.JsonPath.array(*argv)},
            result_path=PLACE_JOB,
        )
        run = self.submit(
            name,
            job_name,
            sfn.JsonPath.list_at(f"{PLACE_JOB}.command"),
            result_selector={"status": SUCCEEDED, "job_id.$": "$.JobId", "job": JOB_TIMES},
            result_path=STAGE,
        )
        times = {"task_table": self.table, "job_name": job_name}
        run.add_catch(
            record_failed_job(self.scope, name, error_path=STAGE, then=end, **times), result_path=STAGE
        )
        run.next(
            record_succeeded_job(
                self.scope,
                f"Record{name}JobTimes",
                job_path=state_path(RunState, "place_stage", "job"),
                then=then,
                **times,
            )
        )
        return build.next(run)

    def job_map(
        self, list_name: str, work_bucket: s3.IBucket, max_concurrency: int, end: sfn.IChainable
    ) -> sfn.DistributedMap:
        """A Distributed Map over `<round>/<list_name>.json`: one Batch job per PlaceJob."""
        label = map_label(list_name)
        prefix = sfn.JsonPath.string_at(state_path(RunState, "places", "prefix"))

        def value(key: str) -> str:
            return "$$.Map.Item.Value" + state_path(PlaceJob, key)[1:]

        selector = {
            "job_name.$": value("job_name"),
            "command.$": value("command"),
            "run_name.$": state_path(RunState, "run_name"),
            "round.$": state_path(RunState, "places", "round"),
        }
        if {k.removesuffix(".$") for k in selector} != set(PlaceJobInput.__annotations__):
            raise KeyError(f"the place Map's item state is not PlaceJobInput: {sorted(selector)}")
        job_map = sfn.DistributedMap(
            self.scope,
            label,
            item_reader=PrefixJsonItemReader(
                bucket=work_bucket,
                key=sfn.JsonPath.format(place_stage.list_key("{}", list_name), prefix),
                key_prefix=place_stage.ROUNDS_PREFIX,
            ),
            item_selector=selector,
            max_concurrency=max_concurrency,
            map_execution_type=sfn.StateMachineType.STANDARD,
            result_path=sfn.JsonPath.DISCARD,
            label=label,
            comment=f"The place jobs of <round>/{list_name}.json (written by the plan job; maybe empty)",
        )
        job_map.item_processor(self.item_chain(label))
        job_map.add_catch(end, result_path=STAGE)
        return job_map

    def item_chain(self, prefix: str) -> sfn.IChainable:
        """One place job: run it and record its times; if it failed, its failed# record too; never fails."""
        job_name = sfn.JsonPath.string_at(state_path(PlaceJobInput, "job_name"))
        run = self.submit(
            f"{prefix}Job",
            job_name,
            sfn.JsonPath.list_at(state_path(PlaceJobInput, "command")),
            result_selector=JOB_TIMES,
            result_path=BATCH_JOB,
        )
        done = sfn.Pass(self.scope, f"{prefix}Done", result=sfn.Result.from_object({}))
        times = {"task_table": self.table, "job_name": job_name}
        failure = self.failure_record(prefix, done)
        run.add_catch(
            record_failed_job(self.scope, prefix, error_path=ERROR, then=failure, **times), result_path=ERROR
        )
        run.next(
            record_succeeded_job(
                self.scope, f"{prefix}RecordJobTimes", job_path=BATCH_JOB, then=done, **times
            )
        )
        return run

    def failure_record(self, prefix: str, done: sfn.IChainable) -> sfn.IChainable:
        """PutItem `failed#<round>#<job_name>` in `places:<run>` with the Catch's Error and Cause."""
        value = tasks.DynamoAttributeValue
        item = {
            PARTITION_KEY: value.from_string(
                sfn.JsonPath.format(
                    place_stage.ledger_partition("{}"),
                    sfn.JsonPath.string_at(state_path(PlaceJobInput, "run_name")),
                )
            ),
            SORT_KEY: value.from_string(
                sfn.JsonPath.format(
                    place_stage.FAILED_SK + "{}#{}",
                    sfn.JsonPath.string_at(state_path(PlaceJobInput, "round")),
                    sfn.JsonPath.string_at(state_path(PlaceJobInput, "job_name")),
                )
            ),
            **{f: value.from_string(sfn.JsonPath.string_at(f"{ERROR}.{k}")) for f, k in CATCH_FIELDS.items()},
        }
        put = tasks.DynamoPutItem(
            self.scope,
            f"{prefix}RecordFailure",
            table=self.table,
            item=item,
            result_path=sfn.JsonPath.DISCARD,
            comment="The failed place job, for the finish job, the summary and the mail",
        )
        put.add_retry(interval=Duration.seconds(2), backoff_rate=2, max_attempts=4)
        put.add_catch(done, result_path=sfn.JsonPath.DISCARD)  # bookkeeping never stops the other jobs
        put.next(done)
        # A Catch result normally has a Cause; without one, the path to it would be a runtime error.
        no_cause = sfn.Pass(
            self.scope,
            f"{prefix}FailureWithoutCause",
            result=sfn.Result.from_string("(no cause given)"),
            result_path=f"{ERROR}.Cause",
        )
        return (
            sfn.Choice(self.scope, f"{prefix}HasCause?")
            .when(sfn.Condition.is_present(f"{ERROR}.Cause"), put)
            .otherwise(no_cause.next(put))
        )


def place_stage_states(
    scope: Construct,
    *,
    job_queue: batch.IJobQueue,
    job_definition: batch.IJobDefinition,
    task_table: dynamodb.ITable,
    work_bucket: s3.IBucket,
    max_concurrency: int,
    retry_errors: list[str],
    then: sfn.IChainable,
    without: sfn.IChainable,
) -> sfn.IChainable:
    """The stage between the time series and the summary: `then` after it, `without` when there is none."""
    stage = _Stage(scope, job_queue, job_definition, task_table, retry_errors)
    places = state_path(RunState, "places")
    round_uri = sfn.JsonPath.format(
        "s3://{}/{}",
        sfn.JsonPath.string_at(state_path(RunState, "places", "bucket")),
        sfn.JsonPath.string_at(state_path(RunState, "places", "prefix")),
    )
    run_name = sfn.JsonPath.string_at(state_path(RunState, "run_name"))
    output = sfn.JsonPath.string_at(state_path(RunState, "output"))
    finish = stage.stage_job(
        "PlaceFinish",
        place_stage.FINISH_JOB_NAME,
        place_stage.finish_command(round_uri, run_name, output),
        then,
        then,
    )
    maps = [stage.job_map(name, work_bucket, max_concurrency, then) for name in place_stage.JOB_LISTS]
    for job_map, following in zip(maps, [*maps[1:], finish], strict=True):
        job_map.next(following)
    plan = stage.stage_job(
        "PlacePlan",
        place_stage.PLAN_JOB_NAME,
        place_stage.plan_command(round_uri, run_name, output),
        maps[0],
        then,
    )
    return sfn.Choice(scope, "PlaceStage?").when(sfn.Condition.is_present(places), plan).otherwise(without)
