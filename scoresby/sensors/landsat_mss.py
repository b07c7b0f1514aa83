"""Landsat 1-5 MSS, Collection 2 Level-1 (1972-2013): four bands at 60 m, uint8 DN, green, red and two NIR.

Landsat 1-3 number the bands B4 green (0.5-0.6 um), B5 red (0.6-0.7), B6 NIR (0.7-0.8), B7 NIR (0.8-1.1);
Landsat 4-5 number the same bands B1-B4. Both are catalogued under the Landsat 1-3 names B4-B7.
`nir` (what NDVI and false colour use) is B7, 0.8-1.1 um: it lies on the NIR plateau like TM B4 and OLI
B5, whereas B6 (0.7-0.8 um) straddles the red edge, where reflectance still climbs with chlorophyll.
TOA reflectance comes from the MTL's REFLECTANCE_MULT/ADD_BAND_n (text, JSON or XML). No blue, no SWIR:
MSS makes ndvi, false_color_vegetation, savi and ndwi; products needing blue or SWIR are refused.
"""

from __future__ import annotations

from scoresby.sensors.base import QaBits, Sensor
from scoresby.sensors.landsat_ids import IdNamer, WrsPlace

NAMES = tuple(f"landsat-{n}-mss" for n in range(1, 6))

# MSS C2 L1 QA_PIXEL (MSS DFCB): bit 0 fill, bit 3 cloud; MSS has no shadow, cirrus, snow or water flags.
QA_PIXEL = QaBits(band="QA_PIXEL", kind="bits", nodata=1, fill=(0,), cloud=(3,))

_L1_3 = {"B4": "B4", "B5": "B5", "B6": "B6", "B7": "B7"}
_L4_5 = {"B1": "B4", "B2": "B5", "B3": "B6", "B4": "B7"}

_NAMER = IdNamer("M", {n: f"landsat-{n}-mss" for n in range(1, 6)})

MSS = Sensor(
    key="landsat-mss",
    title="Landsat 1-5 MSS",
    names=NAMES,
    constellation="landsat",
    instruments=("mss",),
    roles={"green": "B4", "red": "B5", "nir1": "B6", "nir2": "B7", "nir": "B7"},
    max_pixels=6_000 * 6_000,  # a WRS-1/WRS-2 scene at 60 m is about 4300 x 4200 px
    full_scene_px=4296 * 4214,
    qa=QA_PIXEL,
    file_bands={name: _L1_3 if n <= 3 else _L4_5 for n, name in enumerate(NAMES, start=1)},
    platforms={name: name.removesuffix("-mss") for name in NAMES},
    metadata_ids={
        **{f"LANDSAT_{n}/MSS": f"landsat-{n}-mss" for n in range(1, 6)},
        **{f"LANDSAT_{n}/": f"landsat-{n}-mss" for n in range(1, 4)},  # Landsat 1-3: MSS is all we read
    },
    id_name=_NAMER,
    place_key=WrsPlace(_NAMER),
    # Planetary Computer's `landsat-c2-l1` holds exactly the MSS Collection 2 Level-1 items.
    search={"planetary-computer": ("landsat-c2-l1",)},
    # stactools' MSS Items: B4 green, B5 red, B6 nir08 (0.7-0.8 um), B7 nir09 (0.8-1.1 um).
    common_names={"green": "B4", "red": "B5", "nir08": "B6", "nir09": "B7"},
    level_patterns=(("", "L1"),),
    layout="landsat",  # the same product folders as TM/OLI; the MTL's SENSOR_ID tells MSS apart
)
