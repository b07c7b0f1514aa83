"""AWS Batch: a Spot, memory-optimised EC2 compute environment, a job queue and the worker job definition."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import acknowledge, token_text
from infra.storage import grant_object_writes
from infra.task_log_table import grant_run_reads, grant_task_updates
from scoresby.core import config

SCRATCH_PATH = "/tmp"  # noqa: S108 - the container's TMPDIR, a volume of its own (read-only root)
"""Where the worker's temporary files go inside the container (the image sets TMPDIR to it)."""

SPOT_RECLAIM_REASON = "Host EC2*"
"""Batch's statusReason when the Spot instance under a job was reclaimed: the only failure worth a retry."""


def instance_class(name: str) -> ec2.InstanceClass:
    """The EC2 instance class for a name such as 'r6i'; raises ValueError naming the bad one."""
    try:
        return getattr(ec2.InstanceClass, name.upper())  # type: ignore[no-any-return]
    except AttributeError:
        raise ValueError(
            f"instance class {name!r} is not an EC2 instance class (e.g. r6i, r7i, r6a, r5)"
        ) from None


class BatchCompute(Construct):
    """Compute environment, queue and job definition; the job role reads the inputs and writes the outputs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        image: ecs.ContainerImage,
        task_table: dynamodb.ITable,
        output_bucket: s3.IBucket,
        output_objects: str,
        input_buckets: tuple[str, ...],
        instance_classes: tuple[str, ...],
        max_vcpus: int,
        job_vcpus: int,
        job_memory_mib: int,
        job_timeout: Duration,
        job_attempts: int = 3,
        root_volume_gib: int = 64,
        log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS,
    ) -> None:
        super().__init__(scope, construct_id)
        security_group = ec2.SecurityGroup(
            self,
            "InstancesSg",
            vpc=vpc,
            description="Scoresby Batch instances: outbound only",
            allow_all_outbound=True,
        )
        # IMDSv2 only, one hop: containers (bridge network, one hop further) cannot reach the instance role;
        # jobs get their own role from the ECS credential endpoint. Encrypted root volume for scratch files.
        launch_template = ec2.LaunchTemplate(
            self,
            "InstanceTemplate",
            http_endpoint=True,
            http_tokens=ec2.LaunchTemplateHttpTokens.REQUIRED,
            http_put_response_hop_limit=1,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        root_volume_gib, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3
                    ),
                )
            ],
        )
        self.compute_environment = batch.ManagedEc2EcsComputeEnvironment(
            self,
            "SpotCompute",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            security_groups=[security_group],
            spot=True,
            allocation_strategy=batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED,
            instance_classes=[instance_class(c) for c in instance_classes],
            use_optimal_instance_classes=False,
            minv_cpus=0,
            maxv_cpus=max_vcpus,
            update_to_latest_image_version=True,
            launch_template=launch_template,
        )
        acknowledge(
            self.compute_environment,
            "IAM4",
            "The ECS container-instance role of a Batch EC2 compute environment needs AWS's managed ECS "
            "agent policy (register the instance, pull images, send logs); AWS updates it with the agent.",
            finding="Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
        )
        self.job_queue = batch.JobQueue(
            self,
            "Queue",
            compute_environments=[
                batch.OrderedComputeEnvironment(compute_environment=self.compute_environment, order=1)
            ],
        )

        self.log_group = logs.LogGroup(
            self, "JobLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.job_role = iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Scoresby worker job: read input scenes, write products, update the task log, "
            "read a run's rows for its time series",
        )
        grant_input_reads(self.job_role, input_buckets)
        grant_object_writes(output_bucket, self.job_role, output_objects, read=True)
        acknowledge(
            self.job_role,
            "IAM5",
            "Jobs write products under the output prefix with keys made at run time "
            "(<run>/<scene>/<scene>_<product>.tif); the wildcard is limited to that prefix.",
            finding=f"Resource::{token_text(self, output_bucket.bucket_arn)}/{output_objects}",
        )
        grant_task_updates(task_table, self.job_role)
        # The time-series job after the Map (`scoresby timeseries`) reads its run's rows: Query only.
        grant_run_reads(task_table, self.job_role)

        self._image, self._vcpus, self._table_name = image, job_vcpus, task_table.table_name
        self._timeout, self._attempts = job_timeout, job_attempts
        self.job_definition = self.define_job(
            self, "WorkerJob", role=self.job_role, memory_mib=job_memory_mib, container_id="Container"
        )

    def define_job(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role: iam.IRole,
        memory_mib: int,
        container_id: str = "Container",
    ) -> batch.EcsJobDefinition:
        """A job definition of the worker image on this queue's Spot instances, with `role` as its job role.

        Same image, vCPUs, timeout, read-only root, scratch volume, log group and Spot-reclaim retry as every
        job of the stack; only the role and the memory differ (the scene jobs' and the place jobs').
        """
        container = batch.EcsEc2ContainerDefinition(
            scope,
            container_id,
            image=self._image,
            cpu=self._vcpus,
            memory=Size.mebibytes(memory_mib),
            job_role=role,
            logging=ecs.LogDriver.aws_logs(stream_prefix="scoresby", log_group=self.log_group),
            # The image is never written to; scratch files go to a Docker volume on the instance's encrypted
            # disk (not tmpfs, which would count against the job's memory). tests/image runs it this way.
            readonly_root_filesystem=True,
            volumes=[batch.EcsVolume.host(name="scratch", container_path=SCRATCH_PATH)],
            environment={
                # GDAL's settings (requester pays, no remote folder listing, ...) are applied by the
                # worker itself around every read (scoresby/discovery/discover.py gdal_env_options).
                config.TASK_TABLE: self._table_name,
            },
        )
        acknowledge(
            container,
            "IAM5",
            "The execution role's ecr:GetAuthorizationToken has no resource-level permissions (AWS requires "
            "Resource '*'); image pulls themselves are limited to the asset repository.",
            finding="Resource::*",
        )
        return batch.EcsJobDefinition(
            scope,
            construct_id,
            container=container,
            timeout=self._timeout,
            retry_attempts=self._attempts,
            retry_strategies=[
                batch.RetryStrategy.of(
                    batch.Action.RETRY, batch.Reason.custom(on_status_reason=SPOT_RECLAIM_REASON)
                ),
                batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom(on_reason="*")),
            ],
            propagate_tags=True,
        )


def grant_input_reads(role: iam.IRole, input_buckets: tuple[str, ...]) -> None:
    """List and get on the input buckets only (requester-pays needs no extra action, only the header)."""
    if not input_buckets:
        return
    partition = Stack.of(role).partition
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="ListInputBuckets",
            actions=["s3:ListBucket"],
            resources=[f"arn:{partition}:s3:::{b}" for b in input_buckets],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="ReadInputObjects",
            actions=["s3:GetObject"],
            resources=[f"arn:{partition}:s3:::{b}/*" for b in input_buckets],
        )
    )
    for bucket in input_buckets:
        acknowledge(
            role,
            "IAM5",
            f"Jobs read any scene of the input bucket {bucket}; scene keys are only known at run time. "
            "Read-only (s3:GetObject).",
            finding=f"Resource::arn:<AWS::Partition>:s3:::{bucket}/*",
        )
