"""The place a scene shows, so dates of one place stack: its sensor's key (WRS-1/WRS-2 path/row, MGRS
tile; scoresby/sensors) or the run's AOI."""

from __future__ import annotations

from typing import Any

from scoresby.sensors import place_for_id


def place_of(scene_id: str, aoi: dict[str, Any] | None = None) -> str:
    """`aoi-<name>` for a run with an AOI, else `wrs1-`/`wrs2-PPPRRR`, `mgrs-ZZBBB`, else the scene id."""
    if aoi:
        return f"aoi-{aoi.get('name', 'aoi')}"
    return place_for_id(scene_id) or scene_id
