"""The one adapter between place products and the sensor tables: band roles, QA, harmonisation, indices.

Built on today's tables (core/products.py LANDSAT_BAND_TABLES / PRODUCTS, raster/masks.py); when the
`scoresby.sensors` package lands this module switches to it and nothing else in scoresby.places changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from scoresby.core.products import INSTRUMENTS, PRODUCTS, SENTINEL2_SUBSTITUTES, sensor_family
from scoresby.raster import masks

ROLES = ("blue", "green", "red", "nir", "swir1", "swir2")
"""The reflectance roles a composite holds, in this order."""

_ROLE_BANDS = {
    # Canonical Landsat names are OLI's (discovery maps TM/ETM+ files onto them: core/products.py).
    "landsat": {"blue": "B2", "green": "B3", "red": "B4", "nir": "B5", "swir1": "B6", "swir2": "B7"},
    "sentinel-2": {"blue": "B02", "green": "B03", "red": "B04", "nir": "B08", "swir1": "B11", "swir2": "B12"},
}
_BAND_ROLES = {family: {b: r for r, b in table.items()} for family, table in _ROLE_BANDS.items()}

# Roy et al. (2016, Remote Sensing of Environment 185:57-70) Table 2, OLS ETM+ -> OLI: OLI = a + b * ETM+,
# also applied to TM (as the paper and the Earth Engine harmonisation tutorial do).
_ROY_2016_ETM_TO_OLI: Mapping[str, tuple[float, float]] = {
    "blue": (0.0003, 0.8474),
    "green": (0.0088, 0.8483),
    "red": (0.0061, 0.9047),
    "nir": (0.0412, 0.8462),
    "swir1": (0.0254, 0.8937),
    "swir2": (0.0172, 0.9071),
}


def instrument_group(sensor: str) -> str:
    """The `composites.sensors` group of a sensor: tm, etm+, oli, mss or msi."""
    if "mss" in sensor or sensor in ("landsat-1", "landsat-2", "landsat-3"):
        return "mss"
    instruments = INSTRUMENTS.get(sensor, ())
    return instruments[0] if instruments else sensor


def to_oli(sensor: str) -> Mapping[str, tuple[float, float]] | None:
    """Role -> (a, b) mapping a sensor's surface reflectance onto OLI, None when it needs none."""
    return _ROY_2016_ETM_TO_OLI if instrument_group(sensor) in ("tm", "etm+") else None


def role_bands(sensor: str, available: Mapping[str, object]) -> dict[str, str] | None:
    """Band name per ROLE for a scene with bands `available`, None when a role is missing."""
    family = sensor_family(sensor)
    table = dict(_ROLE_BANDS[family])
    if family == "sentinel-2" and table["nir"] not in available:
        table["nir"] = SENTINEL2_SUBSTITUTES.get(table["nir"], table["nir"])
    return table if all(b in available for b in table.values()) else None


def clear_of(quality_band: str, values: np.ndarray) -> np.ndarray:
    """Pixels a composite may use: QA says data, and no cloud, dilated cloud, shadow or cirrus."""
    q = masks.quality_of(quality_band, values)
    return q.valid & ~q.not_clear


@dataclass(frozen=True)
class ProductRoles:
    """A run product as roles: an index (a - b)/(a + b), a visual or a merge (three roles, RGB order)."""

    name: str
    kind: str
    roles: tuple[str, ...]


def product_roles(name: str) -> ProductRoles | None:
    """The roles of a product (from its Landsat bands), None when it uses a band outside ROLES."""
    product = PRODUCTS.get(name)
    if product is None:
        return None
    roles = tuple(_BAND_ROLES["landsat"].get(b) for b in product.bands_for("landsat"))
    if any(r is None for r in roles):
        return None
    return ProductRoles(name, product.kind, tuple(r for r in roles if r is not None))


def index_formula(p: ProductRoles) -> str:
    """The formula of an index product in roles, e.g. (nir-red)/(nir+red)."""
    a, b = p.roles
    return f"({a}-{b})/({a}+{b})"
