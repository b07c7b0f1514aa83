"""Generate a full-size, Landsat 8 Collection 2 Level-2-like test scene for the benchmark.

The scene imitates what USGS delivers for one WRS-2 path/row:

* `<id>_SR_B2.TIF` ... `<id>_SR_B7.TIF`: uint16, 30 m, EPSG:326xx, tiled 512x512, DEFLATE,
  nodata = 0 outside a footprint rotated by ~12 degrees (as real Landsat scenes are), 7,801 x 7,911 px;
* `<id>_MTL.txt`: a minimal ODL MTL with the C2 L2 scale/offset (REFLECTANCE_MULT_BAND_n = 2.75e-05,
  REFLECTANCE_ADD_BAND_n = -0.2) and, as in real L2 MTL files, the Level-1 rescaling under the same key
  names in the LEVEL1_RADIOMETRIC_RESCALING group.

The texture is multi-scale value noise (deterministic from a seed, computable for any window on its own)
classified into water, ice/snow, rock, tundra and vegetation with plausible surface reflectance per band, so
that NDVI, the 2-98 % stretch and the SWIR false colour (ice shows cyan) behave as on real data.

The scene is written window by window (one 512-row strip of all bands at a time), so memory stays bounded
whatever the size. Results are cached: a scene with the same parameters is reused (see `ensure_scene`).

    python -m scoresby.demo.fullsize                      # 7801 x 7911 under bench-output/scenes/
    python -m scoresby.demo.fullsize --scale 1.414        # the 2x pixel-count scene (11031 x 11186)
    python -m scoresby.demo.fullsize --width 600 --height 600 --out /tmp/scenes
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from scoresby.demo.mtl import l2_rescaling, odl

GENERATOR_VERSION = 2
DEFAULT_WIDTH = 7801
DEFAULT_HEIGHT = 7911
DEFAULT_SCENE_ID = "LC08_L2SP_999999_20200101_20200102_02_T1"
DEFAULT_EPSG = 32622  # UTM 22N (West Greenland: ice, rock, water and some vegetation are all plausible)
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "bench-output" / "scenes"  # the repository root's
BANDS = (2, 3, 4, 5, 6, 7)
PIXEL = 30.0
STRIP = 512  # rows per window = the tile height, so every window fills whole tiles

# Collection 2 Level-2 surface reflectance scaling (DN -> reflectance).
L2_MULT = 2.75e-05
L2_ADD = -0.2
# Level-1 TOA reflectance scaling, present in real L2 MTL files under the same key names (different group).
L1_MULT = 2.0e-05
L1_ADD = -0.1

# Surface reflectance per class for bands 2..7 (blue, green, red, NIR, SWIR1, SWIR2).
CLASSES = {
    "water": (0.060, 0.050, 0.030, 0.015, 0.008, 0.005),
    "ice": (0.860, 0.840, 0.800, 0.640, 0.060, 0.040),
    "rock": (0.090, 0.120, 0.160, 0.230, 0.310, 0.260),
    "tundra": (0.050, 0.080, 0.085, 0.240, 0.220, 0.140),
    "vegetation": (0.030, 0.065, 0.040, 0.380, 0.190, 0.085),
}


@dataclass(frozen=True)
class SceneParams:
    """Everything the generated files depend on (the cache key)."""

    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT
    scene_id: str = DEFAULT_SCENE_ID
    seed: int = 20200101
    rotation_deg: float = 12.0
    epsg: int = DEFAULT_EPSG
    origin_x: float = 399_985.0
    origin_y: float = 7_700_015.0
    version: int = GENERATOR_VERSION


@dataclass(frozen=True)
class GeneratedScene:
    """Where a generated scene lives."""

    folder: Path
    scene_id: str
    params: SceneParams
    bands: dict[int, Path]
    mtl: Path
    reused: bool
    seconds: float

    def scene_object(self) -> dict[str, str]:
        """The scene object (DESIGN.md scene list entry) for `scoresby process`."""
        return {"scene_id": self.scene_id, "source": str(self.folder)}


# ---------------------------------------------------------------------------------------------------------
# Deterministic value noise, computable for any window independently of the others
# ---------------------------------------------------------------------------------------------------------

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)
_F1 = np.uint64(0xBF58476D1CE4E5B9)
_F2 = np.uint64(0x94D049BB133111EB)


def _hash01(ix: np.ndarray, iy: np.ndarray, salt: int) -> np.ndarray:
    """A uniform [0, 1) float32 per integer lattice point (splitmix64 finaliser); broadcasts ix, iy."""
    with np.errstate(over="ignore"):
        h = ix.astype(np.int64).view(np.uint64) * _M1
        h = h ^ (iy.astype(np.int64).view(np.uint64) * _M2)
        h = h ^ np.uint64(salt & 0xFFFFFFFFFFFF) * _F2
        h ^= h >> np.uint64(30)
        h *= _F1
        h ^= h >> np.uint64(27)
        h *= _F2
        h ^= h >> np.uint64(31)
    return ((h >> np.uint64(40)).astype(np.float32)) * np.float32(1.0 / (1 << 24))


def _smooth(t: np.ndarray) -> np.ndarray:
    return t * t * (3.0 - 2.0 * t)


def value_noise(row0: int, col0: int, rows: int, cols: int, cell: float, salt: int) -> np.ndarray:
    """Smoothly interpolated lattice noise in [-1, 1] with lattice spacing `cell` pixels, for one window."""
    x = (np.arange(col0, col0 + cols, dtype=np.float64) + 0.5) / cell
    y = (np.arange(row0, row0 + rows, dtype=np.float64) + 0.5) / cell
    ix = np.floor(x).astype(np.int64)
    iy = np.floor(y).astype(np.int64)
    sx = _smooth((x - ix).astype(np.float32))
    sy = _smooth((y - iy).astype(np.float32))
    ix_min, iy_min = int(ix[0]), int(iy[0])
    lx = np.arange(ix_min, int(ix[-1]) + 2)
    ly = np.arange(iy_min, int(iy[-1]) + 2)
    lattice = _hash01(lx[None, :], ly[:, None], salt) * 2.0 - 1.0  # (len(ly), len(lx))
    jx = ix - ix_min
    along_x = lattice[:, jx] * (1.0 - sx) + lattice[:, jx + 1] * sx  # (len(ly), cols)
    jy = iy - iy_min
    return along_x[jy, :] * (1.0 - sy)[:, None] + along_x[jy + 1, :] * sy[:, None]


def fbm(
    row0: int, col0: int, rows: int, cols: int, cell: float, octaves: int, salt: int, gain: float = 0.5
) -> np.ndarray:
    """Fractal sum of `octaves` value-noise layers (coarsest lattice `cell` px), normalised to ~[-1, 1]."""
    total = np.zeros((rows, cols), dtype=np.float32)
    amp, norm = 1.0, 0.0
    for k in range(octaves):
        total += np.float32(amp) * value_noise(row0, col0, rows, cols, cell / (2**k), salt * 131 + k)
        norm += amp
        amp *= gain
    total /= np.float32(norm)
    return total


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


# ---------------------------------------------------------------------------------------------------------
# The scene
# ---------------------------------------------------------------------------------------------------------


def footprint_size(params: SceneParams) -> tuple[float, float]:
    """Width and height (px) of the rotated valid-data rectangle whose bounding box nearly fills the grid."""
    a = math.radians(params.rotation_deg)
    c, s = math.cos(a), math.sin(a)
    bw, bh = params.width - 4.0, params.height - 4.0  # a 2-px nodata margin all round
    det = c * c - s * s
    return (c * bw - s * bh) / det, (c * bh - s * bw) / det


def footprint_mask(params: SceneParams, row0: int, rows: int) -> np.ndarray:
    """True inside the rotated footprint for rows row0..row0+rows of the grid."""
    fw, fh = footprint_size(params)
    a = math.radians(params.rotation_deg)
    c, s = math.cos(a), math.sin(a)
    dx = (np.arange(params.width, dtype=np.float32) + 0.5 - params.width / 2.0)[None, :]
    dy = (np.arange(row0, row0 + rows, dtype=np.float32) + 0.5 - params.height / 2.0)[:, None]
    u = dx * c + dy * s
    v = -dx * s + dy * c
    return (np.abs(u) <= fw / 2.0) & (np.abs(v) <= fh / 2.0)


def reflectance_window(params: SceneParams, row0: int, rows: int) -> np.ndarray:
    """Surface reflectance, shape (6, rows, width) float32, for bands 2..7 of one full-width window."""
    cols, seed = params.width, params.seed
    # Length scales are in metres so a smaller test scene looks like a crop of the big one.
    px = PIXEL
    elev = fbm(row0, 0, rows, cols, 60_000 / px, 8, seed + 1)
    moist = fbm(row0, 0, rows, cols, 40_000 / px, 6, seed + 2)
    detail = fbm(row0, 0, rows, cols, 1_500 / px, 4, seed + 3)
    grain = value_noise(row0, 0, rows, cols, 2.0, seed + 4)

    # Soft class weights that sum to 1: water below, ice on the heights, rock below the ice, then land.
    w_water = _sigmoid((-0.20 - elev) / 0.015)
    rest = 1.0 - w_water
    w_ice = rest * _sigmoid((elev - 0.20) / 0.02)
    rest = rest - w_ice
    w_rock = rest * _sigmoid((elev - 0.10 + 0.08 * detail) / 0.02)
    rest = rest - w_rock
    w_veg = rest * _sigmoid((moist + 0.1 * detail) / 0.06)
    w_tundra = rest - w_veg
    weights = {"water": w_water, "ice": w_ice, "rock": w_rock, "tundra": w_tundra, "vegetation": w_veg}

    # Brightness texture: strong on land, weak on water; plus a little per-pixel sensor-like grain.
    shade = 1.0 + (0.22 * detail + 0.10 * moist) * (1.0 - 0.8 * w_water)
    out = np.empty((len(BANDS), rows, cols), dtype=np.float32)
    for b in range(len(BANDS)):
        refl = np.zeros((rows, cols), dtype=np.float32)
        for name, w in weights.items():
            refl += w * np.float32(CLASSES[name][b])
        refl *= shade
        refl += np.float32(0.004 + 0.002 * b) * grain
        out[b] = refl
    return out


def to_dn(refl: np.ndarray) -> np.ndarray:
    """C2 L2 DN from reflectance: (refl + 0.2) / 2.75e-05, clipped to the valid 1..65535 range."""
    dn = np.rint((np.clip(refl, -0.199, 1.6) - L2_ADD) / L2_MULT)
    return np.clip(dn, 1, 65535).astype(np.uint16)


def mtl_text(params: SceneParams) -> str:
    """A minimal C2 L2 ODL MTL for the scene."""
    sid = params.scene_id
    parts = sid.split("_")
    path_row = parts[2] if len(parts) > 2 else "999999"
    acquired = parts[3] if len(parts) > 3 else "20200101"
    date = f"{acquired[:4]}-{acquired[4:6]}-{acquired[6:8]}"
    x0, y0 = params.origin_x, params.origin_y
    x1, y1 = x0 + params.width * PIXEL, y0 - params.height * PIXEL
    contents = [
        'ORIGIN = "Synthetic scene for the Scoresby benchmark (scoresby/demo/fullsize.py), not USGS data"',
        f'LANDSAT_PRODUCT_ID = "{sid}"',
        'PROCESSING_LEVEL = "L2SP"',
        "COLLECTION_NUMBER = 02",
        'COLLECTION_CATEGORY = "T1"',
        *(f'FILE_NAME_BAND_{b} = "{sid}_SR_B{b}.TIF"' for b in BANDS),
        f'FILE_NAME_METADATA_ODL = "{sid}_MTL.txt"',
    ]
    attributes = [
        'SPACECRAFT_ID = "LANDSAT_8"',
        'SENSOR_ID = "OLI_TIRS"',
        f"WRS_PATH = {int(path_row[:3])}",
        f"WRS_ROW = {int(path_row[3:6])}",
        f"DATE_ACQUIRED = {date}",
        'SCENE_CENTER_TIME = "14:30:00.0000000Z"',
        "CLOUD_COVER = 0.00",
    ]
    projection = [
        'MAP_PROJECTION = "UTM"',
        'DATUM = "WGS84"',
        f"UTM_ZONE = {params.epsg % 100}",
        "GRID_CELL_SIZE_REFLECTIVE = 30.00",
        f"REFLECTIVE_LINES = {params.height}",
        f"REFLECTIVE_SAMPLES = {params.width}",
        f"CORNER_UL_PROJECTION_X_PRODUCT = {x0 + PIXEL / 2:.3f}",
        f"CORNER_UL_PROJECTION_Y_PRODUCT = {y0 - PIXEL / 2:.3f}",
        f"CORNER_LR_PROJECTION_X_PRODUCT = {x1 - PIXEL / 2:.3f}",
        f"CORNER_LR_PROJECTION_Y_PRODUCT = {y1 + PIXEL / 2:.3f}",
    ]
    limits = [
        line
        for b in BANDS
        for line in (
            f"REFLECTANCE_MAXIMUM_BAND_{b} = 1.602213",
            f"REFLECTANCE_MINIMUM_BAND_{b} = -0.199972",
            f"QUANTIZE_CAL_MAX_BAND_{b} = 65535",
            f"QUANTIZE_CAL_MIN_BAND_{b} = 1",
        )
    ]
    numbers = [str(b) for b in BANDS]
    return odl(
        [
            ("PRODUCT_CONTENTS", contents),
            ("IMAGE_ATTRIBUTES", attributes),
            ("PROJECTION_ATTRIBUTES", projection),
            ("LEVEL2_SURFACE_REFLECTANCE_PARAMETERS", limits + l2_rescaling(numbers)),
            # Real L2 MTLs repeat the Level-1 rescaling under the same key names (discovery must pick L2's).
            ("LEVEL1_RADIOMETRIC_RESCALING", l2_rescaling(numbers, "2.0000E-05", "-0.100000")),
        ]
    )


def _write_scene(params: SceneParams, folder: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    folder.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": params.width,
        "height": params.height,
        "count": 1,
        "dtype": "uint16",
        "crs": f"EPSG:{params.epsg}",
        "transform": from_origin(params.origin_x, params.origin_y, PIXEL, PIXEL),
        "nodata": 0,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
        "predictor": 2,
        "num_threads": "ALL_CPUS",
        "interleave": "band",
    }
    sid = params.scene_id
    with rasterio.Env(GDAL_CACHEMAX=256):
        dsts = {b: rasterio.open(folder / f"{sid}_SR_B{b}.TIF", "w", **profile) for b in BANDS}
        try:
            for row0 in range(0, params.height, STRIP):
                rows = min(STRIP, params.height - row0)
                refl = reflectance_window(params, row0, rows)
                inside = footprint_mask(params, row0, rows)
                window = Window(0, row0, params.width, rows)
                for i, b in enumerate(BANDS):
                    dn = to_dn(refl[i])
                    dn[~inside] = 0
                    dsts[b].write(dn, 1, window=window)
        finally:
            for d in dsts.values():
                d.close()
    (folder / f"{sid}_MTL.txt").write_text(mtl_text(params))


def scene_dir(params: SceneParams, out: Path) -> Path:
    """bench-output/scenes/<W>x<H>/<scene_id>: the scene folder (its name is the scene id, as at USGS)."""
    return out / f"{params.width}x{params.height}" / params.scene_id


def ensure_scene(
    params: SceneParams, out: Path = DEFAULT_OUT, *, force: bool = False, log=print
) -> GeneratedScene:
    """Generate the scene unless a complete one with the same parameters is cached under `out`."""
    folder = scene_dir(params, out)
    manifest = folder.parent / "manifest.json"  # kept outside the scene folder so discovery never sees it
    bands = {b: folder / f"{params.scene_id}_SR_B{b}.TIF" for b in BANDS}
    mtl = folder / f"{params.scene_id}_MTL.txt"
    wanted = asdict(params)
    t0 = time.monotonic()
    if not force and manifest.exists() and all(p.exists() for p in [*bands.values(), mtl]):
        try:
            if json.loads(manifest.read_text()).get("params") == wanted:
                return GeneratedScene(folder, params.scene_id, params, bands, mtl, True, 0.0)
        except (OSError, ValueError):
            pass
    log(f"generating {params.width} x {params.height} scene {params.scene_id} in {folder} ...")
    tmp = folder.parent / f".tmp-{params.scene_id}"
    shutil.rmtree(tmp, ignore_errors=True)
    manifest.unlink(missing_ok=True)
    _write_scene(params, tmp)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    size = sum(p.stat().st_size for p in folder.iterdir())
    manifest.write_text(json.dumps({"params": wanted, "bytes": size}, indent=2) + "\n")
    seconds = time.monotonic() - t0
    log(f"generated in {seconds:.1f} s ({size / 2**20:.0f} MiB)")
    return GeneratedScene(folder, params.scene_id, params, bands, mtl, False, seconds)


def params_for(scale: float = 1.0, width: int | None = None, height: int | None = None, **kw) -> SceneParams:
    """Parameters of the standard scene scaled by `scale` per axis (1.414 -> about 2x the pixels)."""
    w = width or int(round(DEFAULT_WIDTH * scale))
    h = height or int(round(DEFAULT_HEIGHT * scale))
    return SceneParams(width=w, height=h, **kw)


def main(argv: list[str] | None = None) -> int:
    """Write (or reuse) a scene with the given size and print its scene object as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="per-axis scale (1.414 = 2x the pixel count)")
    ap.add_argument("--width", type=int, help="width in pixels (overrides --scale)")
    ap.add_argument("--height", type=int, help="height in pixels (overrides --scale)")
    ap.add_argument("--seed", type=int, default=SceneParams.seed)
    ap.add_argument("--scene-id", default=DEFAULT_SCENE_ID)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"cache folder (default {DEFAULT_OUT})")
    ap.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = ap.parse_args(argv)
    params = params_for(args.scale, args.width, args.height, seed=args.seed, scene_id=args.scene_id)
    scene = ensure_scene(params, args.out, force=args.force)
    sys.stdout.write(json.dumps(scene.scene_object()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
