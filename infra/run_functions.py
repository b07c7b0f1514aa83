"""The init and summary Lambdas, from one staged asset: lambdas/ plus the pure scoresby modules they use."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, Duration, ILocalBundling, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.lambda_deps import RUNTIME, check_layer
from infra.nag import acknowledge, token_text
from infra.storage import grant_object_writes
from infra.task_log_table import grant_planning, grant_run_reads
from scoresby.core import config, place_stage
from scoresby.core.layout import ITEMS_PREFIX, LISTS_PREFIX, TIMESERIES_JSON

# Subpackages of `scoresby` the Lambdas import, shipped whole: `sensors`, `core`, `pricing` and `report` are
# stdlib-only, `stores` adds only boto3, `search` only pystac-client (from the init function's layer,
# imported only for a search), `steps` (the handlers' work) uses those (all enforced by .importlinter).
# tests/infra imports the staged asset with the heavy packages blocked, so an import that drags
# rasterio/numpy in fails the tests.
LAMBDA_PACKAGES = ("sensors", "core", "pricing", "report", "stores", "search", "steps")


def stage_lambda_source(source_root: Path, out_dir: Path) -> None:
    """Copy lambdas/ and the listed scoresby subpackages into `out_dir` (the Lambda asset)."""
    shutil.copytree(
        source_root / "lambdas",
        out_dir / "lambdas",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        dirs_exist_ok=True,
    )
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    (out_dir / "scoresby").mkdir(exist_ok=True)
    shutil.copy2(source_root / "scoresby" / "__init__.py", out_dir / "scoresby" / "__init__.py")
    for package in LAMBDA_PACKAGES:
        shutil.copytree(
            source_root / "scoresby" / package,
            out_dir / "scoresby" / package,
            ignore=ignore,
            dirs_exist_ok=True,
        )


@jsii.implements(ILocalBundling)
class _StageLocally:
    """CDK local bundling: stage the asset by copying files, so no Docker is needed at synth."""

    def __init__(self, source_root: Path) -> None:
        self.source_root = source_root

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        """Copy the sources into CDK's bundling output directory."""
        stage_lambda_source(self.source_root, Path(output_dir))
        return True


def lambda_code(source_root: Path) -> lambda_.Code:
    """The shared Lambda asset; its hash is the staged output's, so it changes only when the code does."""
    return lambda_.Code.from_asset(
        str(source_root / "lambdas"),
        bundling=BundlingOptions(
            image=RUNTIME.bundling_image,  # unused: local bundling wins
            local=_StageLocally(source_root),
        ),
    )


class RunFunctions(Construct):
    """init (validate, plan, write item lists) and summary (count, write summary.json, compose message)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source_root: Path,
        task_table: dynamodb.ITable,
        output_bucket: s3.IBucket,
        output_root: str,
        output_objects: str,
        items_bucket: s3.IBucket,
        job_vcpus: int = 2,
        scenes_per_job: int = 1,
        log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS,
    ) -> None:
        super().__init__(scope, construct_id)
        code = lambda_code(source_root)
        version = RUNTIME.name.removeprefix("python")
        # pystac-client and its pins, built by `make lambda-deps` (no Docker or network at synth).
        self.search_layer = lambda_.LayerVersion(
            self,
            "SearchLayer",
            code=lambda_.Code.from_asset(str(check_layer(version, source_root / "build" / "lambda-layer"))),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="Scoresby: pystac-client for the init function's STAC searches",
        )
        self.init_function = self._function(
            "Init",
            code,
            "lambdas.init_pipeline.handler.handler",
            {
                config.TASK_TABLE: task_table.table_name,
                config.OUTPUT: output_root,
                config.ITEMS_BUCKET: items_bucket.bucket_name,
                config.SCENES_PER_JOB: str(scenes_per_job),
            },
            timeout=Duration.minutes(15),
            memory_mb=1024,
            description="Scoresby: validate a scene list, plan the task log, hand the scenes to the Map",
            log_retention=log_retention,
            layers=[self.search_layer],
        )
        grant_planning(task_table, self.init_function)
        grant_object_writes(items_bucket, self.init_function, f"{ITEMS_PREFIX}*", read=False)
        # `scoresby submit` stores scene lists over Step Functions' 256 KiB input quota under lists/.
        iam.Grant.add_to_principal(
            grantee=self.init_function,
            actions=["s3:GetObject"],
            resource_arns=[items_bucket.arn_for_objects(f"{LISTS_PREFIX}*")],
        )
        acknowledge(
            self.init_function.role,  # type: ignore[arg-type]
            "IAM5",
            "The init function reads scene lists too large for the execution input, which `scoresby submit` "
            "stores under lists/ with a key made from the list's hash.",
            finding=f"Resource::{token_text(self, items_bucket.bucket_arn)}/{LISTS_PREFIX}*",
        )
        acknowledge(
            self.init_function.role,  # type: ignore[arg-type]
            "IAM5",
            "The init function writes one item list per run under items/ with a key made at run time.",
            finding=f"Resource::{token_text(self, items_bucket.bucket_arn)}/{ITEMS_PREFIX}*",
        )

        self.summary_function = self._function(
            "Summary",
            code,
            "lambdas.summarize_run.handler.handler",
            {config.TASK_TABLE: task_table.table_name, config.JOB_VCPUS: str(job_vcpus)},
            timeout=Duration.minutes(5),
            memory_mb=512,
            description="Scoresby: count a run's task log, write summary.json, compose the notification",
            log_retention=log_retention,
        )
        grant_run_reads(task_table, self.summary_function)
        grant_object_writes(output_bucket, self.summary_function, output_objects, read=False)
        # What the time-series job made (timeseries.json names its files) goes into summary.json and the mail;
        # collection.json links every STAC Item of the run: the summary lists the run's prefix and reads its
        # JSON files (Items, timeseries.json), nothing else.
        run_json = f"{output_objects.removesuffix('*')}*.json"
        iam.Grant.add_to_principal(
            grantee=self.summary_function,
            actions=["s3:GetObject"],
            resource_arns=[output_bucket.arn_for_objects(run_json)],
        )
        self.summary_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[output_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [output_objects]}},
            )
        )
        # A place round's result.json (written by the place stage's finish job) goes into summary.json and
        # the mail. ListBucket: a missing result.json (no finish job ran) answers 404, not 403.
        rounds = f"{place_stage.ROUNDS_PREFIX}*/{place_stage.RESULT_FILE}"
        iam.Grant.add_to_principal(
            grantee=self.summary_function,
            actions=["s3:GetObject"],
            resource_arns=[items_bucket.arn_for_objects(rounds)],
        )
        iam.Grant.add_to_principal(
            grantee=self.summary_function, actions=["s3:ListBucket"], resource_arns=[items_bucket.bucket_arn]
        )
        acknowledge(
            self.summary_function.role,  # type: ignore[arg-type]
            "IAM5",
            "The summary function reads the place round's result.json in the work bucket "
            "(places/<run>/<round>/result.json); run and round are known only at run time.",
            finding=f"Resource::{token_text(self, items_bucket.bucket_arn)}/{rounds}",
        )
        acknowledge(
            self.summary_function.role,  # type: ignore[arg-type]
            "IAM5",
            "The summary function reads only the JSON files under the output prefix (the runs' STAC Items, "
            f"for collection.json, {TIMESERIES_JSON}); the run name is known only at run time.",
            finding=f"Resource::{token_text(self, output_bucket.bucket_arn)}/{run_json}",
        )
        acknowledge(
            self.summary_function.role,  # type: ignore[arg-type]
            "IAM5",
            "The summary function writes <run>/summary.json and collection.json under the output prefix; the "
            "run name is known only at run time.",
            finding=f"Resource::{token_text(self, output_bucket.bucket_arn)}/{output_objects}",
        )

    def _function(
        self,
        name: str,
        code: lambda_.Code,
        handler: str,
        environment: dict[str, str],
        *,
        timeout: Duration,
        memory_mb: int,
        description: str,
        log_retention: logs.RetentionDays,
        layers: list[lambda_.ILayerVersion] | None = None,
    ) -> lambda_.Function:
        log_group = logs.LogGroup(
            self, f"{name}Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        # An own role instead of AWSLambdaBasicExecutionRole: write to this function's log group only.
        role = iam.Role(self, f"{name}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            name,
            runtime=RUNTIME,
            code=code,
            handler=handler,
            environment=environment,
            timeout=timeout,
            memory_size=memory_mb,
            description=description,
            role=role,
            log_group=log_group,
            architecture=lambda_.Architecture.ARM_64,
            layers=layers,
        )
        acknowledge(
            function,
            "L1",
            f"{RUNTIME.name} is the newest runtime whose Python the tests can run the staged asset with "
            "(Debian 12's 3.11); AWS supports it until its deprecation on 2027-06-30.",
        )
        return function
