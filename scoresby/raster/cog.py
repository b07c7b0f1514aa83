"""Cloud-Optimized GeoTIFF writing, overview factors and the valid-data outline of a finished COG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.errors import RasterioError

from scoresby.core.errors import one_line
from scoresby.pricing.cost import WORKER_THREADS
from scoresby.raster.bands import BLOCK

COG_OPTIONS = {
    "COMPRESS": "DEFLATE",
    "PREDICTOR": "YES",  # 2 (horizontal) for integers, 3 (floating point) for float32
    "BLOCKSIZE": str(BLOCK),
    "OVERVIEWS": "AUTO",
    "OVERVIEW_RESAMPLING": "AVERAGE",
    # The job's vCPUs, not the host's: Batch on EC2 reserves vCPUs as CPU shares, so ALL_CPUS would start
    # 16 threads per COG in a 2-vCPU job on a 16-vCPU instance (pricing.cost.WORKER_THREADS = jobVcpus).
    "NUM_THREADS": str(WORKER_THREADS),
    "STATISTICS": "YES",
    "BIGTIFF": "IF_SAFER",
}


def overview_factors(width: int, height: int, block: int = BLOCK) -> list[int]:
    """Power-of-two factors down to the first level that fits in one block (as the COG driver AUTO does)."""
    factors: list[int] = []
    factor = 2
    while max(width, height) / (factor // 2) > block:
        factors.append(factor)
        factor *= 2
    return factors


# libdeflate level per data type (default DEFAULT_DEFLATE_LEVEL). Measured on a full Landsat scene: a 3-band
# uint8 COG at level 3 is 7 % larger than at level 6 for a third of the CPU (level 1: 19 % larger); float32
# indices are near-incompressible noise, level 1 is as small as 6.
DEFLATE_LEVELS = {"float32": "1"}
DEFAULT_DEFLATE_LEVEL = "3"


def write_cog(src_path: Path, dst_path: Path, *, predictor: bool = True) -> None:
    """Convert a temp GTiff into a COG (DEFLATE + predictor unless `predictor` is False, 512 tiles, internal
    overviews, statistics).

    The overviews are built first inside the uncompressed temp (AVERAGE, nodata-aware), which the COG
    driver then copies: a third less CPU than letting it build them through a compressed temporary file.
    """
    try:
        with rasterio.open(src_path, "r+") as ds:
            factors = overview_factors(ds.width, ds.height)
            if factors:
                ds.build_overviews(factors, Resampling.average)
            level = DEFLATE_LEVELS.get(ds.dtypes[0], DEFAULT_DEFLATE_LEVEL)
        options = COG_OPTIONS if predictor else COG_OPTIONS | {"PREDICTOR": "NO"}
        rasterio.shutil.copy(str(src_path), str(dst_path), driver="COG", **options, LEVEL=level)
    except RasterioError as exc:
        raise OSError(f"cannot write COG {dst_path}: {one_line(exc)}") from exc


def valid_outline_points(cog_path: Path, max_px: int = 1024) -> list[tuple[float, float]]:
    """Projected corners of the first and last valid pixel of each row of a decimated read of a product.

    Their convex hull is the valid-data footprint (to about one decimated pixel); the read is served by
    the COG's overviews. Valid: not nodata in any band (0, or NaN for floats).
    """
    with rasterio.open(cog_path) as ds:
        factor = max(1, -(-max(ds.width, ds.height) // max_px))
        rows, cols = -(-ds.height // factor), -(-ds.width // factor)
        data = ds.read(out_shape=(ds.count, rows, cols), resampling=Resampling.nearest)
        transform = ds.transform @ Affine.scale(ds.width / cols, ds.height / rows)
    valid = np.isfinite(data).all(axis=0) if data.dtype.kind == "f" else (data != 0).all(axis=0)
    rows_with_data = np.flatnonzero(valid.any(axis=1))
    first = valid[rows_with_data].argmax(axis=1)
    last = cols - 1 - valid[rows_with_data, ::-1].argmax(axis=1)
    points: list[tuple[float, float]] = []
    for r, c0, c1 in zip(rows_with_data.tolist(), first.tolist(), last.tolist(), strict=True):
        for col, row in ((c0, r), (c0, r + 1), (c1 + 1, r), (c1 + 1, r + 1)):
            x, y = transform @ (col, row)
            points.append((float(x), float(y)))
    return points
