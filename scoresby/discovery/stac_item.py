"""A STAC Item as a scene's source: its assets are the band files, `raster:bands` gives the radiometry."""

from __future__ import annotations

import json
import posixpath
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from scoresby.core.catalogue_items import self_href
from scoresby.core.errors import SourceNotFound, UnknownSensor, UnreadableRaster
from scoresby.core.scene_files import BandFile, SceneFiles
from scoresby.core.scene_list import Scene
from scoresby.core.warnings import AssumedRadiometryWarning, PlainDNWarning, note
from scoresby.discovery.item_mtl import item_href, read_item_mtl
from scoresby.discovery.landsat_mtl import Mtl, MtlError
from scoresby.discovery.sources import aws_credentials_available, open_source
from scoresby.sensors import Sensor, name_for_id, name_for_metadata, sensor_named

# Earth Search / stac-server item URLs carry no .json suffix: /collections/<c>/items/<id>.
ITEM_URL = re.compile(r"/collections/[^/]+/items/[^/]+/?$")
# https://BUCKET.s3.REGION.amazonaws.com/KEY (and the region-less form): the same object as s3://BUCKET/KEY.
S3_HTTPS = re.compile(
    r"^https://(?P<bucket>[a-z0-9][a-z0-9.-]+)\.s3(?:[.-](?P<region>[a-z0-9-]+))?\.amazonaws\.com/(?P<key>.+)$"
)
# Quality assets -> SceneFiles.quality band names (masks and statistics read them by these names).
QUALITY_ASSETS = {"qa_pixel": "QA_PIXEL", "scl": "SCL"}
RASTER_SUFFIXES = (".tif", ".tiff", ".jp2")
MAX_ITEM_BYTES = 4 * 1024 * 1024


def is_item_source(scene: Scene) -> bool:
    """True when the scene's source is a STAC Item (inline, a .json file or an API item URL)."""
    if scene.item is not None:
        return True
    path = urllib.parse.urlsplit(scene.source).path
    return path.lower().endswith(".json") or bool(ITEM_URL.search(path))


def load_item(scene: Scene) -> tuple[dict[str, Any], str | None]:
    """The item JSON and where it lives (for relative hrefs and `derived_from`), inline or fetched."""
    if scene.item is not None:
        return scene.item, _self_href(scene.item)
    location = scene.source.rstrip("/") if ITEM_URL.search(scene.source) else scene.source
    parent, name = posixpath.split(location)
    text = open_source(scene.scene_id, parent + "/").read_text(name)
    try:
        item = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableRaster(scene.scene_id, f"STAC Item {location}: not JSON ({exc.msg})") from exc
    if not (
        isinstance(item, dict) and item.get("type") == "Feature" and isinstance(item.get("assets"), dict)
    ):
        raise UnreadableRaster(
            scene.scene_id, f"STAC Item {location}: not a STAC Item (no Feature with assets)"
        )
    return item, location


def discover_item(scene: Scene) -> SceneFiles:
    """Band files, sensor, level and radiometry of a scene whose source is a STAC Item."""
    item, location = load_item(scene)
    props = item.get("properties") or {}
    name = _sensor_name(item)
    sensor = sensor_named(name)
    signed = aws_credentials_available  # asked only for an asset that S3 could serve signed
    # An Item fetched from a URL names only remote assets; one the user gave (a file, inline) may name files.
    remote = scene.item is None and urllib.parse.urlsplit(scene.source).scheme.lower() not in ("", "file")
    bands: dict[str, BandFile] = {}
    defaulted: list[str] = []
    for key, asset in item["assets"].items():
        band = _band_id(key, asset, sensor)
        href = _href(asset)
        if band is None or href is None:
            continue
        if band in bands and not (
            bands[band].path.lower().endswith(".jp2") and not href.lower().endswith(".jp2")
        ):
            continue  # Earth Search lists each band twice ("red", "red-jp2"): the COG reads cheaper
        path = _gdal_path(scene.scene_id, href, location, signed, remote)
        scale, offset = _radiometry(asset, sensor, band)
        if _stated(asset) is None and band not in QUALITY_ASSETS.values():
            defaulted.append(band)
        bands[band] = BandFile(band, path, scale, offset)
    quality = next((bands[q] for q in QUALITY_ASSETS.values() if q in bands), None)
    for q in QUALITY_ASSETS.values():
        bands.pop(q, None)
    if not bands:
        raise SourceNotFound(
            scene.scene_id, f"STAC Item {item.get('id')!r} has no band assets Scoresby can read"
        )
    notes = [f"bands and radiometry from the STAC Item {item.get('id')}"]
    defaulted = sorted(set(defaulted) & set(bands))
    level = sensor.level_of(f"{item.get('id')} {item.get('collection')}")
    if (
        defaulted
    ):  # no raster:bands scale: a Landsat Item's MTL asset has the rescaling (MSS Items never state it)
        found = read_item_mtl(scene.scene_id, item, location, remote=remote, signed=signed)
        if found is not None:
            rescaled = _rescale_from_mtl(
                scene.scene_id, found, level, bands, defaulted, sensor.file_bands.get(name)
            )
            if rescaled:
                kind = "TOA, " if level == "L1" else ""
                notes.append(
                    f"reflectance of {', '.join(rescaled)}: {kind}DN * REFLECTANCE_MULT_BAND_n + "
                    f"REFLECTANCE_ADD_BAND_n from the Item's {found[1]} asset"
                )
            defaulted = [b for b in defaulted if b not in rescaled]
    if defaulted:
        scale, offset = sensor.rescaling
        plain = (scale, offset) == (1.0, 0.0)
        note(
            notes,
            f"reflectance of {', '.join(defaulted)}: the STAC Item gives no raster:bands scale, "
            + ("plain DN" if plain else f"DN * {scale} + {offset} ({sensor.title} constants)"),
            PlainDNWarning if plain else AssumedRadiometryWarning,
        )
    return SceneFiles(
        scene_id=scene.scene_id,
        sensor=name,
        level=level,
        bands=bands,
        datetime=props.get("datetime"),
        notes=tuple(notes),
        source_item=location,
        quality=quality,
    )


def _self_href(item: dict[str, Any]) -> str | None:
    return self_href(item)  # the one reading of "where the Item lives", as the search checked it


def _sensor_name(item: dict[str, Any]) -> str:
    """The sensor an Item's id says, else its platform and instruments (landsat-5 with mss is MSS)."""
    props = item.get("properties") or {}
    by_id = name_for_id(str(item.get("id")))
    if by_id:
        return by_id
    text = " ".join(str(v) for v in (props.get("platform"), item.get("collection"), item.get("id"))).lower()
    instruments = " ".join(str(i) for i in props.get("instruments") or []).upper()
    number = re.search(r"landsat[-_ ]?(\d)", text)
    if number or "landsat" in text:
        spacecraft = f"LANDSAT_{number.group(1) if number else 8}"
        name = name_for_metadata(spacecraft, "MSS" if "MSS" in instruments else None)
        if name:
            return name
    if "sentinel-2" in text:
        return "sentinel-2"
    raise UnknownSensor(
        str(item.get("id")), f"STAC Item of platform {text!r}; allowed: Landsat or Sentinel-2"
    )


def _band_id(key: str, asset: dict[str, Any], sensor: Sensor) -> str | None:
    """The catalogue's band id of a single-band raster asset (common name, then eo:bands name or key)."""
    if key.lower() in QUALITY_ASSETS:
        return QUALITY_ASSETS[key.lower()]
    bands = asset.get("eo:bands") or asset.get("bands") or []
    if len(bands) > 1 or "visual" in (asset.get("roles") or []):
        return None
    band = bands[0] if bands else {}
    common = str(band.get("common_name") or band.get("eo:common_name") or key).lower()
    # Landsat numbers differ by sensor (TM red is B3, OLI red is B4): the common name is what is meant.
    if sensor.file_bands and common in sensor.common_names:
        return sensor.common_names[common]
    known = set(sensor.common_names.values())
    for name in (band.get("name"), key):
        match = re.fullmatch(r"(?:[A-Z]+_)?B0?(\d{1,2})(A?)", str(name or ""), re.IGNORECASE)
        if match and not sensor.file_bands:
            number = f"B{int(match.group(1)):02d}"
            if match.group(2) or number in known:
                return "B8A" if match.group(2) else number
    return sensor.common_names.get(common)


def _href(asset: dict[str, Any]) -> str | None:
    """The asset's href, its s3:// alternate preferred (in-region and requester-pays aware)."""
    alternate = (asset.get("alternate") or {}).get("s3") or {}
    href = alternate.get("href") or asset.get("href")
    if not isinstance(href, str) or not urllib.parse.urlsplit(href).path.lower().endswith(RASTER_SUFFIXES):
        return None
    return href


def _gdal_path(
    scene_id: str, href: str, location: str | None, signed: Callable[[], bool], remote: bool = False
) -> str:
    """A GDAL path for an asset href allowed by the Item's provenance (core/href_policy.py)."""
    href = item_href(scene_id, "", href, location, remote=remote)
    scheme = urllib.parse.urlsplit(href).scheme.lower()
    if not scheme:
        return href
    if scheme == "s3":
        return "/vsis3/" + href[len("s3://") :]
    if scheme == "https":
        s3 = S3_HTTPS.match(href)
        if s3 and signed():  # same object through the S3 API: signed, in-region on Batch, requester pays
            return f"/vsis3/{s3.group('bucket')}/{s3.group('key')}"
        return "/vsicurl/" + href
    return urllib.parse.unquote(urllib.parse.urlsplit(href).path)  # file://


def _stated(asset: dict[str, Any]) -> tuple[float, float] | None:
    """(scale, offset) as the asset's raster:bands states them, None when it does not."""
    raster = (asset.get("raster:bands") or [{}])[0]
    scale, offset = raster.get("scale"), raster.get("offset")
    if isinstance(scale, int | float) and isinstance(offset, int | float | type(None)):
        return float(scale), float(offset or 0.0)
    return None


def _radiometry(asset: dict[str, Any], sensor: Sensor, band: str) -> tuple[float, float]:
    """DN -> reflectance as raster:bands states it (Earth Search S2 L2A: the offset, applied once)."""
    if band in QUALITY_ASSETS.values():
        return 1.0, 0.0
    return _stated(asset) or sensor.rescaling  # the sensor's rescaling when no metadata says


def _rescale_from_mtl(
    scene_id: str,
    found: tuple[Mtl, str],
    level: str,
    bands: dict[str, BandFile],
    defaulted: list[str],
    file_bands: Mapping[str, str] | None,
) -> list[str]:
    """Give `defaulted` bands the MTL's REFLECTANCE_MULT/ADD_BAND_n (in place); the bands it rescaled."""
    mtl, key = found
    # The MTL numbers bands as the files do (Landsat 4-5 MSS: file B1 is catalogue B4).
    file_number = {band: int(file[1:]) for file, band in (file_bands or {}).items()}
    rescaled = []
    for band in defaulted:
        number = file_number.get(band) or (int(band[1:]) if re.fullmatch(r"B\d{1,2}", band) else None)
        try:
            rescaling = mtl.reflectance_rescaling(level, number) if number is not None else None
        except MtlError as exc:
            raise UnreadableRaster(scene_id, f"STAC Item asset {key}: {exc}") from exc
        if rescaling is not None:
            bands[band] = BandFile(band, bands[band].path, *rescaling)
            rescaled.append(band)
    return rescaled
