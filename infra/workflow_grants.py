"""The state machine role's extra grants and the reasons for the wildcards CDK's integrations generate."""

from __future__ import annotations

import json

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn

from infra.nag import acknowledge, arn_prefix, token_text
from infra.place_stage import map_label
from scoresby.core import place_stage
from scoresby.core.layout import ITEMS_PREFIX


def grant_batch_polling(sm: sfn.StateMachine) -> None:
    """DescribeJobs and TerminateJob, which submitJob.sync needs beside the SubmitJob CDK grants."""
    # submitJob.sync also describes jobs and, when an execution is stopped, terminates them; CDK's
    # BatchSubmitJob grants only SubmitJob (and the EventBridge rule it waits on).
    sm.add_to_role_policy(iam.PolicyStatement(actions=["batch:DescribeJobs"], resources=["*"]))
    sm.add_to_role_policy(
        iam.PolicyStatement(
            actions=["batch:TerminateJob"],
            resources=[Stack.of(sm).format_arn(service="batch", resource="job", resource_name="*")],
        )
    )


def acknowledge_generated_permissions(
    sm: sfn.StateMachine,
    init_function: lambda_.IFunction,
    summary_function: lambda_.IFunction,
    items_bucket: s3.IBucket,
) -> None:
    """Wildcards in the policies CDK's Step Functions integrations generate, each with its reason."""
    name = {
        "Fn::Select": [
            6,
            {"Fn::Split": [":", {"Ref": Stack.of(sm).resolve(sm.state_machine_arn)["Ref"]}]},
        ]
    }
    executions = arn_prefix(sm, "states") + "execution:" + json.dumps(name, separators=(",", ":"))
    findings = [
        (
            "Resource::*",
            "X-Ray (xray:PutTraceSegments, PutTelemetryRecords, GetSampling*) and CloudWatch Logs "
            "vended delivery (logs:CreateLogDelivery, ...) have no resource-level permissions; "
            "batch:DescribeJobs/TerminateJob neither (submitJob.sync polls and cancels jobs).",
        ),
        (
            f"Resource::{token_text(sm, init_function.function_arn)}:*",
            "LambdaInvoke's grant covers versions and aliases (ARN:*) of this one function only.",
        ),
        (
            f"Resource::{token_text(sm, summary_function.function_arn)}:*",
            "LambdaInvoke's grant covers versions and aliases (ARN:*) of this one function only.",
        ),
        (
            f"Resource::{arn_prefix(sm, 'batch')}job/*",
            "Stopping an execution terminates its running Batch jobs, whose ids exist only at run time.",
        ),
        (
            f"Resource::{arn_prefix(sm, 'batch')}job-definition/*",
            "BatchSubmitJob grants SubmitJob on job-definition/* as a job definition ARN carries its "
            "revision; the job queue is a single ARN, so jobs still go only to this stack's queue.",
        ),
        (
            f"Resource::{token_text(sm, items_bucket.bucket_arn)}/{ITEMS_PREFIX}*",
            "The Distributed Map's ItemReader reads the run's item list, whose key is made at run time, "
            "from the stack's own work bucket (read-only, items/ only).",
        ),
        (
            f"Resource::{token_text(sm, items_bucket.bucket_arn)}/{place_stage.ROUNDS_PREFIX}*",
            "The place stage's Distributed Maps read the round's job lists (places/<run>/<round>/), whose "
            "keys are made at run time, from the stack's own work bucket (read-only, places/ only).",
        ),
        (
            "Action::kms:GenerateDataKey*",
            "Publishing to the KMS-encrypted topic needs GenerateDataKey* on the topic's own key only.",
        ),
        (
            f"Resource::{executions}:*",
            "A Distributed Map starts child executions of this state machine; names are made at runtime.",
        ),
        (
            f"Resource::{executions}/Scenes:*",
            "A Distributed Map manages the child executions of its 'Scenes' map run (run-time names).",
        ),
    ]
    for list_name in place_stage.JOB_LISTS:
        label = map_label(list_name)
        findings.append(
            (
                f"Resource::{executions}/{label}:*",
                f"The '{label}' Distributed Map manages the child executions of its map runs "
                "(their names are made at run time).",
            )
        )
    for finding, reason in findings:
        acknowledge(sm, "IAM5", reason, finding=finding)
