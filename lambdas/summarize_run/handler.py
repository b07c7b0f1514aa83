"""Summary Lambda: {"run_name", "output", "counts", "timeseries"[, "places", "place_stage"]} in, the mail out.

The work (summary.json, cost, the e-mail text) is scoresby.steps.summary.summarize_run.
"""

from __future__ import annotations

import logging
from typing import Any

from scoresby.core.config import SummarySettings
from scoresby.core.contract import SummaryResult
from scoresby.steps.summary import summarize_run

logging.getLogger("scoresby").setLevel(logging.INFO)

__all__ = ["handler"]


def handler(event: Any, context: Any = None) -> SummaryResult:
    """Lambda entry point: the settings from the environment, the event as the step's input; one call."""
    return summarize_run(event, SummarySettings.from_env())
