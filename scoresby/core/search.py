"""STAC searches: presets of the public APIs and the one validator of a search (CLI and `search` block)."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scoresby.core.checks import check_fields, is_number, show
from scoresby.sensors import sensors

# Public STAC APIs by name; the collections Scoresby can read there are each sensor's (scoresby/sensors).
PRESETS = {
    "earth-search": "https://earth-search.aws.element84.com/v1",
    "landsatlook": "https://landsatlook.usgs.gov/stac-server",
    "planetary-computer": "https://planetarycomputer.microsoft.com/api/stac/v1",
}


def _preset_collections() -> dict[str, tuple[str, ...]]:
    """Preset name -> the collections the registered sensors name there, sentinel-2 first as before."""
    out: dict[str, dict[str, None]] = {name: {} for name in PRESETS}
    for sensor in sorted(sensors(), key=lambda s: s.constellation != "sentinel-2"):
        for preset, collections in sensor.search.items():
            out.setdefault(preset, {}).update(dict.fromkeys(collections))
    return {preset: tuple(c) for preset, c in out.items()}


PRESET_COLLECTIONS = _preset_collections()
SEARCH_FIELDS = ("bbox", "collections", "datetime", "intersects", "limit", "max_cloud", "stac")
# Plain http is allowed for an API on this machine only (a test server); anything else must be https.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


@dataclass(frozen=True)
class SearchSpec:
    """A validated STAC search: API URL, collections, area (bbox or GeoJSON geometry), dates, cloud limit."""

    stac: str
    collections: tuple[str, ...]
    datetime: str
    bbox: tuple[float, float, float, float] | None = None
    intersects: dict[str, Any] | None = None
    max_cloud: float | None = None
    limit: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The `search` block form, accepted back by `check_search`."""
        d: dict[str, Any] = {
            "stac": self.stac,
            "collections": list(self.collections),
            "datetime": self.datetime,
        }
        if self.bbox is not None:
            d["bbox"] = list(self.bbox)
        if self.intersects is not None:
            d["intersects"] = self.intersects
        if self.max_cloud is not None:
            d["max_cloud"] = self.max_cloud
        if self.limit is not None:
            d["limit"] = self.limit
        return d


def stac_url(value: Any, name: str, problems: list[str]) -> str | None:
    """A preset name or an https:// API URL (http:// only on loopback), without a trailing slash."""
    if isinstance(value, str) and value in PRESETS:
        return PRESETS[value]
    allowed = f"a preset ({', '.join(PRESETS)}) or an https:// STAC API URL"
    if not isinstance(value, str):
        problems.append(f"{name}: {show(value)} is not allowed; allowed: {allowed}")
        return None
    parts = urllib.parse.urlsplit(value)
    loopback = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    if not parts.netloc or not (parts.scheme == "https" or loopback):
        problems.append(f"{name}: {show(value)} is not allowed; allowed: {allowed}")
        return None
    return value.rstrip("/")


def parse_bbox(value: Any, name: str, problems: list[str]) -> tuple[float, float, float, float] | None:
    """W,S,E,N in degrees (a "W,S,E,N" string or a list of four numbers), W < E and S < N."""
    parts = value.split(",") if isinstance(value, str) else value
    allowed = "W,S,E,N in degrees with -180 <= W < E <= 180 and -90 <= S < N <= 90"
    try:
        nums = [float(p) for p in parts] if isinstance(parts, list | tuple) else []
    except (TypeError, ValueError):
        nums = []
    if isinstance(value, list | tuple) and not all(is_number(v) for v in value):
        nums = []
    if len(nums) != 4:
        problems.append(f"{name}: {show(value)} is not allowed; allowed: {allowed}")
        return None
    w, s, e, n = nums
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        problems.append(f"{name}: {show(value)} is not allowed; allowed: {allowed}")
        return None
    return (w, s, e, n)


def check_datetime(value: Any, name: str, problems: list[str]) -> str | None:
    """START/END as ISO 8601 dates or times, either end open ("..", e.g. 2013-04-01/..), or one date."""
    allowed = "START/END of ISO 8601 dates, either end may be '..' (e.g. 2013-04-01/..)"
    if not isinstance(value, str):
        problems.append(f"{name}: {show(value)} is not allowed; allowed: {allowed}")
        return None
    ends = value.split("/")
    if len(ends) > 2 or ends == ["..", ".."] or not all(e == ".." or _DATE.match(e) for e in ends):
        problems.append(f"{name}: {show(value)} is not allowed; allowed: {allowed}")
        return None
    try:
        parsed = [datetime.fromisoformat(e.replace("Z", "+00:00")) for e in ends if e != ".."]
    except ValueError:
        problems.append(f"{name}: {show(value)} is not a real date; allowed: {allowed}")
        return None
    if len(parsed) == 2 and parsed[0].replace(tzinfo=None) > parsed[1].replace(tzinfo=None):
        problems.append(f"{name}: {show(value)} ends before it starts; allowed: {allowed}")
        return None
    return value


def check_search(obj: Any, name: str, problems: list[str]) -> SearchSpec | None:
    """Validate a search (the `search` block of a scene list, or the CLI's flags as a dict)."""
    if not isinstance(obj, dict):
        problems.append(
            f'{name}: {show(obj)} is not allowed; allowed: an object with "stac", "collections", ...'
        )
        return None
    before = len(problems)
    check_fields(obj, SEARCH_FIELDS, f"{name}: ", "search field", problems)
    url = stac_url(obj.get("stac"), f"{name}.stac", problems)
    collections = obj.get("collections")
    if isinstance(collections, str):
        collections = [collections]
    if not (
        isinstance(collections, list) and collections and all(isinstance(c, str) and c for c in collections)
    ):
        known = PRESET_COLLECTIONS.get(str(obj.get("stac")), ())
        hint = f" (e.g. {', '.join(known)})" if known else ""
        problems.append(
            f"{name}.collections: {show(collections)} is not allowed; allowed: collection names{hint}"
        )
    bbox = intersects = None
    if obj.get("bbox") is not None and obj.get("intersects") is not None:
        problems.append(f"{name}: both bbox and intersects given; allowed: one of them")
    elif obj.get("bbox") is not None:
        bbox = parse_bbox(obj["bbox"], f"{name}.bbox", problems)
    elif obj.get("intersects") is not None:
        intersects = _check_geometry(obj["intersects"], f"{name}.intersects", problems)
    else:
        problems.append(f"{name}: no area; allowed: bbox [W, S, E, N] or intersects (a GeoJSON geometry)")
    when = check_datetime(obj.get("datetime"), f"{name}.datetime", problems)
    max_cloud = obj.get("max_cloud")
    if max_cloud is not None and not (is_number(max_cloud) and 0 <= max_cloud <= 100):
        problems.append(f"{name}.max_cloud: {show(max_cloud)} is not allowed; allowed: a percentage 0-100")
    limit = obj.get("limit")
    if limit is not None and not (isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1):
        problems.append(f"{name}.limit: {show(limit)} is not allowed; allowed: a whole number >= 1")
    if len(problems) > before or url is None or when is None:
        return None
    return SearchSpec(
        stac=url,
        collections=tuple(dict.fromkeys(collections)),  # type: ignore[arg-type]
        datetime=when,
        bbox=bbox,
        intersects=intersects,
        max_cloud=None if max_cloud is None else float(max_cloud),
        limit=limit,
    )


def _check_geometry(value: Any, name: str, problems: list[str]) -> dict[str, Any] | None:
    """A GeoJSON geometry (or a Feature / one-feature FeatureCollection holding one) in lon/lat."""
    if (
        isinstance(value, dict)
        and value.get("type") == "FeatureCollection"
        and len(value.get("features") or []) == 1
    ):
        value = value["features"][0]
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    kinds = ("Polygon", "MultiPolygon", "Point", "MultiPoint", "LineString", "MultiLineString")
    if not (
        isinstance(value, dict) and value.get("type") in kinds and isinstance(value.get("coordinates"), list)
    ):
        problems.append(
            f"{name}: {show(value)} is not allowed; allowed: a GeoJSON geometry ({', '.join(kinds)})"
        )
        return None
    return value
