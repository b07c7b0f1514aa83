"""Synthetic places with known truth per pixel: Landsat C2 L2-like scenes (SR_B*, QA_PIXEL) on an AOI grid.

Every scene lies on the AOI's 30 m lattice and covers part of it: path A in two same-day rows that overlap,
path B east of it, and a strip in the east no scene covers. TM and ETM+ files hold the OLI truth mapped back
through the harmonisation (x = (y - a) / b), so the composite's OLI values are known exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds

from scoresby.core.products import LANDSAT_C2_L2_OFFSET, LANDSAT_C2_L2_SCALE
from scoresby.places.harmonize import unharmonize
from scoresby.places.sensor_view import ROLES, to_oli
from scoresby.raster.quality import aoi_grid

CRS = "EPSG:32624"
QA_CLEAR, QA_CLOUD, QA_SHADOW = 1 << 6, (1 << 3) | (1 << 1), 1 << 4
# OLI surface reflectance (blue, green, red, nir, swir1, swir2) per class: ice, water, land.
ICE = np.array([0.80, 0.78, 0.74, 0.60, 0.07, 0.05])
WATER = np.array([0.06, 0.05, 0.03, 0.012, 0.006, 0.004])
LAND = np.array([0.05, 0.08, 0.06, 0.35, 0.20, 0.10])
CLOUD = np.array([0.60, 0.61, 0.62, 0.63, 0.50, 0.40])
PREFIX = {
    "landsat-5": ("LT05", ["B1", "B2", "B3", "B4", "B5", "B7"]),
    "landsat-7": ("LE07", ["B1", "B2", "B3", "B4", "B5", "B7"]),
}
PREFIX["landsat-8"] = ("LC08", ["B2", "B3", "B4", "B5", "B6", "B7"])
SENSOR_OF_YEAR = {2000: "landsat-5", 2001: "landsat-7", 2002: "landsat-8", 2003: "landsat-8"}


@dataclass
class Synth:
    """One synthetic scene and its truth on the AOI grid."""

    scene_id: str
    folder: Path
    day: date
    sensor: str
    footprint: np.ndarray  # (H, W) bool: where the scene has data
    cloud: np.ndarray  # (H, W) bool: QA cloud or shadow (not clear)
    oli: np.ndarray  # (6, H, W) OLI-equivalent surface reflectance of the surface (clouds not included)

    @property
    def clear(self) -> np.ndarray:
        """Where the scene counts."""
        return self.footprint & ~self.cloud


def place_aoi() -> dict[str, Any]:
    """A 30 m AOI in UTM 24N (East Greenland)."""
    left, top = 500010.0, 7800000.0
    w, h = 600 * 30.0, 300 * 30.0
    west, south, east, north = transform_bounds(
        CRS, "EPSG:4326", left, top - h, left + w, top, densify_pts=21
    )
    return {"bbox": [west, south, east, north], "crs": CRS, "resolution": 30.0, "name": "synth"}


def classes_of(year: int, shape: tuple[int, int]) -> np.ndarray:
    """0 ice, 1 water, 2 land: the ice front in the north-west retreats west every year into water."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.full(shape, 2, dtype=np.uint8)
    out[(yy < 0.5 * h) & (xx < 0.45 * w)] = 1
    out[(yy < 0.5 * h) & (xx < (0.35 - 0.04 * (year - 2000)) * w)] = 0
    out[(yy > 0.75 * h) & (xx > 0.6 * w)] = 1  # a lake
    return out


def surface(year: int, k: int, shape: tuple[int, int]) -> np.ndarray:
    """OLI truth of date k of a year: class reflectance with a date factor and a fixed texture."""
    classes = classes_of(year, shape)
    table = np.stack([ICE, WATER, LAND])
    texture = (
        1.0 + 0.05 * np.sin(np.arange(shape[1]) / 7.0)[None, :] * np.cos(np.arange(shape[0]) / 5.0)[:, None]
    )
    return (table[classes].transpose(2, 0, 1) * texture * (1.0 + 0.03 * k)).astype(np.float64)


def write_scene(
    root: Path,
    grid: Any,
    sid: str,
    sensor: str,
    day: date,
    footprint: np.ndarray,
    cloud: np.ndarray,
    oli: np.ndarray,
    shadow: np.ndarray | None = None,
) -> Synth:
    """Write SR_B* and QA_PIXEL cropped to the footprint's bounding box (on the grid's lattice)."""
    folder = root / sid
    folder.mkdir(parents=True)
    rows, cols = np.nonzero(footprint)
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    t = grid.transform
    transform = from_origin(t.c + c0 * t.a, t.f + r0 * t.e, t.a, -t.e)
    profile = {
        "driver": "GTiff",
        "dtype": "uint16",
        "count": 1,
        "height": int(r1 - r0),
        "width": int(c1 - c0),
        "crs": CRS,
        "transform": transform,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    coeffs = to_oli(sensor)
    values = unharmonize(oli, ROLES, coeffs) if coeffs else oli.copy()
    values[:, cloud] = CLOUD[:, None]
    box = (slice(r0, r1), slice(c0, c1))
    inside = footprint[box]
    for band, layer in zip(PREFIX[sensor][1], values, strict=True):
        dn = (
            np.rint((layer - LANDSAT_C2_L2_OFFSET) / LANDSAT_C2_L2_SCALE)
            .clip(1, 65535)
            .astype(np.uint16)[box]
        )
        dn[~inside] = 0
        with rasterio.open(folder / f"{sid}_SR_{band}.TIF", "w", nodata=0, **profile) as dst:
            dst.write(dn, 1)
    qa = np.full(footprint.shape, QA_CLEAR, dtype=np.uint16)
    qa[cloud] = QA_CLOUD
    if shadow is not None:
        qa[shadow & cloud] = QA_SHADOW
    qa = qa[box]
    qa[~inside] = 1
    with rasterio.open(folder / f"{sid}_QA_PIXEL.TIF", "w", nodata=1, **profile) as dst:
        dst.write(qa, 1)
    return Synth(sid, folder, day, sensor, footprint, cloud, oli)


def scene_id(sensor: str, path: int, row: int, day: date) -> str:
    """A Collection 2 L2 id (path/row in 900s: not real acquisitions)."""
    return f"{PREFIX[sensor][0]}_L2SP_{path:03d}{row:03d}_{day:%Y%m%d}_{day:%Y%m%d}_02_T1"


def write_place(
    root: Path, years: tuple[int, ...] = (2000, 2001, 2002, 2003)
) -> tuple[dict[str, Any], list[Synth]]:
    """Every scene of the synthetic place; returns the AOI and the scenes with their truth."""
    aoi = place_aoi()
    grid = aoi_grid(aoi)
    shape = (grid.height, grid.width)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    path_a = xx < int(0.62 * w)
    rows = (path_a & (yy < int(0.58 * h)), path_a & (yy >= int(0.42 * h)))
    path_b = (xx >= int(0.38 * w)) & (xx < int(0.92 * w))
    rng = np.random.default_rng(21)
    scenes = []
    for year in years:
        sensor = SENSOR_OF_YEAR[year]
        dates = [(date(year, 7, 10), "A", 0), (date(year, 7, 17), "B", 1), (date(year, 8, 11), "A", 2)]
        for day, path, k in dates:
            oli = surface(year, k, shape)
            footprints = rows if path == "A" else (path_b,)
            for r, fp in enumerate(footprints):
                cloud = np.zeros(shape, dtype=bool)
                cy, cx = rng.integers(0, h - 40), rng.integers(0, w - 60)
                cloud[cy : cy + 40, cx : cx + 60] = True
                if year == 2001:  # one block cloudy (or shadowed) on every date of 2001
                    cloud[int(0.7 * h) : int(0.9 * h), int(0.1 * w) : int(0.5 * w)] = True
                cloud &= fp
                sid = scene_id(sensor, 910 if path == "A" else 911, 910 + r, day)
                scenes.append(
                    write_scene(root, grid, sid, sensor, day, fp, cloud, oli, shadow=xx >= int(0.3 * w))
                )
        # Out of season (January): absurd values that would show if it were counted.
        jan = date(year, 1, 20)
        bright = np.full((6, *shape), 0.95)
        sid = scene_id(sensor, 911, 910, jan)
        scenes.append(write_scene(root, grid, sid, sensor, jan, path_b, np.zeros(shape, dtype=bool), bright))
    return aoi, scenes


def expected(
    scenes: list[Synth], year: int
) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """(clear_count, median OLI (6, H, W), per-observation (clear, oli)) of a year's July-September scenes."""
    by_day: dict[tuple[date, str], list[Synth]] = {}
    for s in scenes:
        if s.day.year == year and 7 <= s.day.month <= 9:
            by_day.setdefault((s.day, s.sensor), []).append(s)
    obs = []
    for group in by_day.values():
        clear = np.zeros(group[0].footprint.shape, dtype=bool)
        for s in group:
            clear |= s.clear
        obs.append((clear, group[0].oli))
    count = np.sum([c for c, _ in obs], axis=0)
    stack = np.stack([np.where(c[None], o, np.nan) for c, o in obs])
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(stack, axis=0)
    return count, median, obs
