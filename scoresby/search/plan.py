"""A scene list's `search` block, expanded into its scenes when a run is planned."""

from __future__ import annotations

import dataclasses
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
    return searched_list(spec, run_name=run_name, output=output, defaults=defaults, progress=progress)[0]


def searched_list(
    spec: SearchSpec,
    *,
    run_name: str | None = None,
    output: str | None = None,
    defaults: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The scene list of `spec`'s items and a one-line note for each Item the search skipped."""
    items = search_items(spec, progress)
    doc: dict[str, Any] = {k: v for k, v in (("run_name", run_name), ("output", output)) if v is not None}
    found = {**doc, **(defaults or {}), "scenes": [scene_from_item(i, spec.stac) for i in items]}
    return found, tuple(items.skipped)


def expand(plan: RunPlan, progress: Callable[[int], None] | None = None) -> RunPlan:
    """The plan with its `search` block replaced by the scenes it finds (other plans returned as they are)."""
    if plan.search is None:
        return plan
    doc, skipped = searched_list(
        plan.search, run_name=plan.run_name, output=plan.output, defaults=plan.defaults, progress=progress
    )
    n = len(doc["scenes"])
    log.info("run %s: the search found %d scenes, skipped %d items", plan.run_name, n, len(skipped))
    if not doc["scenes"]:
        return RunPlan(plan.run_name, plan.output, (), (), plan.search, plan.defaults, skipped=skipped)
    return dataclasses.replace(parse_scene_list(doc), skipped=skipped)
