"""Tiles of a place's AOI grid for the AWS place stage: windows aligned to the composites' 512 px blocks.

A tile is made by the same code as the whole AOI (compose, change_temps, trend_temps) on a sub-grid, so
its pixels are the whole-AOI run's. Its temps and partial figures go to the product's work folder
`<output>/<run>/places/<place>/.work/<item_id>/<fingerprint>/tile-NNNNN/`, figures.json last: a tile
with its figures is done, and a retried job (a Spot reclaim) makes only the tiles not done.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
import rasterio.windows
from rasterio.windows import Window

from scoresby.core.errors import InvalidInput
from scoresby.places.compose import BLOCK_PX, Temps, empty_temps, open_temps
from scoresby.places.sensor_view import ROLES, ProductRoles
from scoresby.pricing import places as pricing_places
from scoresby.raster.bands import TEMP_TILE, Grid
from scoresby.stores import work_files

TILE_PX = pricing_places.TILE_PX
"""Tile side in pixels (a multiple of BLOCK_PX), the cheapest in bench/place_bench.py (pricing/places.py)."""
TILES_PER_JOB = 1
"""Tiles one Batch job makes, one after the other. At 4096 px one tile already spreads the job start over
16.8 Mpx (6.7-6.9 job-s per AOI Mpx against 18 at 2048 px): more tiles a job would only cut parallelism."""
TILE_PX_ENV = "SCORESBY_PLACE_TILE_PX"
TILES_PER_JOB_ENV = "SCORESBY_PLACE_TILES_PER_JOB"
"""Settings of the plan job (the bench varies them); the plan document carries them to the other jobs."""
TILE_COMPRESS = {"compress": "deflate", "zlevel": 1}
"""Tile files are lossless and small to move: DEFLATE at level 1 costs little CPU."""
FIGURES = "figures.json"


def tile_settings(env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """(tile px, tiles per job) from the environment or the defaults; InvalidInput when bad."""
    e = os.environ if env is None else env
    out = []
    for name, default, step in ((TILE_PX_ENV, TILE_PX, BLOCK_PX), (TILES_PER_JOB_ENV, TILES_PER_JOB, 1)):
        raw = e.get(name, "").strip()
        try:
            value = int(raw) if raw else default
        except ValueError:
            value = 0
        if value <= 0 or value % step:
            raise InvalidInput(f"{name}: {raw!r} is not a positive multiple of {step}")
        out.append(value)
    return out[0], out[1]


def tile_windows(grid: Grid, tile_px: int) -> list[Window]:
    """The grid's tiles, row by row from the top left."""
    return list(grid.windows(tile_px, tile_px))


def sub_grid(grid: Grid, window: Window) -> Grid:
    """The part of the grid a window covers, as a grid of its own."""
    transform = rasterio.windows.transform(window, grid.transform)
    return Grid(grid.crs, transform, int(window.width), int(window.height))


def offset_of(window: Window) -> tuple[int, int]:
    """(column, row) of a tile in the AOI grid."""
    return int(window.col_off), int(window.row_off)


def tile_uri(work: str, n: int) -> str:
    """The folder of tile n in a product's work folder."""
    return work_files.join(work, f"tile-{n:05d}")


def is_done(work: str, n: int) -> bool:
    """True when tile n is saved whole (its figures are written last)."""
    return work_files.read_text(work_files.join(tile_uri(work, n), FIGURES)) is not None


def save_tile(work: str, n: int, temps: Mapping[str, Path], figures: dict[str, Any]) -> None:
    """Save a tile's temps (compressed, lossless) and then its figures."""
    folder = tile_uri(work, n)
    for name, temp in temps.items():
        packed = temp.with_name(f"{name}.packed.tif")
        rasterio.shutil.copy(
            temp,
            packed,
            driver="GTiff",
            tiled=True,
            blockxsize=TEMP_TILE,
            blockysize=TEMP_TILE,
            **TILE_COMPRESS,
        )
        work_files.upload(packed, work_files.join(folder, f"{name}.tif"))
        packed.unlink()
    work_files.write_json(work_files.join(folder, FIGURES), figures)


def load_figures(work: str, n: int) -> dict[str, Any]:
    """A saved tile's figures."""
    text = work_files.read_text(work_files.join(tile_uri(work, n), FIGURES))
    return dict(json.loads(text or "{}"))


def composite_figures(temps: Temps) -> dict[str, Any]:
    """A composite tile's figures as JSON (histograms sparse: {DN: count} where not 0)."""
    return {
        "hists": {r: {str(int(i)): int(h[i]) for i in np.flatnonzero(h)} for r, h in temps.hists.items()},
        "counts": temps.counts,
        "index_sums": temps.index_sums,
        "index_counts": temps.index_counts,
    }


def add_composite_figures(temps: Temps, figures: dict[str, Any]) -> None:
    """Add one tile's figures to the whole AOI's."""
    for role in ROLES:
        for dn, count in figures["hists"][role].items():
            temps.hists[role][int(dn)] += count
    for key, value in figures["counts"].items():
        temps.counts[key] += int(value)
    for name in temps.index_sums:
        temps.index_sums[name] += float(figures["index_sums"][name])
        temps.index_counts[name] += int(figures["index_counts"][name])


def merge_tiles(
    grid: Grid,
    tile_px: int,
    work: str,
    specs: dict[str, tuple[int, str, float | None]],
    tmp: Path,
    gdal_env: Mapping[str, str],
    temps: Temps | None = None,
) -> dict[str, Path]:
    """The whole-AOI temps of `specs` from the saved tiles, copied block by block (memory: one block)."""
    temps = temps if temps is not None else Temps()
    with ExitStack() as stack:
        stack.enter_context(rasterio.Env(**gdal_env))
        out = open_temps(grid, specs, tmp, temps.paths, stack)
        for n, tile in enumerate(tile_windows(grid, tile_px)):
            folder = tile_uri(work, n)
            for name, dst in out.items():
                with rasterio.open(work_files.gdal_path(work_files.join(folder, f"{name}.tif"))) as src:
                    for block in sub_grid(grid, tile).windows(BLOCK_PX, BLOCK_PX):
                        at = Window(
                            block.col_off + tile.col_off,
                            block.row_off + tile.row_off,
                            block.width,
                            block.height,
                        )
                        dst.write(src.read(window=block), window=at)
    return temps.paths


def merged_composite(
    grid: Grid,
    tile_px: int,
    work: str,
    specs: dict[str, Any],
    indices: list[ProductRoles],
    tmp: Path,
    env: Any,
) -> Temps:
    """A composite's whole-AOI temps and figures from its saved tiles."""
    temps = empty_temps(indices)
    for n in range(len(tile_windows(grid, tile_px))):
        add_composite_figures(temps, load_figures(work, n))
    merge_tiles(grid, tile_px, work, specs, tmp, env, temps)
    return temps


def scratch() -> tempfile.TemporaryDirectory[str]:
    """A temp folder for one tile or one assembly (the job's local disk)."""
    return tempfile.TemporaryDirectory(prefix="scoresby-place-")
