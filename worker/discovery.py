"""Scene discovery: find a scene's band files under its source, recognise sensor and level, read scale/offset.

Sources are local folders, s3:// prefixes (listed with boto3 as requester) and https:// base URLs (probed
with HEAD for the names the scene id implies). Recognised layouts:

* Landsat 8/9 Collection 2 Level-1 `<id>_B4.TIF` and Level-2 `<id>_SR_B4.TIF`, with `<id>_MTL.txt|json`;
* pre-collection Landsat 8 `LC8…LGN00_B4.TIF` (or any `<prefix>_B4.TIF` with `<prefix>_MTL.txt`);
* Sentinel-2 L2A COGs `B04.tif` (folder id or `<id>.json` STAC Item says Sentinel-2), tile folders
  `R10m/B04.jp2`, and SAFE names `T29UNU_<time>_B04_60m.jp2|tif` with `MTD_MSIL2A.xml`.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from datetime import datetime as Datetime

from worker.errors import SourceNotFound, UnknownSensor, UnreadableRaster
from worker.landsat_mtl import Mtl, MtlError, parse_mtl
from worker.scene_list import Scene
from worker.scene_sources import HttpSource, Source, aws_credentials_available, open_source
from worker.sentinel2_metadata import (
    BAND_IDS,
    BASELINE_OFFSET_DN,
    DEFAULT_QUANTIFICATION,
    Radiometry,
    Sentinel2MetadataError,
    baseline_has_offset,
    canonical_band,
    image_files,
    normalise_datetime,
    parse_mtd,
    parse_stac_item,
)

logger = logging.getLogger(__name__)

# Collection 2 L2 surface reflectance constants, used when no MTL gives them (USGS C2 L2 product guide).
LANDSAT_C2_L2_SCALE = 0.0000275
LANDSAT_C2_L2_OFFSET = -0.2
# First acquisitions ESA processed with baseline 04.00 (offset -1000); used only when no metadata says.
SENTINEL2_OFFSET_SINCE = "2022-01-25"

LANDSAT_C2_ID = re.compile(
    r"^L[COT](?P<mission>0[89])_(?P<level>L1TP|L1GT|L1GS|L2SP|L2SR)_\d{6}_(?P<date>\d{8})_\d{8}_\d{2}_(?:T1|T2|RT)$",
    re.IGNORECASE,
)
LANDSAT_PRE_ID = re.compile(
    r"^L[COT](?P<mission>[89])\d{6}(?P<year>\d{4})(?P<doy>\d{3})[A-Z]{3}\d{2}$", re.IGNORECASE
)
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
    "Landsat C2 '<id>_B4.TIF' / '<id>_SR_B4.TIF' (+ '<id>_MTL.txt|json')",
    "pre-collection Landsat 'LC8…LGN00_B4.TIF' (+ '_MTL.txt')",
    "Sentinel-2 COG 'B04.tif' (+ '<id>.json' STAC Item) or tile folder 'R10m/B04.jp2'",
    "Sentinel-2 SAFE 'T29UNU_<YYYYMMDDTHHMMSS>_B04_10m.jp2|tif' (+ 'MTD_MSIL2A.xml')",
)


@dataclass(frozen=True)
class BandFile:
    """One spectral band file and how to turn its DN into reflectance: DN * scale + offset."""

    band: str
    path: str
    scale: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True)
class SceneFiles:
    """What discovery found for a scene: sensor, level, band files by canonical name, time and notes."""

    scene_id: str
    sensor: str
    level: str
    bands: dict[str, BandFile]
    datetime: str | None
    notes: tuple[str, ...] = ()
    metadata_files: dict[str, str] = field(default_factory=dict)


def gdal_env_options() -> dict[str, str]:
    """GDAL configuration for reading scene files; use as `rasterio.Env(**gdal_env_options())`.

    When AWS_ENDPOINT_URL(_S3) points boto3 at an S3-compatible endpoint (moto, MinIO) and AWS_S3_ENDPOINT is
    not set, GDAL is pointed at the same endpoint so that /vsis3/ paths from discovery open there too.
    Without any AWS credentials, reads are anonymous (AWS_NO_SIGN_REQUEST=YES), as discovery's listing is.
    """
    options = {
        "AWS_REQUEST_PAYER": "requester",  # usgs-landsat and sentinel-s2-l2a are requester-pays buckets
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no listing of the remote folder on each open
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.TIF,.tiff,.TIFF,.jp2,.JP2,.xml,.XML,.txt,.json",
        "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
        "GDAL_HTTP_MULTIPLEX": "YES",
        "GDAL_INGESTED_BYTES_AT_OPEN": "32768",  # COG headers in one request instead of several
        "GDAL_HTTP_MAX_RETRY": "5",
        "GDAL_HTTP_RETRY_DELAY": "1",
        "VSI_CACHE": "TRUE",
        # Per open file, not global: a scene opens six or more bands, and windows read each tile once,
        # so a small read-ahead cache is all that helps (64 MB each cost ~400 MB of RSS).
        "VSI_CACHE_SIZE": str(4 * 1024 * 1024),
        "CPL_VSIL_CURL_CACHE_SIZE": str(128 * 1024 * 1024),
    }
    if "AWS_NO_SIGN_REQUEST" not in os.environ and not aws_credentials_available():
        # Same rule as discovery's boto3 client: no credentials anywhere means anonymous (public buckets).
        options["AWS_NO_SIGN_REQUEST"] = "YES"
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and not os.environ.get("AWS_S3_ENDPOINT"):
        parts = urllib.parse.urlsplit(endpoint)
        if parts.netloc:
            options["AWS_S3_ENDPOINT"] = parts.netloc
            options["AWS_HTTPS"] = "YES" if parts.scheme == "https" else "NO"
            options["AWS_VIRTUAL_HOSTING"] = "FALSE"
    return options


def discover_scene(scene: Scene) -> SceneFiles:
    """Find the band files of `scene` under its source and recognise sensor, level and radiometry.

    Raises SourceNotFound (source missing or empty), UnknownSensor (nothing recognisable, several scenes,
    or a sensor that contradicts the scene's `sensor`) and UnreadableRaster (malformed MTL/MTD/STAC file).
    """
    source = open_source(scene.scene_id, scene.source)
    names = source.list_names() if source.listable else _probe_http(scene, source)
    if not names:
        raise SourceNotFound(scene.scene_id, f"source {scene.source!r} holds no files")
    landsat = [m for m in (_landsat_band(n) for n in names) if m]
    sentinel2 = [m for m in (_sentinel2_band(n) for n in names) if m]
    if not landsat and not sentinel2:
        shown = ", ".join(posixpath.basename(n) for n in names[:12]) + (", …" if len(names) > 12 else "")
        raise UnknownSensor(
            scene.scene_id,
            f"no band files recognised in {scene.source!r} (found: {shown}); "
            f"allowed: {'; '.join(ALLOWED_PATTERNS)}",
        )
    if landsat and sentinel2:
        family = _family_hint(scene)
        if family is None:
            raise UnknownSensor(
                scene.scene_id,
                f"source {scene.source!r} holds both Landsat and Sentinel-2 band files; "
                "set the scene's sensor or point source at one scene's folder",
            )
    else:
        family = "landsat" if landsat else "sentinel-2"
    found = (
        _discover_landsat(scene, source, landsat, names)
        if family == "landsat"
        else _discover_sentinel2(scene, source, sentinel2, names)
    )
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


@dataclass(frozen=True)
class _LandsatMatch:
    name: str
    prefix: str  # the product id (or whatever precedes "_B4"), with its folder
    kind: str  # "SR", "ST" or "" (Level-1 DN)
    band: str


@dataclass(frozen=True)
class _Sentinel2Match:
    name: str
    group: str  # "T29UNU_20221005T115411" for SAFE names, the folder above R10m/ or the folder otherwise
    band: str
    resolution: int  # metres from the name or the R10m/ folder; 0 when neither says


def _landsat_band(name: str) -> _LandsatMatch | None:
    folder, base = posixpath.split(name)
    match = LANDSAT_BAND_FILE.match(base)
    if not match:
        return None
    prefix = posixpath.join(folder, match.group("prefix"))
    return _LandsatMatch(name, prefix, (match.group("kind") or "").upper(), f"B{int(match.group('n'))}")


def _sentinel2_band(name: str) -> _Sentinel2Match | None:
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
    return _Sentinel2Match(name, group, canonical_band(match.group("band")), resolution)


def _family_hint(scene: Scene) -> str | None:
    if scene.sensor:
        return "sentinel-2" if scene.sensor.startswith("sentinel") else "landsat"
    if LANDSAT_C2_ID.match(scene.scene_id) or LANDSAT_PRE_ID.match(scene.scene_id):
        return "landsat"
    if scene.scene_id.upper().startswith("S2"):
        return "sentinel-2"
    return None


def _pick_group(scene: Scene, groups: Iterable[str], what: str) -> str:
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


# --- Landsat ---------------------------------------------------------------------------------------------


def _discover_landsat(
    scene: Scene, source: Source, matches: list[_LandsatMatch], names: list[str]
) -> SceneFiles:
    prefix = _pick_group(scene, (m.prefix for m in matches), "Landsat product")
    files = [m for m in matches if m.prefix == prefix]
    reflective = [m for m in files if m.kind == "SR"]
    is_l2 = bool(reflective)
    if not is_l2:
        reflective = [m for m in files if m.kind == ""]
    if not reflective:  # only ST_B10 surface temperature: no reflective band to make products from
        raise UnknownSensor(
            scene.scene_id,
            f"source {scene.source!r} holds only Landsat surface-temperature files ({prefix}_ST_B10.TIF); "
            f"allowed: {ALLOWED_PATTERNS[0]}",
        )
    notes: list[str] = []
    metadata_files: dict[str, str] = {}
    mtl_name = _find_mtl(names, prefix)
    mtl: Mtl | None = None
    if mtl_name:
        mtl = _read_mtl(scene, source, mtl_name)
        metadata_files["mtl"] = source.gdal_path(mtl_name)

    product_id = _landsat_product_id(scene, prefix, mtl)
    c2 = LANDSAT_C2_ID.match(product_id) if product_id else None
    pre = LANDSAT_PRE_ID.match(product_id) if product_id else None
    if is_l2:
        level = "L2"
    elif (mtl is not None and not mtl.is_collection2) or (mtl is None and pre):
        level = "L1-precollection"
    else:
        level = "L1"
    if c2 and c2.group("level").upper().startswith("L2") and not is_l2:
        notes.append(f"id {product_id} names a Level-2 product but only Level-1 '_B<n>' files were found")

    sensor = _landsat_sensor(scene, product_id, c2 or pre, mtl)

    bands: dict[str, BandFile] = {}
    thermal: list[str] = []
    missing_rescaling: list[str] = []
    for m in sorted(reflective, key=lambda m: int(m.band[1:])):
        number = int(m.band[1:])
        rescaling = _mtl_rescaling(scene, source, mtl, mtl_name, "L2" if is_l2 else "L1", number)
        if rescaling is None:
            if is_l2:
                rescaling = (LANDSAT_C2_L2_SCALE, LANDSAT_C2_L2_OFFSET)
                if mtl is not None:
                    missing_rescaling.append(m.band)
            else:
                rescaling = (1.0, 0.0)
                if number in (10, 11):
                    thermal.append(m.band)
                elif mtl is not None:
                    missing_rescaling.append(m.band)
        bands[m.band] = BandFile(m.band, source.gdal_path(m.name), *rescaling)

    mtl_label = posixpath.basename(mtl_name) if mtl_name else ""
    if is_l2:
        if mtl is None:
            notes.append(
                f"reflectance: DN * {LANDSAT_C2_L2_SCALE} + {LANDSAT_C2_L2_OFFSET} (Collection 2 Level-2 "
                "constants; no MTL found)"
            )
        else:
            notes.append(
                f"reflectance: DN * REFLECTANCE_MULT_BAND_n + REFLECTANCE_ADD_BAND_n from {mtl_label}"
            )
            if missing_rescaling:
                notes.append(
                    f"reflectance of {', '.join(missing_rescaling)}: {mtl_label} has no rescaling for them, "
                    "Collection 2 Level-2 constants used"
                )
    elif mtl is None:
        notes.append("reflectance: plain DN (no MTL found)")
    else:
        notes.append(
            f"reflectance: TOA, DN * REFLECTANCE_MULT_BAND_n + REFLECTANCE_ADD_BAND_n from {mtl_label}"
        )
        if missing_rescaling:
            notes.append(
                f"reflectance of {', '.join(missing_rescaling)}: plain DN ({mtl_label} has no rescaling)"
            )
    if thermal:
        notes.append(f"thermal bands {', '.join(thermal)}: plain DN (no reflectance rescaling exists)")

    acquired = normalise_datetime(mtl.acquisition_time()) if mtl else None
    if acquired is None:
        acquired = _landsat_date_from_id(c2, pre)
        if acquired:
            notes.append(f"datetime: acquisition date from the id {product_id} (time of day unknown)")
    return SceneFiles(
        scene_id=scene.scene_id,
        sensor=sensor,
        level=level,
        bands=bands,
        datetime=acquired,
        notes=tuple(notes),
        metadata_files=metadata_files,
    )


def _find_mtl(names: list[str], prefix: str) -> str | None:
    for suffix in ("_MTL.json", "_MTL.txt"):
        for name in names:
            if name.lower() == (prefix + suffix).lower():
                return name
    # A renamed folder may keep another MTL name; take it only when it is the single one beside the bands.
    folder = posixpath.dirname(prefix)
    others = [n for n in names if posixpath.dirname(n) == folder and re.search(r"_MTL\.(txt|json)$", n, re.I)]
    stems = {n.rsplit(".", 1)[0] for n in others}
    if len(stems) == 1:
        return sorted(others, key=lambda n: not n.lower().endswith(".json"))[0]
    return None


def _read_mtl(scene: Scene, source: Source, name: str) -> Mtl:
    text = source.read_text(name)
    try:
        return parse_mtl(text, is_json=name.lower().endswith(".json"))
    except MtlError as exc:
        raise UnreadableRaster(scene.scene_id, f"malformed MTL file {source.gdal_path(name)}: {exc}") from exc


def _mtl_rescaling(
    scene: Scene, source: Source, mtl: Mtl | None, mtl_name: str | None, level: str, number: int
) -> tuple[float, float] | None:
    if mtl is None or mtl_name is None:
        return None
    try:
        return mtl.reflectance_rescaling(level, number)
    except MtlError as exc:
        raise UnreadableRaster(
            scene.scene_id, f"malformed MTL file {source.gdal_path(mtl_name)}: {exc}"
        ) from exc


def _landsat_product_id(scene: Scene, prefix: str, mtl: Mtl | None) -> str | None:
    candidates = [posixpath.basename(prefix), scene.scene_id]
    if mtl is not None:
        for key in ("LANDSAT_PRODUCT_ID", "LANDSAT_SCENE_ID"):
            value = mtl.get(key)
            if value:
                candidates.append(value)
    for candidate in candidates:
        if LANDSAT_C2_ID.match(candidate) or LANDSAT_PRE_ID.match(candidate):
            return candidate
    return None


def _landsat_sensor(
    scene: Scene, product_id: str | None, id_match: re.Match[str] | None, mtl: Mtl | None
) -> str:
    from_id = f"landsat-{int(id_match.group('mission'))}" if id_match else None
    from_mtl = mtl.sensor() if mtl else None
    if mtl is not None and mtl.spacecraft() and from_mtl is None:
        raise UnknownSensor(
            scene.scene_id,
            f"MTL SPACECRAFT_ID {mtl.spacecraft()!r} is not supported; allowed: LANDSAT_8, LANDSAT_9",
        )
    if from_id and from_mtl and from_id != from_mtl:
        raise UnknownSensor(
            scene.scene_id, f"id {product_id} says {from_id} but the MTL's SPACECRAFT_ID says {from_mtl}"
        )
    sensor = (
        from_mtl or from_id or (scene.sensor if scene.sensor and scene.sensor.startswith("landsat") else None)
    )
    if sensor is None:
        raise UnknownSensor(
            scene.scene_id,
            f"Landsat band files in {scene.source!r} but neither an MTL (SPACECRAFT_ID), an id like "
            "LC08_…/LC09_…/LC8… nor the scene's sensor says landsat-8 or landsat-9",
        )
    return sensor


def _landsat_date_from_id(c2: re.Match[str] | None, pre: re.Match[str] | None) -> str | None:
    if c2:
        return normalise_datetime(
            Datetime.strptime(c2.group("date"), "%Y%m%d").replace(tzinfo=UTC).isoformat()
        )
    if pre:
        start = Datetime(int(pre.group("year")), 1, 1, tzinfo=UTC)
        return normalise_datetime((start + timedelta(days=int(pre.group("doy")) - 1)).isoformat())
    return None


# --- Sentinel-2 ------------------------------------------------------------------------------------------


def _discover_sentinel2(
    scene: Scene, source: Source, matches: list[_Sentinel2Match], names: list[str]
) -> SceneFiles:
    group = _pick_group(scene, (m.group for m in matches), "Sentinel-2 tile")
    files = [m for m in matches if m.group == group]
    notes: list[str] = []
    metadata_files: dict[str, str] = {}

    chosen: dict[str, _Sentinel2Match] = {}
    for m in files:
        if m.band not in SENTINEL2_BANDS:
            continue
        best = chosen.get(m.band)
        # The finest resolution wins; between equals prefer GeoTIFF/COG (cheaper ranged reads) over JP2.
        if best is None or (m.resolution, not _is_tiff(m.name)) < (best.resolution, not _is_tiff(best.name)):
            chosen[m.band] = m
    if not chosen:
        raise UnknownSensor(scene.scene_id, f"no Sentinel-2 spectral band files in {scene.source!r}")

    radiometry, evidence = _sentinel2_radiometry(scene, source, names, metadata_files)
    id_match = SENTINEL2_SAFE_ID.match(scene.scene_id) or SENTINEL2_COG_ID.match(scene.scene_id)
    id_level = id_match.group("level").upper() if id_match else None
    if "L1C" in (radiometry.level if radiometry else None, id_level):
        raise UnknownSensor(
            scene.scene_id,
            f"source {scene.source!r} is a Sentinel-2 Level-1C product; allowed: Sentinel-2 Level-2A (L2A)",
        )

    sentinel_named = any(SENTINEL2_SAFE_BAND_FILE.match(posixpath.basename(m.name)) for m in files) or any(
        RESOLUTION_DIR.match(posixpath.basename(posixpath.dirname(m.name))) for m in files
    )
    said_by = (
        evidence
        or ("scene sensor" if scene.sensor == "sentinel-2" else None)
        or ("scene id" if scene.scene_id.upper().startswith("S2") else None)
        or ("source" if re.search(r"sentinel|\bs2", scene.source, re.IGNORECASE) else None)
        or ("file names" if sentinel_named else None)
    )
    if said_by is None:
        raise UnknownSensor(
            scene.scene_id,
            f"files in {scene.source!r} are named like Sentinel-2 bands (e.g. B04.tif) but neither the "
            "scene id, a STAC Item '<id>.json', MTD_MSIL2A.xml nor the scene's sensor says Sentinel-2; "
            'set "sensor": "sentinel-2" for this scene',
        )

    if radiometry is None:
        radiometry = _radiometry_without_metadata(scene, notes)
    elif radiometry.source == "MTD_MSIL2A.xml":
        if radiometry.offsets:
            offset_note = "BOA_ADD_OFFSET per band"
        elif radiometry.default_offset:
            offset_note = "no BOA_ADD_OFFSET list: -1000 implied by the baseline"
        else:
            offset_note = "no offset"
        notes.append(
            "reflectance: DN * scale + offset from MTD_MSIL2A.xml "
            f"(processing baseline {radiometry.baseline}, "
            f"quantification {round(1 / radiometry.scale)}, {offset_note})"
        )
    elif radiometry.offset_applied:
        notes.append(
            "reflectance: DN * scale from the STAC Item, no offset (processing baseline "
            f"{radiometry.baseline}; earthsearch:boa_offset_applied: the COGs had BOA_ADD_OFFSET removed)"
        )
    else:
        notes.append(
            f"reflectance: DN * scale + offset from the STAC Item (raster:bands; processing baseline "
            f"{radiometry.baseline})"
        )
    bands = {
        band: BandFile(band, source.gdal_path(m.name), *radiometry.for_band(band))
        for band, m in sorted(chosen.items(), key=lambda kv: SENTINEL2_BANDS.index(kv[0]))
    }
    acquired = radiometry.datetime or _sentinel2_date_from_names(scene, files, notes)
    return SceneFiles(
        scene_id=scene.scene_id,
        sensor="sentinel-2",
        level="L2A",
        bands=bands,
        datetime=acquired,
        notes=tuple(notes),
        metadata_files=metadata_files,
    )


def _is_tiff(name: str) -> bool:
    return name.lower().endswith((".tif", ".tiff"))


def _sentinel2_radiometry(
    scene: Scene, source: Source, names: list[str], metadata_files: dict[str, str]
) -> tuple[Radiometry | None, str | None]:
    """Radiometry from MTD_MSIL2A.xml (preferred) or a STAC Item, and what said the product is Sentinel-2."""
    mtd = sorted(
        (n for n in names if posixpath.basename(n).upper() in ("MTD_MSIL2A.XML", "MTD_MSIL1C.XML")),
        key=lambda n: n.count("/"),
    )
    if mtd:
        text = source.read_text(mtd[0])
        try:
            radiometry = parse_mtd(text)
        except Sentinel2MetadataError as exc:
            raise UnreadableRaster(
                scene.scene_id, f"malformed metadata file {source.gdal_path(mtd[0])}: {exc}"
            ) from exc
        metadata_files["mtd"] = source.gdal_path(mtd[0])
        return radiometry, posixpath.basename(mtd[0])
    named = f"{scene.scene_id}.json"
    jsons = [
        n for n in names if n.count("/") == 0 and n.lower().endswith(".json") and "_MTL" not in n.upper()
    ]
    for name in sorted(jsons, key=lambda n: n != named):
        try:
            item = parse_stac_item(source.read_text(name))
        except Sentinel2MetadataError as exc:
            if name == named:
                raise UnreadableRaster(
                    scene.scene_id, f"malformed STAC Item {source.gdal_path(name)}: {exc}"
                ) from exc
            logger.warning("scene %s: ignoring %s, not a JSON document: %s", scene.scene_id, name, exc)
            continue
        if item is not None:
            metadata_files["stac"] = source.gdal_path(name)
            return item, name
    return None, None


def _radiometry_without_metadata(scene: Scene, notes: list[str]) -> Radiometry:
    """No MTD/STAC: take the baseline from a SAFE id (N0400), else guess it from the acquisition date."""
    safe_id = SENTINEL2_SAFE_ID.match(scene.scene_id)
    scale = 1.0 / DEFAULT_QUANTIFICATION
    if safe_id:
        baseline = safe_id.group("baseline")
        offset = BASELINE_OFFSET_DN / DEFAULT_QUANTIFICATION if baseline_has_offset(baseline) else 0.0
        notes.append(
            f"reflectance: DN / 10000 {'- 0.1 ' if offset else ''}from processing baseline N{baseline} "
            "in the scene id (no MTD_MSIL2A.xml or STAC Item found)"
        )
        return Radiometry(scale=scale, default_offset=offset, baseline=baseline)
    date = _first_date(scene.scene_id) or _first_date(scene.source)
    if date and date >= SENTINEL2_OFFSET_SINCE:
        notes.append(
            f"reflectance: DN / 10000 - 0.1 assumed (acquired {date}, after baseline 04.00 began on "
            f"{SENTINEL2_OFFSET_SINCE}; no MTD_MSIL2A.xml or STAC Item found)"
        )
        return Radiometry(scale=scale, default_offset=BASELINE_OFFSET_DN / DEFAULT_QUANTIFICATION)
    reason = f"acquired {date}, before baseline 04.00" if date else "acquisition date unknown"
    notes.append(
        f"reflectance: DN / 10000 assumed, no offset ({reason}; no MTD_MSIL2A.xml or STAC Item found)"
    )
    return Radiometry(scale=scale)


def _first_date(text: str) -> str | None:
    """First plausible YYYYMMDD (or YYYY/M/D path) date in a string, as YYYY-MM-DD."""
    match = re.search(r"(?<!\d)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)", text) or re.search(
        r"/(20\d{2})/(1[0-2]|0?[1-9])/(3[01]|[12]\d|0?[1-9])/", text
    )
    return f"{match.group(1)}-{int(match.group(2)):02d}-{int(match.group(3)):02d}" if match else None


def _sentinel2_date_from_names(scene: Scene, files: list[_Sentinel2Match], notes: list[str]) -> str | None:
    safe_id = SENTINEL2_SAFE_ID.match(scene.scene_id)
    for candidate in [safe_id.group("time") if safe_id else None] + [
        m.group.split("_", 1)[1] for m in files if re.fullmatch(r"T\d{2}[A-Z]{3}_\d{8}T\d{6}", m.group)
    ]:
        if candidate:
            return normalise_datetime(
                Datetime.strptime(candidate, "%Y%m%dT%H%M%S").replace(tzinfo=UTC).isoformat()
            )
    date = _first_date(scene.scene_id) or _first_date(scene.source)
    if date:
        notes.append("datetime: acquisition date from the scene id or source (time of day unknown)")
        return f"{date}T00:00:00Z"
    return None


# --- HTTPS probing ---------------------------------------------------------------------------------------


def _probe_http(scene: Scene, source: Source) -> list[str]:
    """Names that exist under an HTTPS base, probed from what the scene id and MTD imply (no listing)."""
    assert isinstance(source, HttpSource)  # noqa: S101 - only HttpSource is not listable
    last_component = posixpath.basename(urllib.parse.urlsplit(source.base).path.rstrip("/"))
    ids = [i for i in dict.fromkeys([scene.scene_id, last_component]) if i]
    metadata = ["MTD_MSIL2A.xml", "MTD_MSIL1C.xml"]
    for i in ids:
        metadata += [f"{i}_MTL.json", f"{i}_MTL.txt", f"{i}.json"]
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
            if _sentinel2_band(posixpath.basename(path) + extension):
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
