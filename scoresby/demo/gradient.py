"""Synthetic Landsat-like scenes written strip by strip (any size, bounded memory) for tests and timing.

`python -m scoresby.demo.gradient OUT_DIR [WIDTH HEIGHT]` writes a full-size Collection 2 Level-2
scene (default 7801 x 7911 px, bands B2-B7) for measuring the worker by hand.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin

LANDSAT_L2_BANDS = ("B2", "B3", "B4", "B5", "B6", "B7")
SCENE_ID = "LC08_L2SP_226010_20140820_20200911_02_T1"


def band_values(band: str, rows: np.ndarray, cols: np.ndarray, width: int, height: int) -> np.ndarray:
    """Deterministic smooth-plus-texture DN of one band (C2 L2 range), 0 outside a rotated footprint."""
    k = int(band.lstrip("B"))
    r = rows[:, None].astype(np.float32) / height
    c = cols[None, :].astype(np.float32) / width
    base = 9000 + 3000 * k / 7 + 4000 * np.sin(6.3 * r + k) * np.cos(4.1 * c - k)
    # Hash noise of ~9 bits: compresses about as badly as real surface texture does.
    row_hash = rows[:, None].astype(np.uint32) * np.uint32(73856093)
    h = row_hash ^ (cols[None, :].astype(np.uint32) * np.uint32(19349663))
    texture = ((h ^ np.uint32(k * 83492791)) >> np.uint32(13)) & np.uint32(511)
    dn = (base + texture).astype(np.uint16)
    # Rotated footprint like a real path/row: the corners are zero fill.
    inside = (np.abs(r - 0.5) + np.abs(c - 0.5)) < 0.72
    dn[~inside] = 0
    return dn


def write_landsat_l2_scene(
    folder: Path,
    *,
    width: int,
    height: int,
    bands: Sequence[str] = LANDSAT_L2_BANDS,
    scene_id: str = SCENE_ID,
    tile: int = 256,
    compress: str = "deflate",
    strip: int = 1024,
) -> Path:
    """Write `<scene_id>_SR_<band>.TIF` (uint16, nodata 0, UTM 30 m, tiled) into `folder`; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "uint16",
        "crs": CRS.from_epsg(32622),
        "transform": from_origin(399_000, 8_000_000, 30, 30),
        "nodata": 0,
        "tiled": True,
        "blockxsize": tile,
        "blockysize": tile,
        "compress": compress,
        "predictor": 2,
    }
    cols = np.arange(width)
    for band in bands:
        with rasterio.open(folder / f"{scene_id}_SR_{band}.TIF", "w", **profile) as dst:
            for row in range(0, height, strip):
                n = min(strip, height - row)
                window = rasterio.windows.Window(0, row, width, n)
                dst.write(band_values(band, np.arange(row, row + n), cols, width, height), 1, window=window)
    return folder


if __name__ == "__main__":
    out = Path(sys.argv[1])
    w, h = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (7801, 7911)
    write_landsat_l2_scene(out / SCENE_ID, width=w, height=h)
