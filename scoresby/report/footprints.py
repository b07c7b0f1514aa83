"""Scene footprints for summary.json and the report's map: Item outlines simplified to about a pixel."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

METRES_PER_DEGREE = 111_320.0
DEFAULT_PIXEL_M = 30.0
DECIMALS = 4
"""About 11 m in latitude: finer than the 30 m pixels (10 m for Sentinel-2) the footprints outline."""


def _pixel_m(item: Mapping[str, Any]) -> float:
    """The pixel size of an Item's grid in metres (its proj:transform), else Landsat's 30 m."""
    transform = (item.get("properties") or {}).get("proj:transform")
    if isinstance(transform, list) and len(transform) >= 5 and transform[0]:
        size = abs(float(transform[0]))
        return size * METRES_PER_DEGREE if size < 0.1 else size  # a grid in degrees
    return DEFAULT_PIXEL_M


def _perpendicular(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    if dx == 0 and dy == 0:
        return math.hypot(p[0] - a[0], p[1] - a[1])
    return abs(dy * p[0] - dx * p[1] + b[0] * a[1] - b[1] * a[0]) / math.hypot(dx, dy)


def simplify_ring(ring: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Douglas-Peucker on a closed ring (first point repeated last); at least a triangle stays."""
    if len(ring) <= 4:
        return ring
    keep = [False] * len(ring)
    keep[0] = keep[-1] = True
    # Split a closed ring at its farthest point from the start, so the two halves are open lines.
    far = max(range(len(ring)), key=lambda i: math.hypot(ring[i][0] - ring[0][0], ring[i][1] - ring[0][1]))
    keep[far] = True
    stack = [(0, far), (far, len(ring) - 1)]
    while stack:
        first, last = stack.pop()
        best, index = 0.0, -1
        for i in range(first + 1, last):
            d = _perpendicular(ring[i], ring[first], ring[last])
            if d > best:
                best, index = d, i
        if index >= 0 and best > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    out = [p for p, k in zip(ring, keep, strict=True) if k]
    return out if len(out) >= 4 else ring


def simplify_footprint(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Item's geometry with every ring simplified to about one pixel of its grid, rounded to ~1 m."""
    geom = item.get("geometry")
    if not isinstance(geom, Mapping) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        return None
    tolerance = _pixel_m(item) / METRES_PER_DEGREE  # in degrees of latitude; longitude is finer: safe

    def ring(points: Iterable[Any]) -> list[list[float]]:
        pts = [(float(p[0]), float(p[1])) for p in points]
        return [[round(x, DECIMALS), round(y, DECIMALS)] for x, y in simplify_ring(pts, tolerance)]

    if geom["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [ring(r) for r in geom["coordinates"]]}
    return {"type": "MultiPolygon", "coordinates": [[ring(r) for r in poly] for poly in geom["coordinates"]]}


def footprints_of(items: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """{scene id: simplified footprint} of the scene Items among `items` (place products are left out)."""
    out = {}
    for _, item in items:
        props = item.get("properties") or {}
        if props.get("scoresby:kind", "scene") != "scene":
            continue
        geom = simplify_footprint(item)
        if geom is not None:
            out[str(item["id"])] = geom
    return out
