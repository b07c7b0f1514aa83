"""A scene list's `search` block, expanded into its scenes when a run is planned."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from scoresby.core.scene_list import RunPlan, parse_scene_list
from scoresby.core.search import SearchSpec
from scoresby.search.client import scene_from_item, search_items

log = logging.getLogger(__name__)


def scene_list_from_search(
    spec: SearchSpec,
    *,
    run_name: str | None = None,
    output: str | None = None,
    defaults: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """The full-form scene list of every item `spec` finds (oldest first), run-level fields kept."""
    items = search_items(spec, progress)
    doc: dict[str, Any] = {k: v for k, v in (("run_name", run_name), ("output", output)) if v is not None}
    return {**doc, **(defaults or {}), "scenes": [scene_from_item(i) for i in items]}


def expand(plan: RunPlan, progress: Callable[[int], None] | None = None) -> RunPlan:
    """The plan with its `search` block replaced by the scenes it finds (other plans returned as they are)."""
    if plan.search is None:
        return plan
    doc = scene_list_from_search(
        plan.search, run_name=plan.run_name, output=plan.output, defaults=plan.defaults, progress=progress
    )
    log.info("run %s: the search found %d scenes", plan.run_name, len(doc["scenes"]))
    if not doc["scenes"]:
        return RunPlan(plan.run_name, plan.output, (), (), plan.search, plan.defaults)
    return parse_scene_list(doc)
