"""Deployment settings: context parsing, defaults in cdk.json and the docs/AWS.md table (no synthesis)."""

from __future__ import annotations

import json
import re

import pytest

from infra.settings import CONTEXT_DEFAULTS, PipelineSettings, SettingsError
from tests.infra.conftest import REPO_ROOT


def _doc_table(doc: str) -> dict[str, str]:
    text = (REPO_ROOT / doc).read_text()
    section = text.split("Settings (CDK context)", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", section, flags=re.M)
    return dict(rows)


def _as_doc_text(value: object) -> str:
    if isinstance(value, list):
        return ",".join(value)
    if value == "":
        return '""'
    return str(value)


@pytest.mark.parametrize("doc", ["docs/AWS.md", "README.md"])
def test_docs_table_lists_every_setting_with_its_default(doc: str) -> None:
    table = _doc_table(doc)
    assert set(table) == set(CONTEXT_DEFAULTS)
    for key, default in CONTEXT_DEFAULTS.items():
        assert table[key] == _as_doc_text(default), key


def test_cdk_json_context_holds_the_same_defaults() -> None:
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    assert {k: context[k] for k in CONTEXT_DEFAULTS} == CONTEXT_DEFAULTS


def test_defaults() -> None:
    s = PipelineSettings.from_mapping({})
    assert s == PipelineSettings()
    assert s.input_buckets == ("usgs-landsat", "sentinel-cogs", "sentinel-s2-l2a")
    assert s.instance_classes == ("r6i", "r7i", "r6a", "r5")
    assert s.notification_email is None and s.output_bucket_name is None and s.vpc_id is None
    assert s.output_prefix == "products/"


def test_scenes_per_job_default_comes_from_the_measured_scene_time() -> None:
    from scoresby.pricing import cost

    s = PipelineSettings()
    assert s.scenes_per_job == cost.default_scenes_per_job() == 31
    # about five minutes of measured full-scene work per job, not seconds
    assert 240 <= s.scenes_per_job * cost.scene_seconds(cost.LANDSAT_FULL_PX) <= 330
    assert PipelineSettings.from_mapping({"scenesPerJob": "4"}).scenes_per_job == 4


def test_command_line_strings_are_parsed() -> None:
    s = PipelineSettings.from_mapping(
        {
            "inputBuckets": "usgs-landsat, my-scenes",
            "instanceClasses": "R6I,r5",
            "maxVcpus": "64",
            "outputPrefix": "/runs",
            "outputBucketName": "my-products",
            "notificationEmail": "ops@example.org",
            "vpcId": "vpc-0123456789abcdef0",
        }
    )
    assert s.input_buckets == ("usgs-landsat", "my-scenes")
    assert s.instance_classes == ("r6i", "r5")
    assert s.max_vcpus == 64 and s.output_prefix == "runs/" and s.output_bucket_name == "my-products"
    assert s.vpc_id == "vpc-0123456789abcdef0"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"maxVcpus": 0}, "maxVcpus"),
        ({"maxVcpus": "many"}, "maxVcpus"),
        ({"notificationEmail": "not-an-address"}, "notificationEmail"),
        ({"inputBuckets": ["Bad_Bucket"]}, "Bad_Bucket"),
        ({"vpcId": "my-vpc"}, "vpcId"),
        ({"instanceClasses": ""}, "instanceClasses"),
        ({"mapMaxConcurrency": 20_000}, "mapMaxConcurrency"),
        ({"scenesPerJob": 0}, "scenesPerJob"),
        ({"scenesPerJob": 101}, "scenesPerJob"),
        ({"maxVCPUs": 4}, "unknown settings"),
    ],
)
def test_bad_values_are_named(values: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        PipelineSettings.from_mapping(values)


def test_log_retention_and_instance_class_names_are_checked() -> None:
    from infra.batch_compute import instance_class
    from infra.pipeline_stack import retention_days

    assert retention_days(90).name == "THREE_MONTHS"
    with pytest.raises(ValueError, match="allowed"):
        retention_days(45)
    assert instance_class("r7i").name == "R7I"
    with pytest.raises(ValueError, match="r9zz"):
        instance_class("r9zz")


def test_job_vcpus_match_the_threads_the_worker_runs() -> None:
    from scoresby.pricing import cost
    from scoresby.raster import builder, cog

    assert PipelineSettings().job_vcpus == cost.WORKER_THREADS == builder.THREADS
    # GDAL's COG threads too: ALL_CPUS would count the host's CPUs, not the job's
    assert cog.COG_OPTIONS["NUM_THREADS"] == str(cost.WORKER_THREADS)
