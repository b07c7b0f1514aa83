"""One measured place-stage tile for bench/place_bench.py (a child process: its own peak RSS and traffic).

    python bench/_place_child.py tile SPEC.json COL ROW SIZE TMP   # a composite tile: compose on a sub-grid
    python bench/_place_child.py ard  ARD.json  COL ROW SIZE -     # read a tile's observations from ARD COGs

SPEC.json is a scene list ({"scenes", "aoi", "products", "composites"}) whose sources may be s3:// (then the
environment points boto3 and GDAL at the bench's moto server through the counting proxy). `tile` is what a
composite tile job computes: the places package's `compose` (median, harmonised, every index, clear count,
frequencies, classes) on the SIZE x SIZE sub-grid of the AOI grid at (COL, ROW), with the scenes that
overlap the tile, their files discovered first (as build.py does); then each layer is written as a DEFLATE
COG with overviews (`cogs_s`, the assembly's share per pixel). `ard` reads the same tile's window of
every band of every scene from analysis-ready uint16 COGs on the AOI grid ({"scenes": {id: [uri, ...]}}):
what an ARD-reading tile job would read at least. Each mode prints its seconds as JSON on the last line.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import rasterio
from affine import Affine
from rasterio.shutil import copy
from rasterio.windows import Window

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scoresby.core.scene_list import parse_scene_list  # noqa: E402
from scoresby.discovery.discover import discover_scene  # noqa: E402
from scoresby.discovery.sources import gdal_env_options  # noqa: E402
from scoresby.places.build import PER_FILE_VSI_CACHE  # noqa: E402
from scoresby.places.compose import ComposeSettings, compose  # noqa: E402
from scoresby.places.observations import SceneDate, group  # noqa: E402
from scoresby.places.reader import SceneReader  # noqa: E402
from scoresby.places.sensor_view import product_roles  # noqa: E402
from scoresby.raster.bands import Grid, gdal_options  # noqa: E402
from scoresby.raster.quality import aoi_grid  # noqa: E402


def sub_grid(grid: Grid, col: int, row: int, size: int) -> Grid:
    """The SIZE x SIZE tile of `grid` at (col, row) (clipped at the grid's edge): a tile job's grid."""
    width, height = min(size, grid.width - col), min(size, grid.height - row)
    return Grid(grid.crs, grid.transform @ Affine.translation(col, row), width, height)


def tile(spec: dict[str, Any], col: int, row: int, size: int, tmp: str) -> dict[str, Any]:
    """compose() on the tile's sub-grid: the time of discovery and of the composite, the observations."""
    t0 = time.perf_counter()
    plan = parse_scene_list(spec)
    grid = sub_grid(aoi_grid(spec["aoi"]), col, row, size)
    found = {s.scene_id: discover_scene(s) for s in plan.scenes}
    lon = (spec["aoi"]["bbox"][0] + spec["aoi"]["bbox"][2]) / 2
    dates = [SceneDate(f.scene_id, f.sensor, _utc(f.datetime)) for f in found.values()]
    observations = group(dates, lon)
    roles = [r for r in (product_roles(n) for n in spec["products"]) if r is not None]
    settings = ComposeSettings("median", None, True, roles, None)
    for f in found.values():
        settings.gdal_env.update(f.gdal_env)
    settings.gdal_env["VSI_CACHE_SIZE"] = str(PER_FILE_VSI_CACHE)
    sensors = {sid: f.sensor for sid, f in found.items()}
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=tmp) as work:
        temps = compose(
            observations, lambda sid: SceneReader(found[sid], grid), sensors, grid, settings, Path(work)
        )
        clear = temps.counts.get("clear", 0)
        t2 = time.perf_counter()
        # The assembly's part: each layer as a COG with overviews, under the runtime's GDAL cache bound (as
        # outputs.finish_all writes them; GDAL's default, 5 % of RAM, let the COG driver's cache fill).
        with rasterio.Env(**gdal_options({})):
            for name, path in temps.paths.items():
                copy(path, Path(work) / f"{name}.cog.tif", driver="COG", compress="DEFLATE", num_threads="2")
        t3 = time.perf_counter()
    return {
        "discover_s": t1 - t0,
        "compose_s": t2 - t1,
        "cogs_s": t3 - t2,
        "observations": len(observations),
        "pixels": grid.width * grid.height,
        "clear": clear,
    }


def ard(doc: dict[str, Any], col: int, row: int, size: int) -> dict[str, Any]:
    """Read the tile's window of every band of every scene's ARD COGs; the time and the bytes decoded."""
    t0 = time.perf_counter()
    window = Window(col, row, size, size)
    options = gdal_env_options() | {"VSI_CACHE_SIZE": str(PER_FILE_VSI_CACHE)}
    decoded = 0
    with rasterio.Env(**options):
        for uris in doc["scenes"].values():
            for uri in uris:
                with rasterio.open(uri) as ds:
                    decoded += ds.read(1, window=window, boundless=False).nbytes
    return {"read_s": time.perf_counter() - t0, "decoded_bytes": decoded}


def _utc(iso: str | None) -> Any:
    from datetime import datetime

    if not iso:
        raise SystemExit("a scene without an acquisition time")
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def main(argv: list[str]) -> int:
    mode, path, col, row, size, tmp = argv
    doc = json.loads(Path(path).read_text())
    if mode == "tile":
        result = tile(doc, int(col), int(row), int(size), tmp)
    elif mode == "ard":
        result = ard(doc, int(col), int(row), int(size))
    else:
        raise SystemExit(f"unknown mode {mode!r}; allowed: tile, ard")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
