"""The place a scene shows, so dates of one place stack: WRS-2 path/row, MGRS tile, or the run's AOI."""

from __future__ import annotations

import re
from typing import Any

# LC08_L2SP_226010_20140820_20200911_02_T1 (Collection 2) and LC82260102014232LGN00 (pre-collection).
_LANDSAT_C2 = re.compile(r"^L[COTEM]0\d_[A-Z0-9]{4}_(\d{3})(\d{3})_\d{8}")
_LANDSAT_PRE = re.compile(r"^L[COTEM]\d(\d{3})(\d{3})\d{7}")
# S2A_29RKH_20200219_0_L2A (COG ids), S2_48RXT_20200801 (blog ids), ..._T29UNU_... (SAFE ids).
_MGRS_COG = re.compile(r"^S2[ABCD]?_(\d{2}[C-X][A-Z]{2})_\d{8}")
_MGRS_SAFE = re.compile(r"_T(\d{2}[C-X][A-Z]{2})_")


def place_of(scene_id: str, aoi: dict[str, Any] | None = None) -> str:
    """`aoi-<name>` for a run with an AOI, else `wrs2-PPPRRR`, `mgrs-ZZBBB`, else the scene id itself."""
    if aoi:
        return f"aoi-{aoi.get('name', 'aoi')}"
    m = _LANDSAT_C2.match(scene_id) or _LANDSAT_PRE.match(scene_id)
    if m:
        return f"wrs2-{m[1]}{m[2]}"
    m = _MGRS_COG.match(scene_id) or _MGRS_SAFE.search(scene_id)
    if m:
        return f"mgrs-{m[1]}"
    return scene_id
