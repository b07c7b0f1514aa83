"""The demo landscape: two small deterministic scenes (Landsat 8 C2 L2 and Sentinel-2 L2A) for `make demo`.

The scenes are made up (numpy fractal noise, fixed seed) but shaped like the real products, so the whole
pipeline runs on them unchanged: a Landsat 8 Collection 2 Level-2 folder (`<id>_SR_B2.TIF`…`_SR_B7.TIF`
plus a minimal `<id>_MTL.txt`) at 30 m and a Sentinel-2 L2A COG folder (`B02.tif`…`B12.tif`, `B8A.tif`)
at 10 m with B05-B07, B8A, B11 and B12 on a 20 m grid. Each holds sea, tundra vegetation, bare rock and an
ice cap with a glacier, plus a nodata border, with surface reflectances typical of each class.
Their ids use WRS path/row 000/000 and UTM zone 00, which do not exist, so they cannot be mistaken for
real acquisitions.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin

from scoresby.demo.mtl import L2_OFFSET, L2_SCALE, l2_rescaling, odl

log = logging.getLogger(__name__)

DEMO_DIR = Path("demo-output")
RUN_NAME = "demo"
SEED = 20140820
LANDSAT_ID = "LC08_L2SP_000000_20200815_20200826_02_T1"
SENTINEL2_ID = "S2A_00XXX_20200815_0_L2A"
CRS_UTM24N = CRS.from_epsg(32624)  # East Greenland
PRODUCTS = ["true_color", "false_color_ice", "false_color_vegetation", "ndvi", "ndsi"]

# Surface reflectance per class for (blue, green, red, NIR, SWIR1, SWIR2). Ice and snow are bright in the
# visible and dark in the SWIR (so SWIR2/NIR/green shows them cyan), vegetation is bright in the NIR.
CLASSES = ("water", "vegetation", "rock", "ice")
REFLECTANCE = np.array(
    [
        [0.050, 0.045, 0.025, 0.012, 0.006, 0.004],  # water (fjord)
        [0.035, 0.070, 0.045, 0.340, 0.180, 0.085],  # vegetation (tundra)
        [0.120, 0.145, 0.170, 0.230, 0.300, 0.250],  # rock
        [0.820, 0.800, 0.760, 0.620, 0.070, 0.050],  # ice and snow
    ],
    dtype=np.float32,
)
LANDSAT_BANDS = ("B2", "B3", "B4", "B5", "B6", "B7")  # same order as the REFLECTANCE columns


@dataclass(frozen=True)
class Landscape:
    """Reflectance cube (6, h, w) in the REFLECTANCE band order, and the mask of valid pixels."""

    reflectance: np.ndarray
    valid: np.ndarray


def fractal_noise(shape: tuple[int, int], rng: np.random.Generator, beta: float) -> np.ndarray:
    """Power-law (1/f^beta) noise scaled to 0..1: larger beta gives smoother, terrain-like fields."""
    h, w = shape
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    spectrum = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f ** (beta / 2)
    spectrum[0, 0] = 0
    field = np.fft.irfft2(spectrum, s=shape).astype(np.float32)
    lo, hi = np.percentile(field, [0.5, 99.5])
    return np.clip((field - lo) / (hi - lo), 0, 1)


def _smoothstep(x: np.ndarray, edge: float, width: float) -> np.ndarray:
    t = np.clip((x - edge) / width + 0.5, 0, 1)
    return t * t * (3 - 2 * t)


def make_landscape(size: int, seed: int, *, border: str) -> Landscape:
    """A coast with an inland ice cap: class weights from a fractal elevation field, then reflectance."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    # Elevation rises from the sea (west) to the ice cap (east), roughened by fractal relief.
    elevation = 0.55 * fractal_noise((size, size), rng, beta=3.4) + 0.55 * xx - 0.05
    moisture = fractal_noise((size, size), rng, beta=3.0)
    texture = fractal_noise((size, size), rng, beta=1.6) - 0.5
    # A glacier tongue flowing from the ice cap down a valley to the sea.
    valley = np.exp(-(((yy - 0.55 - 0.12 * np.sin(xx * 6.0)) / 0.045) ** 2)) * (xx > 0.25)

    land = _smoothstep(elevation, 0.38, 0.02)
    glacier = 0.9 * valley * land * (texture > -0.15)  # crevassed, broken edges
    ice = np.maximum(_smoothstep(elevation + 0.08 * texture, 0.72, 0.04), glacier)
    vegetation = land * (1 - ice) * _smoothstep(moisture - 0.6 * (elevation - 0.38), 0.48, 0.12)
    rock = land * (1 - ice) - vegetation
    weights = np.stack([1 - land, vegetation, np.clip(rock, 0, 1), ice * land])
    weights /= weights.sum(axis=0, keepdims=True)
    reflectance = np.einsum("khw,kb->bhw", weights, REFLECTANCE)

    # Sun from the south-east: slopes facing it are brighter, the rest shaded; water is flat.
    gy, gx = np.gradient(elevation * 60)
    relief = gx * 0.6 - gy * 0.8
    # Ice is smooth and water flat: only rock and vegetation show the full relief.
    amplitude = 0.8 * (weights[1] + weights[2]) + 0.15 * weights[3]
    shade = np.clip(1.0 + amplitude * relief, 0.55, 1.35)
    grain = 1 + 0.10 * texture + 0.02 * rng.normal(size=(size, size)).astype(np.float32)
    # Meltwater and sediment make the near-shore water greener and brighter.
    sediment = weights[0] * np.exp(-np.clip(0.38 - elevation, 0, None) / 0.03) * 0.03
    reflectance = reflectance * shade * grain
    reflectance[:3] += sediment * np.array([0.6, 1.0, 0.8], dtype=np.float32)[:, None, None]
    return Landscape(np.clip(reflectance, 0.001, 1.2).astype(np.float32), _footprint(size, border))


def _footprint(size: int, border: str) -> np.ndarray:
    """Valid pixels: a tilted Landsat path footprint, or a Sentinel-2 tile cut by the swath edge."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if border == "landsat":
        angle = np.deg2rad(12.0)
        u = (xx - 0.5) * np.cos(angle) + (yy - 0.5) * np.sin(angle)
        v = -(xx - 0.5) * np.sin(angle) + (yy - 0.5) * np.cos(angle)
        return (np.abs(u) < 0.43) & (np.abs(v) < 0.45)
    return xx + 1.2 * yy < 1.75  # the orbit's swath edge crosses the tile's south-east corner


def _write_band(path: Path, dn: np.ndarray, pixel_m: float, origin: tuple[float, float], driver: str) -> None:
    profile = {
        "driver": driver,
        "dtype": "uint16",
        "count": 1,
        "height": dn.shape[0],
        "width": dn.shape[1],
        "crs": CRS_UTM24N,
        "transform": from_origin(origin[0], origin[1], pixel_m, pixel_m),
        "nodata": 0,
        "compress": "deflate",
        "predictor": 2,
    }
    if driver == "GTiff":
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    else:
        profile.update(blocksize=512, overviews="auto")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(dn, 1)


def write_landsat_scene(folder: Path, size: int = 1000, seed: int = SEED) -> Path:
    """A Landsat 8 C2 L2 surface-reflectance folder: SR_B2..SR_B7 at 30 m and a minimal MTL."""
    folder.mkdir(parents=True, exist_ok=True)
    scape = make_landscape(size, seed, border="landsat")
    origin = (420000.0, 7950000.0)
    for i, band in enumerate(LANDSAT_BANDS):
        dn = np.round((scape.reflectance[i] - L2_OFFSET) / L2_SCALE).clip(1, 65535).astype(np.uint16)
        dn[~scape.valid] = 0
        _write_band(folder / f"{LANDSAT_ID}_SR_{band}.TIF", dn, 30.0, origin, "GTiff")
    (folder / f"{LANDSAT_ID}_MTL.txt").write_text(_landsat_mtl(), encoding="utf-8")
    return folder


def _landsat_mtl() -> str:
    numbers = [b[1:] for b in LANDSAT_BANDS]
    contents = [
        'ORIGIN = "Synthetic Scoresby demo scene (not a real acquisition)"',
        f'LANDSAT_PRODUCT_ID = "{LANDSAT_ID}"',
        'PROCESSING_LEVEL = "L2SP"',
        "COLLECTION_NUMBER = 02",
        *(f'FILE_NAME_BAND_{n} = "{LANDSAT_ID}_SR_B{n}.TIF"' for n in numbers),
        f'FILE_NAME_METADATA_ODL = "{LANDSAT_ID}_MTL.txt"',
    ]
    attributes = [
        'SPACECRAFT_ID = "LANDSAT_8"',
        'SENSOR_ID = "OLI_TIRS"',
        "WRS_PATH = 0",
        "WRS_ROW = 0",
        "DATE_ACQUIRED = 2020-08-15",
    ]
    return odl(
        [
            ("PRODUCT_CONTENTS", contents),
            ("IMAGE_ATTRIBUTES", attributes),
            ("LEVEL2_SURFACE_REFLECTANCE_PARAMETERS", l2_rescaling(numbers)),
        ]
    )


def write_sentinel2_scene(folder: Path, size: int = 1000, seed: int = SEED + 1) -> Path:
    """A Sentinel-2 L2A COG folder: B02-B04, B08 at 10 m; B05-B07, B8A, B11, B12 at 20 m."""
    folder.mkdir(parents=True, exist_ok=True)
    scape = make_landscape(size, seed, border="sentinel-2")
    blue, green, red, nir, swir1, swir2 = scape.reflectance
    bands_10m = {"B02": blue, "B03": green, "B04": red, "B08": nir}
    # Red edge: between red and NIR; B8A (narrow NIR) close to B08.
    bands_20m = {
        "B05": 0.7 * red + 0.3 * nir,
        "B06": 0.3 * red + 0.7 * nir,
        "B07": 0.97 * nir,
        "B8A": 0.99 * nir,
        "B11": swir1,
        "B12": swir2,
    }
    origin = (500000.0, 7900000.0)
    for name, refl in bands_10m.items():
        _write_band(folder / f"{name}.tif", _s2_dn(refl, scape.valid), 10.0, origin, "COG")
    half = size // 2
    valid_20m = np.asarray(scape.valid.reshape(half, 2, half, 2).all(axis=(1, 3)), dtype=bool)
    for name, refl in bands_20m.items():
        coarse = refl.reshape(half, 2, half, 2).mean(axis=(1, 3))  # 2x2 mean, as a 20 m pixel sees it
        _write_band(folder / f"{name}.tif", _s2_dn(coarse, valid_20m), 20.0, origin, "COG")
    return folder


def _s2_dn(reflectance: np.ndarray, valid: np.ndarray) -> np.ndarray:
    # Processing baseline < 04.00 (an acquisition date before 2022-01-25): DN = reflectance * 10000.
    dn = np.round(reflectance * 10000).clip(1, 65535).astype(np.uint16)
    dn[~valid] = 0
    return dn


def write_demo_set(root: Path) -> Path:
    """Write both scenes under `<root>/scenes/` and the scene list `<root>/scenes.json`; return its path."""
    scenes_dir = root / "scenes"
    landsat = write_landsat_scene(scenes_dir / LANDSAT_ID)
    sentinel2 = write_sentinel2_scene(scenes_dir / SENTINEL2_ID)
    doc = {
        "run_name": RUN_NAME,
        "products": PRODUCTS,
        "scenes": [
            {"scene_id": LANDSAT_ID, "source": str(landsat.resolve()), "sensor": "landsat-8"},
            {"scene_id": SENTINEL2_ID, "source": str(sentinel2.resolve()), "sensor": "sentinel-2"},
        ],
    }
    path = root / "scenes.json"
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return path
