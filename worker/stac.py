"""The STAC Item of one processed scene: footprint in EPSG:4326, projection info and one asset per file."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pystac
from pystac.extensions.projection import ProjectionExtension
from rasterio.warp import transform_geom

from worker.scene_io import Grid

MEDIA_TYPES = {
    ".tif": pystac.MediaType.COG,
    ".png": pystac.MediaType.PNG,
}


def footprint(grid: Grid, densify: int = 20) -> dict[str, Any]:
    """The grid's outline as a GeoJSON geometry in EPSG:4326, cut at the antimeridian where it crosses it."""
    left, bottom, right, top = grid.bounds
    ring: list[tuple[float, float]] = []
    for i in range(densify):  # densify each edge: projected straight lines are curves in lon/lat
        t = i / densify
        ring.append((left + t * (right - left), top))
    for i in range(densify):
        t = i / densify
        ring.append((right, top - t * (top - bottom)))
    for i in range(densify):
        t = i / densify
        ring.append((right - t * (right - left), bottom))
    for i in range(densify):
        t = i / densify
        ring.append((left, bottom + t * (top - bottom)))
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
) -> pystac.Item:
    """STAC Item with proj info (WKT2 when the CRS has no EPSG code) and relative asset hrefs.

    Each entry of `assets`: {"key", "file" (name), "roles", "title", optional "extra" fields}.
    """
    geom = footprint(grid)
    dt, dt_source = scene_datetime(acquired, scene_id)
    props: dict[str, Any] = {
        "platform": sensor,
        "constellation": "landsat" if sensor.startswith("landsat") else "sentinel-2",
        "scoresby:level": level,
        "scoresby:datetime_source": dt_source,
    }
    if notes:
        props["scoresby:notes"] = list(notes)
    item = pystac.Item(id=scene_id, geometry=geom, bbox=bbox_of(geom), datetime=dt, properties=props)
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
