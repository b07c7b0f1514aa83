"""`make bench` part (a) of issue 14: 200 small real scenes through `scoresby run`, before and after.

The scene list is 200 crops of 100 x 100 px from the real Landsat 8 C2 L2 and Sentinel-2 L2A scenes in
/work/shared/data/real (bench/real_small.py: 100 + 100, different windows). `scoresby run LIST` of the first
scene alone and of all of them, with `--workers 1` and with the default worker count: (t(N) - t(1)) /
(N - 1) is what one more small scene costs once the process, imports, task log and report are paid (as in a
Batch job of many small scenes), t(N) / N the plain average. The same is measured for the code of a
baseline commit (`git archive` of --baseline-ref into bench-output/, run with the same interpreter),
interleaved with the current code. Every run's summary.json must say that all its scenes SUCCEEDED, else
that side's figures are marked invalid. Wall seconds and CPU seconds (user + system of the run and its
worker processes; steadier on a loaded machine) are reported. Target (issue 14): <= 0.3 s per small scene.

    .venv/bin/python bench/small_bench.py [--scenes 200] [--runs 2] [--baseline-ref 695510d]
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

from bench import real_small  # noqa: E402

OUT = REPO / "bench-output"
BASELINE_REF = "695510d"
"""main before issue 14's small-scene work (histograms' tight_layout, per-scene credential lookups)."""
TARGET_S = 0.3
SIZE = real_small.SIZE
MODES = ("workers-1", "default")
"""`--workers 1`, and no --workers (one worker per CPU)."""
NOTE = (
    "small-scene rows: `scoresby run` of 1 and of N real 100 x 100 px crops (Landsat 8 C2 L2 + Sentinel-2 "
    "L2A, bench/real_small.py); marginal = (t(N) - t(1)) / (N - 1), mean = t(N) / N; 'before' is the "
    "code of the baseline commit (bench/small_bench.py BASELINE_REF, via git archive), interleaved; "
    "CPU = user + system seconds; a figure counts only when every scene of every run SUCCEEDED"
)


@dataclass
class Timed:
    """One `scoresby run`: wall and CPU seconds, exit code, SUCCEEDED count from its summary.json."""

    wall: float
    cpu: float
    rc: int
    succeeded: int
    scenes: int
    stderr: str = ""

    @property
    def ok(self) -> bool:
        """Exit 0 and every scene SUCCEEDED."""
        return self.rc == 0 and self.succeeded == self.scenes


def make_lists(folder: Path, n: int) -> dict[int, Path]:
    """Scene lists of the first and of all n real crops (half Landsat, half Sentinel-2); n -> path."""
    crops = real_small.ensure_crops(folder / "crops", landsat=n // 2, sentinel2=n - n // 2)
    # Interleave the sensors so a truncated run would still be a mix.
    landsat = [c for c in crops if c["family"] == "landsat"]
    s2 = [c for c in crops if c["family"] != "landsat"]
    mixed = [c for pair in zip(landsat, s2, strict=False) for c in pair]
    mixed += landsat[len(s2) :] + s2[len(landsat) :]
    lists = {}
    for k in (1, n):
        doc = {
            "run_name": f"small-{k}",
            "scenes": [{"scene_id": c["scene_id"], "source": c["source"]} for c in mixed[:k]],
        }
        lists[k] = folder / f"small-{k}.json"
        lists[k].write_text(json.dumps(doc))
    return lists


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


def _succeeded(out: Path, run_name: str) -> int:
    """SUCCEEDED scenes in the run's summary.json (0 when there is none)."""
    try:
        summary = json.loads((out / run_name / "summary.json").read_text())
    except (OSError, ValueError):
        return 0
    totals = summary.get("totals") or {}
    if "SUCCEEDED" in totals:
        return int(totals["SUCCEEDED"])
    return sum(s.get("status") == "SUCCEEDED" for s in summary.get("scenes", []))


def run_list(code: Path, scene_list: Path, out: Path, mode: str) -> Timed:
    """`python -m scoresby.cli run` of `scene_list` with the `worker` package found under `code`."""
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(code), "MPLBACKEND": "Agg"}
    doc = json.loads(scene_list.read_text())
    argv = [sys.executable, "-m", "scoresby.cli", "run", str(scene_list), "--output", str(out)]
    if mode == "workers-1":
        argv += ["--workers", "1"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=code, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    ok = _succeeded(out, doc["run_name"])
    shutil.rmtree(out, ignore_errors=True)
    return Timed(wall, cpu, proc.returncode, ok, len(doc["scenes"]), proc.stderr[-600:])


def measure(*, scenes: int = 200, runs: int = 2, baseline_ref: str = BASELINE_REF, log=print) -> dict:
    """Per-scene wall and CPU seconds (marginal and mean, both worker modes), current and baseline code."""
    work = OUT / "small-scenes"
    work.mkdir(parents=True, exist_ok=True)
    lists = make_lists(work, scenes)
    sides = {"after": REPO}
    base = baseline_tree(baseline_ref)
    if base is not None:
        sides = {"before": base, **sides}
    # t(1) is the same in both modes: `scoresby run` starts min(workers, scenes) workers.
    cases = [(1, "workers-1"), (scenes, "workers-1"), (scenes, "default")]
    timed: dict[tuple[str, int, str], list[Timed]] = {(s, n, m): [] for s in sides for n, m in cases}
    for i in range(runs):
        for side, code in sides.items():
            for n, mode in cases:
                t = run_list(code, lists[n], work / "out", mode)
                timed[(side, n, mode)].append(t)
                log(
                    f"small scenes run {i + 1}/{runs} {side:6s} N={n:3d} {mode:9s}: "
                    f"{t.wall:6.2f} s wall, {t.cpu:6.2f} s CPU, {t.succeeded}/{t.scenes} SUCCEEDED"
                    + (f"  ERROR rc={t.rc}: {t.stderr[-300:]}" if t.rc else "")
                )
    result: dict = {
        "scenes": scenes,
        "cpus": os.cpu_count(),
        "baseline_ref": baseline_ref if base is not None else None,
    }
    for side in sides:
        bad = [t for key, ts in timed.items() if key[0] == side for t in ts if not t.ok]
        if bad:
            worst = min(bad, key=lambda t: t.succeeded)
            result[side] = {
                "error": f"INVALID: a run had {worst.succeeded}/{worst.scenes} scenes SUCCEEDED "
                f"(rc {worst.rc})"
                + (f": {worst.stderr.strip().splitlines()[-1][:200]}" if worst.stderr.strip() else "")
            }
            continue

        def med(n: int, mode: str, what: str, side: str = side) -> float:
            return statistics.median(getattr(t, what) for t in timed[(side, n, mode)])

        fig: dict = {"wall_1": med(1, "workers-1", "wall")}
        for mode in MODES:
            fig[mode] = {
                "wall": (med(scenes, mode, "wall") - fig["wall_1"]) / (scenes - 1),
                "cpu": (med(scenes, mode, "cpu") - med(1, "workers-1", "cpu")) / (scenes - 1),
                "mean_wall": med(scenes, mode, "wall") / scenes,
                "total_wall": med(scenes, mode, "wall"),
            }
        result[side] = fig
    return result


def figures(fig: dict) -> dict[str, tuple[float, str]]:
    """Headline figures for bench-output/figures.json (name -> value, unit)."""
    after = fig.get("after") or {}
    if "error" in after or not after:
        return {}
    return {
        "small_scene_marginal_s_workers1": (after["workers-1"]["wall"], "s per scene"),
        "small_scene_mean_s_workers1": (after["workers-1"]["mean_wall"], "s per scene"),
        "small_scene_marginal_s_default_workers": (after["default"]["wall"], "s per scene"),
        "small_scene_mean_s_default_workers": (after["default"]["mean_wall"], "s per scene"),
    }


def report_lines(fig: dict) -> list[str]:
    """Markdown rows (ratio / figure | measured | target | verdict) for the results table."""
    after = fig.get("after", {})
    n = fig["scenes"]
    if "error" in after or not after:
        why = after.get("error", "not run")[:300]
        return [f"| small real scenes (N={n}): seconds per scene | {why} | <= {TARGET_S} s | n/a (invalid) |"]
    before = fig.get("before") or {}
    label = {"workers-1": "`--workers 1`", "default": f"default workers ({fig['cpus']})"}
    rows = []
    for mode in MODES:
        a = after[mode]
        verdict = "PASS" if a["wall"] <= TARGET_S else "FAIL"
        rows.append(
            f"| small real scene ({SIZE} x {SIZE} px, N={n}, {label[mode]}): one more scene "
            f"| {a['wall']:.3f} s wall, {a['cpu']:.3f} s CPU (mean {a['mean_wall']:.3f} s; "
            f"total {a['total_wall']:.1f} s) | <= {TARGET_S} s | {verdict} |"
        )
        if before and "error" not in before:
            b = before[mode]
            rows.append(
                f"| small real scene, {label[mode]}: after / before ({fig['baseline_ref']}: "
                f"{b['wall']:.3f} s wall, {b['cpu']:.3f} s CPU, mean {b['mean_wall']:.3f} s) "
                f"| {a['wall'] / b['wall']:.2f}x wall, {a['cpu'] / b['cpu']:.2f}x CPU | (info) | |"
            )
    if before and "error" in before:
        rows.append(
            f"| small real scene: before ({fig['baseline_ref']}) | {before['error'][:300]} | (info) | |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenes", type=int, default=200)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--baseline-ref", default=BASELINE_REF)
    args = ap.parse_args(argv)
    fig = measure(scenes=args.scenes, runs=args.runs, baseline_ref=args.baseline_ref)
    print("\n".join(report_lines(fig)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
