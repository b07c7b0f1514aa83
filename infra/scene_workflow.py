"""The run's state machine: init → Map over jobs (submitJob.sync; Catch → per scene FAILED + SNS) → series
→ place stage (when the list has composites) → summary → SNS."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_batch as batch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.failed_scene import failed_scene_chain
from infra.item_reader import PrefixJsonItemReader
from infra.job_times import JOB_TIMES, record_failed_job, record_succeeded_job
from infra.place_stage import place_stage_states
from infra.timeseries_step import timeseries_step
from infra.workflow_grants import acknowledge_generated_permissions, grant_batch_polling
from scoresby.core import config
from scoresby.core.contract import JobInput, RunState, SummaryInput, state_path
from scoresby.core.layout import ITEMS_PREFIX

BATCH_THROTTLING_ERRORS = (
    "Batch.AWSBatchException",
    "Batch.TooManyRequestsException",
    "Batch.ServerException",
)
"""Errors of the SubmitJob API itself (throttling, service errors), retried with backoff; failed jobs not."""


INVALID_INPUT = "InvalidInput"
RUN_FAILED_SUBJECT = "Scoresby: run failed"


class SceneWorkflow(Construct):
    """The Standard state machine that runs one scene list; logs ALL to CloudWatch, X-Ray tracing on."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        init_function: lambda_.IFunction,
        summary_function: lambda_.IFunction,
        job_queue: batch.IJobQueue,
        job_definition: batch.IJobDefinition,
        place_job_definition: batch.IJobDefinition,
        task_table: dynamodb.ITable,
        topic: sns.ITopic,
        items_bucket: s3.IBucket,
        max_concurrency: int,
        log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS,
        quiet_rounds: str = "silent",
    ) -> None:
        super().__init__(scope, construct_id)
        self._job_queue = job_queue
        self._job_definition = job_definition
        self._task_table = task_table
        self._topic = topic

        init = tasks.LambdaInvoke(
            self,
            "Init",
            lambda_function=init_function,
            payload_response_only=True,
            comment="Validate the scene list, dedupe, write PENDING/SKIPPED rows, inline or S3 item list",
        )
        rejected = tasks.SnsPublish(
            self,
            "NotifyRejected",
            topic=topic,
            subject="Scoresby: scene list rejected",
            message=sfn.TaskInput.from_text(
                sfn.JsonPath.format(
                    "The scene list was rejected: {}", sfn.JsonPath.string_at("$.error.Cause")
                )
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        fail = sfn.Fail(self, "Rejected", error=INVALID_INPUT, cause_path="$.error.Cause")
        rejected.add_catch(fail, result_path="$.notify_error")
        init.add_catch(rejected.next(fail), errors=[INVALID_INPUT], result_path="$.error")
        # Anything else that stops the run (init or summary crashing, retries exhausted) is mailed too.
        run_failed = sfn.Fail(self, "RunFailed", error_path="$.error.Error", cause_path="$.error.Cause")
        run_error = tasks.SnsPublish(
            self,
            "NotifyRunError",
            topic=topic,
            subject=RUN_FAILED_SUBJECT,
            message=sfn.TaskInput.from_text(
                sfn.JsonPath.format(
                    "A Scoresby run stopped: {}: {}",
                    sfn.JsonPath.string_at("$.error.Error"),
                    sfn.JsonPath.string_at("$.error.Cause"),
                )
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        run_error.add_catch(run_failed, result_path="$.notify_error")
        run_error.next(run_failed)
        init.add_catch(run_error, errors=[sfn.Errors.ALL], result_path="$.error")

        # One item per Batch job: the init function grouped up to scenesPerJob scenes (core.batches).
        item_selector = {
            "scenes.$": "$$.Map.Item.Value.scenes",
            "job_name.$": "$$.Map.Item.Value.job_name",
            "output.$": state_path(RunState, "output"),
            "run_name.$": state_path(RunState, "run_name"),
            "overwrite.$": state_path(RunState, "overwrite"),
        }
        inline_map = sfn.Map(
            self,
            "ScenesInline",
            items_path=state_path(RunState, "items"),
            item_selector=item_selector,
            max_concurrency=max_concurrency,
            result_path=sfn.JsonPath.DISCARD,
            comment="Up to a few hundred jobs (up to scenesPerJob scenes each) passed inline by init",
        )
        inline_map.item_processor(self._scene_chain("Inline"))
        distributed_map = sfn.DistributedMap(
            self,
            "ScenesFromS3",
            item_reader=PrefixJsonItemReader(
                bucket=items_bucket,
                key=sfn.JsonPath.string_at(state_path(RunState, "items_s3", "key")),
                key_prefix=ITEMS_PREFIX,
            ),
            item_selector=item_selector,
            max_concurrency=max_concurrency,
            map_execution_type=sfn.StateMachineType.STANDARD,
            result_path=sfn.JsonPath.DISCARD,
            label="Scenes",
            comment="Large lists: the init function wrote the items to S3",
        )
        distributed_map.item_processor(self._scene_chain("Distributed"))

        publish = tasks.SnsPublish(
            self,
            "PublishSummary",
            topic=topic,
            subject=sfn.JsonPath.string_at(state_path(RunState, "summary", "subject")),
            message=sfn.TaskInput.from_json_path_at("$.summary.message"),
            result_path=sfn.JsonPath.DISCARD,
            output_path="$.summary",
        )
        # Two summary tasks, as a missing key cannot be passed on: a run with a place stage hands the
        # summary where its result is (`places`) and how the stage ended (`place_stage`).
        summarize = self._summarize("Summarize", summary_function, run_error, publish, ())
        summarize_places = self._summarize(
            "SummarizePlaces", summary_function, run_error, publish, ("places", "place_stage")
        )
        stage = place_stage_states(
            self,
            job_queue=job_queue,
            job_definition=place_job_definition,
            task_table=task_table,
            work_bucket=items_bucket,
            max_concurrency=max_concurrency,
            retry_errors=list(BATCH_THROTTLING_ERRORS),
            then=summarize_places,
            without=summarize,
        )
        series = timeseries_step(
            self,
            job_queue=job_queue,
            job_definition=job_definition,
            task_table=task_table,
            retry_errors=list(BATCH_THROTTLING_ERRORS),
            then=stage,
        )
        inline_map.next(series)
        distributed_map.next(series)
        choose = (
            sfn.Choice(self, "ItemsInline?")
            .when(sfn.Condition.boolean_equals(state_path(RunState, "inline"), True), inline_map)
            .otherwise(distributed_map)
        )
        after_init = sfn.Choice(self, "NothingNew?").when(
            sfn.Condition.boolean_equals(state_path(RunState, "quiet"), True),
            self._quiet_round(topic, quiet_rounds),
        )
        after_init.otherwise(choose)

        self.log_group = logs.LogGroup(
            self, "ExecutionLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(init.next(after_init)),
            state_machine_type=sfn.StateMachineType.STANDARD,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
            tracing_enabled=True,
            comment="Scoresby: one scene list through AWS Batch",
        )
        grant_batch_polling(self.state_machine)
        acknowledge_generated_permissions(self.state_machine, init_function, summary_function, items_bucket)

    def _summarize(
        self,
        construct_id: str,
        function: lambda_.IFunction,
        run_error: sfn.IChainable,
        publish: sfn.IChainable,
        extra: tuple[str, ...],
    ) -> sfn.IChainable:
        """The summary Lambda on SummaryInput (run_name, output, counts, timeseries and `extra`), then SNS."""
        payload = {
            "run_name": sfn.JsonPath.string_at(state_path(RunState, "run_name")),
            "output": sfn.JsonPath.string_at(state_path(RunState, "output")),
            "counts": sfn.JsonPath.object_at(state_path(RunState, "counts")),
            "timeseries": sfn.JsonPath.object_at(state_path(RunState, "timeseries")),
        }
        payload |= {key: sfn.JsonPath.object_at(state_path(RunState, key)) for key in extra}
        for key in payload:
            state_path(SummaryInput, key)  # KeyError at synth for a key the summary does not take
        task = tasks.LambdaInvoke(
            self,
            construct_id,
            lambda_function=function,
            payload=sfn.TaskInput.from_object(payload),
            payload_response_only=True,
            result_path="$.summary",
        )
        task.add_catch(run_error, errors=[sfn.Errors.ALL], result_path="$.error")
        return task.next(publish)

    def _quiet_round(self, topic: sns.ITopic, quiet_rounds: str) -> sfn.IChainable:
        """A watch round with nothing new: end at once, after one notification line if so configured."""
        end = sfn.Succeed(self, "NothingNewDone", comment="A watch round that found nothing new")
        if quiet_rounds != "one-line":
            return end
        line = tasks.SnsPublish(
            self,
            "NotifyNothingNew",
            topic=topic,
            subject=sfn.JsonPath.format(
                "Scoresby watch {}: nothing new", sfn.JsonPath.string_at(state_path(RunState, "run_name"))
            ),
            message=sfn.TaskInput.from_text(
                sfn.JsonPath.format(
                    "Scoresby watch {} round {}: nothing new since {}.",
                    sfn.JsonPath.string_at(state_path(RunState, "run_name")),
                    sfn.JsonPath.string_at(
                        state_path(RunState, "watch", "round")
                    ),  # a number: States.Format prints it
                    sfn.JsonPath.string_at(state_path(RunState, "watch", "since")),
                )
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        line.add_catch(end, result_path="$.notify_error")
        return line.next(end)

    def _scene_chain(self, prefix: str) -> sfn.IChainable:
        """One Batch job of scenes: build the command, run the job; if it fails, look at each of its scenes.

        The job runs its scenes one after the other, each with its own task-log row, and exits non-zero when
        any of them failed (or it was killed). The Catch then maps over the job's scenes: a scene the job
        finished (SUCCEEDED/SKIPPED) is left alone; any other is recorded FAILED and gets its own message.
        """
        command = sfn.Pass(
            self,
            f"{prefix}BuildCommand",
            parameters={
                "command": sfn.JsonPath.array(
                    "process",
                    sfn.JsonPath.json_to_string(sfn.JsonPath.object_at(state_path(JobInput, "scenes"))),
                    "--output",
                    sfn.JsonPath.string_at(state_path(JobInput, "output")),
                    "--run-name",
                    sfn.JsonPath.string_at(state_path(JobInput, "run_name")),
                ),
                "scene_count": sfn.JsonPath.array_length(
                    sfn.JsonPath.list_at(state_path(JobInput, "scenes"))
                ),
            },
            result_path="$.job",
        )
        submit = tasks.BatchSubmitJob(
            self,
            f"{prefix}RunScene",
            job_name=sfn.JsonPath.string_at(state_path(JobInput, "job_name")),
            job_queue_arn=self._job_queue.job_queue_arn,
            job_definition_arn=self._job_definition.job_definition_arn,
            container_overrides=tasks.BatchContainerOverrides(
                command=sfn.JsonPath.list_at("$.job.command"),
                environment={
                    config.RUN_ID: sfn.JsonPath.string_at(state_path(JobInput, "run_name")),
                    config.OVERWRITE: sfn.JsonPath.string_at(state_path(JobInput, "overwrite")),
                },
            ),
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            result_selector=JOB_TIMES,
            result_path="$.batch_job",
        )
        submit.add_retry(
            errors=list(BATCH_THROTTLING_ERRORS),
            interval=Duration.seconds(5),
            backoff_rate=2,
            max_attempts=8,
            max_delay=Duration.minutes(5),
            jitter_strategy=sfn.JitterType.FULL,
        )
        job_done = sfn.Pass(self, f"{prefix}JobDone", result=sfn.Result.from_object({}))
        failed_scenes = sfn.Map(
            self,
            f"{prefix}FailedJobScenes",
            items_path=state_path(JobInput, "scenes"),
            item_selector={
                "scene.$": "$$.Map.Item.Value",
                "run_name.$": state_path(JobInput, "run_name"),
                "error.$": "$.error",
            },
            max_concurrency=10,
            result_path=sfn.JsonPath.DISCARD,
            comment="The job failed: record and notify each of its scenes that did not finish",
        )
        failed_scenes.item_processor(failed_scene_chain(self, prefix, self._task_table, self._topic))
        times = {
            "task_table": self._task_table,
            "job_name": sfn.JsonPath.string_at(state_path(JobInput, "job_name")),
        }
        submit.add_catch(
            record_failed_job(
                self,
                prefix,
                error_path="$.error",
                then=failed_scenes,
                scenes_path="$.job.scene_count",
                **times,
            ),
            result_path="$.error",
        )
        failed_scenes.next(job_done)
        recorded = record_succeeded_job(
            self,
            f"{prefix}RecordJobTimes",
            job_path="$.batch_job",
            then=job_done,
            scenes_path="$.job.scene_count",
            **times,
        )
        return command.next(submit).next(recorded)
