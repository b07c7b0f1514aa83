"""A Landsat STAC Item's MTL asset: fetched under the href policy, size-bounded, parsed as a folder's MTL."""

from __future__ import annotations

import posixpath
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scoresby.core.errors import UnreadableRaster
from scoresby.core.href_policy import HrefRefused, allow_list, check_href
from scoresby.discovery.landsat_mtl import Mtl, MtlError, mtl_kind, parse_mtl
from scoresby.discovery.sources import open_source

# Collection 2 Items name them MTL.txt / MTL.xml / MTL.json (stactools, landsatlook) or mtl.* (Earth
# Search); the JSON form first, as a scene folder's (discovery/landsat.py).
MTL_ASSETS = ("mtl.json", "mtl.txt", "mtl.xml")
MAX_MTL_BYTES = 2 * 1024 * 1024
"""An MTL is 10-20 kB; an asset over 2 MiB is not one and is refused before it is read whole."""


def item_href(scene_id: str, label: str, href: Any, location: str | None, *, remote: bool) -> str:
    """An Item asset's href as its provenance allows it (core/href_policy.py); UnreadableRaster if refused.

    A local Item's relative hrefs resolve against its absolute folder; `label` prefixes the reason.
    """
    if location is not None and not urllib.parse.urlsplit(location).scheme:
        location = str(Path(location).absolute())
    try:
        return check_href(href, location, remote=remote, allow_hosts=allow_list())
    except HrefRefused as exc:
        raise UnreadableRaster(scene_id, f"STAC Item asset {label}{exc}") from exc


def mtl_asset(item: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The Item's MTL asset (its key and the asset), None when it has none."""
    assets = {str(k).lower(): (str(k), v) for k, v in item["assets"].items() if isinstance(v, dict)}
    return next((assets[key] for key in MTL_ASSETS if key in assets), None)


def read_item_mtl(
    scene_id: str, item: dict[str, Any], location: str | None, *, remote: bool, signed: Callable[[], bool]
) -> tuple[Mtl, str] | None:
    """The Item's parsed MTL and its asset key, None without an MTL asset; UnreadableRaster if unusable.

    The href passes the same provenance check as the band assets (core/href_policy.py); the read is
    bounded by MAX_MTL_BYTES; a file that does not parse as an MTL, or is another scene's, is refused.
    """
    found = mtl_asset(item)
    if found is None:
        return None
    key, asset = found
    alternate = (asset.get("alternate") or {}).get("s3") or {}
    href = alternate.get("href") if alternate.get("href") and signed() else asset.get("href")
    href = item_href(scene_id, f"{key}: ", href, location, remote=remote)
    parts = urllib.parse.urlsplit(href)
    if parts.scheme.lower() in ("s3", "https"):
        folder, name = posixpath.split(parts.path)
        root = f"{parts.scheme}://{parts.netloc}{folder.rstrip('/')}/"
        name = urllib.parse.unquote(name)
    else:  # a user's Item naming a file: a path or file:// URL
        path = Path(urllib.parse.unquote(parts.path) if parts.scheme else href)
        root, name = str(path.parent), path.name
    text = open_source(scene_id, root).read_text(name, max_bytes=MAX_MTL_BYTES)
    kind = mtl_kind(name if name.lower().endswith((".json", ".xml", ".txt")) else key)
    try:
        mtl = parse_mtl(text, **kind)
    except MtlError as exc:
        raise UnreadableRaster(scene_id, f"STAC Item asset {key} is not an MTL file: {exc}") from exc
    product = mtl.get("LANDSAT_PRODUCT_ID")
    if product is not None and product != str(item.get("id")):
        raise UnreadableRaster(
            scene_id, f"STAC Item asset {key} is the MTL of {product!r}, not of the Item {item.get('id')!r}"
        )
    return mtl, key
