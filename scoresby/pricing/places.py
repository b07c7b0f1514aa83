"""What the AWS place stage costs (issue 22): measured per-tile figures and the pure estimator of a round.

The stage's jobs (core/place_stage.py): one plan job; per made period one composite job per tile and one
assembly job; per tile one change/trend job; one assembly job per change pair and one for the trend; one
finish job. Composite tiles read the scenes' source bands again through /vsis3/ (bench/place_bench.py's
read comparison, docs/OPERATIONS.md: cheaper than keeping analysis-ready copies).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scoresby.pricing.cost import (
    DYNAMODB_WRITE,
    JOB_START_S,
    MEASURED_VCPUS,
    S3_GET,
    S3_PUT,
    SFN_TRANSITION,
    SPOT_PRICE_DEFAULT,
    TRANSITIONS_PER_JOB,
    Figure,
    usd_per_vcpu_hour,
)

BENCH = "bench/place_bench.py 2026-12-07 05:26-05:28 UTC (3 runs at 4096 px), 2 shared vCPU, load 0.8-1.7"
TILE_PX = 4096
"""Tile side in AOI pixels, chosen by bench/place_bench.py: per AOI megapixel a 4096 px tile job costs 6.7-6.9
job-seconds against 18 at 2048 px and 62 at 1024 px (the 60 s job start shared by more pixels), at a peak RSS
of 431-434 MiB (312 at 2048 px): docs/OPERATIONS.md, "The place stage"."""
TILE_S_PER_MPX_OBS = Figure(
    0.121,
    "s per megapixel-observation",
    f"{BENCH}: compose() of a 4096 px tile, median, harmonised, 4 products; median of 0.117-0.124 "
    "(0.141 at 2048 px)",
)
"""Composite tile job time (without the job start) per megapixel per observation of the tile."""
TILE_PEAK_RSS_MIB = Figure(434.0, "MiB", f"{BENCH}: peak RSS of a 4096 px tile's compose, 10 observations")
ASSEMBLY_S_PER_MPX = Figure(
    0.57, "s per megapixel", f"{BENCH}: a tile's 12 layers written as DEFLATE COGs with overviews (0.55-0.66)"
)
"""A period's assembly (its assets as COGs with overviews, per AOI megapixel); Item and quicklooks aside."""
CHANGE_S_PER_MPX = Figure(
    ASSEMBLY_S_PER_MPX.value,
    "s per megapixel and pair",
    "assumption, not measured: reading two composites and writing the differences costs about an assembly",
)
TREND_US_PER_PX = Figure(
    2.8,
    "us per pixel and index, 40 periods",
    "make bench 2026-12-07 04:00-04:27 UTC (bench/composite_bench.py trend over the Scoresby Sund AOI, "
    "2.79 us; bench/README.md)",
)
TREND_PERIODS_MEASURED = 40
SOURCE_GETS_PER_MPX_OBS = Figure(
    24.4,
    "GET requests per megapixel-observation",
    f"{BENCH}: a 4096 px tile's compose reading 10 scenes' source bands through /vsis3/ (moto + counting "
    "proxy): 2,461 GETs, 701 MiB for 100.7 Mpx-obs",
)
S3_STANDARD_GB_MONTH = Figure(
    0.023,
    "USD per GB-month",
    "aws.amazon.com/s3/pricing, S3 Standard first 50 TB, us-east-1, read 2026-12-06",
)
TILE_FILES = 5
"""Files of a composite tile job besides one per index: reflectance, clear count, 2 frequencies, classes."""
ITEM_FILES = 3
"""Per asset of an assembled Item: COG, quicklook, plus the Item (as the scenes' FILES_PER_PRODUCT)."""
LEDGER_WRITES_PER_ITEM = 2
"""The claim and the `made` of each product (stores/place_ledger.py), one conditional UpdateItem each."""
PLAN_FINISH_JOBS = 2


@dataclass(frozen=True)
class PlaceEstimate:
    """The place stage of one round: jobs, busy seconds and cost items (USD)."""

    tiles: int
    jobs: dict[str, int]
    compute_s: float
    costs: dict[str, float]
    assumptions: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        """Everything together."""
        return sum(self.costs.values())


def tiles_of(width: int, height: int, tile_px: int = TILE_PX) -> int:
    """Tiles of a width x height px AOI grid cut into tile_px squares (the edge ones smaller)."""
    return math.ceil(width / tile_px) * math.ceil(height / tile_px)


def trend_seconds(pixels: int, indices: int, periods: int) -> float:
    """Theil-Sen / Mann-Kendall seconds: the measured 40-period figure scaled by the pairs of periods."""
    if periods < 2 or not indices:
        return 0.0
    pairs = periods * (periods - 1) / 2
    measured = TREND_PERIODS_MEASURED * (TREND_PERIODS_MEASURED - 1) / 2
    return pixels * indices * TREND_US_PER_PX.value * 1e-6 * pairs / measured


def place_estimate(
    width: int,
    height: int,
    *,
    periods_made: int,
    observations: float,
    periods_total: int | None = None,
    indices: int = 2,
    changes: int = 1,
    trend: bool = True,
    footprint: float = 1.0,
    tile_share: float = 1.0,
    spot_price: float = SPOT_PRICE_DEFAULT.value,
    job_vcpus: int = MEASURED_VCPUS,
    tile_px: int = TILE_PX,
    tile_s_per_mpx_obs: float = TILE_S_PER_MPX_OBS.value,
    gets_per_mpx_obs: float = SOURCE_GETS_PER_MPX_OBS.value,
) -> PlaceEstimate:
    """One round of the stage over a width x height AOI that (re)makes `periods_made` periods.

    `observations`: per made period, the distinct observations (sensor and solar day) over the AOI;
    `footprint`: the share of the AOI each covers on average (1: each covers it all); `tile_share`: the
    share of the tiles remade (a round adding one scene remakes the tiles that scene covers).
    `changes`: change pairs to remake; the trend (when `trend` and >= 4 periods) covers the whole AOI.
    """
    periods_total = periods_made if periods_total is None else periods_total
    tiles = tiles_of(width, height, tile_px)
    mpx = width * height / 1e6
    made_tiles = math.ceil(tiles * min(1.0, tile_share)) if periods_made else 0
    obs_mpx = periods_made * mpx * min(1.0, tile_share) * footprint * observations
    with_trend = trend and periods_total >= 4
    start = JOB_START_S.value
    jobs = {
        "composite-tiles": periods_made * made_tiles,
        "composite-items": periods_made,
        "derived-tiles": tiles if (changes or with_trend) and periods_made else 0,
        "derived-items": (changes + int(with_trend)) if periods_made else 0,
        "plan and finish": PLAN_FINISH_JOBS,
    }
    busy = {
        "composite tiles": jobs["composite-tiles"] * start + obs_mpx * tile_s_per_mpx_obs,
        "assembly": jobs["composite-items"] * (start + mpx * ASSEMBLY_S_PER_MPX.value),
        "change and trend": jobs["derived-tiles"] * start
        + (changes * mpx * CHANGE_S_PER_MPX.value if periods_made else 0.0)
        + (trend_seconds(width * height, indices, periods_total) if with_trend and periods_made else 0.0)
        + jobs["derived-items"] * (start + mpx * ASSEMBLY_S_PER_MPX.value),
        "plan and finish": PLAN_FINISH_JOBS * start,
    }
    per_vcpu_s = usd_per_vcpu_hour(spot_price) / 3600 * job_vcpus
    gets = obs_mpx * gets_per_mpx_obs
    puts = (
        jobs["composite-tiles"] * (TILE_FILES + indices)
        + (jobs["composite-items"] * (TILE_FILES + indices) + jobs["derived-items"] * (1 + indices))
        * ITEM_FILES
    )
    items = jobs["composite-items"] + jobs["derived-items"]
    costs = {f"{k} (Batch on Spot)": v * per_vcpu_s for k, v in busy.items()}
    costs["S3 requests (source bands read again, outputs)"] = gets * S3_GET.value + puts * S3_PUT.value
    costs["Step Functions and DynamoDB"] = (
        sum(jobs.values()) * TRANSITIONS_PER_JOB * SFN_TRANSITION.value
        + (items * LEDGER_WRITES_PER_ITEM + sum(jobs.values())) * DYNAMODB_WRITE.value
    )
    assumptions = [
        f"{f.value:g} {f.unit}: {f.source}"
        for f in (
            TILE_S_PER_MPX_OBS,
            ASSEMBLY_S_PER_MPX,
            CHANGE_S_PER_MPX,
            TREND_US_PER_PX,
            SOURCE_GETS_PER_MPX_OBS,
        )
    ]
    return PlaceEstimate(tiles, jobs, sum(busy.values()), costs, assumptions)


def ard_storage_usd_month(gb: float) -> float:
    """S3 Standard storage of analysis-ready copies for one month (the alternative not chosen)."""
    return gb * S3_STANDARD_GB_MONTH.value
