"""cdk-nag acknowledgements: one helper so every finding id is spelled the way cdk-nag 3 reports it."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def token_text(scope: IConstruct, token: str) -> str:
    """How cdk-nag prints a reference in a finding id: <LogicalId.Arn> for GetAtt, <LogicalId> for Ref."""
    resolved: Any = Stack.of(scope).resolve(token)
    if isinstance(resolved, dict) and "Fn::GetAtt" in resolved:
        logical_id, attribute = resolved["Fn::GetAtt"]
        return f"<{logical_id}.{attribute}>"
    if isinstance(resolved, dict) and "Ref" in resolved:
        return f"<{resolved['Ref']}>"
    if isinstance(resolved, str):
        return resolved
    raise ValueError(f"cannot name {resolved!r} in a cdk-nag finding id")


def acknowledge(scope: IConstruct, rule: str, reason: str, *, finding: str | None = None) -> None:
    """Acknowledge AwsSolutions-<rule> (optionally one finding, e.g. 'Resource::...') on scope and below."""
    rule_id = f"AwsSolutions-{rule}" + (f"[{finding}]" if finding else "")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))
