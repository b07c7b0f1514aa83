"""Discovery of a sensor without a module of its own here: its `Sensor.band_file` pattern finds the files.

A new sensor whose files are plain per-band GeoTIFFs needs nothing else: one module in scoresby/sensors
that sets `band_file` (a pattern with a `band` group; a match naming `qa.band` is the quality band) and
`rescaling` (DN -> reflectance).
"""

from __future__ import annotations

import posixpath

from scoresby.core.scene_files import BandFile, SceneFiles
from scoresby.core.scene_list import Scene
from scoresby.discovery.names import first_date
from scoresby.discovery.sources import Source
from scoresby.sensors import Sensor, sensors


def match_generic(scene: Scene, names: list[str]) -> tuple[Sensor, dict[str, str]] | None:
    """The first registered sensor whose `band_file` pattern names some files, with band -> file name."""
    for sensor in sensors():
        if sensor.band_file is None or (scene.sensor and scene.sensor not in sensor.names):
            continue
        found: dict[str, str] = {}
        for name in names:
            match = sensor.band_file.match(posixpath.basename(name))
            if match:
                found.setdefault(match.group("band"), name)
        if found:
            return sensor, found
    return None


def discover_generic(scene: Scene, source: Source, sensor: Sensor, files: dict[str, str]) -> SceneFiles:
    """SceneFiles of a generic sensor's scene: its bands with the sensor's rescaling, date from the names."""
    scale, offset = sensor.rescaling
    files = dict(files)
    # The sensor's quality band, when its pattern names one, is the scene's quality (masks, statistics).
    qa_name = files.pop(sensor.qa.band, None) if sensor.qa else None
    quality = BandFile(sensor.qa.band, source.gdal_path(qa_name)) if sensor.qa and qa_name else None
    bands = {
        band: BandFile(band, source.gdal_path(name), scale, offset) for band, name in sorted(files.items())
    }
    return SceneFiles(
        scene_id=scene.scene_id,
        sensor=scene.sensor or sensor.names[0],
        level=sensor.level_of(scene.scene_id),
        bands=bands,
        datetime=first_date(scene.scene_id) or first_date(" ".join(files.values())),
        notes=(f"reflectance: DN * {scale} + {offset} ({sensor.title} constants)",),
        quality=quality,
    )
