"""`make bench`, composite part (issue 21): place composites against odc-stac + dask, side by side in one run.

    .venv/bin/python bench/composite_bench.py [--runs N] [--size PX] [--dates N] [--skip-scaling] ...

1. Like with like: the six median reflectance bands of 10 dates x 2 paths (each path 60 % of a 2,000 px AOI
   at 30 m; bench/composite_workload.py) on the AOI grid as a float32 GeoTIFF. Peer: odc-stac 0.5 + dask in
   the bench-only venv `.venv-peer` (`make peer-venv`, bench/peer-requirements.txt), bench/_peer_composite.py.
   Scoresby: bench/_composite_child.py median. Interleaved, medians of --runs; wall and peak RSS per child
   process (bench/_launch.py's os.wait4 ru_maxrss). Targets: wall <= 0.33x, peak RSS <= 0.25x the peer's.
   The two GeoTIFFs are compared pixel by pixel.
2. The full composite step (all assets, COGs, STAC Items) of the places package on the same scenes.
3. Scaling: the median on an AOI 4x larger (2x per side); peak RSS <= 1.1x the smaller's.
4. Incremental and trend: see bench/_composite_child.py's modes (they need the places package's build).

The load average (2 shared cores) is printed next to every figure; nothing fails the build.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import composite_workload as workload  # noqa: E402
from bench.run_bench import Measured, MiB, machine, measure  # noqa: E402
from scoresby.raster.quality import aoi_grid  # noqa: E402

OUT = REPO / "bench-output" / "composite"
PEER_PYTHON = REPO / ".venv-peer" / "bin" / "python"
PEER = REPO / "bench" / "_peer_composite.py"
CHILD = REPO / "bench" / "_composite_child.py"
TARGET_WALL = 0.33
TARGET_RSS = 0.25
TARGET_SCALING = 1.1
TARGET_INCREMENTAL = 1 / 8
COMPOSITES = {
    "period": "year",
    "months": [7, 8, 9],
    "method": "median",
    "change": "first-last",
    "trend": True,
}


def load_text() -> str:
    """The 1, 5 and 15 minute load averages (the machine is shared: say how busy it was)."""
    a, b, c = os.getloadavg()
    return f"load {a:.2f} / {b:.2f} / {c:.2f}"


def spec_of(scenes: list[workload.BenchScene], params: workload.Params) -> dict[str, Any]:
    """The child's input: the scenes, the AOI and the composites option."""
    return {
        "scenes": [{"scene_id": s.scene_id, "folder": s.folder} for s in scenes],
        "aoi": workload.aoi(params),
        "composites": COMPOSITES,
    }


def items_of(scenes: list[workload.BenchScene], params: workload.Params) -> dict[str, Any]:
    """The peer's input: the STAC Item files and the AOI grid (the same grid Scoresby snaps the AOI to)."""
    grid = aoi_grid(workload.aoi(params))
    return {
        "items": [s.item for s in scenes],
        "grid": {
            "crs": grid.crs.to_string(),
            "transform": list(grid.transform)[:6],
            "width": grid.width,
            "height": grid.height,
        },
    }


def verdict(value: float, target: float) -> str:
    """PASS when value <= target, else FAIL; n/a for a missing value."""
    if value != value:
        return "n/a"
    return "PASS" if value <= target else "FAIL"


def compare(a: Path, b: Path) -> dict[str, float]:
    """Two composites, band by band: share of pixels whose NaN mask differs, largest absolute difference."""
    with rasterio.open(a) as da, rasterio.open(b) as db:
        if (da.count, da.width, da.height) != (db.count, db.width, db.height) or da.transform != db.transform:
            raise ValueError(f"{a.name} and {b.name} are not on the same grid")
        mask_diff, max_abs, n = 0, 0.0, 0
        for _, window in da.block_windows(1):
            x, y = da.read(window=window), db.read(window=window)
            nx, ny = np.isnan(x), np.isnan(y)
            mask_diff += int((nx != ny).sum())
            both = ~nx & ~ny
            if both.any():
                max_abs = max(max_abs, float(np.abs(x[both] - y[both]).max()))
            n += x.size
    return {"mask_differs": mask_diff / n, "max_abs_diff": max_abs}


def _run(argv: list[str], what: str) -> Measured:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    m = measure(argv, env=env, cwd=REPO)
    if m.rc != 0:
        raise SystemExit(f"{what} failed (exit {m.rc}): {m.stderr[-3000:]}")
    return m


def _info(m: Measured) -> dict[str, Any]:
    lines = [line for line in m.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def like_with_like(params: workload.Params, runs: int, log: Any = print) -> tuple[list[str], dict[str, Any]]:
    """Peer and Scoresby medians, interleaved; report lines and the figures."""
    scenes = workload.ensure_workload(OUT / f"aoi{params.size}", params, log=log)
    folder = OUT / f"aoi{params.size}"
    (folder / "spec.json").write_text(json.dumps(spec_of(scenes, params)))
    (folder / "items.json").write_text(json.dumps(items_of(scenes, params)))
    peer_ok = PEER_PYTHON.exists()
    sides = ["peer", "scoresby"] if peer_ok else ["scoresby"]
    res: dict[str, list[Measured]] = {s: [] for s in sides}
    loads = []
    info: dict[str, Any] = {}
    for i in range(runs):
        for side in sides:
            if side == "peer":
                argv = [
                    str(PEER_PYTHON),
                    "-W",
                    "ignore",
                    str(PEER),
                    str(folder / "items.json"),
                    str(folder / "peer.tif"),
                ]
            else:
                argv = [
                    sys.executable,
                    str(CHILD),
                    "median",
                    str(folder / "spec.json"),
                    str(folder / "scoresby.tif"),
                ]
            m = _run(argv, side)
            res[side].append(m)
            info[side] = _info(m)
            loads.append(load_text())
            log(
                f"run {i + 1}/{runs} {side:8s}: {m.wall:6.1f} s, peak RSS {m.maxrss / MiB:7.1f} MiB ({loads[-1]})"
            )
    med = {
        s: (statistics.median(m.wall for m in ms), statistics.median(m.maxrss for m in ms))
        for s, ms in res.items()
    }
    sw, sr = med["scoresby"]
    lines = [
        f"like with like: six median bands, {params.size} x {params.size} px AOI, {params.dates} dates x "
        f"{params.paths} paths ({len(scenes)} scenes), medians of {runs} interleaved runs:",
        f"  Scoresby: {sw:6.1f} s, peak RSS {sr / MiB:7.1f} MiB  (core: {info['scoresby'].get('core')})",
        "    phases of the last run: "
        + ", ".join(f"{k} {v:.1f}" for k, v in info["scoresby"].items() if k.endswith("_s")),
    ]
    figs: dict[str, Any] = {"scoresby_wall_s": sw, "scoresby_peak_rss_mib": sr / MiB}
    if peer_ok:
        pw, pr = med["peer"]
        diff = compare(folder / "scoresby.tif", folder / "peer.tif")
        lines += [
            f"  peer (odc-stac + dask): {pw:6.1f} s, peak RSS {pr / MiB:7.1f} MiB",
            "    phases of the last run: "
            + ", ".join(f"{k} {v:.1f}" for k, v in info["peer"].items() if k.endswith("_s")),
            f"  wall Scoresby / peer: {sw / pw:.2f}x (target <= {TARGET_WALL}x: {verdict(sw / pw, TARGET_WALL)})",
            f"  peak RSS Scoresby / peer: {sr / pr:.2f}x (target <= {TARGET_RSS}x: {verdict(sr / pr, TARGET_RSS)})",
            f"  same composite: NaN masks differ on {100 * diff['mask_differs']:.3f} % of the pixels, "
            f"largest difference {diff['max_abs_diff']:.2e} reflectance",
        ]
        figs |= {
            "peer_wall_s": pw,
            "peer_peak_rss_mib": pr / MiB,
            "wall_ratio": sw / pw,
            "rss_ratio": sr / pr,
        }
    else:
        lines.append(f"  peer: not measured ({PEER_PYTHON} missing: run `make peer-venv`)")
    lines.append(f"  {loads[0]} at the start, {loads[-1]} at the end")
    return lines, figs


def scaling(
    params: workload.Params, small_rss: float, runs: int, log: Any = print
) -> tuple[list[str], dict[str, Any]]:
    """The Scoresby median on an AOI 4x larger (2x per side): peak RSS against the smaller AOI's."""
    big = replace(params, size=params.size * 2)
    folder = OUT / f"aoi{big.size}"
    scenes = workload.ensure_workload(folder, big, log=log)
    (folder / "spec.json").write_text(json.dumps(spec_of(scenes, big)))
    ms = []
    for i in range(runs):
        argv = [sys.executable, str(CHILD), "median", str(folder / "spec.json"), str(folder / "scoresby.tif")]
        ms.append(_run(argv, "scoresby 4x"))
        log(
            f"run {i + 1}/{runs} scoresby 4x AOI: {ms[-1].wall:6.1f} s, peak RSS {ms[-1].maxrss / MiB:7.1f} MiB ({load_text()})"
        )
    wall = statistics.median(m.wall for m in ms)
    rss = statistics.median(m.maxrss for m in ms)
    ratio = rss / small_rss
    return [
        f"scaling: AOI {big.size} x {big.size} px (4x the pixels), Scoresby median: {wall:.1f} s, "
        f"peak RSS {rss / MiB:.1f} MiB",
        f"  peak RSS 4x / 1x: {ratio:.2f}x (target <= {TARGET_SCALING}x: {verdict(ratio, TARGET_SCALING)}); {load_text()}",
    ], {"scaling_wall_s": wall, "scaling_peak_rss_mib": rss / MiB, "scaling_rss_ratio": ratio}


def main(argv: list[str] | None = None) -> int:
    """Run the parts, print and save the report (bench-output/composite/results.txt and figures.json)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size", type=int, default=2000, help="AOI side in pixels (default 2000)")
    ap.add_argument("--dates", type=int, default=10)
    ap.add_argument("--skip-scaling", action="store_true")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    params = workload.Params(size=args.size, dates=args.dates)
    lines = [f"composite benchmark on {machine()}", ""]
    part, figs = like_with_like(params, args.runs)
    lines += part
    if not args.skip_scaling:
        part, more = scaling(params, figs["scoresby_peak_rss_mib"] * MiB, args.runs)
        lines += ["", *part]
        figs |= more
    text = "\n".join(lines)
    print("\n" + text)
    (OUT / "results.txt").write_text(text + "\n")
    (OUT / "figures.json").write_text(json.dumps({"load": load_text(), "figures": figs}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
