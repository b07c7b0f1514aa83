"""Scene-list options of the science outputs: `mask`, `aoi` and `timelapse` (validated once, here)."""

from __future__ import annotations

import math
from typing import Any

from scoresby.core.checks import check_fields, is_number, show, suggest

MASK_CLASSES = ("cloud", "shadow", "cirrus")
"""Classes a scene list may mask out of its products (QA_PIXEL bits / SCL classes, raster/masks.py)."""

AOI_FIELDS = ("bbox", "crs", "geometry", "name", "resolution")
TIMELAPSE_FIELDS = ("fps", "max_cloud", "mp4")

DEFAULT_AOI_RESOLUTION = 30.0
"""Pixel size of an AOI grid in its CRS's units when none is given (Landsat's 30 m, so both sensors stack)."""


def check_mask(value: Any, name: str, problems: list[str]) -> tuple[str, ...]:
    """A list of MASK_CLASSES, duplicates dropped; [] (the default) masks nothing."""
    allowed = ", ".join(MASK_CLASSES)
    if not isinstance(value, list):
        problems.append(f"{name}: {show(value)} is not allowed; allowed: a list of {allowed}")
        return ()
    bad = [v for v in value if v not in MASK_CLASSES]
    for v in bad:
        hint = suggest(v, MASK_CLASSES)
        problems.append(f"{name}: {show(v)} is not a mask class{hint}; allowed: {allowed}")
    return () if bad else tuple(dict.fromkeys(value))


def _lonlat_ok(x: Any, y: Any) -> bool:
    return is_number(x) and is_number(y) and -180 <= x <= 180 and -90 <= y <= 90


def _ring_points(geometry: Any) -> list[tuple[float, float]] | None:
    """Every vertex of a GeoJSON Polygon or MultiPolygon in lon/lat, or None when it is not one."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return None
    coords: Any = geometry.get("coordinates")
    polygons: Any = coords if geometry["type"] == "MultiPolygon" else [coords]
    points: list[tuple[float, float]] = []
    try:
        for polygon in polygons:
            for ring in polygon:
                for x, y, *_ in ring:
                    if not _lonlat_ok(x, y):
                        return None
                    points.append((float(x), float(y)))
    except (TypeError, ValueError):
        return None
    return points if len(points) >= 4 else None


def check_aoi(value: Any, name: str, problems: list[str]) -> dict[str, Any] | None:
    """An AOI normalised to {"bbox": [W, S, E, N] lon/lat, "crs", "resolution", "name", "geometry"?}.

    `crs` (e.g. "EPSG:32624") and `resolution` (its units) fix the output grid; without `crs` the grid is
    in the UTM zone of the bbox centre, so every scene of the run lands on the same pixels.
    """
    if not isinstance(value, dict):
        problems.append(f'{name}: {show(value)} is not allowed; allowed: an object with "bbox" or "geometry"')
        return None
    before = len(problems)
    check_fields(value, AOI_FIELDS, f"{name}: ", "field of an aoi", problems)
    out: dict[str, Any] = {}
    if "geometry" in value:
        points = _ring_points(value["geometry"])
        if points is None:
            problems.append(
                f"{name}.geometry: {show(value['geometry'])} is not allowed; "
                "allowed: a GeoJSON Polygon or MultiPolygon in lon/lat (EPSG:4326)"
            )
        else:
            out["geometry"] = value["geometry"]
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            out["bbox"] = [min(xs), min(ys), max(xs), max(ys)]
    if "bbox" in value:
        bbox = value["bbox"]
        ok = (
            isinstance(bbox, list)
            and len(bbox) == 4
            and _lonlat_ok(bbox[0], bbox[1])
            and _lonlat_ok(bbox[2], bbox[3])
            and bbox[0] < bbox[2]
            and bbox[1] < bbox[3]
        )
        if not ok:
            problems.append(
                f"{name}.bbox: {show(bbox)} is not allowed; allowed: [west, south, east, north] in degrees "
                "with west < east and south < north"
            )
        elif "geometry" not in out:
            out["bbox"] = [float(v) for v in bbox]
    if "bbox" not in value and "geometry" not in value:
        problems.append(f'{name}: needs "bbox" [west, south, east, north] or a GeoJSON "geometry"')
    crs = value.get("crs")
    if crs is not None and not (isinstance(crs, str) and crs.strip()):
        problems.append(f"{name}.crs: {show(crs)} is not allowed; allowed: a CRS string such as 'EPSG:32624'")
    resolution = value.get("resolution", DEFAULT_AOI_RESOLUTION)
    if not is_number(resolution) or resolution <= 0:
        problems.append(f"{name}.resolution: {show(resolution)} is not allowed; allowed: a number > 0")
    aoi_name = value.get("name", "aoi")
    if not (isinstance(aoi_name, str) and aoi_name.replace("-", "").replace("_", "").isalnum()):
        problems.append(f"{name}.name: {show(aoi_name)} is not allowed; allowed: letters, digits, '-', '_'")
    if len(problems) > before:
        return None
    out["crs"] = crs or utm_zone_crs(out["bbox"])
    out["resolution"] = float(resolution)
    out["name"] = aoi_name
    return out


def utm_zone_crs(bbox: list[float]) -> str:
    """EPSG code of the WGS 84 UTM zone holding the centre of a lon/lat bbox."""
    lon = (bbox[0] + bbox[2]) / 2
    lat = (bbox[1] + bbox[3]) / 2
    zone = min(int(math.floor((lon + 180) / 6)) + 1, 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def check_timelapse(value: Any, name: str, problems: list[str]) -> dict[str, Any] | None:
    """{"max_cloud": 0-100 (frames above it are skipped; default none), "fps": >0, "mp4": bool}."""
    if not isinstance(value, dict):
        example = '{"max_cloud": 40}'
        problems.append(f"{name}: {show(value)} is not allowed; allowed: an object such as {example}")
        return None
    before = len(problems)
    check_fields(value, TIMELAPSE_FIELDS, f"{name}: ", "field of a timelapse", problems)
    max_cloud = value.get("max_cloud")
    if max_cloud is not None and not (is_number(max_cloud) and 0 <= max_cloud <= 100):
        problems.append(f"{name}.max_cloud: {show(max_cloud)} is not allowed; allowed: a percentage 0-100")
    fps = value.get("fps", 1.0)
    if not is_number(fps) or not 0 < fps <= 30:
        problems.append(f"{name}.fps: {show(fps)} is not allowed; allowed: frames per second, 0 < fps <= 30")
    mp4 = value.get("mp4", True)
    if not isinstance(mp4, bool):
        problems.append(f"{name}.mp4: {show(mp4)} is not allowed; allowed: true or false")
    if len(problems) > before:
        return None
    return {"max_cloud": None if max_cloud is None else float(max_cloud), "fps": float(fps), "mp4": mp4}
