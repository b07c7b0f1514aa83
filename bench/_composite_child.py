"""One measured Scoresby composite for bench/composite_bench.py (a child process: its own peak RSS).

    python bench/_composite_child.py median SPEC.json OUT.tif    # six median bands on the AOI grid
    python bench/_composite_child.py full SPEC.json OUT_DIR      # build_place_products: all assets, Items

SPEC.json: {"scenes": [{"scene_id", "folder"}], "aoi": {...}, "composites": {...}}. `median` is the
like-with-like figure against the odc-stac peer: discovery, then 512 px blocks of the AOI grid, each scene's
QA_PIXEL and six reflectance windows read where it covers the block (integer offsets on the same 30 m lattice, else a
WarpedVRT), one observation per sensor and solar day (observations.merge), the median over observations
(places.composite.reduce), a float32 GeoTIFF written block by block. The reading loop is the benchmark's own
(the places package's reader is used once it has one: see READER). Prints the phases' seconds as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._composite_stub import CORE, SceneDate, group, merge, reduce  # noqa: E402
from scoresby.core.scene_list import parse_scene  # noqa: E402
from scoresby.discovery.discover import discover_scene  # noqa: E402
from scoresby.raster.bands import Grid  # noqa: E402
from scoresby.raster.masks import landsat_quality  # noqa: E402
from scoresby.raster.quality import aoi_grid  # noqa: E402

BANDS = ("B2", "B3", "B4", "B5", "B6", "B7")
BLOCK = 512
READER = "bench/_composite_child.py (block reader of the benchmark)"


def blocks(grid: Grid, size: int = BLOCK) -> Iterator[Window]:
    """The grid's blocks, row by row."""
    for row in range(0, grid.height, size):
        for col in range(0, grid.width, size):
            yield Window(col, row, min(size, grid.width - col), min(size, grid.height - row))


def offset_on(grid: Grid, ds: Any) -> tuple[int, int] | None:
    """(col, row) of the dataset's top-left pixel on the grid if it lies on the grid's lattice, else None."""
    t, g = ds.transform, grid.transform
    if ds.crs != grid.crs or not np.allclose((t.a, t.b, t.d, t.e), (g.a, g.b, g.d, g.e)):
        return None
    col, row = (t.c - g.c) / g.a, (t.f - g.f) / g.e
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return None
    return round(col), round(row)


class SceneOnGrid:
    """One scene's QA and reflectance bands, read as (bands, h, w) blocks of the grid where it has pixels."""

    def __init__(self, files: Any, grid: Grid, stack: ExitStack) -> None:
        self.files = files
        paths = [files.quality.path] + [files.bands[b].path for b in BANDS]
        self.scales = np.array([files.bands[b].scale for b in BANDS], dtype=np.float32)[:, None, None]
        self.offsets = np.array([files.bands[b].offset for b in BANDS], dtype=np.float32)[:, None, None]
        self.sources: list[Any] = []
        self.offset: tuple[int, int] | None = (0, 0)
        for path in paths:
            ds = stack.enter_context(rasterio.open(path))
            off = offset_on(grid, ds)
            if off is None:  # another lattice or CRS: warp onto the grid (nearest, no mixing of QA bits)
                ds = stack.enter_context(
                    WarpedVRT(
                        ds, crs=grid.crs, transform=grid.transform, width=grid.width, height=grid.height
                    )
                )
                off = (0, 0)
            self.offset = off
            self.sources.append(ds)
        ref = self.sources[0]
        self.cols = (self.offset[0], self.offset[0] + ref.width)
        self.rows = (self.offset[1], self.offset[1] + ref.height)

    def read(self, block: Window) -> tuple[np.ndarray, np.ndarray] | None:
        """(reflectance (6, h, w) float32, clear (h, w)) of a block, None when the scene misses it."""
        c0, c1 = max(block.col_off, self.cols[0]), min(block.col_off + block.width, self.cols[1])
        r0, r1 = max(block.row_off, self.rows[0]), min(block.row_off + block.height, self.rows[1])
        if c0 >= c1 or r0 >= r1:
            return None
        win = Window(c0 - self.offset[0], r0 - self.offset[1], c1 - c0, r1 - r0)
        qa = self.sources[0].read(1, window=win)
        q = landsat_quality(qa)
        part_clear = q.valid & ~q.not_clear
        if not part_clear.any():
            return None
        dn = np.stack([ds.read(1, window=win) for ds in self.sources[1:]])
        part_clear &= (dn != 0).all(axis=0)
        refl = dn.astype(np.float32) * self.scales + self.offsets
        h, w = int(block.height), int(block.width)
        out = np.full((len(BANDS), h, w), np.nan, dtype=np.float32)
        clear = np.zeros((h, w), dtype=bool)
        rs, cs = slice(r0 - block.row_off, r1 - block.row_off), slice(c0 - block.col_off, c1 - block.col_off)
        out[:, rs, cs] = refl
        clear[rs, cs] = part_clear
        return out, clear


def median(spec: dict[str, Any], out: str) -> dict[str, Any]:
    """The six median reflectance bands on the AOI grid, as a float32 GeoTIFF; the phases' seconds."""
    t0 = time.perf_counter()
    grid = aoi_grid(spec["aoi"])
    found = [
        discover_scene(parse_scene({"scene_id": s["scene_id"], "source": s["folder"]}))
        for s in spec["scenes"]
    ]
    by_id = {f.scene_id: f for f in found}
    lon = sum(spec["aoi"]["bbox"][0::2]) / 2
    dates = [
        SceneDate(f.scene_id, f.sensor, _utc(f.datetime))
        for f in found  # datetime: discovery's ISO string
    ]
    observations = group(dates, lon)
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": len(BANDS),
        "dtype": "float32",
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": float("nan"),
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
    }
    t_read = t_reduce = t_write = 0.0
    with ExitStack() as stack:
        readers = {sid: SceneOnGrid(f, grid, stack) for sid, f in by_id.items()}
        dst = stack.enter_context(rasterio.open(out, "w", **profile))
        t_setup = time.perf_counter() - t0
        for block in blocks(grid):
            t = time.perf_counter()
            obs = []
            for o in observations:
                parts = [p for sid in o.scene_ids if (p := readers[sid].read(block)) is not None]
                if parts:
                    refl, clear = merge(parts)
                    obs.append(refl)
            t_read += time.perf_counter() - t
            t = time.perf_counter()
            if obs:
                values = reduce(np.stack(obs), "median", None)
            else:
                values = np.full((len(BANDS), int(block.height), int(block.width)), np.nan, np.float32)
            t_reduce += time.perf_counter() - t
            t = time.perf_counter()
            dst.write(values, window=block)
            t_write += time.perf_counter() - t
    t = time.perf_counter()
    return {
        "setup_s": t_setup,
        "read_s": t_read,
        "reduce_s": t_reduce,
        "write_s": t_write + (time.perf_counter() - t),
        "observations": len(observations),
        "reader": READER,
        "core": CORE,
    }


def _utc(iso: str | None) -> Any:
    from datetime import datetime

    if not iso:
        raise SystemExit("a scene without an acquisition time")
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def full(spec: dict[str, Any], out_dir: str) -> dict[str, Any]:
    """The whole composite step of the places package: every asset, COGs, STAC Items."""
    from scoresby.places import build_place_products

    t0 = time.perf_counter()
    result = build_place_products(spec, out_dir)  # the signature is the places package's
    return {"total_s": time.perf_counter() - t0, "result": str(result)[:200]}


def main(mode: str, spec_path: str, out: str) -> int:
    """Run one mode and print its JSON."""
    spec = json.loads(Path(spec_path).read_text())
    info = median(spec, out) if mode == "median" else full(spec, out)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
