"""The synthesized Scoresby stack (synthesized once for this module, with cdk-nag AwsSolutions checks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.run_functions import LAMBDA_PACKAGES, RUNTIME
from scoresby.core import config, contract
from scoresby.core.task_log import FIELDS, STATUSES
from scoresby.pricing import cost
from scoresby.stores.dynamo_log import table_schema
from tests.infra.conftest import (
    REPO_ROOT,
    Synth,
    all_states,
    as_list,
    join_to_text,
    policy_statements,
    run_cfn_lint,
    state_machine_definition,
    synthesize,
)

CONTEXT = {
    "notificationEmail": "ops@example.org",
    "mapMaxConcurrency": 37,
    "jobTimeoutMinutes": 90,
    "maxVcpus": 512,
}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk.out"), CONTEXT)


@pytest.fixture(scope="module")
def definition(synth: Synth) -> dict[str, Any]:
    return state_machine_definition(synth)


@pytest.fixture(scope="module")
def states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return all_states(definition)


# --- Batch -----------------------------------------------------------------------------------------


def test_compute_environment_is_spot_memory_optimised_and_scales_to_zero(synth: Synth) -> None:
    ce = synth.only("AWS::Batch::ComputeEnvironment")["Properties"]
    resources = ce["ComputeResources"]
    assert ce["Type"] == "managed"
    assert resources["Type"] == "SPOT"
    assert resources["AllocationStrategy"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    assert resources["InstanceTypes"] == ["r6i", "r7i", "r6a", "r5"]
    assert resources["MinvCpus"] == 0 and resources["MaxvCpus"] == 512


def test_instances_require_imdsv2_out_of_reach_of_containers_and_encrypt_their_disk(synth: Synth) -> None:
    template = synth.only("AWS::EC2::LaunchTemplate")
    data = template["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"] == {
        "HttpEndpoint": "enabled",
        "HttpPutResponseHopLimit": 1,
        "HttpTokens": "required",
    }
    (root,) = data["BlockDeviceMappings"]
    assert root["Ebs"]["Encrypted"] is True
    ce = synth.only("AWS::Batch::ComputeEnvironment")["Properties"]["ComputeResources"]
    launch_template_id = ce["LaunchTemplate"]["LaunchTemplateId"]["Ref"]
    assert synth.template["Resources"][launch_template_id] is template


def test_job_definition_retries_only_spot_reclaims_and_times_out(synth: Synth) -> None:
    job = synth.only("AWS::Batch::JobDefinition", "BatchWorkerJob")["Properties"]
    assert job["RetryStrategy"] == {
        "Attempts": 3,
        "EvaluateOnExit": [
            {"Action": "RETRY", "OnStatusReason": "Host EC2*"},
            {"Action": "EXIT", "OnReason": "*"},
        ],
    }
    assert job["Timeout"] == {"AttemptDurationSeconds": 90 * 60}
    container = job["ContainerProperties"]
    assert {r["Type"]: r["Value"] for r in container["ResourceRequirements"]} == {
        "VCPU": "2",
        "MEMORY": str(cost.job_memory_mib()),
    }
    assert job["PlatformCapabilities"] == ["EC2"]
    # Read-only image; the worker's TMPDIR is a Docker volume of its own (tests/image runs it the same way).
    assert container["ReadonlyRootFilesystem"] is True
    assert container["Volumes"] == [{"Name": "scratch", "Host": {}}]  # no source path: a Docker volume
    assert container["MountPoints"] == [{"ContainerPath": "/tmp", "SourceVolume": "scratch"}]
    logging = container["LogConfiguration"]
    assert logging["LogDriver"] == "awslogs"
    log_group_id = logging["Options"]["awslogs-group"]["Ref"]
    assert synth.template["Resources"][log_group_id]["Properties"]["RetentionInDays"] == 90


def test_job_role_reads_inputs_writes_output_prefix_and_updates_task_rows_only(synth: Synth) -> None:
    statements = policy_statements(synth, "BatchJobRole")
    actions = sorted(a for s in statements for a in as_list(s["Action"]))
    assert actions == sorted(
        [
            "s3:ListBucket",
            "s3:GetObject",
            "s3:PutObject",
            "s3:AbortMultipartUpload",
            "s3:GetObject",
            "s3:ListBucket",
            "dynamodb:UpdateItem",
            "dynamodb:Query",  # the time-series job reads its run's rows
        ]
    )
    by_action: dict[str, list[str]] = {}
    for s in statements:
        assert s["Effect"] == "Allow"
        for action in as_list(s["Action"]):
            by_action.setdefault(action, []).extend(join_to_text(r) for r in as_list(s["Resource"]))
    for bucket in ("usgs-landsat", "sentinel-cogs", "sentinel-s2-l2a"):
        assert f"arn:<AWS::Partition>:s3:::{bucket}/*" in by_action["s3:GetObject"]
        assert f"arn:<AWS::Partition>:s3:::{bucket}" in by_action["s3:ListBucket"]
    assert by_action["s3:PutObject"] == ["<StorageOutputBB69BB33.Arn>/products/*"]
    assert by_action["dynamodb:UpdateItem"] == ["<TaskLogTable51A46A66.Arn>"]
    assert by_action["dynamodb:Query"] == ["<TaskLogTable51A46A66.Arn>"]  # the table, not its index


def test_no_iam_policy_grants_service_wide_or_admin_actions(synth: Synth) -> None:
    for policy in synth.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            for action in as_list(statement["Action"]):
                assert action != "*" and not action.endswith(":*"), (action, statement)


def test_no_credentials_in_any_environment(synth: Synth) -> None:
    text = json.dumps(synth.template)
    for secret in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert secret not in text


# --- the environment variables the code reads -------------------------------------------------------


def _lambda_env(synth: Synth, handler: str) -> dict[str, Any]:
    fns = [
        r for r in synth.resources("AWS::Lambda::Function").values() if r["Properties"]["Handler"] == handler
    ]
    assert len(fns) == 1, handler
    return fns[0]["Properties"]["Environment"]["Variables"]


def test_init_function_gets_every_variable_its_settings_read(synth: Synth) -> None:
    env = _lambda_env(synth, "lambdas.init_pipeline.handler.handler")
    assert set(config.InitSettings.ENV_VARS) <= set(env)
    assert join_to_text(env[config.OUTPUT]) == "s3://<StorageOutputBB69BB33>/products/"
    assert env[config.SCENES_PER_JOB] == "31"  # scenesPerJob: derived from the measured scene time


def test_summary_function_gets_every_variable_its_settings_read(synth: Synth) -> None:
    assert set(config.SummarySettings.ENV_VARS) <= set(
        _lambda_env(synth, "lambdas.summarize_run.handler.handler")
    )


def test_batch_job_gets_its_variables_from_the_definition_and_the_state_machine(
    synth: Synth, states: dict[str, dict[str, Any]]
) -> None:
    for job in synth.resources("AWS::Batch::JobDefinition").values():  # the scene and the place jobs
        container = job["Properties"]["ContainerProperties"]
        assert set(config.JobSettings.ENV_VARS) <= {e["Name"] for e in container["Environment"]}
    submits = [
        n for n, s in states.items() if s.get("Resource", "").endswith(":states:::batch:submitJob.sync")
    ]
    # inline and distributed map, the time series after them, the place stage's plan, four Maps and finish
    assert len(submits) == 9
    for name in submits:
        overrides = states[name]["Parameters"]["ContainerOverrides"]["Environment"]
        names = {e["Name"] for e in overrides}
        if name == "RunTimeseries" or name.startswith("Place"):
            assert names == {config.RUN_ID}  # they overwrite nothing but the run's series and places
        else:
            assert names == set(config.JobSettings.PER_JOB_ENV_VARS)


def test_lambdas_run_the_tested_python_with_their_own_log_groups(synth: Synth) -> None:
    # the runtime is the Python these tests run the staged asset with (test_staged_lambda_handlers_...)
    tested = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for fn in synth.resources("AWS::Lambda::Function").values():
        assert fn["Properties"]["Runtime"] == RUNTIME.name == tested
        assert "LogGroup" in fn["Properties"]["LoggingConfig"]


# --- storage, table, topic ----------------------------------------------------------------------------


def test_task_table_matches_the_shared_schema_with_pitr_and_sse(synth: Synth) -> None:
    assert synth.only("AWS::DynamoDB::GlobalTable")["DeletionPolicy"] == "Retain"
    table = synth.only("AWS::DynamoDB::GlobalTable")["Properties"]
    schema = table_schema()
    assert table["KeySchema"] == schema["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(schema["AttributeDefinitions"], key=str)
    (gsi,) = table["GlobalSecondaryIndexes"]
    (expected_gsi,) = schema["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == expected_gsi["IndexName"] == "by-scene"
    assert gsi["KeySchema"] == [
        {"AttributeName": "scene_id", "KeyType": "HASH"},
        {"AttributeName": "finished_at", "KeyType": "RANGE"},
    ]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    (replica,) = table["Replicas"]
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_every_bucket_is_encrypted_private_and_tls_only(synth: Synth) -> None:
    buckets = synth.resources("AWS::S3::Bucket")
    assert len(buckets) == 3  # output, work, access logs
    for bucket in buckets.values():
        assert bucket["DeletionPolicy"] == "Retain"  # products, logs and lists outlive the stack
        props = bucket["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
    policies = {
        p["Properties"]["Bucket"]["Ref"]: p for p in synth.resources("AWS::S3::BucketPolicy").values()
    }
    assert set(policies) == set(buckets)
    for policy in policies.values():
        denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def test_output_and_work_buckets_log_access(synth: Synth) -> None:
    logged = [
        b for b in synth.resources("AWS::S3::Bucket").values() if "LoggingConfiguration" in b["Properties"]
    ]
    assert len(logged) == 2


def test_topic_is_encrypted_tls_only_and_mails_the_operator(synth: Synth) -> None:
    topic = synth.only("AWS::SNS::Topic")["Properties"]
    assert "KmsMasterKeyId" in topic
    (statement,) = synth.only("AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }
    subscription = synth.only("AWS::SNS::Subscription")["Properties"]
    assert subscription["Protocol"] == "email" and subscription["Endpoint"] == "ops@example.org"
    assert synth.only("AWS::KMS::Key")["Properties"]["EnableKeyRotation"] is True


def test_vpc_has_public_subnets_an_s3_endpoint_and_no_nat(synth: Synth) -> None:
    assert not synth.resources("AWS::EC2::NatGateway")
    assert len(synth.resources("AWS::EC2::Subnet")) == 2
    endpoint = synth.only("AWS::EC2::VPCEndpoint")["Properties"]
    assert endpoint["VpcEndpointType"] == "Gateway" and "s3" in json.dumps(endpoint["ServiceName"])
    assert synth.resources("AWS::EC2::FlowLog")
    azs = [s["Properties"]["AvailabilityZone"] for s in synth.resources("AWS::EC2::Subnet").values()]
    assert all("Fn::Select" in az for az in azs)  # no AZ lookup, no credentials needed


def test_resources_carry_the_project_tag(synth: Synth) -> None:
    for type_name in ("AWS::S3::Bucket", "AWS::Batch::JobDefinition", "AWS::StepFunctions::StateMachine"):
        for resource in synth.resources(type_name).values():
            tags = resource["Properties"]["Tags"]
            pairs = tags.items() if isinstance(tags, dict) else [(t["Key"], t["Value"]) for t in tags]
            assert ("project", "scoresby") in pairs, type_name


def test_stack_outputs(synth: Synth) -> None:
    assert set(synth.template["Outputs"]) >= {
        "StateMachineArn",
        "OutputBucketName",
        "OutputRoot",
        "TaskTableName",
        "TopicArn",
        "ExecutionLogGroupName",
        "JobLogGroupName",
        "JobQueueArn",
    }
    # The CLI and infra name them from one module: every output the stack has is one of core.contract's.
    named = {v for k, v in vars(contract).items() if k.endswith("_OUTPUT")}
    assert set(synth.template["Outputs"]) == named


# --- the state machine --------------------------------------------------------------------------------


def test_state_machine_may_submit_describe_and_terminate_batch_jobs(synth: Synth) -> None:
    by_action: dict[str, list[str]] = {}
    for s in policy_statements(synth, "WorkflowStateMachineRole"):
        for action in as_list(s["Action"]):
            by_action.setdefault(action, []).extend(join_to_text(r) for r in as_list(s["Resource"]))
    assert "<BatchQueue00F466B7.JobQueueArn>" in by_action["batch:SubmitJob"]
    assert by_action["batch:DescribeJobs"] == ["*"]  # no resource-level permissions for it
    assert by_action["batch:TerminateJob"] == [
        "arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:job/*"
    ]
    assert by_action["sns:Publish"] == ["<NotificationsTopicAE679CBD>"]


def test_state_machine_logs_all_and_traces(synth: Synth) -> None:
    props = synth.only("AWS::StepFunctions::StateMachine")["Properties"]
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is True
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["StateMachineType"] == "STANDARD"


def test_flow_init_then_inline_or_distributed_map_then_summary_then_publish(
    definition: dict[str, Any],
) -> None:
    top = definition["States"]
    assert definition["StartAt"] == "Init"
    assert top["Init"]["Next"] == "NothingNew?"  # a watch round with nothing new ends there (watches)
    assert top["NothingNew?"]["Default"] == "ItemsInline?"
    assert top["NothingNew?"]["Choices"] == [
        {"Variable": "$.quiet", "BooleanEquals": True, "Next": "NothingNewDone"}
    ]
    assert top["Init"]["Catch"] == [
        {"ErrorEquals": ["InvalidInput"], "ResultPath": "$.error", "Next": "NotifyRejected"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyRunError"},
    ]
    assert top["Summarize"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyRunError"}
    ]
    assert top["NotifyRunError"]["Next"] == "RunFailed"
    assert top["NotifyRunError"]["Parameters"]["Subject"] == "Scoresby: run failed"
    assert top["RunFailed"] == {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}
    assert top["NotifyRejected"]["Next"] == "Rejected"
    assert top["Rejected"] == {"Type": "Fail", "Error": "InvalidInput", "CausePath": "$.error.Cause"}
    choice = top["ItemsInline?"]
    assert choice["Choices"] == [{"Variable": "$.inline", "BooleanEquals": True, "Next": "ScenesInline"}]
    assert choice["Default"] == "ScenesFromS3"
    inline, distributed = top["ScenesInline"], top["ScenesFromS3"]
    assert inline["ItemsPath"] == "$.items" and inline["ItemProcessor"]["ProcessorConfig"]["Mode"] == "INLINE"
    assert distributed["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "STANDARD",
    }
    reader = distributed["ItemReader"]
    assert reader["Resource"].endswith(":states:::s3:getObject") and reader["ReaderConfig"] == {
        "InputType": "JSON"
    }
    assert reader["Parameters"]["Key.$"] == "$.items_s3.key"
    for m in (inline, distributed):
        assert m["MaxConcurrency"] == 37
        assert m["ResultPath"] is None  # per-scene results never accumulate in the state
        assert m["Next"] == "CountDoneScenes"  # the time series (tests/infra/test_timeseries_step.py)
        assert m["ItemSelector"]["scenes.$"] == "$$.Map.Item.Value.scenes"  # one item per job
    assert top["Summarize"]["Next"] == "PublishSummary"
    publish = top["PublishSummary"]
    assert publish["Resource"].endswith(":states:::sns:publish")
    assert publish["Parameters"]["Subject.$"] == "$.summary.subject"
    assert publish["Parameters"]["Message.$"] == "$.summary.message"
    assert publish.get("End") is True


@pytest.mark.parametrize("prefix", ["Inline", "Distributed"])
def test_each_item_runs_a_batch_job_with_its_scenes_in_the_command(
    states: dict[str, dict[str, Any]], prefix: str
) -> None:
    build = states[f"{prefix}BuildCommand"]
    assert build["Parameters"]["command.$"] == (
        "States.Array('process', States.JsonToString($.scenes), '--output', $.output, '--run-name', "
        "$.run_name)"
    )
    assert build["Parameters"]["scene_count.$"] == "States.ArrayLength($.scenes)"
    run = states[f"{prefix}RunScene"]
    assert build["Next"] == f"{prefix}RunScene"
    assert run["Resource"].endswith(":states:::batch:submitJob.sync")
    assert run["Parameters"]["ContainerOverrides"]["Command.$"] == "$.job.command"
    assert run["Parameters"]["JobName.$"] == "$.job_name"
    assert "JobQueue" in run["Parameters"] and "JobDefinition" in run["Parameters"]
    (retry,) = run["Retry"]
    assert {"Batch.AWSBatchException", "Batch.TooManyRequestsException"} <= set(retry["ErrorEquals"])
    assert "States.TaskFailed" not in retry["ErrorEquals"] and "States.ALL" not in retry["ErrorEquals"]
    assert retry["BackoffRate"] >= 2 and retry["MaxAttempts"] >= 3
    assert run["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": f"{prefix}FailedJobDescribed?"}
    ]
    assert run["Next"] == f"{prefix}RecordJobTimes"
    # a failed job: every one of its scenes goes through the per-scene failure chain
    failed = states[f"{prefix}FailedJobScenes"]
    assert failed["Type"] == "Map" and failed["ItemsPath"] == "$.scenes"
    assert failed["ItemSelector"] == {
        "scene.$": "$$.Map.Item.Value",
        "run_name.$": "$.run_name",
        "error.$": "$.error",
    }
    assert failed["ItemProcessor"]["StartAt"] == f"{prefix}HasCause?"
    assert failed["ResultPath"] is None and failed["Next"] == f"{prefix}JobDone"


@pytest.mark.parametrize("prefix", ["Inline", "Distributed"])
def test_a_failed_scene_is_recorded_failed_with_the_batch_reason_and_notified(
    states: dict[str, dict[str, Any]], prefix: str
) -> None:
    has_cause = states[f"{prefix}HasCause?"]
    assert has_cause["Choices"] == [
        {"Variable": "$.error.Cause", "IsPresent": True, "Next": f"{prefix}FailureDefaults"}
    ]
    assert states[has_cause["Default"]]["Next"] == f"{prefix}RecordFailed"
    assert states[f"{prefix}FailureDefaults"]["Next"] == f"{prefix}JobFailed?"
    job_failed = states[f"{prefix}JobFailed?"]
    assert job_failed["Choices"][0]["StringEquals"] == "States.TaskFailed"
    assert job_failed["Choices"][0]["Next"] == f"{prefix}ParseJobCause"
    assert job_failed["Default"] == f"{prefix}RecordFailed"
    parse = states[f"{prefix}ParseJobCause"]
    assert "States.StringToJson($.error.Cause)" in parse["Parameters"]["job.$"]
    record = states[f"{prefix}RecordFailed"]
    assert record["Resource"].endswith(":states:::dynamodb:updateItem")
    params = record["Parameters"]
    assert params["Key"] == {"run_id": {"S.$": "$.run_name"}, "scene_id": {"S.$": "$.scene.scene_id"}}
    assert params["ExpressionAttributeValues"][":failed"] == {"S": "FAILED"}
    assert params["ExpressionAttributeValues"][":reason"] == {"S.$": "$.failure.job.StatusReason"}
    assert params["ExpressionAttributeNames"]["#status"] == "status"
    assert "#status = :failed" in params["UpdateExpression"]
    assert params["ReturnValues"] == "ALL_NEW" and record["ResultPath"] == "$.recorded"
    choice = states[record["Next"]]
    assert choice["Type"] == "Choice" and choice["Default"] == f"{prefix}NotifySceneFailed"
    assert choice["Choices"][0]["Next"] == f"{prefix}NotifySceneError"
    present = {c["Variable"] for c in choice["Choices"][0]["And"] if c.get("IsPresent")}
    assert present == {"$.recorded.Attributes.error.M.type.S", "$.recorded.Attributes.error.M.message.S"}
    notify = states[f"{prefix}NotifySceneFailed"]
    assert notify["Resource"].endswith(":states:::sns:publish")
    assert "$.failure.job.StatusReason" in notify["Parameters"]["Message.$"]
    worker_error = states[f"{prefix}NotifySceneError"]
    assert "$.recorded.Attributes.error.M.message.S" in worker_error["Parameters"]["Message.$"]
    assert (
        worker_error["Parameters"]["Subject"] == notify["Parameters"]["Subject"] == "Scoresby: a scene failed"
    )
    # A scene the job finished keeps its row and gets no message: the update's condition fails.
    assert params["ConditionExpression"] == "#status <> :succeeded AND #status <> :skipped"
    assert params["ExpressionAttributeValues"][":succeeded"] == {"S": "SUCCEEDED"}
    assert params["ExpressionAttributeValues"][":skipped"] == {"S": "SKIPPED"}
    assert record["Catch"][0] == {
        "ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"],
        "ResultPath": None,
        "Next": f"{prefix}SceneDone",
    }
    # Bookkeeping failures fall through: one scene's trouble never stops the run.
    assert record["Catch"][1]["Next"] == f"{prefix}NotifySceneFailed"
    for n in (notify, worker_error):
        assert n["Catch"][0]["Next"] == n["Next"] == f"{prefix}SceneDone"
    assert states[f"{prefix}SceneDone"] == {"Type": "Pass", "Result": {}, "End": True}


# --- cdk-nag, cfn-lint --------------------------------------------------------------------------------


def test_cdk_nag_reports_no_unacknowledged_findings(synth: Synth) -> None:
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    assert report["pluginReports"] == [] or all(not p.get("violations") for p in report["pluginReports"]), (
        report
    )


def _acknowledgements(synth: Synth) -> dict[str, str]:
    metadata = json.loads((synth.outdir / "Scoresby.metadata.json").read_text())
    found = {}
    for path, entries in metadata.items():
        for entry in entries:
            if entry["type"] == "aws:cdk:acknowledged-rules":
                for rule, reason in entry["data"].items():
                    if "AwsSolutions-" in rule:
                        found[f"{path} {rule}"] = reason
    return found


def test_cdk_nag_acknowledgements_are_narrow_and_each_carries_a_reason(synth: Synth) -> None:
    acks = _acknowledgements(synth)
    assert acks, "expected the acknowledgements infra/ makes"
    for where, reason in acks.items():
        rule = where.split("AwsSolutions-", 1)[1]
        assert rule in ("S1", "L1") or "[" in rule, f"blanket acknowledgement {where}"  # IAM4/IAM5 name it
        assert rule.split("[")[0] in {"IAM4", "IAM5", "S1", "L1"}, where
        if rule == "L1":  # the runtime rule has no finding id: acknowledged on the two functions only
            assert where.split()[0] in ("/Scoresby/Functions/Init", "/Scoresby/Functions/Summary"), where
        assert len(reason) >= 60, (where, reason)
    assert not any("Action::s3:*" in w or "Action::dynamodb:*" in w for w in acks)


def test_app_registers_aws_solutions_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_cdk import App

    import app as cdk_app

    made = []
    real = cdk_app.AwsSolutionsChecks

    def recording(*args: Any, **kwargs: Any) -> Any:
        made.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(cdk_app, "AwsSolutionsChecks", recording)
    cdk_app.build_app(App())
    assert len(made) == 1


def test_cfn_lint_passes_except_cdk_redundant_depends_on(synth: Synth) -> None:
    result = run_cfn_lint(synth)
    assert result.returncode == 0, result.stdout + result.stderr


# --- assets -------------------------------------------------------------------------------------------


def _image_asset(synth: Synth) -> Path:
    dirs = [d for d in synth.asset_dirs() if (d / "worker" / "Dockerfile").is_file()]
    assert len(dirs) == 1
    return dirs[0]


def _lambda_asset(synth: Synth) -> Path:
    dirs = [
        d
        for d in synth.asset_dirs()
        if (d / "lambdas").is_dir() and not (d / "worker" / "Dockerfile").exists()
    ]
    assert len(dirs) == 1
    return dirs[0]


def test_image_build_context_holds_only_what_the_dockerfile_copies(synth: Synth) -> None:
    context = _image_asset(synth)
    top = {p.name for p in context.iterdir()}
    assert top <= {"pyproject.toml", "README.md", "worker", "scoresby", ".dockerignore"}, top
    assert {"pyproject.toml", "worker", "scoresby"} <= top
    assert {p.name for p in (context / "worker").iterdir()} == {
        "Dockerfile",
        "requirements.txt",
        "constraints.txt",
    }
    for junk in (".venv", "node_modules", "tests", "cdk.out", ".git", "bench", "examples", "docs"):
        assert not (context / junk).exists(), junk
    assert not list(context.rglob("__pycache__"))
    assert (context / "worker" / "requirements.txt").is_file()
    size = sum(f.stat().st_size for f in context.rglob("*") if f.is_file())
    assert size < 5_000_000, size


def test_lambda_asset_holds_lambdas_and_only_the_pure_scoresby_modules(synth: Synth) -> None:
    asset = _lambda_asset(synth)
    assert {p.name for p in asset.iterdir()} == {"lambdas", "scoresby"}
    assert sorted(p.name for p in (asset / "scoresby").iterdir()) == sorted(["__init__.py", *LAMBDA_PACKAGES])
    for package in LAMBDA_PACKAGES:  # whole folders, as in the repository
        shipped = {p.name for p in (asset / "scoresby" / package).glob("*.py")}
        assert shipped == {p.name for p in (REPO_ROOT / "scoresby" / package).glob("*.py")}
    assert (asset / "lambdas" / "init_pipeline" / "handler.py").is_file()
    assert (asset / "lambdas" / "summarize_run" / "handler.py").is_file()


BLOCKED_IMPORT_CHECK = """
import sys
for heavy in ("rasterio", "numpy", "matplotlib", "pystac", "aws_cdk"):
    sys.modules[heavy] = None  # any import of them now raises ImportError
sys.path.insert(0, sys.argv[1])
import lambdas.init_pipeline.handler as init
import lambdas.summarize_run.handler as summary
import scoresby
import scoresby.core.scene_list
assert scoresby.__file__.startswith(sys.argv[1]), scoresby.__file__
assert init.__file__.startswith(sys.argv[1]), init.__file__
assert callable(init.handler) and callable(summary.handler)
print("ok")
"""


def test_lambda_asset_imports_without_rasterio_or_numpy(synth: Synth) -> None:
    asset = _lambda_asset(synth)
    result = subprocess.run(
        [sys.executable, "-c", BLOCKED_IMPORT_CHECK, str(asset)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=asset,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


STAGED_HANDLERS_RUN = """
import json, sys
for heavy in ("rasterio", "numpy", "matplotlib", "pystac", "aws_cdk"):
    sys.modules[heavy] = None
sys.path.insert(0, sys.argv[1])
import lambdas.init_pipeline.handler as init
import lambdas.summarize_run.handler as summary
assert init.__file__.startswith(sys.argv[1]) and summary.__file__.startswith(sys.argv[1])
state = init.handler(json.loads(sys.argv[2]), None)
done = summary.handler({k: state[k] for k in ("run_name", "output", "counts")}, None)
print(json.dumps({"version": list(sys.version_info[:2]), "state": state, "summary": done}))
"""


def test_staged_lambda_handlers_plan_and_summarise_a_run_on_the_runtimes_python(
    synth: Synth, moto_server: str
) -> None:
    """The staged asset's handlers, run from that folder in a fresh interpreter against moto's services."""
    import boto3

    asset = _lambda_asset(synth)
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # noqa: S106 - moto's fake
    region = "us-east-1"
    boto3.client("dynamodb", endpoint_url=moto_server, region_name=region, **keys).create_table(
        TableName="staged-tasks", **table_schema()
    )
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name=region, **keys)
    for bucket in ("staged-output", "staged-work"):
        s3.create_bucket(Bucket=bucket)
    scenes = [
        {"source": f"s3://sentinel-cogs/sentinel-s2-l2a-cogs/36/Q/WD/2020/7/S2A_36QWD_2020070{i}_0_L2A/"}
        for i in (1, 2, 2)
    ]
    event = {"run_name": "staged", "scenes": scenes}
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
        config.TASK_TABLE: "staged-tasks",
        config.OUTPUT: "s3://staged-output/products/",
        config.ITEMS_BUCKET: "staged-work",
    }
    result = subprocess.run(
        [sys.executable, "-I", "-c", STAGED_HANDLERS_RUN, str(asset), json.dumps(event)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=asset,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)
    assert f"python{out['version'][0]}.{out['version'][1]}" == RUNTIME.name
    assert out["state"]["counts"] == {"scenes": 2, "to_run": 2, "skipped": 0, "duplicates": 1}
    assert out["summary"]["counts"]["PENDING"] == 2
    summary = json.loads(
        s3.get_object(Bucket="staged-output", Key="products/staged/summary.json")["Body"].read()
    )
    assert summary["run_name"] == "staged" and len(summary["scenes"]) == 2


def test_every_dockerfile_copy_source_is_in_the_staged_build_context(synth: Synth) -> None:
    context = _image_asset(synth)
    copies = [
        line.split()[1:-1]
        for line in (context / "worker" / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ") and "--from=" not in line  # a stage's files are not in the context
    ]
    sources = [src for srcs in copies for src in srcs]
    assert "pyproject.toml" in sources and "scoresby/" in sources
    for src in sources:
        assert (context / src).exists(), f"COPY {src}: not in the image build context"


def test_dockerfile_runs_scoresby_as_non_root_on_python_311_slim() -> None:
    text = (REPO_ROOT / "worker" / "Dockerfile").read_text()
    instructions = [line.split(None, 1) for line in text.splitlines() if line and not line.startswith("#")]
    keywords = [i[0] for i in instructions if i[0].isupper()]
    # python:3.11-slim-bookworm unless the build passes another (make image's offline base), in every stage
    assert instructions[0] == ["ARG", "BASE_IMAGE=python:3.11-slim-bookworm"]
    assert {i[1].split()[0] for i in instructions if i[0] == "FROM"} == {"${BASE_IMAGE}"}
    # Batch overrides only the command, so each job names its subcommand (process, timeseries).
    assert 'ENTRYPOINT ["scoresby"]' in text
    user_lines = [i[1] for i in instructions if i[0] == "USER"]
    assert user_lines and user_lines[-1] not in ("root", "0")
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")
    assert "-r worker/requirements.txt" in text
    assert "apt-get" not in text  # GDAL comes from the rasterio wheel


def test_lambda_code_reads_the_environment_only_through_worker_config() -> None:
    sources = list((REPO_ROOT / "lambdas").rglob("*.py"))
    sources += [
        path
        for package in LAMBDA_PACKAGES
        for path in (REPO_ROOT / "scoresby" / package).glob("*.py")
        if path.name != "config.py"
    ]
    for path in sources:
        text = path.read_text()
        assert "os.environ" not in text and "getenv" not in text, f"{path} reads the environment directly"


def test_every_scoresby_variable_in_config_is_read_by_some_reader() -> None:
    names = {
        v for k, v in vars(config).items() if k.isupper() and isinstance(v, str) and v.startswith("SCORESBY_")
    }
    declared = {
        *config.InitSettings.ENV_VARS,
        *config.SummarySettings.ENV_VARS,
        *config.JobSettings.ENV_VARS,
        *config.JobSettings.PER_JOB_ENV_VARS,
    }
    assert names == declared


# --- cost: the estimator's state-transition counts come from this definition -----------------------


def _path_length(states: dict[str, Any], start: str, *, first_choice: bool = False) -> int:
    """States entered from `start` along Next (a Choice takes its Default, else its first choice)."""
    count, name = 0, start
    while name:
        state = states[name]
        count += 1
        if state.get("End") or state["Type"] in ("Succeed", "Fail"):
            break
        if state["Type"] == "Choice" and first_choice:
            name = state["Choices"][0]["Next"]
        else:
            name = state.get("Next") or state.get("Default") or state["Choices"][0]["Next"]
    return count


def test_the_cost_estimate_counts_the_state_transitions_of_this_definition(
    definition: dict[str, Any],
) -> None:
    # the scene Maps (the place stage's Maps: tests/infra/test_place_stage.py)
    maps = [s for n, s in definition["States"].items() if s["Type"] == "Map" and n.startswith("Scenes")]
    assert len(maps) == 2
    per_job = {_path_length(m["ItemProcessor"]["States"], m["ItemProcessor"]["StartAt"]) for m in maps}
    assert per_job == {cost.TRANSITIONS_PER_JOB}  # inline and Distributed Map alike
    # the run's own states on success: init, choice, the map, the time series (count, choice, command,
    # job, its times), the place-stage choice (a list without composites), summary, publish
    assert _path_length(definition["States"], definition["StartAt"]) == cost.TRANSITIONS_PER_RUN
    # a failed job that started: its times (choice, parse, choice, PutItem), its map of scenes (then JobDone,
    # on the success path too), and per scene the failure chain up to SceneDone
    for m in maps:
        processor = m["ItemProcessor"]["States"]
        [task] = [s for s in processor.values() if "batch:submitJob" in s.get("Resource", "")]
        catch_start = task["Catch"][0]["Next"]
        assert _path_length(processor, catch_start, first_choice=True) - 1 == cost.TRANSITIONS_PER_FAILED_JOB
        [scenes_map] = [s for s in processor.values() if s["Type"] == "Map"]
        scenes = scenes_map["ItemProcessor"]
        assert _path_length(scenes["States"], scenes["StartAt"]) == cost.TRANSITIONS_PER_FAILED_SCENE


def test_the_estimate_counts_one_task_table_write_per_batch_job(states: dict[str, dict[str, Any]]) -> None:
    jobs = [n for n, s in states.items() if s.get("Resource", "").endswith(":batch:submitJob.sync")]
    puts = [
        s
        for s in states.values()
        if s.get("Resource", "").endswith(":dynamodb:putItem")
        and "jobs:" in s["Parameters"]["Item"]["run_id"].get("S.$", "")  # not a failed place job's record
    ]
    # each job writes one row on success and one on failure, never both
    assert len(puts) == 2 * len(jobs) and cost.DYNAMODB_WRITES_PER_JOB == 1


def test_state_machine_writes_only_task_record_fields_and_statuses(states: dict[str, dict[str, Any]]) -> None:
    writes = [s for s in states.values() if str(s.get("Resource", "")).endswith(":dynamodb:updateItem")]
    assert writes, "the state machine records failures in the task log"
    for state in writes:
        params = state["Parameters"]
        names = [*params["Key"], *params["ExpressionAttributeNames"].values()]
        assert set(names) <= set(FIELDS), names
        literals = [v["S"] for v in params["ExpressionAttributeValues"].values() if "S" in v]
        assert literals and set(literals) <= set(STATUSES), literals
