"""`scoresby submit SCENES.json --estimate`: the expected wall time and cost of a run; starts nothing."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from scoresby.commands.place_estimate import place_stage_estimate
from scoresby.core.errors import EXIT_INVALID, EXIT_OK, InvalidInput
from scoresby.core.scene_list import RunPlan, load_scene_list
from scoresby.pricing import cost
from scoresby.sensors import name_for_id

PLACE_STAGE = "place stage (composites, change, trend)"


def scenes_by_sensor(plan: RunPlan) -> dict[str, int]:
    """Scene counts per sensor name; scenes whose id and sensor do not tell are 'unknown'."""
    return dict(Counter(s.sensor or name_for_id(s.scene_id) or "unknown" for s in plan.scenes))


def format_estimate(
    plan: RunPlan,
    est: cost.Estimate,
    *,
    spot_price: float,
    scenes_per_job: int,
    place: tuple[list[str], float] | None = None,
) -> str:
    """The printed estimate: scenes, jobs, time, one line per cost item (the place stage one), assumptions."""
    n = sum(est.scenes.values())
    by = ", ".join(f"{f} {k:,}" for f, k in sorted(est.scenes.items()))
    products = max((len(s.products) for s in plan.scenes), default=0)
    landsat_s = cost.scene_seconds(cost.LANDSAT_FULL_PX)
    s2_s = cost.scene_seconds(cost.SENTINEL2_FULL_PX)
    lines = [
        f"estimate for run {plan.run_name}: {n:,} scene{'' if n == 1 else 's'} ({by or 'none'})",
        f"  per scene: {landsat_s:.1f} s per full Landsat scene, {s2_s:.1f} s per Sentinel-2 10 m tile "
        f"on {cost.MEASURED_VCPUS} vCPU ({cost.SCENE_SECONDS[0][1].source}); other sizes scale with "
        "pixels; unknown sensors count as the largest scene",
        f"  Batch jobs: {est.jobs:,} of up to {scenes_per_job} scenes; "
        f"scene time {est.compute_s / 3600:.2f} h, "
        f"{est.vcpu_hours:.2f} vCPU-hours with job start-up",
        f"  time-series job: 1 after the scene jobs, {est.timeseries_s:.0f} s "
        f"({cost.JOB_START_S.value:g} s job start + {cost.TIMESERIES_SCENE_S.value * 1000:g} ms per scene, "
        f"{cost.TIMESERIES_SCENE_S.source}); assumed to run, as the stack runs it whenever a scene is done",
        f"  wall time: about {_duration(est.wall_s)}" + (" (without the place stage)" if place else ""),
        *(place[0] if place else []),
        f"  cost in USD (us-east-1 prices read {cost.PRICES_READ_ON}; "
        f"Spot ${spot_price:g} per r6i.large-hour):",
    ]
    costs = dict(est.costs)
    if place:
        costs[PLACE_STAGE] = place[1]
    width = max(len(k) for k in costs)
    lines += [f"    {item:<{width}}  ${usd:,.4f}" for item, usd in costs.items()]
    lines.append(f"    {'total':<{width}}  ${sum(costs.values()):,.2f}")
    if products > cost.DEFAULT_PRODUCTS_MEASURED:
        lines.append(
            f"  note: some scenes ask for {products} products; the time per scene was measured for "
            f"{cost.DEFAULT_PRODUCTS_MEASURED}"
        )
    lines += ["  assumptions:"] + [f"    - {a}" for a in est.assumptions]
    lines.append("nothing was started")
    return "\n".join(lines) + "\n"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def estimate_command(args: argparse.Namespace) -> int:
    """Print the estimate of a scene list (no AWS calls, no credentials); 2 for an invalid list or option."""
    spot_price = args.spot_price
    scenes_per_job = args.scenes_per_job
    if spot_price <= 0 or scenes_per_job < 1 or args.concurrency < 1:
        sys.stderr.write(
            "scoresby submit --estimate: --spot-price must be > 0, --scenes-per-job and --concurrency >= 1\n"
        )
        return EXIT_INVALID
    try:
        plan = load_scene_list(args.scenes, run_name=args.name)
    except InvalidInput as exc:
        sys.stderr.write(f"{args.scenes}: {len(exc.problems)} problem(s); nothing was estimated\n")
        sys.stderr.write("".join(f"  - {p}\n" for p in exc.problems))
        return EXIT_INVALID
    products = [len(s.products) for s in plan.scenes] or [cost.DEFAULT_PRODUCTS_MEASURED]
    est = cost.estimate(
        scenes_by_sensor(plan),
        spot_price=spot_price,
        job_vcpus=args.job_vcpus,
        scenes_per_job=scenes_per_job,
        concurrency=args.concurrency,
        products_per_scene=sum(products) / len(products),
    )
    place = place_stage_estimate(plan, spot_price=spot_price, job_vcpus=args.job_vcpus)
    text = format_estimate(plan, est, spot_price=spot_price, scenes_per_job=scenes_per_job, place=place)
    sys.stdout.write(text)
    return EXIT_OK
