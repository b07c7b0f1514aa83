"""The deployed stack as the AWS commands see it: its outputs, execution names and inputs, a run's rows."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scoresby.core.contract import OVERWRITE_KEY, TASK_TABLE_OUTPUT
from scoresby.core.errors import PipelineError

if TYPE_CHECKING:
    from scoresby.core.scene_list import RunPlan
    from scoresby.core.task_log import TaskRecord

EXECUTION_NAME_MAX = 80
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class StackNotFound(PipelineError, LookupError):
    """The CloudFormation stack does not exist or lacks an output the command needs."""


@dataclass(frozen=True)
class StackInfo:
    """What the commands need from the deployed stack's outputs."""

    name: str
    region: str
    outputs: dict[str, str]

    def require(self, key: str) -> str:
        """The output `key`; raises StackNotFound naming the outputs that do exist."""
        if key not in self.outputs:
            have = ", ".join(sorted(self.outputs)) or "none"
            raise StackNotFound(f"stack {self.name} has no output {key} (outputs: {have}); is it deployed?")
        return self.outputs[key]


def execution_input(plan: RunPlan, *, overwrite: bool = False) -> dict[str, Any]:
    """State machine input of a plan: its normalised full-form scene list (the init Lambda revalidates).

    A plan still holding its `search` block (too many scenes for the input quota) goes as that block:
    the init Lambda expands it.
    """
    if plan.search is not None and not plan.scenes:
        doc = {k: v for k, v in plan.to_dict().items() if v is not None}
    else:
        doc = {"run_name": plan.run_name, "scenes": [s.to_dict() for s in plan.scenes]}
    if plan.output:
        doc["output"] = plan.output
    if overwrite:
        doc[OVERWRITE_KEY] = True
    return doc


def execution_name(run_name: str, payload: Any) -> str:
    """Deterministic execution name: run name (unsafe characters -> '-') + 8 hex digits of the input's hash.

    The same run name and input always give the same name, so submitting a list twice cannot start two
    executions; at most 80 characters of [A-Za-z0-9_-] (Step Functions' limit, safe for CloudWatch).
    """
    import hashlib

    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:8]
    stem = _NAME_UNSAFE.sub("-", run_name)[: EXECUTION_NAME_MAX - len(digest) - 1].rstrip("-") or "run"
    return f"{stem}-{digest}"


def execution_arn_for(state_machine_arn: str, name: str) -> str:
    """The ARN an execution named `name` of the state machine gets."""
    prefix, _, machine = state_machine_arn.partition(":stateMachine:")
    return f"{prefix}:execution:{machine}:{name}"


def console_link(region: str, execution_arn: str) -> str:
    """The AWS console page of an execution."""
    return (
        f"https://{region}.console.aws.amazon.com/states/home?region={region}"
        f"#/v2/executions/details/{execution_arn}"
    )


def new_session() -> Any:
    """A boto3 session from the standard AWS configuration, made at call time (moto in tests)."""
    import boto3

    return boto3.session.Session()


def find_stack(stack_name: str, session: Any = None) -> StackInfo:
    """Read the outputs of a deployed stack; raises StackNotFound when it does not exist."""
    from botocore.exceptions import ClientError

    session = session or new_session()
    cfn = session.client("cloudformation")
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        raise StackNotFound(
            f"stack {stack_name} not found in {cfn.meta.region_name}: "
            f"{exc.response['Error'].get('Message', exc)}"
        ) from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return StackInfo(stack_name, cfn.meta.region_name, outputs)


def read_run(stack: StackInfo, run_id: str, session: Any = None) -> list[TaskRecord]:
    """Every task-log row of a run, from the stack's DynamoDB table."""
    from scoresby.stores.dynamo_log import DynamoTaskLog

    table = stack.require(TASK_TABLE_OUTPUT)
    client = (session or new_session()).client("dynamodb")
    return list(DynamoTaskLog(table, client=client).records(run_id))
