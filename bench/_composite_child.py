"""One measured Scoresby composite step for bench/composite_bench.py (a child process: its own peak RSS).

    python bench/_composite_child.py median SPEC.json OUT.tif   # six median bands on the AOI grid
    python bench/_composite_child.py full SPEC.json RUN_DIR     # build_place_products: every asset and Item
    python bench/_composite_child.py trend TREND.json -         # Theil-Sen / Mann-Kendall over N periods

SPEC.json is a scene list ({"scenes", "aoi", "products", "composites"}). `median` is the like-with-like
figure against the odc-stac peer, made of the places package's own parts: discovery, SceneReader (direct
window reads on the AOI's lattice), one observation per sensor and solar day (observations.group/merge), the
median (composite.reduce), 512 px blocks (compose.BLOCK_PX), a float32 GeoTIFF written block by block; what
compose._block does besides (classes, frequencies, indices, visuals) is left out, as the peer does not do it.
`trend` feeds trend.theil_sen_mann_kendall synthetic composites (an index falling 0.002 a year plus noise,
10 % of the values missing) block by block, `blocks` 512 px blocks of a width x height AOI (0: all).
Each mode prints its phases' seconds as JSON on the last line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scoresby.core.scene_list import parse_scene_list  # noqa: E402
from scoresby.discovery.discover import discover_scene  # noqa: E402
from scoresby.places.build import build_place_products  # noqa: E402
from scoresby.places.compose import BLOCK_PX  # noqa: E402
from scoresby.places.composite import reduce  # noqa: E402
from scoresby.places.observations import SceneDate, group, merge  # noqa: E402
from scoresby.places.reader import SceneReader  # noqa: E402
from scoresby.places.sensor_view import ROLES  # noqa: E402
from scoresby.places.trend import theil_sen_mann_kendall  # noqa: E402
from scoresby.raster.bands import temp_profile  # noqa: E402
from scoresby.raster.quality import aoi_grid  # noqa: E402


def median(spec: dict[str, Any], out: str) -> dict[str, Any]:
    """The six median reflectance bands on the AOI grid as a float32 GeoTIFF; the phases' seconds."""
    t0 = time.perf_counter()
    plan = parse_scene_list(spec)
    grid = aoi_grid(spec["aoi"])
    found = {s.scene_id: discover_scene(s) for s in plan.scenes}
    lon = (spec["aoi"]["bbox"][0] + spec["aoi"]["bbox"][2]) / 2
    dates = [SceneDate(f.scene_id, f.sensor, _utc(f.datetime)) for f in found.values()]
    observations = group(dates, lon)
    readers = {sid: SceneReader(f, grid) for sid, f in found.items()}
    phases = {"setup_s": time.perf_counter() - t0, "read_s": 0.0, "reduce_s": 0.0, "write_s": 0.0}
    # As the peer writes it: float32, 512 px tiles, DEFLATE.
    profile = temp_profile(grid, len(ROLES), "float32", float("nan")) | {
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
        "interleave": "pixel",
    }
    with rasterio.open(out, "w", **profile) as dst:
        for window in grid.windows(BLOCK_PX, BLOCK_PX):
            t = time.perf_counter()
            refls = []
            for obs in observations:
                parts = [got for sid in obs.scene_ids if (got := readers[sid].read(window)) is not None]
                if parts:
                    refl, clear = merge(parts)
                    if clear.any():
                        refls.append(refl)
            shape = (len(refls), len(ROLES), int(window.height), int(window.width))
            stack = np.stack(refls) if refls else np.empty(shape, dtype=np.float32)
            del refls
            t1 = time.perf_counter()
            values = reduce(stack, "median", None)
            del stack
            t2 = time.perf_counter()
            dst.write(values, window=window)
            t3 = time.perf_counter()
            phases["read_s"] += t1 - t
            phases["reduce_s"] += t2 - t1
            phases["write_s"] += t3 - t2
    for r in readers.values():
        r.close()
    return phases | {"observations": len(observations), "block_px": BLOCK_PX}


def _utc(iso: str | None) -> Any:
    from datetime import datetime

    if not iso:
        raise SystemExit("a scene without an acquisition time")
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def full(spec: dict[str, Any], run_dir: str) -> dict[str, Any]:
    """The places package's whole step (every asset, COGs, quicklooks, Items, places.csv), as after a run."""
    t0 = time.perf_counter()
    plan = parse_scene_list(spec)
    result = build_place_products(plan.scenes, plan.composites or {}, run_dir)
    return {
        "total_s": time.perf_counter() - t0,
        "made": len(result.made),
        "items": len(result.items),
        "notes": result.notes[:3],
    }


def synthetic_block(periods: int, shape: tuple[int, int], seed: int) -> np.ndarray:
    """(periods, h, w) float32 index composites: 0.3 - 0.002 per year + noise, 10 % missing (NaN)."""
    rng = np.random.default_rng(seed)
    years = np.arange(periods, dtype=np.float32)[:, None, None]
    values = 0.3 - 0.002 * years + rng.normal(0, 0.03, (periods, *shape)).astype(np.float32)
    values[rng.random(values.shape) < 0.1] = np.nan
    return values.astype(np.float32)


def trend(spec: dict[str, Any]) -> dict[str, Any]:
    """theil_sen_mann_kendall over synthetic composites, block by block; seconds and pixels done."""
    periods, width, height = int(spec["periods"]), int(spec["width"]), int(spec["height"])
    times = 1985.0 + np.arange(periods, dtype=np.float64)
    windows = [(r, c) for r in range(0, height, BLOCK_PX) for c in range(0, width, BLOCK_PX)]
    limit = int(spec.get("blocks", 0)) or len(windows)
    done_px, t_make, t_trend = 0, 0.0, 0.0
    for k, (r, c) in enumerate(windows[:limit]):
        shape = (min(BLOCK_PX, height - r), min(BLOCK_PX, width - c))
        t = time.perf_counter()
        values = synthetic_block(periods, shape, k)
        t1 = time.perf_counter()
        slope, _p = theil_sen_mann_kendall(values, times)
        t_trend += time.perf_counter() - t1
        t_make += t1 - t
        done_px += shape[0] * shape[1]
        if not np.nanmean(slope) < 0:
            raise SystemExit("the synthetic trend was not found")
    return {"trend_s": t_trend, "make_s": t_make, "pixels": done_px, "all_pixels": width * height}


def main(mode: str, spec_path: str, out: str) -> int:
    """Run one mode and print its JSON."""
    spec = json.loads(Path(spec_path).read_text())
    if mode == "median":
        info = median(spec, out)
    elif mode == "full":
        info = full(spec, out)
    else:
        info = trend(spec)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
