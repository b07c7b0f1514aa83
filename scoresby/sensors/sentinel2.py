"""Sentinel-2 MSI (L1C and L2A): band roles, SCL classes, MGRS place keys and size limits."""

from __future__ import annotations

import re

from scoresby.sensors.base import QaBits, Sensor

# Scene classification (L2A SCL): 0 no data, 1 saturated/defective, 3 cloud shadow, 6 water, 8 cloud medium
# probability, 9 cloud high probability, 10 thin cirrus, 11 snow.
SCL = QaBits(
    band="SCL",
    kind="classes",
    nodata=0,
    fill=(0, 1),
    cloud=(8, 9),
    shadow=(3,),
    cirrus=(10,),
    snow=(11,),
    water=(6,),
)

# S2A_29RKH_20200219_0_L2A (COG ids), S2_48RXT_20200801 (blog ids), ..._T29UNU_... (SAFE ids).
_MGRS_COG = re.compile(r"^S2[ABCD]?_(\d{2}[C-X][A-Z]{2})_\d{8}")
_MGRS_SAFE = re.compile(r"_T(\d{2}[C-X][A-Z]{2})_")


def mgrs_place(scene_id: str) -> str | None:
    """`mgrs-ZZBBB` of a Sentinel-2 id, None when the id names no tile."""
    if not scene_id.upper().startswith("S2"):
        return None
    match = _MGRS_COG.match(scene_id) or _MGRS_SAFE.search(scene_id)
    return f"mgrs-{match[1]}" if match else None


def sentinel2_name(scene_id: str) -> str | None:
    """ "sentinel-2" for an id that starts with S2."""
    return "sentinel-2" if scene_id.upper().startswith("S2") else None


SENTINEL2 = Sensor(
    key="sentinel-2",
    title="Sentinel-2 MSI",
    names=("sentinel-2",),
    constellation="sentinel-2",
    instruments=("msi",),
    roles={
        "coastal": "B01",
        "blue": "B02",
        "green": "B03",
        "red": "B04",
        "nir": "B08",
        "nir_narrow": "B8A",  # 20 m narrow NIR, what false_color_ice uses
        "swir1": "B11",
        "swir2": "B12",
    },
    # Sets at 60 m carry B8A but no B08; products then use B8A in B08's place (DESIGN.md).
    substitutes={"B08": "B8A"},
    max_pixels=11_000 * 11_000,  # a 10980 px MGRS tile at 10 m
    full_scene_px=10980 * 10980,
    qa=SCL,
    id_name=sentinel2_name,
    place_key=mgrs_place,
    search={"earth-search": ("sentinel-2-l2a", "sentinel-2-c1-l2a", "sentinel-2-l1c")},
    common_names={
        "coastal": "B01",
        "blue": "B02",
        "green": "B03",
        "red": "B04",
        "rededge1": "B05",
        "rededge2": "B06",
        "rededge3": "B07",
        "nir": "B08",
        "nir08": "B8A",
        "nir09": "B09",
        "cirrus": "B10",
        "swir16": "B11",
        "swir22": "B12",
    },
    level_patterns=(("L1C", "L1C"), ("", "L2A")),
    rescaling=(1.0 / 10_000, 0.0),  # DN / QUANTIFICATION_VALUE when no metadata says otherwise
    layout="sentinel-2",
)
