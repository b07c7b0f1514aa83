"""Small validation helpers shared by the scene-list and stretch checks: how values appear in messages."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from typing import Any

MAX_VALUE_CHARS = 80


def check_fields(
    obj: dict[str, Any], allowed: Sequence[str], prefix: str, what: str, problems: list[str]
) -> None:
    """Report every key of `obj` not in `allowed`, with a close match where there is one."""
    for key in obj:
        if key not in allowed:
            names = ", ".join(sorted(allowed))
            problems.append(f"{prefix}{show(key)} is not a {what}{suggest(key, allowed)}; allowed: {names}")


def suggest(value: Any, allowed: Sequence[str] | dict[str, Any]) -> str:
    """ " (did you mean 'x'?)" for a near miss, else ""."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, list(allowed), n=3)
    if not close:
        return ""
    # Equally close names are all offered: 'nvdi' is as near to 'ndwi' as to 'ndvi'; naming one misleads.
    best = difflib.SequenceMatcher(None, value, close[0]).ratio()
    ties = [c for c in close if difflib.SequenceMatcher(None, value, c).ratio() == best]
    names = [repr(c) for c in sorted(ties)]
    return " (did you mean " + (", ".join(names[:-1]) + " or " if len(names) > 1 else "") + names[-1] + "?)"


def is_number(value: Any) -> bool:
    """A finite int or float (JSON's true/false are not numbers here)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_pair(value: Any) -> bool:
    """A two-element list of finite numbers."""
    return isinstance(value, list) and len(value) == 2 and all(is_number(v) for v in value)


def type_name(value: Any) -> str:
    """JSON's name for a Python value's type."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if is_number(value) else type(value).__name__)


def show(value: Any) -> str:
    """A value as it appears in a message: repr, cut to MAX_VALUE_CHARS."""
    text = repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."
