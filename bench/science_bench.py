"""`make bench`, science part: what the statistics cost, and how fast a 200-scene time series builds.

Not a timed test: it measures in the same run and prints ratios.

    .venv/bin/python bench/science_bench.py [--runs N] [--scale S] [--scenes N]

1. Statistics: the full-size Landsat 8 L2 scene of the main benchmark (scoresby/demo/fullsize.py) plus a
   QA_PIXEL band this script writes (a folder of hard links beside the cached scene), built with
   true_color, false_color_ice and ndvi: `with` is the builder as it is (the statistics read SR_B6 and
   QA_PIXEL in the same pass and count every window), `without` switches the statistics off
   (bench/_science_child.py), `reads` reads the extra bands but counts nothing. Interleaved runs,
   medians, wall time and peak RSS per run.
2. Time series: N scenes (default 200) of 4 places, each a 1,024 px true-colour COG with overviews and a
   STAC Item; `update_timeseries` (CSV, chart, a GIF per place from the COGs' overviews) timed in-process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.run_bench import MiB, measure  # noqa: E402
from scoresby.core.task_log import SUCCEEDED, TaskRecord  # noqa: E402
from scoresby.demo import fullsize  # noqa: E402

OUT = REPO / "bench-output"
TARGET_STATS_OVERHEAD = 0.10
CHILD = Path(__file__).resolve().parent / "_science_child.py"


def scene_with_qa(scene: fullsize.GeneratedScene) -> Path:
    """A folder of hard links to the cached scene's files plus a QA_PIXEL band (clouds in bands of rows).

    Hard links, not symlinks: discovery refuses a link to a file outside the scene folder.
    """
    size = f"{scene.params.width}x{scene.params.height}"
    folder = OUT / "scenes" / f"{size}-qa" / scene.scene_id
    folder.mkdir(parents=True, exist_ok=True)
    for f in scene.folder.iterdir():
        link = folder / f.name
        if link.is_symlink():  # left by an earlier version of this script
            link.unlink()
        if not link.exists():
            link.hardlink_to(f.resolve())
    qa_path = folder / f"{scene.scene_id}_QA_PIXEL.TIF"
    if qa_path.exists():
        return folder
    with rasterio.open(scene.bands[4]) as ref:
        profile = ref.profile | {"nodata": 1}
        with rasterio.open(qa_path, "w", **profile) as dst:
            for _, window in ref.block_windows(1):
                valid = ref.read(1, window=window) != 0
                rows = np.arange(window.row_off, window.row_off + window.height)[:, None]
                cols = np.arange(window.col_off, window.col_off + window.width)[None, :]
                cloudy = ((rows // 700 + cols // 900) % 4) == 0
                qa = np.where(cloudy, 22280, 21824).astype(np.uint16)
                dst.write(np.where(valid, qa, 1).astype(np.uint16), 1, window=window)
    return folder


def bench_statistics(runs: int, scale: float) -> list[str]:
    """Interleaved builds with and without the statistics; lines of the report."""
    scene = fullsize.ensure_scene(fullsize.params_for(scale), log=print)
    folder = scene_with_qa(scene)
    out = OUT / "science"
    out.mkdir(parents=True, exist_ok=True)
    variants = ("without", "reads", "with")
    walls: dict[str, list[float]] = {v: [] for v in variants}
    rss: dict[str, list[int]] = {v: [] for v in variants}
    for i in range(runs):
        for variant in variants:
            m = measure([sys.executable, str(CHILD), variant, str(folder), str(out)], cwd=REPO)
            if m.rc != 0:
                raise SystemExit(f"{variant} run failed: {m.stderr[-2000:]}")
            walls[variant].append(m.wall)
            rss[variant].append(m.maxrss)
            print(f"run {i + 1}/{runs} {variant:7s}: {m.wall:6.1f} s, peak RSS {m.maxrss / MiB:6.1f} MiB")
    w0, w1 = statistics.median(walls["without"]), statistics.median(walls["with"])
    wr = statistics.median(walls["reads"])
    r0, r1 = statistics.median(rss["without"]), statistics.median(rss["with"])
    ratio = w1 / w0
    verdict = "ok" if ratio - 1 < TARGET_STATS_OVERHEAD else "OVER TARGET"
    return [
        f"statistics, {scene.params.width} x {scene.params.height} px, {runs} interleaved runs (median):",
        f"  without statistics: {w0:6.1f} s, peak RSS {r0 / MiB:6.1f} MiB",
        f"  reads only:         {wr:6.1f} s  (SR_B6 and QA_PIXEL read in the pass, nothing counted)",
        f"  with statistics:    {w1:6.1f} s, peak RSS {r1 / MiB:6.1f} MiB",
        f"  ratio with/without: wall {ratio:.3f}x (target < {1 + TARGET_STATS_OVERHEAD:.2f}x: {verdict}), "
        f"RSS {r1 / r0:.3f}x",
    ]


def make_series(root: Path, n: int) -> list[TaskRecord]:
    """N scenes (4 places) as a run folder of true-colour COGs and STAC Items; their task-log records."""
    size, places = 1024, 4
    rng = np.random.default_rng(12)
    base = (rng.random((3, size // 16, size // 16)) * 200 + 30).astype(np.uint8)
    records = []
    for i in range(n):
        place, k = f"wrs2-00000{i % places}", i // places
        scene_id = f"SERIES_{i % places}_{k:03d}"
        folder = root / scene_id
        folder.mkdir(parents=True, exist_ok=True)
        cog = folder / f"{scene_id}_true_color.tif"
        transform = from_origin(400000 + 50000 * (i % places), 7900000, 30, 30)
        if not cog.exists():
            data = np.kron(base, np.ones((1, 16, 16), dtype=np.uint8))
            data[:, : 8 * k, :200] = 250  # something that changes
            profile = {
                "driver": "COG",
                "width": size,
                "height": size,
                "count": 3,
                "dtype": "uint8",
                "crs": "EPSG:32624",
                "transform": transform,
                "nodata": 0,
                "blocksize": 512,
                "overview_resampling": "average",
                "compress": "deflate",
            }
            with rasterio.open(cog, "w", **profile) as dst:
                dst.write(data)
        when = datetime(2000, 7, 1, tzinfo=UTC) + timedelta(days=16 * k)
        item = {
            "type": "Feature",
            "id": scene_id,
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-41, 71], [-40.5, 71], [-40.5, 71.3], [-41, 71]]],
            },
            "properties": {
                "datetime": when.isoformat().replace("+00:00", "Z"),
                "platform": "landsat-8",
                "proj:code": "EPSG:32624",
                "proj:shape": [size, size],
                "proj:transform": list(transform)[:6],
                "scoresby:place": place,
                "scoresby:stats": {
                    "cloud_percent": float(rng.random() * 60),
                    "snow_ice_percent": 30.0 - k * 0.2,
                    "water_percent": 10.0 + k * 0.1,
                    "valid_percent": 100.0,
                },
            },
        }
        (folder / f"{scene_id}.json").write_text(json.dumps(item))
        records.append(TaskRecord("series", scene_id, SUCCEEDED, outputs={"true_color": str(cog)}))
    return records


def bench_timeseries(n: int) -> list[str]:
    """Time update_timeseries on an N-scene run folder; lines of the report."""
    from scoresby.commands.timeseries import update_timeseries

    root = OUT / f"series{n}" / "series"
    t0 = time.perf_counter()
    records = make_series(root, n)
    made = time.perf_counter() - t0
    t0 = time.perf_counter()
    info = update_timeseries(str(root), records, {"max_cloud": 40})
    took = time.perf_counter() - t0
    frames = sum(1 for r in (info or {}).get("rows", []) if (r.get("cloud_percent") or 0) <= 40)
    places = len((info or {}).get("timelapses", {}))
    return [
        f"time series of {n} scenes ({places} places, {frames} frames; inputs made in {made:.0f} s):",
        f"  update_timeseries: {took:.1f} s ({1000 * took / n:.0f} ms per scene; CSV, chart, GIFs)",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="scene scale per axis (default 1: full size)")
    ap.add_argument("--scenes", type=int, default=200, help="scenes of the time-series benchmark")
    args = ap.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    lines = bench_timeseries(args.scenes) + [""] + bench_statistics(args.runs, args.scale)
    text = "\n".join(lines)
    print("\n" + text)
    (OUT / "science-results.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
