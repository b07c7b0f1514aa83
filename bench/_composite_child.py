"""One measured Scoresby composite step for bench/composite_bench.py (a child process: its own peak RSS).

    python bench/_composite_child.py median SPEC.json OUT.tif   # six median bands on the AOI grid
    python bench/_composite_child.py full SPEC.json RUN_DIR     # build_place_products: every asset and Item
    python bench/_composite_child.py trend TREND.json -         # Theil-Sen / Mann-Kendall over N periods

SPEC.json is a scene list ({"scenes", "aoi", "products", "composites"}). `median` is the like-with-like
figure against the odc-stac peer, made of the places package's own parts: discovery, one observation per
sensor and solar day (observations.group), compose's per-block reading (_Composer.parts: SceneReader's
windowed uint16 reads on the AOI lattice, merged, handed on STACK_PX at a time) and the median
(held.Part.composite: composite.reduce_dn on the DN where one sensor's map serves, else composite.reduce
on the float32 stack), run over compose.BLOCK_PX blocks in blocks.run_blocks' threads under the places' GDAL
cache bound, a float32 GeoTIFF written block by block; what
compose does besides (classes, frequencies, indices, visuals) is left out, as the peer does not do it.
`trend` feeds trend.theil_sen_mann_kendall synthetic composites (an index falling 0.002 a year plus noise,
10 % of the values missing) over make_trend's blocks (makers.TREND_BLOCK_PX) in blocks.run_blocks' threads,
the first `blocks` blocks of a width x height AOI (0: all); the time of making the synthetic blocks is taken
out (the real step reads the composites' COGs instead).
Each mode prints its phases' seconds as JSON on the last line.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scoresby.core.scene_list import parse_scene_list  # noqa: E402
from scoresby.discovery.discover import discover_scene  # noqa: E402
from scoresby.places.blocks import (  # noqa: E402
    BLOCK_THREADS,
    TREND_MMAP_THRESHOLD,
    place_gdal_options,
    run_blocks,
    steady_malloc,
)
from scoresby.places.compose import BLOCK_PX, ComposeSettings, _Composer  # noqa: E402
from scoresby.places.observations import SceneDate, group  # noqa: E402
from scoresby.places.reader import SceneReader  # noqa: E402
from scoresby.places.sensor_view import ROLES  # noqa: E402
from scoresby.places.trend import theil_sen_mann_kendall  # noqa: E402
from scoresby.raster.bands import temp_profile  # noqa: E402
from scoresby.raster.quality import aoi_grid  # noqa: E402


class _MedianWork:
    """compose's per-block work cut down to what the peer does: observations, then the median only."""

    def __init__(self, composer: _Composer) -> None:
        self.composer = composer
        self.lock = threading.Lock()
        self.read_s = self.reduce_s = 0.0  # summed over the threads

    def close_thread(self) -> None:
        """Close this thread's readers."""
        self.composer.close_thread()

    def block(self, window: Window) -> tuple[Window, np.ndarray]:
        """The six median bands of one block."""
        t0 = time.perf_counter()
        inside = np.ones((int(window.height), int(window.width)), dtype=bool)
        values = np.empty((len(ROLES), *inside.shape), dtype=np.float32)
        read_s = reduce_s = 0.0
        for part, observed in self.composer.parts(window, inside):
            t1 = time.perf_counter()
            values[(slice(None), *part)] = observed.composite("median", None)
            t2 = time.perf_counter()
            read_s, reduce_s = read_s + t1 - t0, reduce_s + t2 - t1
            t0 = t2
        with self.lock:
            self.read_s += read_s
            self.reduce_s += reduce_s
        return window, values


def median(spec: dict[str, Any], out: str) -> dict[str, Any]:
    """The six median reflectance bands on the AOI grid as a float32 GeoTIFF; the phases' seconds."""
    t0 = time.perf_counter()
    plan = parse_scene_list(spec)
    grid = aoi_grid(spec["aoi"])
    found = {s.scene_id: discover_scene(s) for s in plan.scenes}
    lon = (spec["aoi"]["bbox"][0] + spec["aoi"]["bbox"][2]) / 2
    dates = [SceneDate(f.scene_id, f.sensor, _utc(f.datetime)) for f in found.values()]
    observations = group(dates, lon)
    settings = ComposeSettings("median", None, False, [])
    sensors = {sid: f.sensor for sid, f in found.items()}
    composer = _Composer(observations, lambda sid: SceneReader(found[sid], grid), sensors, grid, settings)
    work = _MedianWork(composer)
    # As the peer writes it (float32, DEFLATE), in tiles of the blocks' size: a 512 px tile written in
    # four 256 px parts would be held in GDAL's cache until complete, which is the bench's doing.
    profile = temp_profile(grid, len(ROLES), "float32", float("nan")) | {
        "blockxsize": BLOCK_PX,
        "blockysize": BLOCK_PX,
        "compress": "deflate",
        "interleave": "pixel",
    }
    write_s = [0.0]
    setup_s = time.perf_counter() - t0
    with rasterio.Env(**place_gdal_options()), rasterio.open(out, "w", **profile) as dst:

        def write(done: tuple[Window, np.ndarray]) -> None:
            t = time.perf_counter()
            dst.write(done[1], window=done[0])
            write_s[0] += time.perf_counter() - t

        run_blocks(work, list(grid.windows(BLOCK_PX, BLOCK_PX)), write)
    return {
        "cpu_s": cpu_seconds(),
        "setup_s": setup_s,
        "read_s": work.read_s,  # summed over the block threads
        "reduce_s": work.reduce_s,
        "write_s": write_s[0],
        "observations": len(observations),
        "block_px": BLOCK_PX,
        "threads": BLOCK_THREADS,
    }


def _utc(iso: str | None) -> Any:
    from datetime import datetime

    if not iso:
        raise SystemExit("a scene without an acquisition time")
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


MAKERS = ("composite", "change", "trend")
"""build.py's make_<kind> steps whose seconds `full` reports (the rest: inventory, manifest, places.csv)."""


def full(spec: dict[str, Any], run_dir: str) -> dict[str, Any]:
    """The places package's whole step (every asset, COGs, quicklooks, Items, places.csv), as after a run.

    Besides the step's seconds: those of each kind of product made (build.make_<kind>) and the rest.
    """
    # Imported here, not at the top: the products' makers bring matplotlib (quicklooks), about 0.45 s of
    # imports that the `median` mode, timed against the peer, does not use.
    import scoresby.places.build as build_module

    t0 = time.perf_counter()
    spent = dict.fromkeys(MAKERS, 0.0)
    originals = {k: getattr(build_module, f"make_{k}") for k in MAKERS if hasattr(build_module, f"make_{k}")}

    def timed(kind: str, step: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return step(*args, **kwargs)
            finally:
                spent[kind] += time.perf_counter() - t

        return run

    for kind, step in originals.items():
        setattr(build_module, f"make_{kind}", timed(kind, step))
    try:
        plan = parse_scene_list(spec)
        result = build_module.build_place_products(plan.scenes, plan.composites or {}, run_dir)
    finally:
        for kind, step in originals.items():
            setattr(build_module, f"make_{kind}", step)
    total = time.perf_counter() - t0
    return {
        "total_s": total,
        "cpu_s": cpu_seconds(),
        **{f"{k}_s": v for k, v in spent.items()},
        "rest_s": total - sum(spent.values()),
        "made": len(result.made),
        "items": len(result.items),
        "notes": result.notes[:3],
    }


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far, every thread, the imports included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def synthetic_block(periods: int, shape: tuple[int, int], seed: int) -> np.ndarray:
    """(periods, h, w) float32 index composites: 0.3 - 0.002 per year + noise, 10 % missing (NaN)."""
    rng = np.random.default_rng(seed)
    years = np.arange(periods, dtype=np.float32)[:, None, None]
    values = 0.3 - 0.002 * years + rng.normal(0, 0.03, (periods, *shape)).astype(np.float32)
    values[rng.random(values.shape) < 0.1] = np.nan
    return values.astype(np.float32)


class _TrendWork:
    """make_trend's per-block step on synthetic composites: theil_sen_mann_kendall of one index."""

    def __init__(self, periods: int) -> None:
        self.periods = periods
        self.times = 1985.0 + np.arange(periods, dtype=np.float64)
        steady_malloc(TREND_MMAP_THRESHOLD)  # as make_trend's _TrendWork
        self.lock = threading.Lock()
        self.make_s = self.trend_s = 0.0  # summed over the threads

    def close_thread(self) -> None:
        """Nothing is opened."""

    def block(self, window: Window) -> int:
        """Slope and p of one block; its pixel count."""
        shape = (int(window.height), int(window.width))
        t0 = time.perf_counter()
        values = synthetic_block(self.periods, shape, int(window.row_off * 7919 + window.col_off))
        t1 = time.perf_counter()
        slope, _p = theil_sen_mann_kendall(values, self.times)
        t2 = time.perf_counter()
        if not np.nanmean(slope) < 0:
            raise RuntimeError("the synthetic trend was not found")
        with self.lock:
            self.make_s += t1 - t0
            self.trend_s += t2 - t1
        return shape[0] * shape[1]


def trend(spec: dict[str, Any]) -> dict[str, Any]:
    """The trend step over synthetic composites, make_trend's blocks in its threads; seconds and pixels."""
    from scoresby.places.makers import TREND_BLOCK_PX

    periods, width, height = int(spec["periods"]), int(spec["width"]), int(spec["height"])
    windows = [
        Window(c, r, min(TREND_BLOCK_PX, width - c), min(TREND_BLOCK_PX, height - r))
        for r in range(0, height, TREND_BLOCK_PX)
        for c in range(0, width, TREND_BLOCK_PX)
    ]
    limit = int(spec.get("blocks", 0)) or len(windows)
    work = _TrendWork(periods)
    done = [0]
    t0 = time.perf_counter()
    run_blocks(work, windows[:limit], lambda n: done.__setitem__(0, done[0] + n))
    wall = time.perf_counter() - t0
    # wall without making the synthetic blocks (which the real step does not do; it reads COGs instead)
    step = wall * work.trend_s / (work.trend_s + work.make_s)
    return {
        "step_s": step,
        "wall_s": wall,
        "make_s": work.make_s,
        "pixels": done[0],
        "all_pixels": width * height,
    }


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
