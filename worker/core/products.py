"""The product catalogue of DESIGN.md: which bands each product uses per sensor family (pure data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SENSORS = ("landsat-8", "landsat-9", "sentinel-2")
"""Values allowed in a scene's optional `sensor` field."""

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
