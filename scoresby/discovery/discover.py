"""Scene discovery: find a scene's band files under its source, recognise sensor and level, read scale/offset.

Sources are local folders, s3:// prefixes (listed with boto3 as requester) and https:// base URLs (probed
with HEAD for the names the scene id implies). Recognised layouts (`LAYOUTS`, named by `Sensor.layout`):

* Landsat 1-9 Collection 2 Level-1 `<id>_B4.TIF` and Level-2 `<id>_SR_B4.TIF`, with `<id>_MTL.txt|json|xml`;
* pre-collection Landsat 8 `LC8…LGN00_B4.TIF` (or any `<prefix>_B4.TIF` with `<prefix>_MTL.txt`);
* Sentinel-2 L2A COGs `B04.tif` (folder id or `<id>.json` STAC Item says Sentinel-2), tile folders
  `R10m/B04.jp2`, and SAFE names `T29UNU_<time>_B04_60m.jp2|tif` with `MTD_MSIL2A.xml`;
* a sensor without a layout: its `Sensor.band_file` pattern (discovery/generic.py).
"""

from __future__ import annotations

import dataclasses
import logging
import posixpath
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scoresby.core.errors import SourceNotFound, UnknownSensor, UnreadableRaster
from scoresby.core.scene_files import SceneFiles
from scoresby.core.scene_list import Scene
from scoresby.discovery.generic import discover_generic, match_generic
from scoresby.discovery.landsat import discover_landsat
from scoresby.discovery.names import (
    ALLOWED_PATTERNS,
    LANDSAT_C2_ID,
    LANDSAT_PRE_ID,
    SENTINEL2_BANDS,
    landsat_band,
    layout_hint,
    sentinel2_band,
)
from scoresby.discovery.quality import with_quality
from scoresby.discovery.sentinel2 import discover_sentinel2
from scoresby.discovery.sentinel2_metadata import (
    Sentinel2MetadataError,
    image_files,
)
from scoresby.discovery.sources import HttpSource, ListedSource, Source, gdal_env_options, open_source
from scoresby.discovery.stac_item import discover_item, is_item_source
from scoresby.sensors import sensors

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Layout:
    """A file layout with a discovery module of its own: its band-file matcher and its reader.

    Several sensors share one (every Landsat sensor comes in product folders; the MTL and the id then tell
    them apart), so a layout is found by its file names first and the sensor by its metadata after.
    """

    title: str
    band: Callable[[str], Any]  # a file name -> its band match, or None
    discover: Callable[[Scene, Source, list[Any], list[str]], SceneFiles]


# `Sensor.layout` -> its Layout; a sensor without one is found by its `band_file` (discovery/generic.py).
LAYOUTS = {
    "landsat": Layout("Landsat", landsat_band, discover_landsat),
    "sentinel-2": Layout("Sentinel-2", sentinel2_band, discover_sentinel2),
}


def discover_scene(scene: Scene) -> SceneFiles:
    """Find the band files of `scene` under its source and recognise sensor, level and radiometry.

    Raises SourceNotFound (source missing or empty), UnknownSensor (nothing recognisable, several scenes,
    or a sensor that contradicts the scene's `sensor`) and UnreadableRaster (malformed MTL/MTD/STAC file).
    """
    found = _discover(scene)
    # One rule for every layout: the files to be read decide whether AWS credentials are looked for.
    files = [*found.bands.values(), *([found.quality] if found.quality else [])]
    return dataclasses.replace(found, gdal_env=gdal_env_options(f.path for f in files))


def _discover(scene: Scene) -> SceneFiles:
    """The scene's files by its layout (discover_scene), before their GDAL read options are set."""
    if is_item_source(scene):
        return discover_item(scene)
    source = open_source(scene.scene_id, scene.source)
    names = source.list_names() if isinstance(source, ListedSource) else _probe_http(scene, source)
    if not names:
        raise SourceNotFound(scene.scene_id, f"source {scene.source!r} holds no files")
    # The layouts the registered sensors come in, each with the band files it recognises.
    used = dict.fromkeys(s.layout for s in sensors() if s.layout is not None)
    matched = {key: bands for key in used if (bands := [m for m in map(LAYOUTS[key].band, names) if m])}
    generic = match_generic(scene, names) if not matched else None
    if generic is not None:
        found = discover_generic(scene, source, *generic)
        return _checked(scene, with_quality(found, source, names))
    if not matched:
        # A few names, each cut short and escaped, explain the error; the whole listing is not copied.
        shown = ", ".join(repr(posixpath.basename(n)[:40]) for n in names[:5])
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        raise UnknownSensor(
            scene.scene_id,
            f"no band files recognised in {scene.source!r} ({len(names)} files: {shown}{more}); "
            f"allowed: {'; '.join(ALLOWED_PATTERNS)}",
        )
    # The layout is not the sensor: the layout's module reads the metadata that says which sensor it is.
    layout = next(iter(matched)) if len(matched) == 1 else layout_hint(scene)
    if layout not in matched:
        raise UnknownSensor(
            scene.scene_id,
            f"source {scene.source!r} holds both {' and '.join(LAYOUTS[k].title for k in matched)} band "
            "files; set the scene's sensor or point source at one scene's folder",
        )
    found = LAYOUTS[layout].discover(scene, source, matched[layout], names)
    found = with_quality(found, source, names)  # QA_PIXEL / SCL, for masks and statistics
    return _checked(scene, found)


def _checked(scene: Scene, found: SceneFiles) -> SceneFiles:
    """`found`, once its sensor is checked against the scene's `sensor` field (and logged)."""
    if scene.sensor is not None and scene.sensor != found.sensor:
        raise UnknownSensor(
            scene.scene_id,
            f"sensor {scene.sensor!r} given for the scene does not match the files in {scene.source!r}, "
            f"which are {found.sensor} ({found.level})",
        )
    logger.debug(
        "scene %s: %s %s, %d bands (%s) in %s",
        scene.scene_id,
        found.sensor,
        found.level,
        len(found.bands),
        ", ".join(found.bands),
        scene.source,
    )
    return found


# --- file name recognition -------------------------------------------------------------------------------


# --- Landsat ---------------------------------------------------------------------------------------------


# --- Sentinel-2 ------------------------------------------------------------------------------------------


# --- HTTPS probing ---------------------------------------------------------------------------------------


def _probe_http(scene: Scene, source: Source) -> list[str]:
    """Names that exist under an HTTPS base, probed from what the scene id and MTD imply (no listing)."""
    assert isinstance(source, HttpSource)  # noqa: S101 - every source but HTTPS is a ListedSource
    last_component = posixpath.basename(urllib.parse.urlsplit(source.base).path.rstrip("/"))
    ids = [i for i in dict.fromkeys([scene.scene_id, last_component]) if i]
    metadata = ["MTD_MSIL2A.xml", "MTD_MSIL1C.xml"]
    for i in ids:
        metadata += [f"{i}_MTL.json", f"{i}_MTL.txt", f"{i}_MTL.xml", f"{i}.json"]
    found = source.existing(metadata)
    candidates: list[str] = []
    for i in ids:
        if LANDSAT_C2_ID.match(i) or LANDSAT_PRE_ID.match(i):
            candidates += [f"{i}_SR_B{n}.TIF" for n in range(1, 8)]
            candidates += [f"{i}_B{n}.TIF" for n in range(1, 12)]
    mtd = next((n for n in found if n.startswith("MTD_")), None)
    if mtd:
        try:
            listed = image_files(source.read_text(mtd))
        except Sentinel2MetadataError as exc:
            raise UnreadableRaster(
                scene.scene_id, f"malformed metadata file {source.gdal_path(mtd)}: {exc}"
            ) from exc
        for path, extension in listed:
            if sentinel2_band(posixpath.basename(path) + extension):
                # SAFE keeps the GRANULE/… tree; copies and mirrors often flatten it.
                candidates += [path + extension, posixpath.basename(path) + extension]
    elif not candidates:
        for extension in (".tif", ".jp2"):
            candidates += [f"{band}{extension}" for band in SENTINEL2_BANDS]
        candidates += [f"R{res}m/{band}.jp2" for res in (10, 20, 60) for band in SENTINEL2_BANDS]
    bands = source.existing(candidates)
    if not bands:
        raise SourceNotFound(
            scene.scene_id,
            f"no band files found at {source.base}: probed {len(candidates)} names derived from the scene id "
            f"and metadata (e.g. {', '.join(candidates[:3])}); https sources cannot be listed, "
            "so scene_id must be the product id or the base URL must end with it",
        )
    return found + bands
