"""Landsat 4-9 TM, ETM+ and OLI: band tables, QA_PIXEL bits, WRS-2 place keys and OLI harmonisation."""

from __future__ import annotations

from collections.abc import Mapping

from scoresby.sensors.base import QaBits, Sensor
from scoresby.sensors.landsat_ids import IdNamer, WrsPlace

# Collection 2 QA_PIXEL (USGS C2 L1/L2 product guides): bit 0 fill, 1 dilated cloud, 2 cirrus, 3 cloud,
# 4 cloud shadow, 5 snow, 6 clear, 7 water. Cirrus is only set for OLI (TM and ETM+ have no cirrus band).
QA_PIXEL = QaBits(
    band="QA_PIXEL",
    kind="bits",
    nodata=1,  # bit 0 set: fill
    fill=(0,),
    cloud=(3,),
    dilated=(1,),
    shadow=(4,),
    cirrus=(2,),
    snow=(5,),
    water=(7,),
)

# Bands are catalogued as Landsat 8/9 OLI number them (B2 blue ... B7 SWIR2): each sensor's files map onto
# those names. TM and ETM+ number blue B1, green B2, red B3, NIR B4, SWIR1 B5, SWIR2 B7 (B6 is thermal and
# ETM+ B8 panchromatic: neither is used).
_TM_ETM_FILES = {"B1": "B2", "B2": "B3", "B3": "B4", "B4": "B5", "B5": "B6", "B7": "B7"}
_OLI_FILES = {f"B{n}": f"B{n}" for n in range(1, 12)}
_ROLES = {"blue": "B2", "green": "B3", "red": "B4", "nir": "B5", "swir1": "B6", "swir2": "B7"}

MAX_PIXELS = 16_000 * 16_000
"""Pixels a band may declare: a full WRS-2 scene with margin (the 15 m pan band is the largest)."""
FULL_SCENE_PX = 7801 * 7911
"""A full Landsat scene at 30 m (the benchmark's scene, shaped like a real WRS-2 L2 scene)."""

# USGS Collection 2 Level-2 surface reflectance: DN * scale + offset (the product guide's constants), used
# when neither an MTL nor a STAC Item gives them.
C2_L2_SCALE = 2.75e-05
C2_L2_OFFSET = -0.2

# STAC eo:common_name -> band (catalogue names, OLI numbering).
COMMON_NAMES = {
    "coastal": "B1",
    "blue": "B2",
    "green": "B3",
    "red": "B4",
    "nir08": "B5",
    "nir": "B5",
    "swir16": "B6",
    "swir22": "B7",
}
LEVELS = (("L2SP|L2SR|C2-L2|C2L2", "L2"), ("", "L1"))

SEARCH = {"earth-search": ("landsat-c2-l2",), "landsatlook": ("landsat-c2l2-sr", "landsat-c2l1")}

# Roy et al. (2016), Remote Sensing of Environment 185, Table 2: OLS ETM+ -> OLI surface reflectance,
# OLI = a + b * ETM+ per band, also used for TM (which ETM+ was cross-calibrated to).
ROY_2016_ETM_TO_OLI = {
    "blue": (0.0003, 0.8474),
    "green": (0.0088, 0.8483),
    "red": (0.0061, 0.9047),
    "nir": (0.0412, 0.8462),
    "swir1": (0.0254, 0.8937),
    "swir2": (0.0172, 0.9071),
}

_TM = IdNamer("T", {4: "landsat-4", 5: "landsat-5"})
_ETM = IdNamer("E", {7: "landsat-7"})
_OLI = IdNamer("CO", {8: "landsat-8", 9: "landsat-9"})


def _landsat(
    key: str,
    title: str,
    names: tuple[str, ...],
    instruments: tuple[str, ...],
    *,
    roles: Mapping[str, str],
    files: Mapping[str, str],
    metadata_ids: Mapping[str, str],
    namer: IdNamer,
    to_oli: Mapping[str, tuple[float, float]] | None = None,
) -> Sensor:
    """A Landsat 4-9 sensor with what TM, ETM+ and OLI share: C2 QA_PIXEL, WRS-2, L2 constants, presets."""
    return Sensor(
        key=key,
        title=title,
        names=names,
        constellation="landsat",
        instruments=instruments,
        roles=roles,
        max_pixels=MAX_PIXELS,
        full_scene_px=FULL_SCENE_PX,
        qa=QA_PIXEL,
        file_bands={name: files for name in names},
        metadata_ids=metadata_ids,
        id_name=namer,
        place_key=WrsPlace(namer),
        search=SEARCH,
        common_names=COMMON_NAMES,
        level_patterns=LEVELS,
        rescaling=(C2_L2_SCALE, C2_L2_OFFSET),
        to_oli=to_oli,
        layout="landsat",
    )


TM = _landsat(
    "landsat-tm",
    "Landsat 4-5 TM",
    ("landsat-4", "landsat-5"),
    ("tm",),
    roles=_ROLES,
    files=_TM_ETM_FILES,
    # An MTL without SENSOR_ID on Landsat 4/5 is taken as TM (what Scoresby did before MSS was known);
    # every Collection 2 MSS MTL says SENSOR_ID = MSS.
    metadata_ids={
        "LANDSAT_4/TM": "landsat-4",
        "LANDSAT_5/TM": "landsat-5",
        "LANDSAT_4/": "landsat-4",
        "LANDSAT_5/": "landsat-5",
    },
    namer=_TM,
    to_oli=ROY_2016_ETM_TO_OLI,
)

ETM = _landsat(
    "landsat-etm",
    "Landsat 7 ETM+",
    ("landsat-7",),
    ("etm+",),
    roles=_ROLES,
    files=_TM_ETM_FILES,
    metadata_ids={"LANDSAT_7/ETM": "landsat-7", "LANDSAT_7/ETM+": "landsat-7", "LANDSAT_7/": "landsat-7"},
    namer=_ETM,
    to_oli=ROY_2016_ETM_TO_OLI,
)

OLI = _landsat(
    "landsat-oli",
    "Landsat 8-9 OLI",
    ("landsat-8", "landsat-9"),
    ("oli", "tirs"),
    roles={"coastal": "B1", **_ROLES, "pan": "B8"},
    files=_OLI_FILES,
    metadata_ids={
        "LANDSAT_8/OLI_TIRS": "landsat-8",
        "LANDSAT_8/OLI": "landsat-8",
        "LANDSAT_9/OLI_TIRS": "landsat-9",
        "LANDSAT_9/OLI": "landsat-9",
        "LANDSAT_8/": "landsat-8",
        "LANDSAT_9/": "landsat-9",
    },
    namer=_OLI,
)
