"""The product catalogue of DESIGN.md: which bands each product uses per sensor family (pure data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SENSORS = ("landsat-4", "landsat-5", "landsat-7", "landsat-8", "landsat-9", "sentinel-2")
"""Values allowed in a scene's optional `sensor` field."""

# The catalogue names Landsat bands as Landsat 8/9 OLI number them (B2 blue … B7 SWIR2); each sensor's
# files map onto those names: TM and ETM+ number blue B1, green B2, red B3, NIR B4, SWIR1 B5, SWIR2 B7.
_TM_ETM = {"B1": "B2", "B2": "B3", "B3": "B4", "B4": "B5", "B5": "B6", "B7": "B7"}
_OLI = {f"B{n}": f"B{n}" for n in range(1, 12)}
LANDSAT_BAND_TABLES: dict[str, dict[str, str]] = {
    "landsat-4": _TM_ETM,  # TM
    "landsat-5": _TM_ETM,  # TM
    "landsat-7": _TM_ETM,  # ETM+ (B8 panchromatic is not used)
    "landsat-8": _OLI,  # OLI/TIRS
    "landsat-9": _OLI,  # OLI-2/TIRS-2
}

# STAC instruments of each sensor.
INSTRUMENTS: dict[str, tuple[str, ...]] = {
    "landsat-4": ("tm",),
    "landsat-5": ("tm",),
    "landsat-7": ("etm+",),
    "landsat-8": ("oli", "tirs"),
    "landsat-9": ("oli", "tirs"),
    "sentinel-2": ("msi",),
}

Family = Literal["landsat", "sentinel-2"]
Kind = Literal["visual", "index", "merge"]


def sensor_family(sensor: str) -> Family:
    """Map a sensor name (landsat-8, landsat-9, sentinel-2) to the family that fixes its band names."""
    return "sentinel-2" if sensor.startswith("sentinel") else "landsat"


@dataclass(frozen=True)
class Product:
    """One product: its kind and its input bands per sensor family (RGB order, or (a, b) for (a-b)/(a+b))."""

    name: str
    kind: Kind
    bands: dict[str, tuple[str, ...]]
    description: str

    def bands_for(self, family: str) -> tuple[str, ...]:
        """Input band names for a sensor family."""
        return self.bands[family]


PRODUCTS: dict[str, Product] = {
    p.name: p
    for p in (
        Product(
            "true_color",
            "visual",
            {"landsat": ("B4", "B3", "B2"), "sentinel-2": ("B04", "B03", "B02")},
            "red/green/blue, stretched to 8 bit",
        ),
        Product(
            "false_color_ice",
            "visual",
            {"landsat": ("B7", "B5", "B3"), "sentinel-2": ("B12", "B8A", "B03")},
            "SWIR2/NIR/green, stretched to 8 bit: ice shows cyan",
        ),
        Product(
            "false_color_vegetation",
            "visual",
            {"landsat": ("B5", "B4", "B3"), "sentinel-2": ("B08", "B04", "B03")},
            "NIR/red/green, stretched to 8 bit: vegetation shows red",
        ),
        Product(
            "ndvi",
            "index",
            {"landsat": ("B5", "B4"), "sentinel-2": ("B08", "B04")},
            "(NIR-red)/(NIR+red) from reflectance, float32",
        ),
        Product(
            "ndsi",
            "index",
            {"landsat": ("B3", "B6"), "sentinel-2": ("B03", "B11")},
            "(green-SWIR1)/(green+SWIR1) from reflectance, float32: snow and ice",
        ),
        Product(
            "ndwi",
            "index",
            {"landsat": ("B3", "B5"), "sentinel-2": ("B03", "B08")},
            "(green-NIR)/(green+NIR) from reflectance, float32: open water",
        ),
        Product(
            "band_merge",
            "merge",
            {"landsat": ("B4", "B3", "B2"), "sentinel-2": ("B04", "B03", "B02")},
            "red/green/blue unscaled, uint16",
        ),
    )
}

DEFAULT_PRODUCTS = ("true_color", "false_color_ice", "ndvi")
BLOG_DEFAULT_PRODUCTS = ("band_merge", "true_color")

# Sentinel-2 sets at 60 m carry B8A but no B08; products then use B8A in B08's place (DESIGN.md).
SENTINEL2_SUBSTITUTES = {"B08": "B8A"}

STRETCH_MODES = ("percentile", "fixed", "equalize", "reflectance")
DEFAULT_PERCENTILES = (2.0, 98.0)


# USGS Collection 2 Level-2 surface reflectance: DN * scale + offset (the product guide's constants), used
# when neither an MTL nor a STAC Item gives them.
LANDSAT_C2_L2_SCALE = 2.75e-05
LANDSAT_C2_L2_OFFSET = -0.2
