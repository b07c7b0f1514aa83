"""One rule for missing test prerequisites: a skip on a developer's machine, a failure in CI."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """Whether this is a CI run (CI=true), where every prerequisite must be there."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> NoReturn:
    """Skip for want of `reason` locally; fail in CI (CI=true), where a skipped check is not a passed one."""
    if in_ci():
        pytest.fail(f"CI prerequisite missing: {reason}", pytrace=False)
    pytest.skip(reason)
