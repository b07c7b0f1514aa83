"""Place products (issue 21): period composites, change and trend maps of a run's AOI, kept up to date.

Pure numpy core: periods, observations, composite, harmonize, change, trend. I/O: sensor_view (the one
adapter onto today's sensor tables), reader, outputs, manifest, build (`build_place_products`), report.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_place_products"]


def __getattr__(name: str) -> Any:
    if name == "build_place_products":  # lazy: importing the package does not import rasterio
        from scoresby.places.build import build_place_products

        return build_place_products
    raise AttributeError(name)
