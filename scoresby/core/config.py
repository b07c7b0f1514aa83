"""Environment variable names the AWS side reads, and `from_env()` readers that name a missing one.

The CDK stack sets these on the Lambdas and the Batch job definition; tests/infra checks that every variable a
reader declares in `ENV_VARS` is set on the resource that runs it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from scoresby.core.errors import PipelineError

TASK_TABLE = "SCORESBY_TASK_TABLE"
"""Name of the DynamoDB task-log table."""
OUTPUT = "SCORESBY_OUTPUT"
"""Default output root of a run, s3://bucket/prefix/ (the stack's output bucket and prefix)."""
ITEMS_BUCKET = "SCORESBY_ITEMS_BUCKET"
"""Bucket where the init Lambda writes large Map item lists for the Distributed Map's ItemReader."""
RUN_ID = "SCORESBY_RUN_ID"
"""Run id (run name) of the task-log row a Batch job records; the state machine sets it per job."""
OVERWRITE = "SCORESBY_OVERWRITE"
"""'true' when the run redoes scenes whose outputs exist; the state machine sets it per job."""
SCENES_PER_JOB = "SCORESBY_SCENES_PER_JOB"
"""At most this many scenes per Batch job (the stack's scenesPerJob); the init function groups them."""
JOB_VCPUS = "SCORESBY_JOB_VCPUS"
"""vCPUs of one Batch job (the stack's jobVcpus); the summary prices the jobs' busy time with it."""
BATCH_JOB_ID = "AWS_BATCH_JOB_ID"
"""Set by AWS Batch itself in every job container; recorded as `ran_on`."""
# Optional settings a user may set anywhere (no stack resource sets them, so they are not upper-case names
# of their own: tests/infra matches those against the readers' ENV_VARS).
OPTIONAL_VARS = {"allow_hosts": "SCORESBY_ALLOW_HOSTS"}
"""allow_hosts: comma-separated private hosts, IPs or networks a catalogue's Items may name (href_policy)."""


def allow_hosts_from_env(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The entries of SCORESBY_ALLOW_HOSTS (none when unset)."""
    value = _env(env).get(OPTIONAL_VARS["allow_hosts"], "")
    return tuple(h.strip() for h in value.split(",") if h.strip())


class MissingSetting(PipelineError, KeyError):
    """A required environment variable is not set; the message names it."""

    def __init__(self, name: str, purpose: str) -> None:
        self.name = name
        super().__init__(f"environment variable {name} is not set ({purpose})")

    def __str__(self) -> str:
        return str(self.args[0])


def _require(env: Mapping[str, str], name: str, purpose: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise MissingSetting(name, purpose)
    return value


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


@dataclass(frozen=True)
class InitSettings:
    """What the init Lambda needs: the task table, the default output root, the item-list bucket, batching."""

    task_table: str
    output: str
    items_bucket: str
    scenes_per_job: int = 1

    ENV_VARS = (TASK_TABLE, OUTPUT, ITEMS_BUCKET, SCENES_PER_JOB)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> InitSettings:
        """Read the settings from the environment; raise MissingSetting naming the first one missing."""
        e = _env(env)
        return cls(
            task_table=_require(e, TASK_TABLE, "the DynamoDB task-log table"),
            output=_require(e, OUTPUT, "the default s3:// output root"),
            items_bucket=_require(e, ITEMS_BUCKET, "the bucket for large Map item lists"),
            scenes_per_job=_positive_int(e, SCENES_PER_JOB, 1),
        )


@dataclass(frozen=True)
class SummarySettings:
    """What the summary Lambda needs: the task table, and the job vCPUs to price the jobs' busy time."""

    task_table: str
    job_vcpus: int = 2

    ENV_VARS = (TASK_TABLE, JOB_VCPUS)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SummarySettings:
        """Read the settings from the environment; raise MissingSetting naming the one missing."""
        e = _env(env)
        return cls(
            task_table=_require(e, TASK_TABLE, "the DynamoDB task-log table"),
            job_vcpus=_positive_int(e, JOB_VCPUS, 2),
        )


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    """An optional positive integer setting; MissingSetting naming it when it is not one."""
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise MissingSetting(name, f"a positive integer, not {text!r}")
    return int(text)


@dataclass(frozen=True)
class JobSettings:
    """What a Batch job reads besides its command line: the task table (optional locally), run id, job id."""

    task_table: str | None
    run_id: str | None
    overwrite: bool
    job_id: str | None

    ENV_VARS = (TASK_TABLE,)
    """Set on the job definition; RUN_ID and OVERWRITE come per job from the state machine's overrides."""
    PER_JOB_ENV_VARS = (RUN_ID, OVERWRITE)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> JobSettings:
        """Read the optional job settings; all unset on a laptop, which disables the DynamoDB task log."""
        e = _env(env)
        return cls(
            task_table=e.get(TASK_TABLE, "").strip() or None,
            run_id=e.get(RUN_ID, "").strip() or None,
            overwrite=e.get(OVERWRITE, "").strip().lower() == "true",
            job_id=e.get(BATCH_JOB_ID, "").strip() or None,
        )
