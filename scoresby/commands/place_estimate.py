"""The place stage in `scoresby submit --estimate`: periods and observations from the listed scenes' dates.

A scene's date is read from its id (Landsat and Sentinel-2 ids carry it); scenes of one day are one
observation; each is assumed to cover the whole AOI (an upper bound). Every period with scenes is made
(a first run); change pairs and the trend follow the `composites` option (pricing/places.py prices them).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from typing import Any

from scoresby.core.place_options import MIN_TREND_PERIODS
from scoresby.core.products import PRODUCTS
from scoresby.core.scene_list import RunPlan
from scoresby.pricing import places as place_cost

_DAY = re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")


def day_of(scene_id: str) -> date | None:
    """The acquisition day in a scene id (the first YYYYMMDD in it), or None."""
    for m in _DAY.finditer(scene_id):
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            continue
    return None


def observations_by_period(plan: RunPlan, options: dict[str, Any]) -> tuple[dict[str, int], int]:
    """{period label: distinct scene days} of the listed scenes in the months, and the undated count."""
    from scoresby.places.periods import in_months, period_label

    days: dict[str, set[date]] = defaultdict(set)
    undated = 0
    for scene in plan.scenes:
        day = day_of(scene.scene_id)
        if day is None:
            undated += 1
        elif in_months(day, options["months"]):
            days[period_label(day, options["period"])].add(day)
    return {label: len(d) for label, d in sorted(days.items())}, undated


def change_pairs(change: Any, periods: int) -> int:
    """Change Items the option asks for over `periods` periods."""
    if isinstance(change, list):
        return len(change)
    if change == "consecutive":
        return max(0, periods - 1)
    return 1 if change == "first-last" and periods >= 2 else 0


def place_stage_estimate(
    plan: RunPlan, *, spot_price: float, job_vcpus: int
) -> tuple[list[str], float] | None:
    """The estimate's place-stage lines and its cost in USD; None without `composites`."""
    options = plan.composites
    aoi = next((s.aoi for s in plan.scenes if s.aoi), None)
    if not options or not aoi:
        return None
    from scoresby.raster.quality import aoi_grid

    grid = aoi_grid(aoi)
    periods, undated = observations_by_period(plan, options)
    n = len(periods)
    names = plan.scenes[0].products if plan.scenes else ()
    indices = sum(1 for p in names if p in PRODUCTS and PRODUCTS[p].kind == "index")
    trend = options["trend"] if options["trend"] is not None else n >= MIN_TREND_PERIODS
    est = place_cost.place_estimate(
        grid.width,
        grid.height,
        periods_made=n,
        observations=sum(periods.values()) / n if n else 0,
        indices=indices,
        changes=change_pairs(options["change"], n),
        trend=bool(trend),
        spot_price=spot_price,
        job_vcpus=job_vcpus,
    )
    jobs = ", ".join(f"{k} {v:,}" for k, v in est.jobs.items())
    lines = [
        f"  place stage (composites): {n} period(s) with {sum(periods.values())} observation(s), AOI "
        f"{grid.width:,} x {grid.height:,} px in {est.tiles} tiles of {place_cost.TILE_PX} px; "
        f"Batch jobs: {jobs}; {est.compute_s / 3600:.2f} h busy",
        f"    {place_cost.TILE_S_PER_MPX_OBS.value:g} s per megapixel-observation of a composite tile "
        f"({place_cost.TILE_S_PER_MPX_OBS.source}); each scene assumed to cover the whole AOI (an upper "
        "bound); source bands read again through /vsis3/ (docs/OPERATIONS.md)",
    ]
    if undated:
        lines.append(f"    {undated} scene(s) without a date in the id are not counted in the periods")
    return lines, est.total
