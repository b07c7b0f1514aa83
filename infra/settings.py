"""Deployment settings read from CDK context (cdk.json, `-c key=value`); defaults as in docs/AWS.md."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.watch_settings import QUIET_ROUNDS, WatchSetting, WatchSettingError, parse_watches
from scoresby.core.batches import MAX_SCENES_PER_JOB
from scoresby.pricing import cost

if TYPE_CHECKING:
    from constructs import Node

DEFAULT_INPUT_BUCKETS = ("usgs-landsat", "sentinel-cogs", "sentinel-s2-l2a")
DEFAULT_INSTANCE_CLASSES = ("r6i", "r7i", "r6a", "r5")

# context key -> default; docs/AWS.md has the same table and tests/infra checks they agree.
CONTEXT_DEFAULTS: dict[str, Any] = {
    "notificationEmail": "",
    "inputBuckets": list(DEFAULT_INPUT_BUCKETS),
    "outputBucketName": "",
    "outputPrefix": "products/",
    "maxVcpus": 256,
    "instanceClasses": list(DEFAULT_INSTANCE_CLASSES),
    "jobVcpus": cost.WORKER_THREADS,
    "jobMemoryMiB": cost.job_memory_mib(),
    "jobTimeoutMinutes": 120,
    "jobAttempts": 3,
    "scenesPerJob": cost.default_scenes_per_job(),
    "mapMaxConcurrency": 100,
    "vpcId": "",
    "logRetentionDays": 90,
    "watches": "",
    "watchQuietRounds": "silent",
}

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class SettingsError(ValueError):
    """A context value is malformed; the message names the key, the value and what is allowed."""


def _as_list(key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, list | tuple):
        items = [str(v).strip() for v in value]
    else:
        raise SettingsError(
            f"context {key}: {value!r} is not allowed; allowed: a list or comma-separated string"
        )
    return [v for v in items if v]


def _as_int(key: str, value: Any, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = low - 1
    if not low <= number <= high:
        raise SettingsError(f"context {key}: {value!r} is not allowed; allowed: an integer {low}..{high}")
    return number


@dataclass(frozen=True)
class PipelineSettings:
    """Every deploy-time choice of the pipeline stack."""

    notification_email: str | None = None
    input_buckets: tuple[str, ...] = DEFAULT_INPUT_BUCKETS
    output_bucket_name: str | None = None
    output_prefix: str = "products/"
    max_vcpus: int = 256
    instance_classes: tuple[str, ...] = DEFAULT_INSTANCE_CLASSES
    job_vcpus: int = cost.WORKER_THREADS
    job_memory_mib: int = cost.job_memory_mib()
    job_timeout_minutes: int = 120
    job_attempts: int = 3
    scenes_per_job: int = cost.default_scenes_per_job()
    map_max_concurrency: int = 100
    vpc_id: str | None = None
    log_retention_days: int = 90
    watches: tuple[WatchSetting, ...] = ()
    quiet_rounds: str = "silent"

    @classmethod
    def from_context(cls, node: Node) -> PipelineSettings:
        """Read the settings from CDK context; unset keys take CONTEXT_DEFAULTS."""
        raw = {k: node.try_get_context(k) for k in CONTEXT_DEFAULTS}
        return cls.from_mapping({k: v for k, v in raw.items() if v is not None})

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> PipelineSettings:
        """Validate context-style values (camelCase keys, strings or JSON types)."""
        unknown = sorted(set(values) - set(CONTEXT_DEFAULTS))
        if unknown:
            raise SettingsError(f"unknown settings {unknown}; allowed: {sorted(CONTEXT_DEFAULTS)}")
        v = {**CONTEXT_DEFAULTS, **values}
        email = str(v["notificationEmail"]).strip() or None
        if email is not None and not _EMAIL.fullmatch(email):
            raise SettingsError(f"context notificationEmail: {email!r} is not an e-mail address")
        buckets = tuple(_as_list("inputBuckets", v["inputBuckets"]))
        output_bucket = str(v["outputBucketName"]).strip() or None
        for name in (*buckets, *([output_bucket] if output_bucket else [])):
            if not _BUCKET.fullmatch(name):
                raise SettingsError(
                    f"bucket name {name!r} is not allowed; allowed: 3-63 of a-z, 0-9, '.', '-'"
                )
        prefix = str(v["outputPrefix"]).strip().strip("/")
        classes = tuple(c.lower() for c in _as_list("instanceClasses", v["instanceClasses"]))
        if not classes:
            raise SettingsError(
                "context instanceClasses: empty; allowed: EC2 instance classes such as r6i, r5"
            )
        vpc_id = str(v["vpcId"]).strip() or None
        if vpc_id is not None and not re.fullmatch(r"vpc-[0-9a-f]{8,17}", vpc_id):
            raise SettingsError(
                f"context vpcId: {vpc_id!r} is not allowed; allowed: vpc- and 8-17 hex digits"
            )
        try:
            watches = parse_watches(v["watches"])
        except WatchSettingError as exc:
            raise SettingsError(str(exc)) from None
        quiet = str(v["watchQuietRounds"]).strip()
        if quiet not in QUIET_ROUNDS:
            raise SettingsError(
                f"context watchQuietRounds: {quiet!r} is not allowed; allowed: {', '.join(QUIET_ROUNDS)}"
            )
        return cls(
            notification_email=email,
            input_buckets=buckets,
            output_bucket_name=output_bucket,
            output_prefix=f"{prefix}/" if prefix else "",
            max_vcpus=_as_int("maxVcpus", v["maxVcpus"], 1, 100_000),
            instance_classes=classes,
            job_vcpus=_as_int("jobVcpus", v["jobVcpus"], 1, 192),
            job_memory_mib=_as_int("jobMemoryMiB", v["jobMemoryMiB"], 512, 1_572_864),
            job_timeout_minutes=_as_int("jobTimeoutMinutes", v["jobTimeoutMinutes"], 1, 14 * 24 * 60),
            job_attempts=_as_int("jobAttempts", v["jobAttempts"], 1, 10),
            scenes_per_job=_as_int("scenesPerJob", v["scenesPerJob"], 1, MAX_SCENES_PER_JOB),
            map_max_concurrency=_as_int("mapMaxConcurrency", v["mapMaxConcurrency"], 1, 10_000),
            vpc_id=vpc_id,
            log_retention_days=_as_int("logRetentionDays", v["logRetentionDays"], 1, 3653),
            watches=watches,
            quiet_rounds=quiet,
        )
