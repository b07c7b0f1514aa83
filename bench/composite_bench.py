"""`make bench`, composite part (issue 21): place composites against odc-stac + dask, side by side in one run.

    .venv/bin/python bench/composite_bench.py [--runs N] [--size PX] [--skip-scaling] [--trend-blocks N] ...

1. Like with like: the six median reflectance bands of 10 dates x 2 paths (each path 60 % of a 2,000 px AOI
   at 30 m; bench/composite_workload.py) on the AOI grid as a float32 GeoTIFF. Peer: odc-stac 0.5 + dask in
   the bench-only venv `.venv-peer` (`make peer-env`, bench/peer-requirements.txt), bench/_peer_composite.py.
   Scoresby: the places package's reader, observations and reduce (bench/_composite_child.py median).
   Interleaved, medians of --runs; wall and peak RSS of each child process (bench/_launch.py: os.wait4's
   ru_maxrss). Targets: wall <= 0.33x, peak RSS <= 0.25x the peer's. The two GeoTIFFs are compared.
2. The full composite step (build_place_products: every asset, COGs, quicklooks, Items) on the same scenes.
3. Scaling: the median on an AOI 4x larger (2x per side); peak RSS <= 1.1x the smaller's.
4. Incremental: a 12-summer place (2, 8 and 32 scenes a summer; the dense one on a 1,000 and a 2,000 px AOI,
   the like-with-like AOI's size); adding its last scene to the place made without it, against making the
   place from scratch (<= 1/8). Beside it, the same add with the composite and trend
   made whole (places/reuse.py's partial remake off): what the partial remake saves. Then the issue's own
   workload as a 12-summer place ("issue"): part 1's AOI and its 10 dates x 2 paths each summer, 8 days apart.
5. Trend: theil_sen_mann_kendall over 40 periods of synthetic composites, 512 px blocks of the Scoresby Sund
   AOI (7,300 x 5,600 px); --trend-blocks N times N blocks and scales the time to the whole AOI (0: all).

The load average (2 shared cores) is printed next to every figure; nothing fails the build.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from collections.abc import Callable
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
PRODUCTS = ["true_color", "false_color_ice", "ndsi", "ndvi"]
COMPOSITES = {"period": "year", "months": [7, 8, 9], "method": "median", "change": "first-last"}
SUND = (7300, 5600)  # the Scoresby Sund AOI at 30 m, px
Log = Callable[[str], None]


def load_text() -> str:
    """The 1, 5 and 15 minute load averages (the machine is shared: say how busy it was)."""
    a, b, c = os.getloadavg()
    return f"load {a:.2f} / {b:.2f} / {c:.2f}"


def spec_of(scenes: list[workload.BenchScene], params: workload.Params) -> dict[str, Any]:
    """The Scoresby side's input: a scene list with the AOI, the products and the composites option."""
    return {
        "run_name": "bench",
        "scenes": [{"scene_id": s.scene_id, "source": s.folder} for s in scenes],
        "aoi": workload.aoi(params),
        "products": PRODUCTS,
        "composites": COMPOSITES,
    }


def items_of(scenes: list[workload.BenchScene], params: workload.Params) -> dict[str, Any]:
    """The peer's input: the STAC Item files and the AOI grid (the grid Scoresby snaps the AOI to)."""
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
    """PASS when value <= target, else FAIL; n/a for a missing value (NaN)."""
    if value != value:
        return "n/a"
    return "PASS" if value <= target else "FAIL"


def ratio_line(what: str, value: float, target: float) -> str:
    """`  what: 0.31x (target <= 0.33x: PASS)`."""
    return f"  {what}: {value:.2f}x (target <= {target:.3g}x: {verdict(value, target)})"


def phases(info: dict[str, Any]) -> str:
    """The `*_s` entries of a child's JSON, as `name 1.2 s, ...`."""
    return ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in info.items() if k.endswith("_s"))


def compare(a: Path, b: Path) -> dict[str, float]:
    """Two composites, block by block: share of values whose NaN mask differs, largest absolute difference."""
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


def child_info(m: Measured) -> dict[str, Any]:
    """The JSON a child printed on its last `{` line ({} when none)."""
    lines = [line for line in m.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def _run(argv: list[str], what: str) -> Measured:
    m = measure(argv, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO)
    if m.rc != 0:
        raise SystemExit(f"{what} failed (exit {m.rc}): {m.stderr[-3000:]}")
    return m


def _child(mode: str, spec: Path, out: Path) -> list[str]:
    return [sys.executable, str(CHILD), mode, str(spec), str(out)]


def _prepare(params: workload.Params, log: Log) -> tuple[Path, list[workload.BenchScene]]:
    passes = f"x{params.per_date}" if params.per_date > 1 else ""
    revisit = f"-r{params.revisit_days}" if params.revisit_days != 16 else ""
    folder = OUT / f"aoi{params.size}-{params.dates}{passes}x{params.paths}-{params.step_days}d{revisit}"
    scenes = workload.ensure_workload(folder, params, log=log)
    (folder / "spec.json").write_text(json.dumps(spec_of(scenes, params)))
    (folder / "items.json").write_text(json.dumps(items_of(scenes, params)))
    return folder, scenes


def like_with_like(
    params: workload.Params, runs: int, log: Log = print
) -> tuple[list[str], dict[str, float]]:
    """Peer and Scoresby medians, interleaved; the report's lines and the figures."""
    folder, scenes = _prepare(params, log)
    sides = ["peer", "scoresby"] if PEER_PYTHON.exists() else ["scoresby"]
    argv = {
        "peer": [
            str(PEER_PYTHON),
            "-W",
            "ignore",
            str(PEER),
            str(folder / "items.json"),
            str(folder / "peer.tif"),
        ],
        "scoresby": _child("median", folder / "spec.json", folder / "scoresby.tif"),
    }
    res: dict[str, list[Measured]] = {s: [] for s in sides}
    loads = [load_text()]
    for i in range(runs):
        for side in sides:
            res[side].append(m := _run(argv[side], side))
            loads.append(load_text())
            log(
                f"run {i + 1}/{runs} {side:8s}: {m.wall:6.1f} s, peak RSS {m.maxrss / MiB:7.1f} MiB "
                f"({loads[-1]})"
            )
    wall = {s: statistics.median(m.wall for m in ms) for s, ms in res.items()}
    rss = {s: statistics.median(m.maxrss for m in ms) for s, ms in res.items()}
    lines = [
        f"like with like: six median bands on a {params.size} x {params.size} px AOI, {params.dates} dates x "
        f"{params.paths} paths ({len(scenes)} scenes), medians of {runs} interleaved runs:",
        f"  Scoresby (places reader + reduce): {wall['scoresby']:6.1f} s, "
        f"peak RSS {rss['scoresby'] / MiB:7.1f} MiB",
        f"    last run: {phases(child_info(res['scoresby'][-1]))}",
    ]
    figs = {"median_scoresby_wall_s": wall["scoresby"], "median_scoresby_peak_rss_mib": rss["scoresby"] / MiB}
    if "peer" in res:
        diff = compare(folder / "scoresby.tif", folder / "peer.tif")
        w, r = wall["scoresby"] / wall["peer"], rss["scoresby"] / rss["peer"]
        lines += [
            f"  peer (odc-stac + dask):            {wall['peer']:6.1f} s, "
            f"peak RSS {rss['peer'] / MiB:7.1f} MiB",
            f"    last run: {phases(child_info(res['peer'][-1]))}",
            ratio_line("wall Scoresby / peer", w, TARGET_WALL),
            ratio_line("peak RSS Scoresby / peer", r, TARGET_RSS),
            f"  same composite: NaN masks differ on {100 * diff['mask_differs']:.3f} % of the values, "
            f"largest difference {diff['max_abs_diff']:.2e} (reflectance)",
        ]
        figs |= {"median_peer_wall_s": wall["peer"], "median_peer_peak_rss_mib": rss["peer"] / MiB}
        figs |= {"median_wall_ratio": w, "median_rss_ratio": r}
    else:
        lines.append(f"  peer: not measured ({PEER_PYTHON} missing: run `make peer-env`)")
    lines.append(f"  {loads[0]} before, {loads[-1]} after")
    return lines, figs


def full_step(params: workload.Params, log: Log = print) -> tuple[list[str], dict[str, float]]:
    """build_place_products on the like-with-like scenes, from scratch: every asset, COG and Item."""
    folder, _ = _prepare(params, log)
    run_dir = folder / "places-run"
    shutil.rmtree(run_dir, ignore_errors=True)
    m = _run(_child("full", folder / "spec.json", run_dir), "full composite step")
    info = child_info(m)
    log(f"full composite step: {m.wall:.1f} s, peak RSS {m.maxrss / MiB:.1f} MiB ({load_text()})")
    return [
        f"full composite step (build_place_products, products {', '.join(PRODUCTS)}; composite COGs + "
        f"quicklooks + Item, places.csv; {info.get('made')} Items made): {m.wall:.1f} s, "
        f"peak RSS {m.maxrss / MiB:.1f} MiB; {load_text()}",
    ], {"full_step_wall_s": m.wall, "full_step_peak_rss_mib": m.maxrss / MiB}


def scaling(
    params: workload.Params, small_rss: float, log: Log = print
) -> tuple[list[str], dict[str, float]]:
    """The Scoresby median on an AOI 4x larger (2x per side): peak RSS against the smaller AOI's."""
    big = replace(params, size=params.size * 2)
    folder, _ = _prepare(big, log)
    m = _run(_child("median", folder / "spec.json", folder / "scoresby.tif"), "scoresby 4x")
    ratio = m.maxrss / small_rss
    return [
        f"scaling: AOI {big.size} x {big.size} px (4x the pixels), Scoresby median: {m.wall:.1f} s, "
        f"peak RSS {m.maxrss / MiB:.1f} MiB (1x: {small_rss / MiB:.1f} MiB); {load_text()}",
        ratio_line("peak RSS 4x AOI / 1x AOI", ratio, TARGET_SCALING),
    ], {"scaling_peak_rss_mib": m.maxrss / MiB, "scaling_rss_ratio": ratio}


DENSE = (4, 8, 8)
"""The dense 12-summer place: 4 paths x 8 passes 8 days apart (Landsat 8 and 9) = 32 scenes a summer, as
the issue's place (30-60 observations a summer), all within months 7-9."""
ISSUE_REVISIT = 8
"""Days between passes of the issue's workload over 12 summers: its 10 dates of each path fit in months 7-9
only at Landsat 8 and 9's combined revisit."""


def place_params(size: int, passes: int, paths: int, revisit: int) -> workload.Params:
    """A 12-summer place's workload: `passes` passes of each of `paths` paths a summer, from 10 July."""
    return workload.Params(
        size=size,
        dates=12,
        paths=paths,
        first="2009-07-10",
        step_days=365,
        per_date=passes,
        revisit_days=revisit,
    )


def incremental(
    size: int,
    passes: int,
    log: Log = print,
    *,
    paths: int = 2,
    revisit: int = 16,
    runs: int = 1,
    density: str = "the bench's choice; the issue's place has 30-60 observations a summer",
) -> tuple[list[str], dict[str, float]]:
    """A 12-summer place: from scratch, and adding its last scene to the place made without it.

    `passes` summer passes of each of the `paths` paths a year, `revisit` days apart (scenes per summer =
    paths x passes). 1 pass of 2 paths (2 scenes a summer) is the first, smallest workload; DENSE the
    issue's density. The place without its last scene is made once; then `runs` times, interleaved, the
    place from scratch and the last scene added to a copy of it: medians.
    """
    params = place_params(size, passes, paths, revisit)
    folder, scenes = _prepare(params, log)
    full_spec = spec_of(scenes, params)
    base_spec = spec_of(scenes[:-1], params)
    (folder / "base.json").write_text(json.dumps(base_spec))
    scratch_dir, base_dir, inc_dir = folder / "scratch-run", folder / "base-run", folder / "incremental-run"
    for d in (scratch_dir, base_dir, inc_dir):
        shutil.rmtree(d, ignore_errors=True)
    base = _run(_child("full", folder / "base.json", base_dir), "place without its last scene")
    log(f"12 summers without the last scene: {base.wall:.1f} s ({load_text()})")
    scratches, addeds, wholes = [], [], []
    for _ in range(runs):
        shutil.rmtree(scratch_dir, ignore_errors=True)
        os.sync()  # the previous run's files written back now, not during this one
        scratches.append(_run(_child("full", folder / "spec.json", scratch_dir), "place from scratch"))
        log(f"12 summers from scratch: {scratches[-1].wall:.1f} s ({load_text()})")
        shutil.rmtree(inc_dir, ignore_errors=True)
        shutil.copytree(base_dir, inc_dir)
        os.sync()
        addeds.append(_run(_child("full", folder / "spec.json", inc_dir), "adding one scene"))
        log(f"adding one scene: {addeds[-1].wall:.1f} s ({load_text()})")
        # The baseline of the partial remake (places/reuse.py): the same add with the manifest's record of
        # what each product was made from taken out, so the composite and trend are made whole.
        shutil.rmtree(inc_dir, ignore_errors=True)
        shutil.copytree(base_dir, inc_dir)
        forget_inputs(inc_dir)
        os.sync()
        wholes.append(_run(_child("full", folder / "spec.json", inc_dir), "adding one scene, made whole"))
        log(f"adding one scene, made whole: {wholes[-1].wall:.1f} s ({load_text()})")
    scratch, added, whole = _median_run(scratches), _median_run(addeds), _median_run(wholes)
    ratio = added.wall / scratch.wall
    tag = str(passes) if (paths, revisit) == (2, 16) else f"{paths}x{passes}r{revisit}"
    tag += "" if size == 1000 else f"_{size}px"
    s_info, a_info, w_info = child_info(scratch), child_info(added), child_info(whole)
    step_ratio = a_info.get("total_s", float("nan")) / s_info.get("total_s", float("nan"))
    a_cpu, s_cpu = a_info.get("cpu_s", float("nan")), s_info.get("cpu_s", float("nan"))
    return [
        f"incremental: {len(full_spec['scenes'])} scenes ({paths * passes} a summer: {paths} paths, "
        f"{passes} passes {revisit} days apart), 12 summers, "
        f"{size} x {size} px AOI, products "
        f"{', '.join(PRODUCTS)}, change first-last and trend:",
        f"  from scratch {scratch.wall:.1f} s (peak RSS {scratch.maxrss / MiB:.1f} MiB); "
        f"adding the last scene "
        f"{added.wall:.1f} s ({a_info.get('made')} Items made again); {load_text()}",
        f"    from scratch: {breakdown(scratch.wall, s_info)}",
        f"    adding one:   {breakdown(added.wall, a_info)}",
        f"    adding one, the composite and trend made whole (no partial remake): "
        f"{breakdown(whole.wall, w_info)}; CPU {a_info.get('cpu_s', 0):.1f} / {w_info.get('cpu_s', 0):.1f} s",
        ratio_line("adding one scene / from scratch", ratio, TARGET_INCREMENTAL),
        f"  (medians of {runs} interleaved runs; each run's ratio: "
        + " / ".join(f"{a.wall / s.wall:.3f}" for s, a in zip(scratches, addeds, strict=True))
        + ")",
        f"  (the step alone, build_place_products without the process's start and imports: "
        f"{step_ratio:.2f}x; CPU seconds of the processes, which the shared machine's load moves less: "
        f"{a_cpu:.1f} / {s_cpu:.1f} = {a_cpu / s_cpu:.2f}x)",
        f"  (scenes a summer: {density})",
    ], {
        f"incremental{tag}_scratch_s": scratch.wall,
        f"incremental{tag}_add_s": added.wall,
        f"incremental{tag}_add_whole_s": whole.wall,
        f"incremental{tag}_ratio": ratio,
        f"incremental{tag}_step_ratio": step_ratio,
        f"incremental{tag}_cpu_ratio": a_cpu / s_cpu,
    }


def forget_inputs(run_dir: Path) -> None:
    """Empty each place manifest's record of what its products were made from (then they are made whole)."""
    for path in run_dir.glob("places/*/manifest.json"):
        doc = json.loads(path.read_text())
        doc["inputs"] = {}
        path.write_text(json.dumps(doc))


def _median_run(runs: list[Measured]) -> Measured:
    """The run of median wall time (the lower middle one of an even count)."""
    return sorted(runs, key=lambda m: m.wall)[(len(runs) - 1) // 2]


def breakdown(wall: float, info: dict[str, Any]) -> str:
    """A `full` child's wall split: start and imports, each kind of product, the rest of the step."""
    parts = {k[:-2]: info[k] for k in ("composite_s", "change_s", "trend_s", "rest_s") if k in info}
    start = wall - info.get("total_s", wall)  # the interpreter, the imports, reading the spec
    return f"{wall:.1f} s = start and imports {start:.1f} s + " + " + ".join(
        f"{k} {v:.1f} s" for k, v in parts.items()
    )


def trend(periods: int, blocks: int, log: Log = print) -> tuple[list[str], dict[str, float]]:
    """The Theil-Sen / Mann-Kendall step over `periods` synthetic composites of the Scoresby Sund AOI."""
    spec = OUT / "trend.json"
    OUT.mkdir(parents=True, exist_ok=True)
    spec.write_text(json.dumps({"periods": periods, "width": SUND[0], "height": SUND[1], "blocks": blocks}))
    m = _run([sys.executable, str(CHILD), "trend", str(spec), "-"], "trend")
    info = child_info(m)
    share = info["pixels"] / info["all_pixels"]
    whole = info["step_s"] / share
    us = 1e6 * info["step_s"] / info["pixels"]
    log(f"trend: {info['step_s']:.1f} s for {info['pixels']:,} px ({load_text()})")
    scope = "measured" if share == 1 else f"scaled from {100 * share:.1f} % of the AOI"
    return [
        f"trend: Theil-Sen + Mann-Kendall over {periods} periods, {SUND[0]:,} x {SUND[1]:,} px AOI, "
        "one index, make_trend's blocks and threads:",
        f"  {us:.2f} us per pixel ({info['pixels']:,} px in {info['step_s']:.1f} s); whole AOI "
        f"{whole / 60:.1f} min ({scope}); peak RSS {m.maxrss / MiB:.1f} MiB; {load_text()}",
    ], {"trend_us_per_px": us, "trend_whole_aoi_min": whole / 60, "trend_peak_rss_mib": m.maxrss / MiB}


def main(argv: list[str] | None = None) -> int:
    """Run the parts, print and save the report (bench-output/composite/results.txt, figures.json)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--runs", type=int, default=3, help="interleaved runs of each side and of each incremental case"
    )
    ap.add_argument("--size", type=int, default=2000, help="AOI side in pixels (default 2000)")
    ap.add_argument("--dates", type=int, default=10)
    ap.add_argument("--incremental-size", type=int, default=1000, help="AOI side of the 12-summer place")
    ap.add_argument(
        "--incremental-passes",
        type=int,
        nargs="+",
        default=[1, 4],
        help="summer passes a year per path (default 1 4: 2 and 8 scenes a summer)",
    )
    ap.add_argument(
        "--dense-sizes",
        type=int,
        nargs="+",
        default=[1000, 2000],
        help="AOI sides of the dense 12-summer place (default 1000 2000: 2000 is the like-with-like AOI's)",
    )
    ap.add_argument("--trend-periods", type=int, default=40)
    ap.add_argument("--trend-blocks", type=int, default=16, help="512 px blocks timed (0: the whole AOI)")
    for part in ("full", "scaling", "incremental", "dense", "issue", "trend"):
        ap.add_argument(f"--skip-{part}", action="store_true")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    params = workload.Params(size=args.size, dates=args.dates)
    lines = [f"composite benchmark, {machine()}", ""]
    part, figs = like_with_like(params, args.runs)
    lines += part
    if not args.skip_full:
        part, more = full_step(params)
        lines += ["", *part]
        figs |= more
    if not args.skip_scaling:
        part, more = scaling(params, figs["median_scoresby_peak_rss_mib"] * MiB)
        lines += ["", *part]
        figs |= more
    if not args.skip_incremental:
        for passes in args.incremental_passes:
            part, more = incremental(args.incremental_size, passes, runs=args.runs)
            lines += ["", *part]
            figs |= more
    if not args.skip_dense:
        paths, passes, revisit = DENSE
        for size in args.dense_sizes:
            part, more = incremental(size, passes, paths=paths, revisit=revisit, runs=args.runs)
            lines += ["", *part]
            figs |= more
    if not args.skip_issue:
        # The like-with-like workload (its AOI, 2 paths, its dates per summer) as a 12-summer place.
        part, more = incremental(
            args.size,
            args.dates,
            paths=2,
            revisit=ISSUE_REVISIT,
            runs=args.runs,
            density="the like-with-like workload's, each summer",
        )
        lines += ["", *part]
        figs |= more
    if not args.skip_trend:
        part, more = trend(args.trend_periods, args.trend_blocks)
        lines += ["", *part]
        figs |= more
    text = "\n".join(lines)
    print("\n" + text)
    (OUT / "results.txt").write_text(text + "\n")
    (OUT / "figures.json").write_text(json.dumps({"load": load_text(), "figures": figs}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
