"""What discovery hands to the raster layer: a scene's band files with their radiometry."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    # GDAL configuration the band files are read with (requester pays, S3 endpoint, anonymous access).
    gdal_env: dict[str, str] = field(default_factory=dict)
    # Where the scene's STAC Item came from (its `derived_from` link in the output's Item), if it had one.
    source_item: str | None = None
    # Landsat QA_PIXEL or Sentinel-2 SCL (band "QA_PIXEL" / "SCL"), None when the scene has none (issue 12).
    quality: BandFile | None = None
