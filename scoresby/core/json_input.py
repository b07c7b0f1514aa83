"""Parsing untrusted JSON (scene lists, SCENE arguments) into plain values, or InvalidInput naming a field."""

from __future__ import annotations

import json
import math
from typing import Any

from scoresby.core.errors import InvalidInput

MAX_DEPTH = 32
"""A scene list nests five levels deep at most (list, scene, stretch, ranges, pair); 32 leaves room."""
MAX_INT_DIGITS = 20
"""Every number Scoresby reads fits in 64 bits; longer integers are refused before Python converts them."""
MAX_STRING_CHARS = 4096
"""Longer than any path, URL or id a scene needs (S3 keys are at most 1024 bytes)."""


class _BadNumber:
    """A number token JSON allows but Scoresby cannot use; replaced by a field-naming error after parsing."""

    def __init__(self, token: str, why: str) -> None:
        self.token, self.why = token, why


def _parse_int(token: str) -> int | _BadNumber:
    digits = token.lstrip("-")
    if len(digits) > MAX_INT_DIGITS:
        return _BadNumber(token, f"an integer of {len(digits)} digits")
    return int(token)


def _parse_float(token: str) -> float | _BadNumber:
    value = float(token)
    if not math.isfinite(value):
        return _BadNumber(token, "a number beyond the range of a double")
    return value


def _parse_constant(token: str) -> _BadNumber:
    return _BadNumber(token, f"{token} (not a JSON number)")


def load_json(text: str, what: str) -> Any:
    """Parse `text` (the document `what` names in messages); every hostile shape is InvalidInput, one line.

    Refused, each naming the field: integers over MAX_INT_DIGITS digits, floats beyond double range, NaN and
    Infinity, nesting deeper than MAX_DEPTH, strings with NUL characters or lone surrogates (neither can be
    a path nor be written as UTF-8), strings longer than MAX_STRING_CHARS.
    """
    try:
        doc = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{what}: line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise InvalidInput(
            f"{what}: nested more than {MAX_DEPTH} levels deep; allowed: a scene list"
        ) from exc
    _check_values(doc, what)
    return doc


def _check_values(doc: Any, what: str) -> None:
    """Walk the parsed document iteratively (no recursion limit to hit) and refuse what cannot be used."""
    stack: list[tuple[Any, str, int]] = [(doc, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        field = path or "(document)"
        if depth > MAX_DEPTH:
            raise InvalidInput(f"{what}: {_short(field)}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, _BadNumber):
            raise InvalidInput(
                f"{what}: {_short(field)}: {value.why} is not allowed; allowed: a plain number"
            )
        if isinstance(value, str):
            problem = _string_problem(value)
            if problem:
                raise InvalidInput(f"{what}: {_short(field)}: {problem}")
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = _string_problem(key)
                if problem:
                    raise InvalidInput(f"{what}: {_short(field)}: a key {problem}")
                stack.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))


def _string_problem(value: str) -> str | None:
    if "\x00" in value:
        return "a string with a NUL character is not allowed"
    if len(value) > MAX_STRING_CHARS:
        return f"a string of {len(value)} characters is not allowed; allowed: at most {MAX_STRING_CHARS}"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "a string with a lone surrogate (\\ud800-\\udfff) is not allowed; allowed: valid Unicode text"
    return None


def _short(field: str) -> str:
    """A field path short enough for one line (deep nesting makes long ones)."""
    return field if len(field) <= 120 else field[:117] + "..."
