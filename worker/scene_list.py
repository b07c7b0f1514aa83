"""Scene lists: validate, normalise and plan (pure Python, shared by the local runner and the init Lambda).

This module must not import rasterio, numpy or matplotlib: the init Lambda ships it without them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Scene:
    """One normalised scene: what the worker needs to make its products.

    `stretch` maps a visual product name to a normalised stretch spec, one of
    {"mode": "percentile", "percentiles": [lo, hi], "gamma": g},
    {"mode": "fixed", "ranges": [[lo, hi], [lo, hi], [lo, hi]], "gamma": g} (raw DN of the input bands),
    {"mode": "equalize", "gamma": g}. Products without an entry use percentile 2-98, gamma 1.
    """

    scene_id: str
    source: str
    products: tuple[str, ...]
    sensor: str | None = None
    stretch: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, accepted back by `parse_scene`."""
        d = asdict(self)
        d["products"] = list(self.products)
        if d["sensor"] is None:
            del d["sensor"]
        if not d["stretch"]:
            del d["stretch"]
        return d


@dataclass(frozen=True)
class RunPlan:
    """A validated run: its name, destination and the deduplicated scenes in input order."""

    run_name: str
    output: str | None
    scenes: tuple[Scene, ...]
    duplicates: tuple[str, ...] = ()
