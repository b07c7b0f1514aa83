"""The stack with an existing output bucket and other non-default settings (synthesized once, cdk-nag on)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.conftest import Synth, as_list, join_to_text, policy_statements, synthesize

CONTEXT: dict[str, Any] = {
    "outputBucketName": "my-products",
    "outputPrefix": "scoresby",
    "inputBuckets": "usgs-landsat",
    "instanceClasses": "r5",
    "logRetentionDays": 30,
    "jobAttempts": 2,
}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk.out"), CONTEXT)


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
    assert synth.only("AWS::Batch::JobDefinition")["Properties"]["RetryStrategy"]["Attempts"] == 2
    retention = {
        g["Properties"].get("RetentionInDays") for g in synth.resources("AWS::Logs::LogGroup").values()
    }
    assert retention == {30}
    assert not synth.resources("AWS::SNS::Subscription")  # no e-mail given
