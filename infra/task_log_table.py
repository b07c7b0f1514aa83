"""The DynamoDB task-log table, built from the one schema in worker.task_log_dynamo."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from scoresby.stores.dynamo_log import SCENE_INDEX, table_schema

_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


def _attribute(name: str, types: dict[str, str]) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=_TYPES[types[name]])


class TaskLogTable(Construct):
    """On-demand, KMS-encrypted (AWS-managed key), point-in-time-recoverable; keyed (run_id, scene_id)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    ):
        super().__init__(scope, construct_id)
        schema = table_schema()
        types = {a["AttributeName"]: a["AttributeType"] for a in schema["AttributeDefinitions"]}
        keys = {k["KeyType"]: k["AttributeName"] for k in schema["KeySchema"]}
        indexes = []
        for gsi in schema["GlobalSecondaryIndexes"]:
            gsi_keys = {k["KeyType"]: k["AttributeName"] for k in gsi["KeySchema"]}
            indexes.append(
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=gsi["IndexName"],
                    partition_key=_attribute(gsi_keys["HASH"], types),
                    sort_key=_attribute(gsi_keys["RANGE"], types),
                    projection_type=dynamodb.ProjectionType[gsi["Projection"]["ProjectionType"]],
                )
            )
        self.table = dynamodb.TableV2(
            self,
            "Table",
            partition_key=_attribute(keys["HASH"], types),
            sort_key=_attribute(keys["RANGE"], types),
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            global_secondary_indexes=indexes,
            removal_policy=removal_policy,
        )


def grant_task_updates(table: dynamodb.ITable, grantee: iam.IGrantable) -> iam.Grant:
    """What a Batch job needs: UpdateItem on its own rows (RUNNING, SUCCEEDED, FAILED)."""
    return iam.Grant.add_to_principal(
        grantee=grantee, actions=["dynamodb:UpdateItem"], resource_arns=[table.table_arn]
    )


def grant_planning(table: dynamodb.ITable, grantee: iam.IGrantable) -> iam.Grant:
    """What the init function needs: read a run, write PENDING/SKIPPED rows, query the by-scene index."""
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        resource_arns=[table.table_arn, f"{table.table_arn}/index/{SCENE_INDEX}"],
    )


def grant_run_reads(table: dynamodb.ITable, grantee: iam.IGrantable) -> iam.Grant:
    """What the summary function needs: Query one run's partition."""
    return iam.Grant.add_to_principal(
        grantee=grantee, actions=["dynamodb:Query"], resource_arns=[table.table_arn]
    )
