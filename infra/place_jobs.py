"""The place jobs' own job definition and job role (issue 22): same image and Spot queue, narrower rights.

A place job (`scoresby places plan|tiles|assemble|finish`, core/place_stage.py) reads the scenes (input
buckets) and the run's scene products (the output prefix), writes only the `places/` part of a run's folder,
its round's files in the work bucket, and the place ledger: task-table partitions `places:<run>`.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.batch_compute import BatchCompute, grant_input_reads
from infra.nag import acknowledge, token_text
from infra.task_log_table import grant_run_reads
from scoresby.core import place_stage

PLACES_DIR = "places"
"""The place products' folder in a run's folder (places/build.py PLACES_DIR; tests/infra compares)."""
PLACE_JOB_MEMORY_MIB = 3072
"""Memory of a place job. Measured (bench/README.md, 2026-12-06): a composite over 20 observations peaks at
426 MiB, the trend over 40 periods at 327 MiB, and the peak does not grow with the AOI (4x AOI: 1.04x). What
grows is the per-block stack of observations (7 uint16 bands x 512 px block x 2 threads: ~7 MiB per
observation), so 60 observations a period (the issue's upper figure) come to ~720 MiB; times the scene jobs'
margin of 4 (GDAL caches, S3 buffers, the container), rounded up to 512 MiB steps: 3,072 MiB. On r6i/r7i
(8 GiB per vCPU) a 2-vCPU job of 3 GiB packs like a scene job."""

LEDGER_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)
"""What the place ledger (stores/place_ledger.py) does to its items, only on `places:*` partitions. Query
(read-only) is granted on the table: the plan also reads the run's scene rows, whose partition is the run."""


def places_key_pattern(output_objects: str) -> str:
    """The key pattern of every run's place products under the output prefix: products/*/places/*."""
    return f"{output_objects}/{PLACES_DIR}/*"


class PlaceJobs(Construct):
    """The place job definition and its role (the scene jobs' role cannot touch the ledger or the rounds)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        compute: BatchCompute,
        task_table: dynamodb.ITable,
        output_bucket: s3.IBucket,
        output_objects: str,
        work_bucket: s3.IBucket,
        input_buckets: tuple[str, ...],
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Scoresby place job: read scenes and the run's products, write only its places/ "
            "part, its round in the work bucket and the place ledger (places:* rows)",
        )
        grant_input_reads(self.role, input_buckets)
        places = places_key_pattern(output_objects)
        # ListBucket (no condition) makes a HEAD of a missing key answer 404, not 403: the jobs check what
        # is there. It lists key names only; reading is limited to the prefixes below.
        self._allow(
            "ListOutputAndWork", ["s3:ListBucket"], [output_bucket.bucket_arn, work_bucket.bucket_arn]
        )
        self._allow("ReadRunProducts", ["s3:GetObject"], [output_bucket.arn_for_objects(output_objects)])
        # Publishing an Item again removes the old Item first (stores/publish.py); retired products go.
        write = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"]
        self._allow("WritePlaceProducts", write, [output_bucket.arn_for_objects(places)])
        rounds = f"{place_stage.ROUNDS_PREFIX}*"
        self._allow("ReadWriteRounds", ["s3:GetObject", *write], [work_bucket.arn_for_objects(rounds)])
        grant_run_reads(task_table, self.role)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PlaceLedger",
                actions=list(LEDGER_ACTIONS),
                resources=[task_table.table_arn],
                conditions={
                    "ForAllValues:StringLike": {
                        "dynamodb:LeadingKeys": [f"{place_stage.LEDGER_PARTITION_PREFIX}*"]
                    }
                },
            )
        )
        findings = {
            f"{token_text(self, output_bucket.bucket_arn)}/{output_objects}": "Place jobs read the run's "
            "scene products and Items under the output prefix (read-only); run names are known at run time.",
            f"{token_text(self, output_bucket.bucket_arn)}/{places}": "Place jobs write only the places/ "
            "folder of a run (<output>/<run>/places/<place>/...); run and item names come at run time.",
            f"{token_text(self, work_bucket.bucket_arn)}/{rounds}": "Place jobs read and write their round's "
            "folder in the work bucket (places/<run>/<round>/: scenes, job lists, result); made at run time.",
        }
        for resource, reason in findings.items():
            acknowledge(self.role, "IAM5", reason, finding=f"Resource::{resource}")
        self.job_definition = compute.define_job(
            self, "JobDefinition", role=self.role, memory_mib=PLACE_JOB_MEMORY_MIB
        )

    def _allow(self, sid: str, actions: list[str], resources: list[str]) -> None:
        self.role.add_to_principal_policy(iam.PolicyStatement(sid=sid, actions=actions, resources=resources))
