"""`make bench` part (a) of issue 14: the fixed cost of a small scene, before and after, in the same run.

`scoresby run LIST --workers 1` on 1 and on N copies of the 100 x 100 px gradient demo scene
(worker/demo/gradient.py, distinct scene ids): the difference divided by N - 1 is what one more small scene
costs once the process, imports, task log and report are paid, as in a Batch job of many small scenes.
The same is measured for the code of a baseline commit (`git archive` of --baseline-ref into
bench-output/, run with the same interpreter), interleaved with the current code. Wall seconds and CPU
seconds (user + system of the run and its worker process; steadier on a loaded machine) are reported.
Target (issue 14): <= 0.3 s per small scene.

    .venv/bin/python bench/small_bench.py [--scenes 20] [--runs 2] [--baseline-ref 695510d]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

OUT = REPO / "bench-output"
BASELINE_REF = "695510d"
"""main before issue 14's small-scene work (histograms' tight_layout, per-scene credential lookups)."""
TARGET_S = 0.3
NOTE = (
    "small-scene rows: `scoresby run --workers 1` of 1 and of N copies of the 100 x 100 px gradient demo "
    "scene, (t(N) - t(1)) / (N - 1); 'before' is the same for the code of the baseline commit "
    "(bench/small_bench.py BASELINE_REF, via git archive), interleaved; CPU = user + system seconds"
)
SIZE = 100


@dataclass
class Timed:
    """One `scoresby run`: wall and CPU seconds, exit code."""

    wall: float
    cpu: float
    rc: int
    stderr: str = ""


def make_list(folder: Path, n: int) -> Path:
    """A scene list of n 100 x 100 px scenes (one generated folder, n scene ids); returns its path."""
    from worker.demo.gradient import write_landsat_l2_scene

    scene = folder / "gradient"
    if not scene.exists():
        write_landsat_l2_scene(scene, width=SIZE, height=SIZE)
    doc = {
        "run_name": f"small-{n}",
        "scenes": [{"scene_id": f"small-{i:03d}", "source": str(scene)} for i in range(n)],
    }
    path = folder / f"small-{n}.json"
    path.write_text(json.dumps(doc))
    return path


def baseline_tree(ref: str) -> Path | None:
    """The baseline commit's files under bench-output/ (git archive), or None when git cannot give them."""
    dest = OUT / f"baseline-{ref}"
    if (dest / "worker" / "cli.py").exists():
        return dest
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", ref, "worker"], capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def run_list(code: Path, scene_list: Path, out: Path) -> Timed:
    """`python -m worker.cli run` of `scene_list` with the `worker` package found under `code`."""
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(code), "MPLBACKEND": "Agg"}
    argv = [
        sys.executable,
        "-m",
        "worker.cli",
        "run",
        str(scene_list),
        "--workers",
        "1",
        "--output",
        str(out),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=code, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    shutil.rmtree(out, ignore_errors=True)
    return Timed(wall, cpu, proc.returncode, proc.stderr[-600:])


def measure(*, scenes: int = 20, runs: int = 2, baseline_ref: str = BASELINE_REF, log=print) -> dict:
    """Per-scene marginal wall and CPU seconds of the current code and of the baseline commit."""
    work = OUT / "small-scenes"
    work.mkdir(parents=True, exist_ok=True)
    lists = {1: make_list(work, 1), scenes: make_list(work, scenes)}
    sides = {"after": REPO}
    base = baseline_tree(baseline_ref)
    if base is not None:
        sides = {"before": base, **sides}
    timed: dict[tuple[str, int], list[Timed]] = {(s, n): [] for s in sides for n in lists}
    for i in range(runs):
        for side, code in sides.items():
            for n, path in lists.items():
                t = run_list(code, path, work / "out")
                timed[(side, n)].append(t)
                log(
                    f"small scenes run {i + 1}/{runs} {side:6s} N={n:3d}: "
                    f"{t.wall:6.2f} s wall, {t.cpu:6.2f} s CPU"
                    + (f"  ERROR rc={t.rc}: {t.stderr}" if t.rc else "")
                )
    result: dict = {"scenes": scenes, "baseline_ref": baseline_ref if base is not None else None}
    for side in sides:
        ok = all(t.rc == 0 for n in lists for t in timed[(side, n)])
        if not ok:
            result[side] = {"error": next(t.stderr for n in lists for t in timed[(side, n)] if t.rc)}
            continue
        one = timed[(side, 1)]
        many = timed[(side, scenes)]
        result[side] = {
            "wall": (statistics.median(t.wall for t in many) - statistics.median(t.wall for t in one))
            / (scenes - 1),
            "cpu": (statistics.median(t.cpu for t in many) - statistics.median(t.cpu for t in one))
            / (scenes - 1),
            "wall_1": statistics.median(t.wall for t in one),
        }
    return result


def report_lines(fig: dict) -> list[str]:
    """Markdown rows (ratio / figure | measured | target | verdict) for the results table."""
    after = fig.get("after", {})
    if "error" in after or not after:
        return [f"| small scene: seconds per scene | failed: {after.get('error', 'not run')[:200]} | | n/a |"]
    n = fig["scenes"]
    rows = [
        f"| small scene ({SIZE} x {SIZE} px): one more scene in `scoresby run --workers 1` (N={n}) "
        f"| {after['wall']:.2f} s wall, {after['cpu']:.2f} s CPU | <= {TARGET_S} s "
        f"| {'PASS' if after['wall'] <= TARGET_S else 'FAIL'} |",
    ]
    before = fig.get("before")
    if before and "error" not in before:
        rows.append(
            f"| small scene: after / before ({fig['baseline_ref']}: {before['wall']:.2f} s wall, "
            f"{before['cpu']:.2f} s CPU) | {after['wall'] / before['wall']:.2f}x wall, "
            f"{after['cpu'] / before['cpu']:.2f}x CPU | (info) | |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenes", type=int, default=20)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--baseline-ref", default=BASELINE_REF)
    args = ap.parse_args(argv)
    fig = measure(scenes=args.scenes, runs=args.runs, baseline_ref=args.baseline_ref)
    print("\n".join(report_lines(fig)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
