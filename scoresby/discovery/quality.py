"""The quality band of a scene: Landsat Collection 2 `<id>_QA_PIXEL.TIF` or Sentinel-2 L2A `SCL`.

Kept apart from landsat.py and sentinel2.py: it only adds `SceneFiles.quality` to what they found.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re

from scoresby.core.scene_files import BandFile, SceneFiles
from scoresby.discovery.names import NON_BAND_DIRS
from scoresby.discovery.sources import Source
from scoresby.sensors import sensor_of

LANDSAT_QA = re.compile(r"^(?P<prefix>.+)_QA_PIXEL\.tiff?$", re.IGNORECASE)
# SCL.tif (COG folders), R20m/SCL.jp2 (tile folders), T29UNU_<time>_SCL_20m.jp2 (SAFE granules).
SENTINEL2_SCL = re.compile(r"^(?:(?P<prefix>.+)_)?SCL(?:_(?P<res>\d{2})m)?\.(?:jp2|tiff?)$", re.IGNORECASE)


def with_quality(found: SceneFiles, source: Source, names: list[str]) -> SceneFiles:
    """`found` with its QA_PIXEL / SCL file (None when the scene has none, e.g. pre-collection BQA)."""
    usable = [n for n in names if not NON_BAND_DIRS.intersection(p.lower() for p in n.split("/")[:-1])]
    qa = sensor_of(found).qa
    finder = _FINDERS.get(qa.band) if qa else None  # the sensor says which quality band it has
    if qa is None or finder is None:
        return found
    band = qa.band
    name = finder(found, usable)
    if name is None:
        return found
    return dataclasses.replace(found, quality=BandFile(band, source.gdal_path(name)))


def _landsat_qa(found: SceneFiles, names: list[str]) -> str | None:
    """The QA_PIXEL file beside the band files: same product prefix, else the single one there is."""
    if found.level != "L2" and "1" not in found.level:
        return None
    prefixes = {
        re.sub(r"_(?:SR_)?B\d+\.tiff?$", "", posixpath.basename(b.path), flags=re.I).upper()
        for b in found.bands.values()
    }
    candidates = [(n, m) for n in names if (m := LANDSAT_QA.match(posixpath.basename(n)))]
    same = [n for n, m in candidates if m["prefix"].upper() in prefixes]
    if same:
        return same[0]
    return candidates[0][0] if len(candidates) == 1 else None


def _sentinel2_scl(found: SceneFiles, names: list[str]) -> str | None:
    """The finest SCL file of the scene's tile (20 m before 60 m), or None."""
    band_prefixes = {
        re.sub(
            r"_(?:B\d{2}|B8A)(?:_\d{2}m)?\.(?:jp2|tiff?)$", "", posixpath.basename(b.path), flags=re.I
        ).upper()
        for b in found.bands.values()
    }
    candidates = []
    for n in names:
        m = SENTINEL2_SCL.match(posixpath.basename(n))
        if m is None:
            continue
        if m["prefix"] and m["prefix"].upper() not in band_prefixes:
            continue  # another granule's SCL
        folder = posixpath.basename(posixpath.dirname(n))
        res = int(m["res"] or (folder[1:3] if re.fullmatch(r"R\d{2}m", folder) else 20))
        candidates.append((res, n))
    return min(candidates)[1] if candidates else None


_FINDERS = {"QA_PIXEL": _landsat_qa, "SCL": _sentinel2_scl}
"""How each quality band's file is found beside the band files, by the band's name."""


def _prefixes(found: SceneFiles, band_suffix: str) -> set[str]:
    """Upper-case file-name prefixes of the scene's band files (what a quality file of theirs starts with)."""
    names = (posixpath.basename(b.path) for b in found.bands.values())
    return {re.sub(band_suffix, "", name, flags=re.IGNORECASE).upper() for name in names}
