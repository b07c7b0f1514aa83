"""The composite benchmark's scenes: one AOI, N dates x 2 paths of Landsat C2 L2-like COGs, STAC Items.

Each path covers 60 % of the AOI (the west and the east part, overlapping in the middle 20 %), as adjacent
Landsat paths do at Scoresby Sund. A scene folder holds `<id>_SR_B2.TIF`...`_SR_B7.TIF` and
`<id>_QA_PIXEL.TIF` (uint16 COGs, DEFLATE, 512 px tiles, nodata 0 / fill 1 outside the footprint), a minimal
`<id>_MTL.txt` (what Scoresby's discovery reads) and `<id>.json`, a STAC Item with `proj:*` fields and one
asset per band (what odc-stac reads). Texture: value noise classed into water, rock, vegetation and ice,
the same every date up to a per-date brightness; clouds (with their shadows) cover about 20 % of each scene.
The files are cached under the root with a marker and made again only when the parameters change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds

from scoresby.demo.landscape import LANDSAT_BANDS
from scoresby.demo.mtl import L2_OFFSET, L2_SCALE, l2_rescaling, odl

CRS = "EPSG:32624"
PIXEL_M = 30.0
ORIGIN = (499980.0, 7899990.0)  # on the 30 m lattice the AOI grid snaps to
COVER = 0.6  # of the AOI's width, per path
# STAC common names of SR_B2..SR_B7, in LANDSAT_BANDS order (what odc-stac loads by name).
COMMON = ("blue", "green", "red", "nir08", "swir16", "swir22")
QA_CLEAR, QA_WATER, QA_SNOW, QA_CLOUD, QA_SHADOW, QA_FILL = 21824, 21952, 30048, 22280, 23888, 1
# Surface reflectance (B2..B7) of water, rock, vegetation and ice.
REFLECTANCE = np.array(
    [
        [0.050, 0.045, 0.025, 0.012, 0.006, 0.004],
        [0.120, 0.145, 0.170, 0.230, 0.300, 0.250],
        [0.035, 0.070, 0.045, 0.340, 0.180, 0.085],
        [0.820, 0.800, 0.760, 0.620, 0.070, 0.050],
    ],
    dtype=np.float32,
)
CLASS_QA = np.array([QA_WATER, QA_CLEAR, QA_CLEAR, QA_SNOW], dtype=np.uint16)


@dataclass(frozen=True)
class Params:
    """What the workload is made of; the cache is keyed on all of it."""

    size: int = 2000
    dates: int = 10
    paths: int = 2
    first: str = "2020-07-01"
    step_days: int = 16
    per_date: int = 1  # passes per date, `revisit_days` apart (several summer dates of one year)
    revisit_days: int = 16  # one Landsat's revisit; 8 with Landsat 8 and 9 together
    seed: int = 21
    version: int = 2  # bump when the generator's output changes


@dataclass(frozen=True)
class BenchScene:
    """One scene of the workload: id, folder, STAC Item path, date, path index and its columns of the AOI."""

    scene_id: str
    folder: str
    item: str
    date: str
    path: int
    col_off: int
    width: int


def aoi(params: Params) -> dict[str, Any]:
    """The run's AOI (lon/lat bbox, UTM 24N, 30 m) whose grid is exactly the workload's `size` px square.

    A lon/lat box's UTM envelope is wider than the UTM square it came from, so the square is shrunk by what
    sticks out until the envelope, snapped outwards to whole pixels, is the grid again.
    """
    left, top = ORIGIN
    span = params.size * PIXEL_M
    want = (left, top - span, left + span, top)
    box = list(want)
    for _ in range(30):
        lonlat = transform_bounds(CRS, "EPSG:4326", *box)
        back = transform_bounds("EPSG:4326", CRS, *lonlat, densify_pts=21)
        # how far the envelope sticks out of the square on each side; aim at a quarter pixel inside
        over = [want[0] - back[0], want[1] - back[1], back[2] - want[2], back[3] - want[3]]
        if all(-PIXEL_M / 2 < o < 0 for o in over):
            break
        step = [o + PIXEL_M / 4 for o in over]
        box = [box[0] + step[0], box[1] + step[1], box[2] - step[2], box[3] - step[3]]
    return {"bbox": list(lonlat), "crs": CRS, "resolution": PIXEL_M, "name": "bench"}


def path_columns(size: int, path: int, paths: int) -> tuple[int, int]:
    """(col_off, width) of a path's footprint: COVER of the AOI's width; the first west, the last east."""
    width = round(COVER * size)
    col_off = 0 if paths == 1 else round(path * (size - width) / (paths - 1))
    return col_off, width


def scene_id_of(day: date, path: int) -> str:
    """Collection 2 id (path 000 = the bench's west path, row = path index: neither exists in WRS-2)."""
    stamp = day.strftime("%Y%m%d")
    return f"LC08_L2SP_000{path:03d}_{stamp}_{stamp}_02_T1"


def scene_dates(params: Params) -> list[tuple[date, int]]:
    """(date, path) of every scene; the east path passes 7 days after the west one (another solar day).

    With `per_date` > 1 each date is `per_date` passes `revisit_days` apart (e.g. 4 summer passes a year).
    """
    first = date.fromisoformat(params.first)
    return [
        (first + timedelta(days=params.step_days * i + params.revisit_days * j + 7 * p), p)
        for i in range(params.dates)
        for j in range(params.per_date)
        for p in range(params.paths)
    ]


def _smooth_noise(shape: tuple[int, int], rng: np.random.Generator, cell: int) -> np.ndarray:
    """Value noise 0..1: a coarse random grid, bilinearly upsampled (cheap at any size)."""
    h, w = shape
    coarse = rng.random((h // cell + 2, w // cell + 2)).astype(np.float32)
    y = np.arange(h, dtype=np.float32) / cell
    x = np.arange(w, dtype=np.float32) / cell
    y0, x0 = y.astype(int), x.astype(int)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    a = coarse[y0][:, x0]
    b = coarse[y0][:, x0 + 1]
    c = coarse[y0 + 1][:, x0]
    d = coarse[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def classes_of(size: int, seed: int) -> np.ndarray:
    """Water, rock, vegetation, ice (0..3) over the AOI: the same every date."""
    rng = np.random.default_rng(seed)
    relief = 0.65 * _smooth_noise((size, size), rng, 200) + 0.35 * _smooth_noise((size, size), rng, 37)
    moist = _smooth_noise((size, size), rng, 90)
    classes = np.full((size, size), 1, dtype=np.uint8)
    classes[moist > 0.6] = 2
    classes[relief < 0.3] = 0
    classes[relief > 0.68] = 3
    return classes


def _cog(path: Path, data: np.ndarray, transform: Any, nodata: int) -> None:
    profile = {
        "driver": "COG",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": "uint16",
        "crs": CRS,
        "transform": transform,
        "nodata": nodata,
        "blocksize": 512,
        "compress": "deflate",
        "overview_resampling": "nearest",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def stac_item(
    scene_id: str, day: date, folder: Path, transform: Any, shape: tuple[int, int]
) -> dict[str, Any]:
    """A STAC Item as odc-stac needs it: proj:* fields, an asset per band, raster:bands nodata."""
    h, w = shape
    left, top = transform.c, transform.f
    right, bottom = left + w * transform.a, top + h * transform.e
    west, south, east, north = transform_bounds(CRS, "EPSG:4326", left, bottom, right, top)
    assets = {
        name: {
            "href": str((folder / f"{scene_id}_SR_{band}.TIF").resolve()),
            "type": "image/tiff; application=geotiff; profile=cloud-optimized",
            "roles": ["data"],
            "raster:bands": [{"nodata": 0, "data_type": "uint16", "scale": L2_SCALE, "offset": L2_OFFSET}],
        }
        for name, band in zip(COMMON, LANDSAT_BANDS, strict=True)
    }
    assets["qa_pixel"] = {
        "href": str((folder / f"{scene_id}_QA_PIXEL.TIF").resolve()),
        "type": "image/tiff; application=geotiff; profile=cloud-optimized",
        "roles": ["cloud"],
        "raster:bands": [{"nodata": QA_FILL, "data_type": "uint16"}],
    }
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
        ],
        "id": scene_id,
        "bbox": [west, south, east, north],
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
        },
        "properties": {
            "datetime": f"{day.isoformat()}T13:45:00Z",
            "platform": "landsat-8",
            "instruments": ["oli", "tirs"],
            "proj:epsg": int(CRS.split(":")[1]),
            "proj:shape": [h, w],
            "proj:transform": list(transform)[:6],
        },
        "links": [],
        "assets": assets,
    }


def write_scene(root: Path, params: Params, day: date, path: int, classes: np.ndarray) -> BenchScene:
    """One scene's COGs, MTL and STAC Item; clouds and brightness from its own seed."""
    scene_id = scene_id_of(day, path)
    folder = root / scene_id
    folder.mkdir(parents=True, exist_ok=True)
    col_off, width = path_columns(params.size, path, params.paths)
    h = params.size
    rng = np.random.default_rng([params.seed, day.toordinal(), path])
    part = classes[:, col_off : col_off + width]
    cloud = _smooth_noise((h, width), rng, min(120, h // 6)) > 0.72  # 120 px cells; smaller on a tiny AOI
    shadow = np.roll(cloud, (15, 20), axis=(0, 1)) & ~cloud
    grain = 1.0 + 0.08 * (_smooth_noise((h, width), rng, 3) - 0.5)
    bright = np.float32(1.0 + 0.05 * rng.standard_normal())
    transform = from_origin(ORIGIN[0] + col_off * PIXEL_M, ORIGIN[1], PIXEL_M, PIXEL_M)
    valid = np.ones((h, width), dtype=bool)
    valid[:, :8] = valid[:, -8:] = False  # a nodata edge, as at a real scene's border
    for i, band in enumerate(LANDSAT_BANDS):
        refl = REFLECTANCE[part, i] * grain * bright
        refl[shadow] *= 0.3
        refl[cloud] = 0.55
        dn = np.round((refl - L2_OFFSET) / L2_SCALE).clip(1, 65535).astype(np.uint16)
        dn[~valid] = 0
        _cog(folder / f"{scene_id}_SR_{band}.TIF", dn, transform, 0)
    qa = CLASS_QA[part]
    qa[shadow] = QA_SHADOW
    qa[cloud] = QA_CLOUD
    qa[~valid] = QA_FILL
    _cog(folder / f"{scene_id}_QA_PIXEL.TIF", qa, transform, QA_FILL)
    mtl = odl(
        [
            ("PRODUCT_CONTENTS", [f'LANDSAT_PRODUCT_ID = "{scene_id}"', 'PROCESSING_LEVEL = "L2SP"']),
            (
                "IMAGE_ATTRIBUTES",
                [
                    'SPACECRAFT_ID = "LANDSAT_8"',
                    'SENSOR_ID = "OLI_TIRS"',
                    f"CLOUD_COVER = {100 * cloud.mean():.2f}",
                    f"DATE_ACQUIRED = {day.isoformat()}",
                    'SCENE_CENTER_TIME = "13:45:00.0000000Z"',
                ],
            ),
            ("LEVEL2_SURFACE_REFLECTANCE_PARAMETERS", l2_rescaling([b[1:] for b in LANDSAT_BANDS])),
        ]
    )
    (folder / f"{scene_id}_MTL.txt").write_text(mtl, encoding="utf-8")
    item = folder / f"{scene_id}.json"
    item.write_text(json.dumps(stac_item(scene_id, day, folder, transform, (h, width)), indent=1))
    where = (str(folder.resolve()), str(item.resolve()))
    return BenchScene(scene_id, *where, day.isoformat(), path, col_off, width)


def ensure_workload(root: Path, params: Params, log: Callable[[str], None] = print) -> list[BenchScene]:
    """The workload's scenes under `root` (made now unless the cache marker matches `params`)."""
    marker = root / "workload.json"
    if marker.exists():
        cached = json.loads(marker.read_text())
        if cached.get("params") == asdict(params):
            return [BenchScene(**s) for s in cached["scenes"]]
    log(f"composite bench: writing {params.dates} dates x {params.paths} paths, {params.size} px AOI: {root}")
    marker.unlink(missing_ok=True)
    classes = classes_of(params.size, params.seed)
    scenes = [write_scene(root / "scenes", params, day, path, classes) for day, path in scene_dates(params)]
    marker.write_text(json.dumps({"params": asdict(params), "scenes": [asdict(s) for s in scenes]}, indent=1))
    return scenes
