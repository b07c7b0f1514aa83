"""The Scoresby stack: composes storage, task log, network, Batch, image, topic, functions, workflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, Fn, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.batch_compute import BatchCompute
from infra.image_repository import ImageRepository
from infra.network import Network
from infra.notifications import Notifications
from infra.place_jobs import PlaceJobs
from infra.run_functions import RunFunctions
from infra.scene_workflow import SceneWorkflow
from infra.settings import PipelineSettings
from infra.storage import Storage
from infra.task_log_table import TaskLogTable
from infra.watch_schedules import WatchSchedules, watches_output
from scoresby.core import contract

REPO_ROOT = Path(__file__).resolve().parent.parent

_RETENTION = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS", 30: "ONE_MONTH",
    60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS", 150: "FIVE_MONTHS", 180: "SIX_MONTHS",
    365: "ONE_YEAR", 400: "THIRTEEN_MONTHS", 545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS", 1827: "FIVE_YEARS",
    3653: "TEN_YEARS",
}  # fmt: skip


def retention_days(days: int) -> logs.RetentionDays:
    """CloudWatch Logs retention for a number of days; raises ValueError listing the allowed values."""
    if days not in _RETENTION:
        raise ValueError(f"log retention {days} days is not allowed; allowed: {sorted(_RETENTION)}")
    return getattr(logs.RetentionDays, _RETENTION[days])  # type: ignore[no-any-return]


class PipelineStack(Stack):
    """Everything a Scoresby deployment needs; settings come from CDK context (see docs/AWS.md)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: PipelineSettings,
        source_root: Path = REPO_ROOT,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._uses_new_vpc = settings.vpc_id is None
        retention = retention_days(settings.log_retention_days)

        storage = Storage(
            self,
            "Storage",
            output_bucket_name=settings.output_bucket_name,
            output_prefix=settings.output_prefix,
        )
        table = TaskLogTable(self, "TaskLog").table
        network = Network(self, "Network", vpc_id=settings.vpc_id, log_retention=retention)
        image = ImageRepository(self, "Image", context_dir=source_root)
        compute = BatchCompute(
            self,
            "Batch",
            vpc=network.vpc,
            image=image.image,
            task_table=table,
            output_bucket=storage.output_bucket,
            output_objects=storage.output_objects,
            input_buckets=settings.input_buckets,
            instance_classes=settings.instance_classes,
            max_vcpus=settings.max_vcpus,
            job_vcpus=settings.job_vcpus,
            job_memory_mib=settings.job_memory_mib,
            job_timeout=Duration.minutes(settings.job_timeout_minutes),
            job_attempts=settings.job_attempts,
            log_retention=retention,
        )
        places = PlaceJobs(
            self,
            "PlaceJobs",
            compute=compute,
            task_table=table,
            output_bucket=storage.output_bucket,
            output_objects=storage.output_objects,
            work_bucket=storage.items_bucket,
            input_buckets=settings.input_buckets,
        )
        notifications = Notifications(self, "Notifications", email=settings.notification_email)
        functions = RunFunctions(
            self,
            "Functions",
            source_root=source_root,
            task_table=table,
            output_bucket=storage.output_bucket,
            output_root=storage.output_root,
            output_objects=storage.output_objects,
            items_bucket=storage.items_bucket,
            job_vcpus=settings.job_vcpus,
            scenes_per_job=settings.scenes_per_job,
            log_retention=retention,
        )
        workflow = SceneWorkflow(
            self,
            "Workflow",
            init_function=functions.init_function,
            summary_function=functions.summary_function,
            job_queue=compute.job_queue,
            job_definition=compute.job_definition,
            place_job_definition=places.job_definition,
            task_table=table,
            topic=notifications.topic,
            items_bucket=storage.items_bucket,
            max_concurrency=settings.map_max_concurrency,
            log_retention=retention,
            quiet_rounds=settings.quiet_rounds,
        )
        notifications.topic.grant_publish(workflow.state_machine)
        WatchSchedules(self, "WatchSchedules", watches=settings.watches, state_machine=workflow.state_machine)

        CfnOutput(self, contract.STATE_MACHINE_OUTPUT, value=workflow.state_machine.state_machine_arn)
        CfnOutput(self, contract.OUTPUT_BUCKET_OUTPUT, value=storage.output_bucket.bucket_name)
        CfnOutput(self, contract.OUTPUT_ROOT_OUTPUT, value=storage.output_root)
        CfnOutput(self, contract.TASK_TABLE_OUTPUT, value=table.table_name)
        CfnOutput(self, contract.WORK_BUCKET_OUTPUT, value=storage.items_bucket.bucket_name)
        CfnOutput(self, contract.TOPIC_OUTPUT, value=notifications.topic.topic_arn)
        CfnOutput(self, contract.EXECUTION_LOG_GROUP_OUTPUT, value=workflow.log_group.log_group_name)
        CfnOutput(self, contract.JOB_LOG_GROUP_OUTPUT, value=compute.log_group.log_group_name)
        CfnOutput(self, contract.JOB_QUEUE_OUTPUT, value=compute.job_queue.job_queue_arn)
        CfnOutput(self, contract.WATCHES_OUTPUT, value=watches_output(settings.watches))

    @property
    def availability_zones(self) -> list[str]:
        """Two zones as Fn::GetAZs tokens, so a new VPC never needs an AZ lookup (no credentials at synth)."""
        if not self._uses_new_vpc:
            return super().availability_zones  # type: ignore[no-any-return]
        return [Fn.select(0, Fn.get_azs()), Fn.select(1, Fn.get_azs())]
