"""moto fixtures for the Lambda and task-log tests: fake credentials always, one fixture per service."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from scoresby.core import config
from scoresby.stores.dynamo_log import table_schema
from tests.conftest import fake_aws_env

REGION = "eu-central-1"
TABLE = "scoresby-tasks-test"
OUTPUT_BUCKET = "scoresby-output-test"
ITEMS_BUCKET = "scoresby-work-test"
OUTPUT_ROOT = f"s3://{OUTPUT_BUCKET}/products/"


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region for every test, so nothing can reach a real account."""
    fake_aws_env(monkeypatch, REGION)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", config.TASK_TABLE, config.RUN_ID, config.OVERWRITE):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aws() -> Iterator[None]:
    """One moto mock around the test."""
    with mock_aws():
        yield


@pytest.fixture
def dynamodb(aws: None) -> Any:
    """A moto DynamoDB client with the task-log table, made from the one schema the stack also uses."""
    client = boto3.client("dynamodb")
    client.create_table(TableName=TABLE, **table_schema())
    return client


@pytest.fixture
def s3(aws: None) -> Any:
    """A moto S3 client with the output and work buckets."""
    client = boto3.client("s3")
    for bucket in (OUTPUT_BUCKET, ITEMS_BUCKET):
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch, dynamodb: Any, s3: Any) -> dict[str, str]:
    """The environment the stack gives the Lambdas, pointing at the mocked resources."""
    env = {config.TASK_TABLE: TABLE, config.OUTPUT: OUTPUT_ROOT, config.ITEMS_BUCKET: ITEMS_BUCKET}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
