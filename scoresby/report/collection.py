"""The run as one STAC Collection: `collection.json` linking every Item of the run folder (stdlib only).

Built from the Items' own JSON (scene Items and place products alike), so the summary Lambda writes the same
document as a local run without pystac; the tests read it back with pystac and odc-stac.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

COLLECTION_NAME = "collection.json"
STAC_VERSION = "1.1.0"
LICENSE = "other"  # the products inherit the terms of their sources (USGS Landsat, Copernicus Sentinel)


def is_item(doc: Any) -> bool:
    """True for a STAC Item document (a GeoJSON Feature with a stac_version and an id)."""
    return (
        isinstance(doc, dict)
        and doc.get("type") == "Feature"
        and "stac_version" in doc
        and isinstance(doc.get("id"), str)
    )


def _times(props: Mapping[str, Any]) -> list[str]:
    values = [props.get("datetime"), props.get("start_datetime"), props.get("end_datetime")]
    return [v for v in values if isinstance(v, str) and v]


def spatial_extent(bboxes: Iterable[list[float]]) -> list[float]:
    """The union of [west, south, east, north] boxes; one crossing the antimeridian widens it to -180..180."""
    boxes = [b for b in bboxes if isinstance(b, list) and len(b) >= 4]
    if not boxes:
        return [-180.0, -90.0, 180.0, 90.0]
    south, north = min(b[1] for b in boxes), max(b[3] for b in boxes)
    if any(b[0] > b[2] for b in boxes):
        return [-180.0, south, 180.0, north]
    return [min(b[0] for b in boxes), south, max(b[2] for b in boxes), north]


def build_collection(run_name: str, items: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """The Collection of a run: extents over `items` ((path relative to the run folder, Item)), a link each.

    Links are relative ("./<path>"), so the run folder can be moved or served as it is.
    """
    bboxes: list[list[float]] = []
    times: list[str] = []
    links: list[dict[str, Any]] = [
        {"rel": "root", "href": f"./{COLLECTION_NAME}", "type": "application/json"},
    ]
    kinds: set[str] = set()
    for rel_path, item in sorted(items, key=lambda pair: pair[0]):
        bbox = item.get("bbox")
        if isinstance(bbox, list):
            bboxes.append([float(v) for v in bbox])
        props = item.get("properties") or {}
        times += _times(props)
        kinds.add(str(props.get("scoresby:kind", "scene")))
        links.append(
            {
                "rel": "item",
                "href": "./" + quote(rel_path),
                "type": "application/geo+json",
                "title": item.get("id"),
            }
        )
    times.sort()  # ISO 8601 in UTC ("Z" or "+00:00" after the seconds) sorts as time does
    interval = [times[0], times[-1]] if times else [None, None]
    return {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": run_name,
        "title": f"Scoresby run {run_name}",
        "description": f"Every STAC Item of the Scoresby run {run_name}: {len(links) - 2} Items "
        f"({', '.join(sorted(kinds)) or 'none yet'}).",
        "license": LICENSE,
        "extent": {"spatial": {"bbox": [spatial_extent(bboxes)]}, "temporal": {"interval": [interval]}},
        "links": links,
    }
