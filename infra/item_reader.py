"""A Distributed Map's S3 JSON item reader whose grant is one key prefix, not the whole bucket (CDK's)."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn


class PrefixJsonItemReader(sfn.S3JsonItemReader):
    """S3JsonItemReader granting s3:GetObject on `<key_prefix>*` of its bucket only.

    CDK's reader grants GetObject on every key of the bucket when the key is a JSONPath; the work bucket
    holds item lists (items/), stored scene lists (lists/) and place rounds (places/), and each Map reads
    one of them.
    """

    def __init__(self, *, bucket: s3.IBucket, key: str, key_prefix: str) -> None:
        super().__init__(bucket=bucket, key=key)
        self._grant_arn = bucket.arn_for_objects(f"{key_prefix}*")

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        """GetObject under the key prefix (the Map's execution role gets it)."""
        return [iam.PolicyStatement(actions=["s3:GetObject"], resources=[self._grant_arn])]
