"""What the map page draws: a layer per COG asset of every Item the run's collection.json links.

The page gets each layer's projection as a proj4 definition made here from the Item's `proj:code` or
`proj:wkt2` (rasterio), so any CRS draws in its own projection without a lookup service.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

from rasterio.crs import CRS

from scoresby.report.collection import COLLECTION_NAME, is_item
from scoresby.report.footprints import simplify_footprint
from scoresby.report.science import INDEX_LEGENDS

COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
READERS = 16


def _crs(props: dict[str, Any]) -> tuple[str, str] | None:
    """(name, proj4) of an Item's grid, or None when it names no CRS."""
    code, wkt = props.get("proj:code"), props.get("proj:wkt2")
    if not code and props.get("proj:epsg"):
        code = f"EPSG:{props['proj:epsg']}"
    try:
        crs = CRS.from_user_input(code or wkt)
    except Exception:  # noqa: BLE001 - an Item with an unreadable CRS is left off the map, not the run
        return None
    return (code or f"WKT:{abs(hash(wkt)) % 10**8}"), crs.to_proj4()


def _legend(key: str, asset: dict[str, Any]) -> dict[str, Any]:
    """How the page colours an asset: RGB as it is, an index on its colour ramp, else grey over its range."""
    bands = asset.get("raster:bands") or []
    product = key.split("_")[-1] if key not in INDEX_LEGENDS else key
    if product in INDEX_LEGENDS:
        name, stops, low, high = INDEX_LEGENDS[product]
        return {"type": "ramp", "name": name, "stops": list(stops), "min": -1, "max": 1,
                "low": low, "high": high}  # fmt: skip
    if len(bands) >= 3 and all(b.get("data_type") == "uint8" for b in bands[:3]):
        return {"type": "rgb", "name": "RGB (the product's stretch)"}
    stats = (bands[0].get("statistics") if bands else None) or {}
    lo, hi = stats.get("minimum", -1), stats.get("maximum", 1)
    return {"type": "ramp", "name": "value", "stops": ["#000004", "#51127c", "#b73779", "#fc8961", "#fcfdbf"],
            "min": lo, "max": hi, "low": str(lo), "high": str(hi)}  # fmt: skip


def _native_extent(transform: list[float], shape: list[int]) -> list[float]:
    """[minx, miny, maxx, maxy] of a north-up grid in its own CRS (what the map fits to, any longitude)."""
    a, _, c, _, e, f = (float(v) for v in transform[:6])
    height, width = int(shape[0]), int(shape[1])
    xs, ys = (c, c + a * width), (f, f + e * height)
    return [min(xs), min(ys), max(xs), max(ys)]


def item_layers(rel_item: str, item: dict[str, Any]) -> list[dict[str, Any]]:
    """A layer per COG asset of one Item (`rel_item`: its path relative to the run folder)."""
    props = item.get("properties") or {}
    crs = _crs(props)
    if crs is None or not props.get("proj:transform") or not props.get("proj:shape"):
        return []
    base = posixpath.dirname(rel_item)
    when = props.get("datetime") or props.get("end_datetime") or props.get("start_datetime") or ""
    layers = []
    for key, asset in sorted((item.get("assets") or {}).items()):
        if asset.get("type") != COG_TYPE:
            continue
        href = unquote(str(asset.get("href", "")))
        if "://" in href or href.startswith("/"):
            continue  # only files of the run folder are served
        path = posixpath.normpath(posixpath.join(base, href))
        if path.startswith(".."):
            continue
        bands = asset.get("raster:bands") or []
        layers.append(
            {
                "id": f"{item['id']}/{key}",
                "item": item["id"],
                "asset": key,
                "title": asset.get("title") or key,
                "href": path,
                "kind": props.get("scoresby:kind", "scene"),
                "place": props.get("scoresby:place"),
                "datetime": when,
                "date": when[:10],
                "crs": crs[0],
                "proj4": crs[1],
                "transform": props["proj:transform"][:6],
                "extent": _native_extent(props["proj:transform"], props["proj:shape"]),
                "shape": props["proj:shape"],
                "bbox": item.get("bbox"),
                "footprint": simplify_footprint(item),
                "nodata": bands[0].get("nodata") if bands else None,
                "bands": len(bands) or 1,
                "legend": _legend(key, asset),
            }
        )
    return layers


def run_layers(run_name: str, read_json: Callable[[str], Any]) -> dict[str, Any]:
    """Every layer of the run; `read_json(path in the run folder)` reads collection.json and the Items."""
    collection = read_json(COLLECTION_NAME)
    if not isinstance(collection, dict):
        return {"run": run_name, "layers": [], "note": f"no {COLLECTION_NAME} in the run folder yet"}
    hrefs = []
    for link in collection.get("links", []):
        href = unquote(str(link.get("href", "")))
        if link.get("rel") == "item" and href.startswith("./") and ".." not in href.split("/"):
            hrefs.append(href[2:])

    def one(rel: str) -> list[dict[str, Any]]:
        item = read_json(rel)
        return item_layers(rel, item) if is_item(item) else []

    with ThreadPoolExecutor(READERS) as pool:
        layers = [layer for group in pool.map(one, hrefs) for layer in group]
    layers.sort(key=lambda layer: (layer["date"], layer["kind"], layer["id"]))
    return {"run": run_name, "title": collection.get("title"), "layers": layers}
