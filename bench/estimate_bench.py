"""`make bench` part (d) of issue 14: the estimate for a 1,000-scene backfill, one scene per job and batched.

scoresby.pricing.cost.estimate (imported, not changed) for 500 full Landsat scenes + 500 full Sentinel-2 tiles
(a Scoresby Sund backfill has both: Landsat since 1984, Sentinel-2 since 2015; an even split is the
simple round figure, not a count of the real archive). "before": one scene per Batch job
(scenes_per_job=1, job_vcpus=2), as before issue 14; "after": the estimator's defaults (the stack's
scenesPerJob, the worker's vCPUs). It uses pricing.cost's per-job start-up figure (JOB_START_S), which is an
assumption there; bench/container_bench.py measures the container's share of it on this machine.

    .venv/bin/python bench/estimate_bench.py
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scoresby.pricing import cost  # noqa: E402

MIX = {"landsat": 500, "sentinel-2": 500}
NOTE = (
    "estimate rows: scoresby.pricing.cost.estimate for 500 Landsat + 500 Sentinel-2 full scenes; before = "
    "scenes_per_job=1, job_vcpus=2; after = defaults; per-job start "
    f"{cost.JOB_START_S.value:g} s ({cost.JOB_START_S.source})"
)


def measure(mix: dict[str, int] | None = None) -> dict:
    """Both estimates' totals, wall times, jobs and the ratios after / before."""
    mix = dict(mix or MIX)
    before = cost.estimate(mix, scenes_per_job=1, job_vcpus=2)
    after = cost.estimate(mix)
    return {
        "mix": mix,
        "before": {"total": before.total, "wall_s": before.wall_s, "jobs": before.jobs},
        "after": {
            "total": after.total,
            "wall_s": after.wall_s,
            "jobs": after.jobs,
            "scenes_per_job": cost.default_scenes_per_job(),
        },
        "ratio_total": after.total / before.total,
        "ratio_wall": after.wall_s / before.wall_s,
        "job_start_s": cost.JOB_START_S.value,
    }


def figures(fig: dict) -> dict[str, tuple[float, str]]:
    """Headline figures for bench-output/figures.json (name -> value, unit)."""
    return {
        "backfill_1000_usd_before": (fig["before"]["total"], "USD"),
        "backfill_1000_usd_after": (fig["after"]["total"], "USD"),
        "backfill_1000_wall_min_before": (fig["before"]["wall_s"] / 60, "min"),
        "backfill_1000_wall_min_after": (fig["after"]["wall_s"] / 60, "min"),
    }


def report_lines(fig: dict) -> list[str]:
    """Markdown rows (ratio / figure | measured | target | verdict) for the results table."""
    b, a = fig["before"], fig["after"]
    mix = " + ".join(f"{n:,} {k}" for k, n in fig["mix"].items())
    return [
        f"| estimate, 1,000-scene backfill ({mix}), before: 1 scene per job, {b['jobs']:,} jobs "
        f"| ${b['total']:.2f}, about {b['wall_s'] / 60:.0f} min | (info) | |",
        f"| estimate, after: {a['scenes_per_job']} scenes per job, {a['jobs']:,} jobs "
        f"| ${a['total']:.2f}, about {a['wall_s'] / 60:.0f} min | (info) | |",
        f"| estimate after / before (per-job start {fig['job_start_s']:g} s, assumed) "
        f"| {fig['ratio_total']:.2f}x cost, {fig['ratio_wall']:.2f}x wall | (info) | |",
    ]


def main(argv: list[str] | None = None) -> int:
    del argv
    print("\n".join(report_lines(measure())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
