"""`make bench`, place-stage part (issue 22): a composite tile job's time and memory, tile size, reads.

    .venv/bin/python bench/place_bench.py [--size 4096] [--dates 5] [--tiles 1024,2048,4096] [--skip-s3]

1. Tile jobs: `compose` (the places package's composite: median, harmonised, 4 products' indices, clear
   count, frequencies, classes) on the centre SIZE x SIZE sub-grid of the composite workload's AOI
   (bench/composite_workload.py, 2 paths each 60 % of the AOI), one child process per tile size
   (bench/_place_child.py tile; wall and peak RSS from bench/_launch.py). Time per megapixel-observation.
2. The tile size: the cost of a megapixel-observation with the Batch job start (pricing.cost.JOB_START_S)
   shared by the tile, and the peak memory against the job's memory; the cheapest that fits is printed
   with why.
3. The reads (issue 22 item 2), at the chosen size: the tile's observations read from the source COGs
   through /vsis3/ (moto server + bench/s3_proxy.py, as bench/s3_bench.py) by the tile job itself, against
   reading the same tile from analysis-ready reflectance on the AOI grid (every scene's 6 bands + QA
   written as AOI-grid uint16 COGs, 512 px tiles, DEFLATE; bench/place_reads.py): bytes, GETs, the
   copies' storage per month (pricing.places.S3_STANDARD_GB_MONTH).
4. The estimate (pricing.places.place_estimate with this run's figures) of a 40-summer backfill of one
   Scoresby-sized place (7,300 x 5,600 px, 45 observations a summer, each 60 % of the AOI as here) and of
   one 16-day round that adds one scene.

The load average is printed with the figures; nothing fails the build (no targets: figures for the docs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import composite_workload as workload  # noqa: E402
from bench.run_bench import MiB, machine, measure  # noqa: E402
from scoresby.pricing import cost  # noqa: E402
from scoresby.pricing import places as place_cost  # noqa: E402

OUT = REPO / "bench-output" / "place"
CHILD = REPO / "bench" / "_place_child.py"
PRODUCTS = ["true_color", "false_color_ice", "ndsi", "ndvi"]
COMPOSITES = {"period": "year", "months": [7, 8, 9], "method": "median", "change": "first-last"}
SUND = (7300, 5600)
SUMMERS, OBS_PER_SUMMER = 40, 45
JOB_MEMORY_MIB = 2048
"""The memory a tile job would ask for; a tile size whose peak RSS (with a 1.5x margin) exceeds it is out."""
BUCKET = "scoresby-bench-places"
FAKE_KEYS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class TileRun:
    """One tile job: size, observations, megapixel-observations, wall, compose seconds, peak RSS."""

    size: int
    observations: int
    mpx_obs: float
    wall_s: float
    compose_s: float
    cogs_s: float
    rss_mib: float
    rc: int
    error: str = ""

    @property
    def s_per_mpx_obs(self) -> float:
        """compose seconds per megapixel-observation."""
        return self.compose_s / self.mpx_obs if self.mpx_obs else float("nan")


def load_text() -> str:
    """The 1, 5 and 15 minute load averages."""
    a, b, c = os.getloadavg()
    return f"load {a:.2f} / {b:.2f} / {c:.2f}"


def overlap(scene: workload.BenchScene, col: int, size: int) -> int:
    """Columns of the tile [col, col + size) the scene's footprint covers."""
    return max(0, min(col + size, scene.col_off + scene.width) - max(col, scene.col_off))


def tile_spec(
    scenes: list[workload.BenchScene], params: workload.Params, col: int, size: int, source: Any = None
) -> tuple[dict[str, Any], float]:
    """The scene list of the scenes overlapping the tile (sources local, or `source(scene)`), and Mpx-obs."""
    inside = [s for s in scenes if overlap(s, col, size)]
    rows = min(size, params.size)
    spec = {
        "run_name": "placebench",
        "scenes": [{"scene_id": s.scene_id, "source": source(s) if source else s.folder} for s in inside],
        "aoi": workload.aoi(params),
        "products": PRODUCTS,
        "composites": COMPOSITES,
    }
    return spec, sum(overlap(s, col, size) * rows for s in inside) / 1e6


def run_child(mode: str, doc: dict[str, Any], col: int, size: int, env: dict[str, str]) -> tuple[Any, dict]:
    """bench/_place_child.py in a measured child process; (Measured, its JSON result or {})."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{mode}-{size}.json"
    path.write_text(json.dumps(doc))
    m = measure(
        [sys.executable, str(CHILD), mode, str(path), str(col), str(col), str(size), str(OUT)], env=env
    )
    try:
        return m, json.loads(m.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return m, {}


def tile_runs(
    scenes: list[workload.BenchScene], params: workload.Params, sizes: list[int], log: Any
) -> list[TileRun]:
    """One measured tile job per size, the tile in the AOI's centre."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = []
    for size in sizes:
        col = (params.size - size) // 2
        spec, mpx_obs = tile_spec(scenes, params, col, size)
        m, info = run_child("tile", spec, col, size, env)
        run = TileRun(
            size,
            info.get("observations", 0),
            mpx_obs,
            m.wall,
            info.get("compose_s", float("nan")),
            info.get("cogs_s", float("nan")),
            m.maxrss / MiB,
            m.rc,
            "" if m.rc == 0 else m.stderr[-400:],
        )
        runs.append(run)
        log(
            f"tile {size} px: {run.observations} observations, {mpx_obs:.1f} Mpx-obs, "
            f"compose {run.compose_s:.1f} s ({run.s_per_mpx_obs:.3f} s/Mpx-obs), COGs {run.cogs_s:.1f} s, "
            f"wall {m.wall:.1f} s, peak {run.rss_mib:.0f} MiB, {load_text()}"
            + (f"  ERROR: {run.error}" if run.rc else "")
        )
    return runs


def choose(runs: list[TileRun], log: Any) -> TileRun:
    """The cheapest tile size per Mpx-obs with the job start shared by its tile, within the job memory."""
    obs = OBS_PER_SUMMER * workload.COVER  # a Scoresby summer: observations over each pixel
    best = None
    for r in runs:
        if r.rc:
            continue
        mpx = r.size * r.size / 1e6
        job_s = cost.JOB_START_S.value + r.s_per_mpx_obs * mpx * obs
        per_mpx = job_s / mpx
        fits = r.rss_mib * 1.5 <= JOB_MEMORY_MIB
        log(
            f"  {r.size} px: a summer's tile job {job_s:.0f} s ({cost.JOB_START_S.value:g} s start), "
            f"{per_mpx:.1f} job-s per AOI Mpx, peak {r.rss_mib:.0f} MiB"
            f"{'' if fits else f' (over {JOB_MEMORY_MIB} MiB / 1.5)'}"
        )
        if fits and (best is None or per_mpx < best[0] * 0.9):  # 10 %: smaller tiles redo less on a reclaim
            best = (per_mpx, r)
    if best is None:
        raise SystemExit("place bench: no tile size ran")
    return best[1]


def estimates(rate: float, gets_per_mpx_obs: float, size: int) -> dict[str, place_cost.PlaceEstimate]:
    """The backfill of one Scoresby-sized place and one 16-day round adding a scene, at this run's rates."""
    common = {
        "tile_px": size,
        "tile_s_per_mpx_obs": rate,
        "gets_per_mpx_obs": gets_per_mpx_obs,
        "footprint": workload.COVER,
        "indices": 2,
    }
    backfill = place_cost.place_estimate(
        *SUND, periods_made=SUMMERS, observations=OBS_PER_SUMMER, changes=1, **common
    )
    one_round = place_cost.place_estimate(
        *SUND,
        periods_made=1,
        observations=OBS_PER_SUMMER,
        periods_total=SUMMERS,
        changes=1,
        tile_share=workload.COVER,
        **common,
    )
    return {"backfill": backfill, "round": one_round}


def estimate_lines(name: str, est: place_cost.PlaceEstimate) -> list[str]:
    """A markdown table of one estimate: jobs, busy hours, cost items."""
    lines = [
        f"| {name} | {est.tiles} tiles; jobs: "
        + ", ".join(f"{k} {v}" for k, v in est.jobs.items())
        + f" | {est.compute_s / 3600:.1f} h busy | ${est.total:.2f} |"
    ]
    lines += [f"|   {item} | | | ${usd:.4f} |" for item, usd in est.costs.items()]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=4096, help="AOI side of the workload, px")
    ap.add_argument("--dates", type=int, default=5, help="dates x 2 paths of the workload")
    ap.add_argument("--tiles", default="1024,2048,4096", help="tile sides to measure, px")
    ap.add_argument("--skip-s3", action="store_true", help="leave out the read comparison")
    args = ap.parse_args(argv)
    sizes = [int(t) for t in args.tiles.split(",") if int(t) <= args.size]
    params = workload.Params(size=args.size, dates=args.dates)
    OUT.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def log(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    log(f"place bench: {machine()}")
    log(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True, check=False).stdout.strip()}")
    scenes = workload.ensure_workload(OUT / f"workload-{args.size}-{args.dates}", params, log=log)
    runs = tile_runs(scenes, params, sizes, log)
    log(
        "tile size by cost (a summer of the Scoresby place: "
        f"{OBS_PER_SUMMER} observations x {workload.COVER:.0%} of the AOI per pixel):"
    )
    best = choose(runs, log)
    log(
        f"chosen: {best.size} px tiles ({best.s_per_mpx_obs:.3f} s per Mpx-obs, "
        f"peak {best.rss_mib:.0f} MiB); "
        f"COGs of its layers {best.cogs_s / (best.size**2 / 1e6):.3f} s per Mpx (the assembly's share)"
    )
    gets_per_mpx_obs = place_cost.SOURCE_GETS_PER_MPX_OBS.value
    if not args.skip_s3:
        from bench.place_reads import reads

        fig = reads(scenes, params, best.size, log)
        (OUT / "reads.json").write_text(json.dumps(fig, indent=1))
        if fig["source"]["rc"] == 0:
            gets_per_mpx_obs = fig["source"]["gets"] / fig["mpx_obs"]
        src, ard = fig["source"], fig["ard"]
        log(
            f"reads per tile: source {src['gets']} GETs / {src['bytes'] / MiB:.1f} MiB, "
            f"ARD {ard['gets']} GETs / {ard['bytes'] / MiB:.1f} MiB: "
            f"{src['gets'] / max(ard['gets'], 1):.2f}x GETs, "
            f"{src['bytes'] / max(ard['bytes'], 1):.2f}x bytes; "
            f"source GETs per Mpx-obs {gets_per_mpx_obs:.2f}"
        )
        gb = (
            fig["ard_bytes_per_mpx_obs"]
            * SUND[0]
            * SUND[1]
            / 1e6
            * workload.COVER
            * SUMMERS
            * OBS_PER_SUMMER
            / 1e9
        )
        log(
            f"ARD copies: {fig['ard_file_bytes'] / MiB:.1f} MiB for {fig['scenes']} scenes (source bands "
            f"{fig['source_file_bytes'] / MiB:.1f} MiB); a 40-summer Scoresby backfill keeps {gb:.0f} GB: "
            f"${place_cost.ard_storage_usd_month(gb):.2f} a month ({place_cost.S3_STANDARD_GB_MONTH.source})"
        )
        keep = place_cost.ard_storage_usd_month(fig["ard_bytes_per_mpx_obs"] / 1e9)
        reread = gets_per_mpx_obs * cost.S3_GET.value
        log(
            f"per megapixel-observation: keeping its ARD copy ${keep:.2e} a month, reading its source bands "
            f"again ${reread:.2e} (GETs): ARD pays only when an observation is read {keep / reread:.0f}+ "
            "times a month; a round re-reads the observations of the periods it remakes once"
        )
    for name, est in estimates(best.s_per_mpx_obs, gets_per_mpx_obs, best.size).items():
        log(f"estimate, {name}:")
        for line in estimate_lines(name, est):
            log("  " + line)
    log(f"done, {load_text()}")
    (OUT / "results.txt").write_text("\n".join(lines) + "\n")
    shutil.rmtree(OUT / "ard", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
