"""S3 storage: the output bucket (created, or an existing one by name), work and access-log buckets."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import acknowledge


def _secure_bucket_props() -> dict[str, object]:
    """Settings every bucket of the stack shares: SSE-S3, no public access, TLS-only, owner-enforced."""
    return {
        "encryption": s3.BucketEncryption.S3_MANAGED,
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "enforce_ssl": True,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    }


class Storage(Construct):
    """Buckets of the pipeline; `output_root` is the default s3:// destination of a run."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        output_bucket_name: str | None = None,
        output_prefix: str = "products/",
        items_expire_after_days: int = 30,
    ) -> None:
        super().__init__(scope, construct_id)
        # Grant log delivery through a bucket policy instead of the legacy LogDeliveryWrite ACL, so every
        # bucket can stay BucketOwnerEnforced (ACLs off); set here so the construct does not rely on cdk.json.
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        self.output_prefix = output_prefix
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            **_secure_bucket_props(),  # type: ignore[arg-type]
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
        )
        acknowledge(
            self.access_logs,
            "S1",
            "This is the server-access-log bucket of the other buckets; logging it into itself would loop.",
        )
        if output_bucket_name:
            self.output_bucket: s3.IBucket = s3.Bucket.from_bucket_name(self, "Output", output_bucket_name)
            self.output_bucket_created = False
        else:
            self.output_bucket = s3.Bucket(
                self,
                "Output",
                **_secure_bucket_props(),  # type: ignore[arg-type]
                server_access_logs_bucket=self.access_logs,
                server_access_logs_prefix="output/",
                versioned=False,
                removal_policy=RemovalPolicy.RETAIN,
            )
            self.output_bucket_created = True
        # Working files of the state machine (large Map item lists); short-lived by design.
        self.items_bucket = s3.Bucket(
            self,
            "Work",
            **_secure_bucket_props(),  # type: ignore[arg-type]
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="work/",
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(items_expire_after_days))],
            # Retained like the others: deleting a non-empty bucket would make `cdk destroy` fail, and
            # emptying it needs a custom-resource Lambda. Its objects expire on their own.
            removal_policy=RemovalPolicy.RETAIN,
        )

    @property
    def output_root(self) -> str:
        """The default output of a run: s3://<output bucket>/<prefix>."""
        return f"s3://{self.output_bucket.bucket_name}/{self.output_prefix}"

    @property
    def output_objects(self) -> str:
        """The key pattern the jobs may write: everything under the output prefix."""
        return f"{self.output_prefix}*"


def grant_object_writes(bucket: s3.IBucket, grantee: iam.IGrantable, key_pattern: str, *, read: bool) -> None:
    """PutObject (+ AbortMultipartUpload) on `key_pattern`; with `read`, also GetObject there and ListBucket.

    ListBucket makes HeadObject answer 404 rather than 403 for a missing output (the worker's skip check).
    """
    actions = ["s3:PutObject", "s3:AbortMultipartUpload", *(["s3:GetObject"] if read else [])]
    iam.Grant.add_to_principal(
        grantee=grantee, actions=actions, resource_arns=[bucket.arn_for_objects(key_pattern)]
    )
    if read:
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["s3:ListBucket"], resource_arns=[bucket.bucket_arn]
        )
