"""The STAC Item of one processed scene: footprint in EPSG:4326, projection info and one asset per file."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pystac
from pystac.extensions.projection import ProjectionExtension
from rasterio.warp import transform_geom

from scoresby.raster.bands import Grid
from scoresby.sensors import sensor_named

EO_SCHEMA = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"

MEDIA_TYPES = {
    ".tif": pystac.MediaType.COG,
    ".png": pystac.MediaType.PNG,
}


def convex_hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Counter-clockwise convex hull (Andrew's monotone chain), without repeating the first point."""
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    upper: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def footprint(
    grid: Grid, valid_points: list[tuple[float, float]] | None = None, densify: int = 20
) -> dict[str, Any]:
    """Outline of the valid data (convex hull of `valid_points`, projected) else of the grid, in EPSG:4326.

    Landsat scenes and Sentinel-2 tiles cut by the swath have convex valid areas, so the hull is their
    footprint. Cut at the antimeridian where it crosses it.
    """
    hull = convex_hull(valid_points or [])
    if len(hull) < 3:
        left, bottom, right, top = grid.bounds
        hull = [(left, top), (right, top), (right, bottom), (left, bottom)]
    ring: list[tuple[float, float]] = []
    for (x0, y0), (x1, y1) in zip(hull, hull[1:] + hull[:1], strict=True):
        for i in range(densify):  # densify each edge: projected straight lines are curves in lon/lat
            t = i / densify
            ring.append((x0 + t * (x1 - x0), y0 + t * (y1 - y0)))
    ring.append(ring[0])
    geom = {"type": "Polygon", "coordinates": [ring]}
    out = transform_geom(grid.crs, "EPSG:4326", geom, antimeridian_cutting=True, precision=6)
    return dict(out)


def _coords(geom: dict[str, Any]) -> list[list[tuple[float, float]]]:
    polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
    return [[tuple(pt) for pt in poly[0]] for poly in polys]


def bbox_of(geom: dict[str, Any]) -> list[float]:
    """[west, south, east, north]; across the antimeridian west > east, as the STAC spec asks."""
    parts = _coords(geom)
    ys = [y for part in parts for _, y in part]
    if len(parts) > 1:
        xs_east = [x for part in parts for x, _ in part if x > 0]
        xs_west = [x for part in parts for x, _ in part if x < 0]
        if xs_east and xs_west and max(xs_east) >= 179.99 and min(xs_west) <= -179.99:
            return [min(xs_east), min(ys), max(xs_west), max(ys)]
    xs = [x for part in parts for x, _ in part]
    return [min(xs), min(ys), max(xs), max(ys)]


def scene_datetime(value: str | None, scene_id: str) -> tuple[datetime, str]:
    """Acquisition time from discovery, else the YYYYMMDD in the scene id, else now; plus its source."""
    if value:
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)), "metadata"
        except ValueError:
            pass
    m = re.search(r"(?<!\d)(20\d{2}|19\d{2})(\d{2})(\d{2})(?!\d)", scene_id)
    if m:
        try:
            return datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC), "scene id"
        except ValueError:
            pass
    return datetime.now(UTC).replace(microsecond=0), "processing time"


def build_item(
    *,
    scene_id: str,
    sensor: str,
    level: str,
    acquired: str | None,
    grid: Grid,
    assets: list[dict[str, Any]],
    notes: tuple[str, ...] = (),
    valid_points: list[tuple[float, float]] | None = None,
    properties: dict[str, Any] | None = None,
) -> pystac.Item:
    """STAC Item with proj info (WKT2 when the CRS has no EPSG code) and relative asset hrefs.

    Each entry of `assets`: {"key", "file" (name), "roles", "title", optional "extra" fields};
    `valid_points` (projected) outline the valid data for the footprint (default: the whole grid).
    """
    geom = footprint(grid, valid_points)
    dt, dt_source = scene_datetime(acquired, scene_id)
    props: dict[str, Any] = {
        "platform": sensor_named(sensor).platform(sensor),
        "constellation": sensor_named(sensor).constellation,
        "instruments": list(sensor_named(sensor).instruments),
        "scoresby:level": level,
        "scoresby:datetime_source": dt_source,
    }
    if notes:
        props["scoresby:notes"] = list(notes)
    props.update(properties or {})
    item = pystac.Item(id=scene_id, geometry=geom, bbox=bbox_of(geom), datetime=dt, properties=props)
    if "eo:cloud_cover" in props:
        item.stac_extensions.append(EO_SCHEMA)
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    # Only an exact match counts: the Antarctic sample is "like" EPSG:3031 but carries no authority code.
    epsg = grid.crs.to_epsg(confidence_threshold=100)
    proj.code = f"EPSG:{epsg}" if epsg else None
    if not epsg:
        proj.wkt2 = grid.crs.to_wkt()
    proj.shape = [grid.height, grid.width]
    proj.transform = list(grid.transform)[:6]
    proj.bbox = list(grid.bounds)
    for a in assets:
        suffix = a["file"][a["file"].rfind(".") :]
        asset = pystac.Asset(
            href=f"./{a['file']}",
            media_type=MEDIA_TYPES.get(suffix),
            roles=a["roles"],
            title=a.get("title"),
            extra_fields=a.get("extra") or {},
        )
        item.add_asset(a["key"], asset)
    return item
