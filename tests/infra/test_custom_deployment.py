"""A deploy-time synthesis: explicit account/region (as `cdk deploy` with credentials gives), an existing VPC
(from a pre-filled lookup, as cdk.context.json holds it), an existing output bucket and other settings.
Synthesized once for the module, with cdk-nag on: its acknowledgements must match concrete ARNs too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra.conftest import Synth, as_list, join_to_text, policy_statements, run_cfn_lint, synthesize

ACCOUNT, REGION, VPC_ID = "123456789012", "us-west-2", "vpc-0123456789abcdef0"
LOOKUP_KEY = (
    f"vpc-provider:account={ACCOUNT}:filter.vpc-id={VPC_ID}:region={REGION}:returnAsymmetricSubnets=true"
)
VPC_LOOKUP = {
    "vpcId": VPC_ID,
    "vpcCidrBlock": "10.20.0.0/16",
    "ownerAccountId": ACCOUNT,
    "availabilityZones": [],
    "subnetGroups": [
        {
            "name": "Public",
            "type": "Public",
            "subnets": [
                {
                    "subnetId": "subnet-0a1b2c3d4e5f60001",
                    "cidr": "10.20.0.0/20",
                    "availabilityZone": "us-west-2a",
                    "routeTableId": "rtb-0a1b2c3d4e5f60001",
                },
                {
                    "subnetId": "subnet-0a1b2c3d4e5f60002",
                    "cidr": "10.20.16.0/20",
                    "availabilityZone": "us-west-2b",
                    "routeTableId": "rtb-0a1b2c3d4e5f60002",
                },
            ],
        }
    ],
}
CONTEXT: dict[str, Any] = {
    "vpcId": VPC_ID,
    LOOKUP_KEY: VPC_LOOKUP,
    "outputBucketName": "my-products",
    "outputPrefix": "scoresby",
    "inputBuckets": "usgs-landsat",
    "instanceClasses": "r5",
    "logRetentionDays": 30,
    "jobAttempts": 2,
}


@pytest.fixture(scope="module")
def deploy_env() -> Iterator[None]:
    """CDK_DEFAULT_ACCOUNT/REGION as the CLI sets them when it has credentials."""
    saved = {k: os.environ.get(k) for k in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION")}
    os.environ.update(CDK_DEFAULT_ACCOUNT=ACCOUNT, CDK_DEFAULT_REGION=REGION)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory, deploy_env: None) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk.out"), CONTEXT)


def test_existing_vpc_is_used_and_no_network_is_created(synth: Synth) -> None:
    assert not synth.resources("AWS::EC2::VPC") and not synth.resources("AWS::EC2::Subnet")
    ce = synth.only("AWS::Batch::ComputeEnvironment")["Properties"]["ComputeResources"]
    assert ce["Subnets"] == ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
    assert synth.only("AWS::EC2::SecurityGroup")["Properties"]["VpcId"] == VPC_ID


def test_no_output_bucket_is_created_and_jobs_write_under_the_prefix_of_the_given_one(synth: Synth) -> None:
    assert len(synth.resources("AWS::S3::Bucket")) == 2  # work and access logs only
    statements = policy_statements(synth, "BatchJobRole")
    puts = [
        join_to_text(r)
        for s in statements
        if "s3:PutObject" in as_list(s["Action"])
        for r in as_list(s["Resource"])
    ]
    assert puts == ["arn:<AWS::Partition>:s3:::my-products/scoresby/*"]
    reads = [
        join_to_text(r)
        for s in statements
        if "s3:GetObject" in as_list(s["Action"])
        for r in as_list(s["Resource"])
    ]
    assert "arn:<AWS::Partition>:s3:::usgs-landsat/*" in reads
    assert not any("sentinel" in r for r in reads)
    place_puts = [
        join_to_text(r)
        for s in policy_statements(synth, "PlaceJobsJobRole")
        if "s3:PutObject" in as_list(s["Action"])
        for r in as_list(s["Resource"])
    ]
    # the place jobs: the places/ part of a run under the given prefix, and their rounds in the work bucket
    assert sorted(place_puts) == [
        "<StorageWorkD07184AE.Arn>/places/*",
        "arn:<AWS::Partition>:s3:::my-products/scoresby/*/places/*",
    ]


def test_functions_default_to_the_given_bucket(synth: Synth) -> None:
    (init,) = [
        f
        for f in synth.resources("AWS::Lambda::Function").values()
        if f["Properties"]["Handler"].startswith("lambdas.init_pipeline")
    ]
    assert init["Properties"]["Environment"]["Variables"]["SCORESBY_OUTPUT"] == "s3://my-products/scoresby/"
    assert synth.template["Outputs"]["OutputBucketName"]["Value"] == "my-products"


def test_other_settings_reach_the_template(synth: Synth) -> None:
    ce = synth.only("AWS::Batch::ComputeEnvironment")["Properties"]["ComputeResources"]
    assert ce["InstanceTypes"] == ["r5"]
    for job in synth.resources("AWS::Batch::JobDefinition").values():  # the scene and the place jobs
        assert job["Properties"]["RetryStrategy"]["Attempts"] == 2
    retention = {
        g["Properties"].get("RetentionInDays") for g in synth.resources("AWS::Logs::LogGroup").values()
    }
    assert retention == {30}
    assert not synth.resources("AWS::SNS::Subscription")  # no e-mail given


def test_cfn_lint_passes_except_cdk_redundant_depends_on(synth: Synth) -> None:
    result = run_cfn_lint(synth)
    assert result.returncode == 0, result.stdout + result.stderr
