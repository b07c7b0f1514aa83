"""Init Lambda: the execution input in, the Map's input out (the work is scoresby.steps.init_run.plan_run).

Raises InvalidInput (errorType "InvalidInput" in Step Functions) listing every problem, before anything is
written.
"""

from __future__ import annotations

import logging
from typing import Any

from scoresby.core.config import InitSettings
from scoresby.core.contract import RunState
from scoresby.core.errors import InvalidInput
from scoresby.steps.init_run import plan_run

logging.getLogger("scoresby").setLevel(logging.INFO)

__all__ = ["InvalidInput", "handler"]


def handler(event: Any, context: Any = None) -> RunState:
    """Lambda entry point: the settings from the environment, the event as the execution input; one call."""
    return plan_run(event, InitSettings.from_env())
