"""Items a STAC API returned, checked one by one: a bad one is skipped with a note, the rest are listed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from scoresby.core.checks import show
from scoresby.core.href_policy import HrefRefused, Resolver, check_href, resolve_host
from scoresby.core.layout import name_problem

GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
# Nesting depth of the positions of each geometry type (a Point's coordinates are one position).
_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}
MAX_ASSETS = 500
"""Real Items hold tens of assets; thousands are a page built to exhaust the checks."""
MAX_POSITIONS = 100_000
# Properties the search sorts by and a watch keeps its cursor and item versions in.
TIME_PROPERTIES = ("datetime", "start_datetime", "end_datetime", "created", "updated")


def self_href(item: dict[str, Any]) -> str | None:
    """The Item's self link href (where it says it lives), or None."""
    links = item.get("links")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") == "self" and isinstance(link.get("href"), str):
            return str(link["href"])
    return None


def item_problem(
    item: Any, *, allow_hosts: Sequence[str] = (), resolve: Resolver = resolve_host
) -> str | None:
    """Why an Item from a catalogue cannot be listed (its id, geometry, links or an asset), or None."""
    if not isinstance(item, dict) or item.get("type") != "Feature":
        return "not a STAC Item (a GeoJSON Feature)"
    problem = name_problem(item.get("id"), "scene id")
    if problem is not None:
        return f"id {show(item.get('id'))} is not a usable scene id; {problem}"
    if not isinstance(item.get("properties"), dict):
        return f"properties {show(item.get('properties'))} is not an object"
    for name in TIME_PROPERTIES:
        when = item["properties"].get(name)
        if when is not None and not _is_time(when):
            return f"properties.{name} {show(when)} is not an ISO 8601 time"
    links = item.get("links", [])
    if not (isinstance(links, list) and all(isinstance(link, dict) for link in links)):
        return f"links {show(links)} is not a list of link objects"
    problem = geometry_problem(item.get("geometry"))
    if problem is not None:
        return problem
    return assets_problem(item.get("assets"), self_href(item), allow_hosts, resolve)


def _is_time(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 40:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def geometry_problem(geometry: Any) -> str | None:
    """Why `geometry` is not a GeoJSON geometry in longitude/latitude (null is allowed, as STAC says)."""
    if geometry is None:
        return None
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind not in _DEPTH:
        return f"geometry {show(geometry)} is not allowed; allowed: a GeoJSON {', '.join(GEOMETRY_TYPES)}"
    count = [0]
    if not _positions_ok(geometry.get("coordinates"), _DEPTH[str(kind)], count):
        return (
            f"geometry {show(geometry)} is not allowed; allowed: {kind} coordinates of "
            "[longitude, latitude] within -180..180, -90..90"
        )
    return None


def _positions_ok(value: Any, depth: int, count: list[int]) -> bool:
    if depth == 0:
        count[0] += 1
        ok = isinstance(value, list) and 2 <= len(value) <= 3 and count[0] <= MAX_POSITIONS
        ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        return ok and all(math.isfinite(v) for v in value) and abs(value[0]) <= 180 and abs(value[1]) <= 90
    return isinstance(value, list) and bool(value) and all(_positions_ok(v, depth - 1, count) for v in value)


def assets_problem(
    assets: Any, location: str | None, allow_hosts: Sequence[str], resolve: Resolver
) -> str | None:
    """Why one of the assets (or its alternates) is not allowed for an Item from a catalogue, or None."""
    if not isinstance(assets, dict) or not assets or len(assets) > MAX_ASSETS:
        return f"assets {show(assets)} is not allowed; allowed: an object of 1-{MAX_ASSETS} assets"
    for key, asset in assets.items():
        if not isinstance(asset, dict):
            return f"asset {show(key)} is {show(asset)}, not an asset object"
        alternates = asset.get("alternate") or {}
        if not isinstance(alternates, dict) or not all(isinstance(a, dict) for a in alternates.values()):
            return f"asset {show(key)}: alternate {show(alternates)} is not an object of assets"
        hrefs = [("", asset.get("href"))]
        hrefs += [(f" alternate {show(k)}", a.get("href")) for k, a in alternates.items()]
        for where, href in hrefs:
            try:
                check_href(href, location, remote=True, allow_hosts=allow_hosts, resolve=resolve)
            except HrefRefused as exc:
                return f"asset {show(key)}{where}: {exc}"
    return None
