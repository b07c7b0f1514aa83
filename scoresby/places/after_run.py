"""The hook at the end of `scoresby run` and `scoresby.run`: a run with `composites` updates its places."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from scoresby.core.errors import one_line
from scoresby.core.scene_list import RunPlan
from scoresby.core.task_log import FAILED, TaskRecord

log = logging.getLogger(__name__)


def update_places(plan: RunPlan, run_dir: str, records: Sequence[TaskRecord]) -> dict[str, Any] | None:
    """Build the run's place products; the JSON-safe part the summary and report show (None: no composites).

    A failure is logged and reported as a note: the scene products of the run stand on their own.
    """
    if plan.composites is None or not plan.scenes:
        return None
    from scoresby.places.build import build_place_products

    failed = {r.scene_id for r in records if r.status == FAILED}
    try:
        result = build_place_products(plan.scenes, plan.composites, run_dir, exclude=failed)
    except Exception as exc:
        log.exception("run folder %s: place products not made", run_dir)
        return {"notes": [f"place products not made: {type(exc).__name__}: {one_line(exc)}"]}
    for note in result.notes:
        log.warning("%s", note)
    return {
        "place": result.place,
        "folder": result.folder,
        "made": result.made,
        "notes": result.notes,
        "rows": result.rows,
        "items": [_item_summary(doc, result.place) for doc in result.items.values()],
    }


def _item_summary(doc: dict[str, Any], place: str) -> dict[str, Any]:
    """What the report shows of an Item: id, kind, period labels, quicklooks (run-relative), figures."""
    props = doc.get("properties", {})
    folder = f"places/{place}/{doc['id']}/"
    return {
        "id": doc["id"],
        "kind": props.get("scoresby:kind"),
        "period": props.get("scoresby:period"),
        "from": props.get("scoresby:from"),
        "to": props.get("scoresby:to"),
        "item": folder + f"{doc['id']}.json",
        "quicklooks": {
            key.removesuffix("_quicklook"): folder + a["href"].removeprefix("./")
            for key, a in doc.get("assets", {}).items()
            if key.endswith("_quicklook")
        },
        "stats": props.get("scoresby:stats"),
        "legend": props.get("scoresby:legend"),
        "transition_km2": props.get("scoresby:transition_km2"),
    }
