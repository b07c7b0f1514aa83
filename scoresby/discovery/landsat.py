"""Landsat discovery: band files, MTL rescaling, spacecraft and date of a Landsat scene folder."""

from __future__ import annotations

import posixpath
import re
from datetime import UTC, timedelta
from datetime import datetime as Datetime

from scoresby.core.errors import UnknownSensor, UnreadableRaster
from scoresby.core.products import LANDSAT_C2_L2_OFFSET, LANDSAT_C2_L2_SCALE
from scoresby.core.scene_files import BandFile, SceneFiles
from scoresby.core.scene_list import Scene
from scoresby.core.warnings import AssumedRadiometryWarning, GuessedDatetimeWarning, PlainDNWarning, note
from scoresby.discovery.landsat_mtl import Mtl, MtlError, mtl_kind, parse_mtl
from scoresby.discovery.names import ALLOWED_PATTERNS, LANDSAT_C2_ID, LANDSAT_PRE_ID, LandsatMatch, pick_group
from scoresby.discovery.sentinel2_metadata import normalise_datetime
from scoresby.discovery.sources import Source
from scoresby.sensors import metadata_text, name_for_id, sensor_named


def discover_landsat(
    scene: Scene, source: Source, matches: list[LandsatMatch], names: list[str]
) -> SceneFiles:
    """Band files, rescaling, spacecraft and date of a Landsat scene from its matched band-file names."""
    prefix = pick_group(scene, (m.prefix for m in matches), "Landsat product")
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

    bands, missing, thermal = _landsat_bands(scene, source, sensor, reflective, mtl, mtl_name, is_l2)
    mtl_label = posixpath.basename(mtl_name) if mtl_name else None
    notes += _reflectance_notes(is_l2, mtl_label, missing, thermal)

    acquired = normalise_datetime(mtl.acquisition_time()) if mtl else None
    if acquired is None:
        acquired = _landsat_date_from_id(c2, pre)
        if acquired:
            note(
                notes,
                f"datetime: acquisition date from the id {product_id} (time of day unknown)",
                GuessedDatetimeWarning,
            )
    return SceneFiles(
        scene_id=scene.scene_id,
        sensor=sensor,
        level=level,
        bands=bands,
        datetime=acquired,
        notes=tuple(notes),
        metadata_files=metadata_files,
    )


def _landsat_bands(
    scene: Scene,
    source: Source,
    sensor: str,
    reflective: list[LandsatMatch],
    mtl: Mtl | None,
    mtl_name: str | None,
    is_l2: bool,
) -> tuple[dict[str, BandFile], list[str], list[str]]:
    """Band files under the catalogue's names, the bands the MTL has no rescaling for, the thermal ones."""
    bands: dict[str, BandFile] = {}
    thermal: list[str] = []
    missing: list[str] = []
    table = sensor_named(sensor).file_bands[sensor]  # the sensor's file bands -> the catalogue's band names
    for m in sorted(reflective, key=lambda m: int(m.band[1:])):
        number = int(m.band[1:])
        if m.band not in table:  # TM/ETM+ B6 (thermal), ETM+ B8 (panchromatic), bands MSS lacks
            continue
        rescaling = _mtl_rescaling(scene, source, mtl, mtl_name, "L2" if is_l2 else "L1", number)
        if rescaling is None:
            if is_l2:
                rescaling = (LANDSAT_C2_L2_SCALE, LANDSAT_C2_L2_OFFSET)
                if mtl is not None:
                    missing.append(m.band)
            else:
                rescaling = (1.0, 0.0)
                if number in (10, 11):
                    thermal.append(m.band)
                elif mtl is not None:
                    missing.append(m.band)
        name = table[m.band]
        bands[name] = BandFile(name, source.gdal_path(m.name), *rescaling)
    return bands, missing, thermal


def _reflectance_notes(
    is_l2: bool, mtl_label: str | None, missing: list[str], thermal: list[str]
) -> list[str]:
    """The metadata notes saying how DN became reflectance (which constants, which bands fell back)."""
    constants = f"DN * {LANDSAT_C2_L2_SCALE} + {LANDSAT_C2_L2_OFFSET} (Collection 2 Level-2 constants"
    mtl_rule = f"DN * REFLECTANCE_MULT_BAND_n + REFLECTANCE_ADD_BAND_n from {mtl_label}"
    notes: list[str] = []
    if mtl_label is None:
        if is_l2:
            note(notes, f"reflectance: {constants}; no MTL found)", AssumedRadiometryWarning)
        else:
            note(notes, "reflectance: plain DN (no MTL found)", PlainDNWarning)
    else:
        notes.append(f"reflectance: {mtl_rule}" if is_l2 else f"reflectance: TOA, {mtl_rule}")
        if missing:
            fallback = "Collection 2 Level-2 constants used" if is_l2 else "plain DN"
            note(
                notes,
                f"reflectance of {', '.join(missing)}: {mtl_label} has no rescaling for them, {fallback}",
                AssumedRadiometryWarning if is_l2 else PlainDNWarning,
            )
    if thermal:
        notes.append(f"thermal bands {', '.join(thermal)}: plain DN (no reflectance rescaling exists)")
    return notes


def _find_mtl(names: list[str], prefix: str) -> str | None:
    for suffix in ("_MTL.json", "_MTL.txt", "_MTL.xml"):
        for name in names:
            if name.lower() == (prefix + suffix).lower():
                return name
    # A renamed folder may keep another MTL name; take it only when it is the single one beside the bands.
    folder = posixpath.dirname(prefix)
    others = [
        n for n in names if posixpath.dirname(n) == folder and re.search(r"_MTL\.(txt|json|xml)$", n, re.I)
    ]
    stems = {n.rsplit(".", 1)[0] for n in others}
    if len(stems) == 1:
        return sorted(others, key=lambda n: not n.lower().endswith(".json"))[0]
    return None


def _read_mtl(scene: Scene, source: Source, name: str) -> Mtl:
    text = source.read_text(name)
    try:
        return parse_mtl(text, **mtl_kind(name))
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
    """The sensor the MTL says (spacecraft and instrument), checked against the id; else the id's."""
    from_id = name_for_id(product_id) if id_match and product_id else None
    from_mtl = mtl.sensor() if mtl else None
    if mtl is not None and mtl.spacecraft() and from_mtl is None:
        raise UnknownSensor(
            scene.scene_id,
            f"MTL SPACECRAFT_ID {mtl.spacecraft()!r} with SENSOR_ID {mtl.instrument()!r} is not supported; "
            f"allowed (SPACECRAFT_ID/SENSOR_ID): {metadata_text()}",
        )
    if from_id and from_mtl and from_id != from_mtl:
        raise UnknownSensor(
            scene.scene_id,
            f"id {product_id} says {from_id} but the MTL's SPACECRAFT_ID says {from_mtl} "
            f"(SENSOR_ID {mtl.instrument() if mtl else None!r})",
        )
    given = scene.sensor if scene.sensor and sensor_named(scene.sensor).layout == "landsat" else None
    sensor = from_mtl or from_id or given
    if sensor is None:
        raise UnknownSensor(
            scene.scene_id,
            f"Landsat band files in {scene.source!r} but neither an MTL (SPACECRAFT_ID), an id like "
            "LM01_…/LT05_…/LE07_…/LC08_…/LC09_…/LC8… nor the scene's sensor says which Landsat it is",
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
