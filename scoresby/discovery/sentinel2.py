"""Sentinel-2 discovery: band files per resolution, radiometry from MTD/STAC metadata, acquisition date."""

from __future__ import annotations

import logging
import posixpath
import re
from datetime import UTC
from datetime import datetime as Datetime

from scoresby.core.errors import UnknownSensor, UnreadableRaster
from scoresby.core.scene_files import BandFile, SceneFiles
from scoresby.core.scene_list import Scene
from scoresby.core.warnings import AssumedRadiometryWarning, GuessedDatetimeWarning, note
from scoresby.discovery.names import (
    RESOLUTION_DIR,
    SENTINEL2_BANDS,
    SENTINEL2_COG_ID,
    SENTINEL2_SAFE_BAND_FILE,
    SENTINEL2_SAFE_ID,
    Sentinel2Match,
    first_date,
    is_tiff,
    pick_group,
)
from scoresby.discovery.sentinel2_metadata import (
    BASELINE_OFFSET_DN,
    DEFAULT_QUANTIFICATION,
    Radiometry,
    Sentinel2MetadataError,
    baseline_has_offset,
    normalise_datetime,
    parse_mtd,
    parse_stac_item,
)
from scoresby.discovery.sources import Source

logger = logging.getLogger(__name__)

# First acquisitions ESA processed with baseline 04.00 (offset -1000); used only when no metadata says.
SENTINEL2_OFFSET_SINCE = "2022-01-25"


def discover_sentinel2(
    scene: Scene, source: Source, matches: list[Sentinel2Match], names: list[str]
) -> SceneFiles:
    """Band files per resolution, radiometry and date of a Sentinel-2 scene from its matched names."""
    group = pick_group(scene, (m.group for m in matches), "Sentinel-2 tile")
    files = [m for m in matches if m.group == group]
    notes: list[str] = []
    metadata_files: dict[str, str] = {}

    chosen = _finest_bands(scene, files)
    radiometry, evidence = _sentinel2_radiometry(scene, source, names, metadata_files)
    level = _sentinel2_level(scene, radiometry)
    _check_said_sentinel2(scene, files, evidence)
    if radiometry is None:
        radiometry = _radiometry_without_metadata(scene, notes)
    else:
        notes.append(_radiometry_note(radiometry, level))
    bands = {
        band: BandFile(band, source.gdal_path(m.name), *radiometry.for_band(band))
        for band, m in sorted(chosen.items(), key=lambda kv: SENTINEL2_BANDS.index(kv[0]))
    }
    acquired = radiometry.datetime or _sentinel2_date_from_names(scene, files, notes)
    return SceneFiles(
        scene_id=scene.scene_id,
        sensor="sentinel-2",
        level=level,
        bands=bands,
        datetime=acquired,
        notes=tuple(notes),
        metadata_files=metadata_files,
    )


def _finest_bands(scene: Scene, files: list[Sentinel2Match]) -> dict[str, Sentinel2Match]:
    """One file per spectral band: the finest resolution, and between equals GeoTIFF/COG over JP2."""
    chosen: dict[str, Sentinel2Match] = {}
    for m in files:
        if m.band not in SENTINEL2_BANDS:
            continue
        best = chosen.get(m.band)
        # GeoTIFF/COG first among equals: ranged reads are cheaper than JP2's.
        if best is None or (m.resolution, not is_tiff(m.name)) < (best.resolution, not is_tiff(best.name)):
            chosen[m.band] = m
    if not chosen:
        raise UnknownSensor(scene.scene_id, f"no Sentinel-2 spectral band files in {scene.source!r}")
    return chosen


def _sentinel2_level(scene: Scene, radiometry: Radiometry | None) -> str:
    """L2A or L1C: from the metadata, else the id, else the words in the id and source (default L2A)."""
    id_match = SENTINEL2_SAFE_ID.match(scene.scene_id) or SENTINEL2_COG_ID.match(scene.scene_id)
    id_level = id_match.group("level").upper() if id_match else None
    # Level-1C (top of atmosphere) reads like L2A: DN / QUANTIFICATION_VALUE + RADIO_ADD_OFFSET (>= 04.00).
    level = (radiometry.level if radiometry else None) or id_level
    if level is not None:
        return str(level)
    text = f"{scene.scene_id} {scene.source}"
    return "L1C" if re.search(r"(^|[_/])(MSI)?L1C([_/.]|$)", text, re.I) else "L2A"


def _check_said_sentinel2(scene: Scene, files: list[Sentinel2Match], evidence: str | None) -> None:
    """Band names like B04.tif alone do not make a scene Sentinel-2: something else must say so."""
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


def _radiometry_note(radiometry: Radiometry, level: str) -> str:
    """The metadata note saying where DN -> reflectance came from (MTD XML or the STAC Item)."""
    if radiometry.source.startswith("MTD_"):
        if radiometry.offsets:
            offset_note = "BOA_ADD_OFFSET per band" if level == "L2A" else "RADIO_ADD_OFFSET per band"
        elif radiometry.default_offset:
            offset_note = "no offset list: -1000 implied by the baseline"
        else:
            offset_note = "no offset"
        return (
            f"reflectance{' (top of atmosphere)' if level == 'L1C' else ''}: DN * scale + offset from "
            f"{radiometry.source} (processing baseline {radiometry.baseline}, "
            f"quantification {round(1 / radiometry.scale)}, {offset_note})"
        )
    if radiometry.offset_applied:
        return (
            "reflectance: DN * scale from the STAC Item, no offset (processing baseline "
            f"{radiometry.baseline}; earthsearch:boa_offset_applied: the COGs had BOA_ADD_OFFSET removed)"
        )
    return (
        "reflectance: DN * scale + offset from the STAC Item (raster:bands; processing baseline "
        f"{radiometry.baseline})"
    )


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
        note(
            notes,
            f"reflectance: DN / 10000 {'- 0.1 ' if offset else ''}from processing baseline N{baseline} "
            "in the scene id (no MTD_MSIL2A.xml or STAC Item found)",
            AssumedRadiometryWarning,
        )
        return Radiometry(scale=scale, default_offset=offset, baseline=baseline)
    date = first_date(scene.scene_id) or first_date(scene.source)
    if date and date >= SENTINEL2_OFFSET_SINCE:
        note(
            notes,
            f"reflectance: DN / 10000 - 0.1 assumed (acquired {date}, after baseline 04.00 began on "
            f"{SENTINEL2_OFFSET_SINCE}; no MTD_MSIL2A.xml or STAC Item found)",
            AssumedRadiometryWarning,
        )
        return Radiometry(scale=scale, default_offset=BASELINE_OFFSET_DN / DEFAULT_QUANTIFICATION)
    reason = f"acquired {date}, before baseline 04.00" if date else "acquisition date unknown"
    note(
        notes,
        f"reflectance: DN / 10000 assumed, no offset ({reason}; no MTD_MSIL2A.xml or STAC Item found)",
        AssumedRadiometryWarning,
    )
    return Radiometry(scale=scale)


def _sentinel2_date_from_names(scene: Scene, files: list[Sentinel2Match], notes: list[str]) -> str | None:
    safe_id = SENTINEL2_SAFE_ID.match(scene.scene_id)
    for candidate in [safe_id.group("time") if safe_id else None] + [
        m.group.split("_", 1)[1] for m in files if re.fullmatch(r"T\d{2}[A-Z]{3}_\d{8}T\d{6}", m.group)
    ]:
        if candidate:
            return normalise_datetime(
                Datetime.strptime(candidate, "%Y%m%dT%H%M%S").replace(tzinfo=UTC).isoformat()
            )
    date = first_date(scene.scene_id) or first_date(scene.source)
    if date:
        note(
            notes,
            "datetime: acquisition date from the scene id or source (time of day unknown)",
            GuessedDatetimeWarning,
        )
        return f"{date}T00:00:00Z"
    return None
