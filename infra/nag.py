"""cdk-nag acknowledgements: one helper so every finding id is spelled the way cdk-nag 3 reports it."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        return f"<{logical_id}.{attribute}>"
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_render(p) for p in parts)
    raise ValueError(f"cannot name {value!r} in a cdk-nag finding id")


def token_text(scope: IConstruct, token: str) -> str:
    """How cdk-nag prints a value in a finding id: <Id.Arn> for GetAtt, <Id> for Ref, joins flattened."""
    return _render(Stack.of(scope).resolve(token))


def arn_prefix(scope: IConstruct, service: str) -> str:
    """'arn:<AWS::Partition>:<service>:<region>:<account>:' as cdk-nag prints it for this stack.

    Region and account are <AWS::Region>/<AWS::AccountId> in an environment-agnostic stack, and the
    literal values when the CLI knows the account (e.g. at `cdk deploy` with credentials).
    """
    stack = Stack.of(scope)
    region, account = token_text(scope, stack.region), token_text(scope, stack.account)
    return f"arn:<AWS::Partition>:{service}:{region}:{account}:"


def acknowledge(scope: IConstruct, rule: str, reason: str, *, finding: str | None = None) -> None:
    """Acknowledge AwsSolutions-<rule> (optionally one finding, e.g. 'Resource::...') on scope and below."""
    rule_id = f"AwsSolutions-{rule}" + (f"[{finding}]" if finding else "")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))
