"""The one adapter between place products and the sensors: band roles, QA, harmonisation, products.

Everything sensor-specific comes from `scoresby.sensors` (roles, QA decoding, the `to_oli` coefficients of
Roy et al. 2016 on the TM and ETM+ sensors) and the product catalogue (core/products.py); this module only
maps them onto what a composite holds: six reflectance roles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from scoresby.core.products import PRODUCTS
from scoresby.raster import masks
from scoresby.sensors import QaBits, sensor_named
from scoresby.sensors.base import ROLE_FALLBACKS

ROLES = ("blue", "green", "red", "nir", "swir1", "swir2")
"""The reflectance roles a composite holds, in this order."""


def instrument_group(sensor: str) -> str:
    """The `composites.sensors` group of a sensor name: tm, etm+, oli, mss or msi (its first instrument)."""
    try:
        return sensor_named(sensor).instruments[0]
    except (KeyError, IndexError):
        return sensor


def to_oli(sensor: str) -> Mapping[str, tuple[float, float]] | None:
    """Role -> (a, b) mapping a sensor's surface reflectance onto OLI (the sensor's own), None if none."""
    try:
        return sensor_named(sensor).to_oli
    except KeyError:
        return None


def role_bands(sensor: str, available: Mapping[str, object]) -> dict[str, str] | None:
    """Band name per ROLE for a scene with bands `available`, None when the sensor lacks one of them."""
    s = sensor_named(sensor)
    bands = {role: s.band_for(role, tuple(available)) for role in ROLES}
    if any(b is None or b not in available for b in bands.values()):
        return None
    return {role: str(b) for role, b in bands.items()}


def quality_bits(sensor: str) -> QaBits | None:
    """How the sensor's quality band is decoded, None when it has none."""
    return sensor_named(sensor).qa


def clear_of(qa: QaBits, values: np.ndarray) -> np.ndarray:
    """Pixels a composite may use: QA says data, and no cloud, dilated cloud, shadow or cirrus."""
    # masks.Quality's valid & ~not_clear in one pass over the values (one AND for QA bits), not five.
    return ~masks.qa_flags(qa, values, (*qa.fill, *qa.cloud, *qa.dilated, *qa.shadow, *qa.cirrus))


@dataclass(frozen=True)
class ProductRoles:
    """A run product over the composite's roles: an index (its formula) or a visual / merge (RGB roles)."""

    name: str
    kind: str
    roles: tuple[str, ...]
    formula: Callable[..., Any] | None = None
    formula_text: str = ""


def product_roles(name: str) -> ProductRoles | None:
    """The product over ROLES (a narrow NIR is the composite's NIR), None when it needs another role."""
    product = PRODUCTS.get(name)
    if product is None:
        return None
    roles = tuple(r if r in ROLES else ROLE_FALLBACKS.get(r, r) for r in product.roles)
    if any(r not in ROLES for r in roles):
        return None
    return ProductRoles(name, product.kind, roles, product.formula, product.formula_text)


def index_formula(p: ProductRoles) -> str:
    """The formula of an index product in role letters with its roles, e.g. (N-R)/(N+R) of nir, red."""
    return f"{p.formula_text} of {', '.join(p.roles)} reflectance"
