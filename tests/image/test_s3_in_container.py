"""The image reads a requester-pays bucket through /vsis3/ and writes to S3 with a task role's credentials.

moto's S3 (a `moto_server` subprocess) sits behind `S3Gate`, which refuses requester-pays reads that do
not say the requester pays, as S3 does, and records who signed each request. Credentials come only from
the fake ECS credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI), as a Batch job's role does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.containers import BatchContainer, CredentialsEndpoint, credentials_endpoint, instance_env
from tests.image.compare import assert_same_scene_outputs
from tests.image.conftest import PRODUCTS, JobDefinition
from tests.image.s3_gate import S3Gate

pytestmark = [pytest.mark.image, pytest.mark.slow]

REGION = "us-east-1"
SOURCES = "scoresby-image-requester-pays"
OUTPUTS = "scoresby-image-outputs"
SCENES = ("LC08_L2SP_001062_20201031_20201106_02_T2", "S2A_29RKH_20200219_0_L2A")
ACCESS_KEY_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


def admin_s3(moto_server: str) -> Any:
    """The test's own client, straight to moto (not through the gate), with moto's fake keys."""
    return boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's fake key, never a container's
    )


@pytest.fixture(scope="module")
def s3_world(moto_server: str, real_scenes: dict[str, Path]) -> Iterator[dict[str, Any]]:
    """The scenes in a requester-pays bucket, an output bucket, the gate and the credentials endpoint."""
    s3 = admin_s3(moto_server)
    s3.create_bucket(Bucket=SOURCES)
    s3.put_bucket_request_payment(Bucket=SOURCES, RequestPaymentConfiguration={"Payer": "Requester"})
    s3.create_bucket(Bucket=OUTPUTS)
    for scene_id in SCENES:
        for f in sorted(real_scenes[scene_id].iterdir()):
            if f.name != "PROVENANCE.md":
                s3.upload_file(str(f), SOURCES, f"{scene_id}/{f.name}")
    gate = S3Gate(moto_server, requester_pays={SOURCES}).start()
    try:
        with credentials_endpoint() as endpoint:
            yield {"s3": s3, "gate": gate, "credentials": endpoint}
    finally:
        gate.stop()


@pytest.fixture(scope="module")
def s3_runs(image: str, job_definition: JobDefinition, s3_world: dict[str, Any]) -> dict[str, Any]:
    """Each scene processed in the container from s3:// to s3://, as the Batch job's command has it."""
    endpoint: CredentialsEndpoint = s3_world["credentials"]
    env = instance_env(endpoint.url, REGION, s3_world["gate"].url)
    runs = {}
    for scene_id in SCENES:
        scene = {"source": f"s3://{SOURCES}/{scene_id}/"}
        container = BatchContainer(
            image=image,
            command=[
                "process",
                json.dumps(scene),
                "--output",
                f"s3://{OUTPUTS}/products/",
                "--products",
                PRODUCTS,
            ]
            + ["--run-name", "image"],
            environment=env,
            vcpus=job_definition.vcpus,
            memory_mib=job_definition.memory_mib,
            readonly_root=True,
            tmpfs_paths=["/tmp"],
        )
        runs[scene_id] = (container, container.run(timeout_s=300))
    # what the containers did, before any other test sends requests of its own
    return {"runs": runs, "seen": list(s3_world["gate"].seen), "fetches": list(endpoint.requests)}


def test_scenes_from_a_requester_pays_bucket_are_processed_into_s3_as_on_the_host(
    s3_runs: dict[str, Any], s3_world: dict[str, Any], host_outputs: Path, tmp_path: Path
) -> None:
    s3 = s3_world["s3"]
    for scene_id, (_, run) in s3_runs["runs"].items():
        assert run.returncode == 0, (scene_id, run.stderr[-3000:])
        prefix = f"products/image/{scene_id}/"
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=OUTPUTS, Prefix=prefix).get("Contents", [])]
        local = tmp_path / scene_id
        local.mkdir()
        for key in keys:
            s3.download_file(OUTPUTS, key, str(local / key.removeprefix(prefix)))
        assert assert_same_scene_outputs(host_outputs / "image" / scene_id, local) == 13


def test_gdal_and_boto3_sign_with_the_endpoints_credentials_and_pay_as_requester(
    s3_runs: dict[str, Any], s3_world: dict[str, Any]
) -> None:
    endpoint: CredentialsEndpoint = s3_world["credentials"]
    seen = s3_runs["seen"]
    assert seen, "the container's S3 requests did not go through the gate"
    # no access keys in the container's environment: only the endpoint's URI
    for container, _ in s3_runs["runs"].values():
        assert not set(container.environment) & set(ACCESS_KEY_VARIABLES)
        assert container.environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == endpoint.url
    # every request, GDAL's and boto3's, signed with the credentials the endpoint served
    assert {(r.access_key_id, r.session_token) for r in seen} == {
        (endpoint.credentials.access_key_id, endpoint.credentials.token)
    }
    gdal = [r for r in seen if r.user_agent.startswith("GDAL/")]
    boto = [r for r in seen if "Boto3/" in r.user_agent]
    assert {r.key.rsplit(".", 1)[-1] for r in gdal if r.bucket == SOURCES} >= {"TIF", "tif"}  # band reads
    assert any(r.bucket == SOURCES and r.method == "GET" for r in boto)  # listing, metadata files
    assert any(r.bucket == OUTPUTS and r.method == "PUT" for r in boto)  # publishing
    assert {r.request_payer for r in seen if r.bucket == SOURCES} == {"requester"}
    assert not [r for r in seen if r.status == 403]
    # both fetched the credentials themselves (GDAL has its own credential chain, boto3 its own)
    agents = {r["user_agent"].split("/")[0] for r in s3_runs["fetches"] if r["path"] == endpoint.path}
    assert "GDAL" in agents and agents - {"GDAL"}, agents


def test_the_gate_refuses_a_requester_pays_read_that_does_not_pay(s3_world: dict[str, Any]) -> None:
    """The negative control: without the header the same read fails, as on S3."""
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_world["gate"].url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's fake key
    )
    key = f"{SCENES[0]}/{SCENES[0]}_MTL.txt"
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.get_object(Bucket=SOURCES, Key=key)
    assert s3.get_object(Bucket=SOURCES, Key=key, RequestPayer="requester")["ContentLength"] > 0
