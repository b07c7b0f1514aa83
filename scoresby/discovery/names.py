"""Recognising Landsat and Sentinel-2 scene ids and band-file names (pure: names in, matches out)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass

from scoresby.core.errors import UnknownSensor
from scoresby.core.scene_list import Scene
from scoresby.discovery.sentinel2_metadata import BAND_IDS, canonical_band
from scoresby.sensors import name_for_id, sensor_named
from scoresby.sensors.landsat_ids import C2_ID, PRE_ID

# Landsat 1-9 ids (the letter after L says the instrument: M is MSS); defined with the Landsat sensors.
LANDSAT_C2_ID = C2_ID
LANDSAT_PRE_ID = PRE_ID


SENTINEL2_SAFE_ID = re.compile(
    r"^S2[A-D]_MSI(?P<level>L1C|L2A)_(?P<time>\d{8}T\d{6})_N(?P<baseline>\d{4})_R\d{3}_T(?P<tile>\d{2}[A-Z]{3})_"
    r"\d{8}T\d{6}(?:\.SAFE)?$",
    re.IGNORECASE,
)


SENTINEL2_COG_ID = re.compile(
    r"^S2[A-D]_(?P<tile>\d{1,2}[A-Z]{3})_(?P<date>\d{8})_\d+_(?P<level>L1C|L2A)$", re.IGNORECASE
)


# Landsat band files; the optional SR_/ST_ marks Level-2 surface reflectance / surface temperature.
LANDSAT_BAND_FILE = re.compile(
    r"^(?P<prefix>.+?)_(?:(?P<kind>SR|ST)_)?B(?P<n>[1-9]|1[01])\.tiff?$", re.IGNORECASE
)


SENTINEL2_SAFE_BAND_FILE = re.compile(
    r"^(?P<tile>T\d{2}[A-Z]{3})_(?P<time>\d{8}T\d{6})_(?P<band>B\d{2}|B8A)(?:_(?P<res>\d{2})m)?\.(?:jp2|tiff?)$",
    re.IGNORECASE,
)


SENTINEL2_PLAIN_BAND_FILE = re.compile(
    r"^(?P<band>B\d{2}|B8A)(?:_(?P<res>\d{2})m)?\.(?:jp2|tiff?)$", re.IGNORECASE
)


RESOLUTION_DIR = re.compile(r"^R(?P<res>\d{2})m$", re.IGNORECASE)


# Tile and SAFE folders keep previews and quality masks with band-like names (preview/B04.jp2) here.
NON_BAND_DIRS = frozenset({"preview", "qi", "qi_data", "aux_data", "auxiliary"})


LANDSAT_BANDS = tuple(f"B{n}" for n in range(1, 12))


SENTINEL2_BANDS = tuple(b for b in BAND_IDS if b != "B10")  # B10 (cirrus) is not in L2A products


ALLOWED_PATTERNS = (
    "Landsat C2 '<id>_B4.TIF' / '<id>_SR_B4.TIF' (+ '<id>_MTL.txt|json|xml')",
    "pre-collection Landsat 'LC8…LGN00_B4.TIF' (+ '_MTL.txt')",
    "Sentinel-2 COG 'B04.tif' (+ '<id>.json' STAC Item) or tile folder 'R10m/B04.jp2'",
    "Sentinel-2 SAFE 'T29UNU_<YYYYMMDDTHHMMSS>_B04_10m.jp2|tif' (+ 'MTD_MSIL2A.xml')",
)


@dataclass(frozen=True)
class LandsatMatch:
    """A Landsat band file name, split into product prefix, kind (SR/ST/DN) and band."""

    name: str
    prefix: str  # the product id (or whatever precedes "_B4"), with its folder
    kind: str  # "SR", "ST" or "" (Level-1 DN)
    band: str


@dataclass(frozen=True)
class Sentinel2Match:
    """A Sentinel-2 band file name with its group (granule or folder), band and resolution."""

    name: str
    group: str  # "T29UNU_20221005T115411" for SAFE names, the folder above R10m/ or the folder otherwise
    band: str
    resolution: int  # metres from the name or the R10m/ folder; 0 when neither says


def landsat_band(name: str) -> LandsatMatch | None:
    """The Landsat band a file name is, or None."""
    folder, base = posixpath.split(name)
    match = LANDSAT_BAND_FILE.match(base)
    if not match:
        return None
    prefix = posixpath.join(folder, match.group("prefix"))
    return LandsatMatch(name, prefix, (match.group("kind") or "").upper(), f"B{int(match.group('n'))}")


def sentinel2_band(name: str) -> Sentinel2Match | None:
    """The Sentinel-2 band a file name is (previews and QI folders excluded), or None."""
    folder, base = posixpath.split(name)
    if NON_BAND_DIRS.intersection(part.lower() for part in folder.split("/")):
        return None
    parent = posixpath.basename(folder)
    res_dir = RESOLUTION_DIR.match(parent)
    safe = SENTINEL2_SAFE_BAND_FILE.match(base)
    match = safe or SENTINEL2_PLAIN_BAND_FILE.match(base)
    if not match:
        return None
    resolution = int(match.group("res") or (res_dir.group("res") if res_dir else 0))
    if safe:
        group = f"{safe.group('tile').upper()}_{safe.group('time').upper()}"
    else:
        group = posixpath.dirname(folder) if res_dir else folder
    return Sentinel2Match(name, group, canonical_band(match.group("band")), resolution)


def layout_hint(scene: Scene) -> str | None:
    """The file layout ('landsat', 'sentinel-2': `Sensor.layout`) the scene's sensor or id says, else None."""
    name = scene.sensor or name_for_id(scene.scene_id)
    return sensor_named(name).layout if name else None


def pick_group(scene: Scene, groups: Iterable[str], what: str) -> str:
    """The one group of files that is the scene: the only one, or the one the scene id names."""
    keys = sorted(set(groups))
    if len(keys) == 1:
        return keys[0]
    named = [k for k in keys if _names_group(scene.scene_id, k)]
    if len(named) == 1:
        return named[0]
    raise UnknownSensor(
        scene.scene_id,
        f"source {scene.source!r} holds several {what}s ({', '.join(k or '.' for k in keys)}); "
        "point source at one scene's folder or use its id as scene_id",
    )


def _names_group(scene_id: str, key: str) -> bool:
    """True when every part of a group key ("T01UBT_20230122T231849", a Landsat id) occurs in the id."""
    parts = [p for p in re.split(r"[_.]", posixpath.basename(key).upper()) if p]
    return bool(parts) and all(p in scene_id.upper() for p in parts)


def is_tiff(name: str) -> bool:
    """True for .tif/.tiff names."""
    return name.lower().endswith((".tif", ".tiff"))


def first_date(text: str) -> str | None:
    """First plausible YYYYMMDD (or YYYY/M/D path) date in a string, as YYYY-MM-DD."""
    match = re.search(r"(?<!\d)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)", text) or re.search(
        r"/(20\d{2})/(1[0-2]|0?[1-9])/(3[01]|[12]\d|0?[1-9])/", text
    )
    return f"{match.group(1)}-{int(match.group(2)):02d}-{int(match.group(3)):02d}" if match else None
