"""The product catalogue of DESIGN.md: each product's bands by role and, for an index, its formula (data).

A new index is one entry of PRODUCTS: its roles, a formula on reflectance arrays (plain arithmetic, so the
raster layer can hand it numpy arrays) and the formula's text for the STAC Item and the docs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from scoresby.sensors import sensor_names
from scoresby.sensors.landsat import C2_L2_OFFSET, C2_L2_SCALE

SENSORS = sensor_names()
"""Values allowed in a scene's optional `sensor` field (the built-in sensors' names)."""

Kind = Literal["visual", "index", "merge"]
Formula = Callable[..., Any]
"""An index formula: reflectance arrays in the product's role order in, the index out."""


@dataclass(frozen=True)
class Product:
    """One product: its kind, its input roles (RGB order for images; formula arguments for an index)."""

    name: str
    kind: Kind
    roles: tuple[str, ...]
    description: str
    formula: Formula | None = None
    formula_text: str = ""  # the formula in role letters, e.g. "(N-R)/(N+R)"
    letters: tuple[str, ...] = ()  # the letter of each role in formula_text

    def formula_of(self, bands: tuple[str, ...]) -> str:
        """The formula with the scene's band names in place of the role letters ("(B5-B4)/(B5+B4)")."""
        names = dict(zip(self.letters, bands, strict=True))
        # One pass over the text: a band name put in is never read again as a letter.
        pattern = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
        return re.sub(pattern, lambda m: names[m.group(0)], self.formula_text)


def _nd(a: Any, b: Any) -> Any:
    return (a - b) / (a + b)


def _evi(n: Any, r: Any, b: Any) -> Any:
    return 2.5 * (n - r) / (n + 6.0 * r - 7.5 * b + 1.0)


def _savi(n: Any, r: Any) -> Any:
    return 1.5 * (n - r) / (n + r + 0.5)


def _index(
    name: str, roles: tuple[str, ...], letters: tuple[str, ...], text: str, description: str, f: Formula
) -> Product:
    return Product(name, "index", roles, description, f, text, letters)


PRODUCTS: dict[str, Product] = {
    p.name: p
    for p in (
        Product("true_color", "visual", ("red", "green", "blue"), "red/green/blue, stretched to 8 bit"),
        Product(
            "false_color_ice",
            "visual",
            ("swir2", "nir_narrow", "green"),
            "SWIR2/NIR/green, stretched to 8 bit: ice shows cyan",
        ),
        Product(
            "false_color_vegetation",
            "visual",
            ("nir", "red", "green"),
            "NIR/red/green, stretched to 8 bit: vegetation shows red",
        ),
        _index(
            "ndvi",
            ("nir", "red"),
            ("N", "R"),
            "(N-R)/(N+R)",
            "(NIR-red)/(NIR+red) from reflectance, float32",
            _nd,
        ),
        _index(
            "ndsi",
            ("green", "swir1"),
            ("G", "S1"),
            "(G-S1)/(G+S1)",
            "(green-SWIR1)/(green+SWIR1) from reflectance, float32: snow and ice",
            _nd,
        ),
        _index(
            "ndwi",
            ("green", "nir"),
            ("G", "N"),
            "(G-N)/(G+N)",
            "(green-NIR)/(green+NIR) from reflectance, float32: open water",
            _nd,
        ),
        Product("band_merge", "merge", ("red", "green", "blue"), "red/green/blue unscaled, uint16"),
        _index(
            "evi",
            ("nir", "red", "blue"),
            ("N", "R", "B"),
            "2.5*(N-R)/(N+6*R-7.5*B+1)",
            "enhanced vegetation index 2.5(NIR-red)/(NIR+6red-7.5blue+1) from reflectance, float32",
            _evi,
        ),
        _index(
            "savi",
            ("nir", "red"),
            ("N", "R"),
            "1.5*(N-R)/(N+R+0.5)",
            "soil-adjusted vegetation index 1.5(NIR-red)/(NIR+red+0.5) from reflectance, float32",
            _savi,
        ),
        _index(
            "nbr",
            ("nir", "swir2"),
            ("N", "S2"),
            "(N-S2)/(N+S2)",
            "normalised burn ratio (NIR-SWIR2)/(NIR+SWIR2) from reflectance, float32",
            _nd,
        ),
        _index(
            "mndwi",
            ("green", "swir1"),
            ("G", "S1"),
            "(G-S1)/(G+S1)",
            "modified NDWI (green-SWIR1)/(green+SWIR1) from reflectance, float32: open water",
            _nd,
        ),
    )
}

DEFAULT_PRODUCTS = ("true_color", "false_color_ice", "ndvi")
BLOG_DEFAULT_PRODUCTS = ("band_merge", "true_color")

STRETCH_MODES = ("percentile", "fixed", "equalize", "reflectance")
DEFAULT_PERCENTILES = (2.0, 98.0)

# USGS Collection 2 Level-2 constants (defined with the Landsat sensors), used when no metadata gives them.
LANDSAT_C2_L2_SCALE = C2_L2_SCALE
LANDSAT_C2_L2_OFFSET = C2_L2_OFFSET
