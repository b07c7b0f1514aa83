"""The demo's story: six summers of one made-up place at Scoresby Sund, a glacier retreating into its lake.

Landsat 8 Collection 2 Level-2 folders (SR_B2..SR_B7, QA_PIXEL, a minimal MTL) on one 30 m grid. Each
pixel is one class (no mixing), so the generator knows the truth the statistics must find: the snow/ice,
water, cloud and shadow areas of every date (`truth`). The terrain and its texture are the same every year;
only the glacier's terminus and the clouds change, so an unchanged area has the same DN on every date.
A turbid meltwater lake is the water trap: bright NDSI like ice, but dark NIR, so it is water, not ice.
The scene list asks for place products too (`composites`): a composite per summer, the change map from the
first summer to the last (where the ice went: ice -> water, transition 12) and the trend map (NDSI and NDVI
Theil-Sen slopes: negative where the terminus retreated in the middle summers).
Ids use WRS path/row 000/000, which does not exist: they cannot be mistaken for real acquisitions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds

from scoresby.demo.landscape import CRS_UTM24N, LANDSAT_BANDS, _footprint, fractal_noise
from scoresby.demo.mtl import L2_OFFSET, L2_SCALE, l2_rescaling, odl

RUN_NAME = "scoresby-sund"
SIZE = 480
PIXEL_M = 30.0
ORIGIN = (420000.0, 7950000.0)
SEED = 1822  # the year William Scoresby charted the fjord

# (year, cloud fraction of the valid area) per summer; 2018 is too cloudy to show the place.
DATES = ((2016, 0.0), (2017, 0.05), (2018, 0.62), (2019, 0.0), (2020, 0.05), (2021, 0.0))

WATER, ROCK, VEGETATION, ICE, TURBID = range(5)
# Surface reflectance (B2, B3, B4, B5, B6, B7) per class. TURBID: green 0.12, SWIR1 0.012 (NDSI 0.82, like
# ice) but NIR 0.06 (< 0.11): the water trap.
REFLECTANCE = np.array(
    [
        [0.050, 0.045, 0.025, 0.012, 0.006, 0.004],
        [0.120, 0.145, 0.170, 0.230, 0.300, 0.250],
        [0.035, 0.070, 0.045, 0.340, 0.180, 0.085],
        [0.820, 0.800, 0.760, 0.620, 0.070, 0.050],
        [0.100, 0.120, 0.100, 0.060, 0.012, 0.008],
    ],
    dtype=np.float32,
)
CLOUD = np.array([0.560, 0.570, 0.580, 0.590, 0.450, 0.350], dtype=np.float32)
SHADOW_FACTOR = 0.3
SHADOW_OFFSET = (18, 26)  # rows, cols: the sun is low in the south-east

# QA_PIXEL values as USGS writes them (bits 0 fill, 3 cloud, 4 shadow, 5 snow, 6 clear, 7 water, 8-15 conf.)
QA_FILL, QA_CLEAR, QA_WATER, QA_SNOW, QA_CLOUD, QA_SHADOW = 1, 21824, 21952, 30048, 22280, 23888


@dataclass(frozen=True)
class SeriesScene:
    """One date: its id and folder, and the class, footprint, cloud and shadow maps it was made from."""

    scene_id: str
    folder: Path
    date: str
    classes: np.ndarray
    valid: np.ndarray
    cloud: np.ndarray
    shadow: np.ndarray

    def truth(self, rows: slice = slice(None), cols: slice = slice(None)) -> dict[str, float]:
        """The figures the statistics must find over a part of the grid (percentages as stats.py defines)."""
        classes, valid = self.classes[rows, cols], self.valid[rows, cols]
        cloud, shadow = self.cloud[rows, cols], self.shadow[rows, cols]
        clear = valid & ~cloud & ~shadow
        n_valid, n_clear = int(valid.sum()), int(clear.sum())
        return {
            "cloud_percent": 100 * int(cloud.sum()) / n_valid,
            "shadow_percent": 100 * int(shadow.sum()) / n_valid,
            "clear_percent": 100 * n_clear / n_valid,
            "snow_ice_percent": 100 * int((clear & (classes == ICE)).sum()) / n_clear,
            "water_percent": 100 * int((clear & np.isin(classes, (WATER, TURBID))).sum()) / n_clear,
            "turbid_pixels": float((clear & (classes == TURBID)).sum()),
        }


def scene_id_of(year: int) -> str:
    """Collection 2 id of the summer's scene (path/row 000/000)."""
    return f"LC08_L2SP_000000_{year}0815_{year}0826_02_T1"


def class_map(year: int, rng_terrain: np.random.Generator) -> np.ndarray:
    """Classes of one summer: fixed terrain, the glacier's terminus 1.15 km further east each year."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    relief = fractal_noise((SIZE, SIZE), rng_terrain, beta=3.2)
    moisture = fractal_noise((SIZE, SIZE), rng_terrain, beta=2.8)
    classes = np.full((SIZE, SIZE), ROCK, dtype=np.uint8)
    classes[(moisture > 0.55) & (xx < 0.7)] = VEGETATION
    classes[xx + 0.15 * relief < 0.22] = WATER  # the fjord in the west
    classes[xx + 0.1 * relief > 0.86] = ICE  # the ice cap in the east
    valley = np.abs(yy - 0.5 - 0.06 * np.sin(xx * 7.0)) < 0.1
    terminus = 0.3 + 0.08 * (year - 2016)
    classes[valley & (xx >= 0.2) & (xx < terminus)] = WATER  # the proglacial lake the glacier leaves
    classes[valley & (xx >= terminus)] = ICE
    classes[((yy - 0.2) ** 2 + ((xx - 0.45) * 1.3) ** 2) < 0.004] = TURBID  # a silty meltwater lake
    return classes


def cloud_masks(
    fraction: float, valid: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Cloud of about `fraction` of the valid area and its shadow (shifted, not under the cloud itself)."""
    if fraction <= 0:
        empty = np.zeros(valid.shape, dtype=bool)
        return empty, empty
    xx = np.mgrid[0 : valid.shape[0], 0 : valid.shape[1]][1] / valid.shape[1]
    # Clouds bank up over the rocky hills between fjord and ice cap (where they change the ice share least).
    field = fractal_noise(valid.shape, rng, beta=3.6) + 0.5 * np.exp(-(((xx - 0.58) / 0.14) ** 2))
    cloud = field > np.quantile(field[valid], 1 - fraction)
    shadow = np.roll(cloud, SHADOW_OFFSET, axis=(0, 1)) & ~cloud
    return cloud, shadow


def write_scene(root: Path, year: int, cloud_fraction: float) -> SeriesScene:
    """Write one summer's folder; return what it was made of (its truth)."""
    scene_id = scene_id_of(year)
    folder = root / scene_id
    folder.mkdir(parents=True, exist_ok=True)
    classes = class_map(year, np.random.default_rng(SEED))
    grain_rng = np.random.default_rng(SEED + 1)  # the same texture every year: unchanged land keeps its DN
    grain = 1.0 + 0.06 * (fractal_noise((SIZE, SIZE), grain_rng, beta=1.4) - 0.5)
    valid = _footprint(SIZE, "landsat")
    cloud, shadow = cloud_masks(cloud_fraction, valid, np.random.default_rng(SEED + year))
    cloud &= valid
    shadow &= valid
    reflectance = REFLECTANCE[classes].transpose(2, 0, 1) * grain
    reflectance[:, shadow] *= SHADOW_FACTOR
    reflectance[:, cloud] = CLOUD[:, None]
    profile = {
        "driver": "GTiff",
        "dtype": "uint16",
        "count": 1,
        "height": SIZE,
        "width": SIZE,
        "crs": CRS_UTM24N,
        "transform": from_origin(*ORIGIN, PIXEL_M, PIXEL_M),
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
    }
    for i, band in enumerate(LANDSAT_BANDS):
        dn = np.round((reflectance[i] - L2_OFFSET) / L2_SCALE).clip(1, 65535).astype(np.uint16)
        dn[~valid] = 0
        with rasterio.open(folder / f"{scene_id}_SR_{band}.TIF", "w", nodata=0, **profile) as dst:
            dst.write(dn, 1)
    qa = np.full((SIZE, SIZE), QA_CLEAR, dtype=np.uint16)
    qa[classes == WATER] = QA_WATER
    qa[classes == TURBID] = QA_WATER
    qa[classes == ICE] = QA_SNOW
    qa[shadow] = QA_SHADOW
    qa[cloud] = QA_CLOUD
    qa[~valid] = QA_FILL
    with rasterio.open(folder / f"{scene_id}_QA_PIXEL.TIF", "w", nodata=1, **profile) as dst:
        dst.write(qa, 1)
    (folder / f"{scene_id}_MTL.txt").write_text(_mtl(scene_id, year, cloud, valid), encoding="utf-8")
    return SeriesScene(scene_id, folder, f"{year}-08-15", classes, valid, cloud, shadow)


def _mtl(scene_id: str, year: int, cloud: np.ndarray, valid: np.ndarray) -> str:
    cover = 100 * cloud.sum() / valid.sum()
    contents = [
        'ORIGIN = "Synthetic Scoresby demo series (not a real acquisition)"',
        f'LANDSAT_PRODUCT_ID = "{scene_id}"',
        'PROCESSING_LEVEL = "L2SP"',
    ]
    attributes = [
        'SPACECRAFT_ID = "LANDSAT_8"',
        'SENSOR_ID = "OLI_TIRS"',
        f"CLOUD_COVER = {cover:.2f}",
        f"DATE_ACQUIRED = {year}-08-15",
        'SCENE_CENTER_TIME = "13:45:00.0000000Z"',
    ]
    return odl(
        [
            ("PRODUCT_CONTENTS", contents),
            ("IMAGE_ATTRIBUTES", attributes),
            ("LEVEL2_SURFACE_REFLECTANCE_PARAMETERS", l2_rescaling([b[1:] for b in LANDSAT_BANDS])),
        ]
    )


def aoi() -> dict[str, Any]:
    """The run's AOI: the inner part of the scenes' grid, in lon/lat, on a 30 m UTM 24N grid."""
    inset = 0.08 * SIZE * PIXEL_M
    left, top = ORIGIN
    right, bottom = left + SIZE * PIXEL_M, top - SIZE * PIXEL_M
    west, south, east, north = transform_bounds(
        CRS_UTM24N, "EPSG:4326", left + inset, bottom + inset, right - inset, top - inset
    )
    return {
        "bbox": [west, south, east, north],
        "crs": "EPSG:32624",
        "resolution": PIXEL_M,
        "name": "scoresby-sund",
    }


PRODUCTS = ["true_color", "false_color_ice", "ndsi", "ndvi"]
STRETCH = {
    "true_color": {"mode": "reflectance", "ranges": [[0.0, 0.9]] * 3, "gamma": 1.6},
    "false_color_ice": {"mode": "reflectance", "ranges": [[0.0, 0.4], [0.0, 0.7], [0.0, 0.9]], "gamma": 1.3},
}


# One composite per summer (July-September), the change from the first summer to the last, and the trend.
COMPOSITES = {
    "period": "year",
    "months": [7, 8, 9],
    "method": "median",
    "change": "first-last",
    "trend": True,
}


def write_series(root: Path) -> tuple[Path, list[SeriesScene]]:
    """Write every summer under `<root>/scenes/` and the scene list `<root>/scenes.json`."""
    scenes = [write_scene(root / "scenes", year, cloud) for year, cloud in DATES]
    doc = {
        "run_name": RUN_NAME,
        "description": "Six summers of a glacier retreating into its lake (synthetic): one grid, one "
        "stretch, per-summer composites, change and trend maps",
        "products": PRODUCTS,
        "aoi": aoi(),
        "stretch": STRETCH,
        "timelapse": {"max_cloud": 40},
        "composites": COMPOSITES,
        "scenes": [{"scene_id": s.scene_id, "source": str(s.folder.resolve())} for s in scenes],
    }
    path = root / "scenes.json"
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return path, scenes
