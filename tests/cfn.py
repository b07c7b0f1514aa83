"""The one CloudFormation intrinsics renderer of the tests (the infra tests and the e2e harness use it)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

Lookup = Callable[[str, str], Any]
"""(logical id or pseudo parameter, "Ref" or an attribute name) -> value."""

LIST_FUNCTIONS = ("Fn::Select", "Fn::Split", "Fn::GetAZs")


def resolve(value: Any, lookup: Lookup, *, symbolic: bool = False) -> Any:
    """Resolve Ref / Fn::GetAtt / Fn::Join / Fn::Sub / Fn::Select / Fn::Split / Fn::GetAZs with `lookup`.

    `symbolic` (with the `marks` lookup) keeps the list functions as their JSON: they cannot pick from a mark.
    """
    if isinstance(value, list):
        return [resolve(v, lookup, symbolic=symbolic) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        return {k: resolve(v, lookup, symbolic=symbolic) for k, v in value.items()}
    ((key, arg),) = value.items()
    if symbolic and key in LIST_FUNCTIONS:
        return json.dumps(value, separators=(",", ":"))
    if key == "Ref":
        return lookup(arg, "Ref")
    if key == "Fn::GetAtt":
        logical_id, attr = arg if isinstance(arg, list) else arg.split(".", 1)
        return lookup(logical_id, attr)
    if key == "Fn::Join":
        sep, parts = arg
        return sep.join(str(p) for p in resolve(parts, lookup, symbolic=symbolic))
    if key == "Fn::Sub":
        template, variables = (arg, {}) if isinstance(arg, str) else (arg[0], resolve(arg[1], lookup))
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(_sub_var(m.group(1), variables, lookup)), template)
    if key == "Fn::Select":
        index, items = arg
        return resolve(items, lookup)[int(resolve(index, lookup))]
    if key == "Fn::Split":
        sep, text = arg
        return str(resolve(text, lookup)).split(sep)
    if key == "Fn::GetAZs":
        region = resolve(arg, lookup) or lookup("AWS::Region", "Ref")
        return [f"{region}a", f"{region}b"]
    return {key: resolve(arg, lookup, symbolic=symbolic)}


def _sub_var(name: str, variables: dict[str, Any], lookup: Lookup) -> Any:
    if name in variables:
        return variables[name]
    if "." in name and not name.startswith("AWS::"):
        logical_id, attr = name.split(".", 1)
        return lookup(logical_id, attr)
    return lookup(name, "Ref")


def marks(logical_id: str, attr: str) -> str:
    """A lookup that renders references as marks: <Id> for Ref, <Id.Attr> for Fn::GetAtt."""
    return f"<{logical_id}>" if attr == "Ref" else f"<{logical_id}.{attr}>"
