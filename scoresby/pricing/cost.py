"""What a run costs: measured per-scene figures and dated published prices, and the pure estimator."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from scoresby.sensors import sensor_named
from scoresby.sensors import sensors as registered_sensors

# --- measured figures (each with its date and source) ---------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One number the estimate rests on, with where it comes from (measurement or price page) and when."""

    value: float
    unit: str
    source: str


LANDSAT_FULL_PX = 7801 * 7911
"""A full Landsat 8/9 scene at 30 m (the benchmark's scene, shaped like a real WRS-2 L2 scene)."""
SENTINEL2_FULL_PX = 10980 * 10980
"""A full Sentinel-2 MGRS tile at 10 m."""


def full_scene_px(sensor: str) -> int:
    """Pixels of a full scene of a sensor name (the sensor says); unknown names count as the largest scene."""
    try:
        return sensor_named(sensor).full_scene_px
    except KeyError:
        return max(s.full_scene_px for s in registered_sensors())


WORKER_THREADS = 2
"""Threads one scene's worker keeps busy: raster/builder's pool and each COG's GDAL compression threads.

The job's vCPUs (jobVcpus) default to it: with more, the extra vCPUs idle; with fewer, the threads share."""
MEASURED_VCPUS = WORKER_THREADS
"""The benchmark VM's vCPUs, which the measured seconds below used (the worker's two threads)."""
SCENE_SECONDS: tuple[tuple[int, Figure], ...] = (
    (
        LANDSAT_FULL_PX,
        Figure(9.5, "s", "make bench 2026-11-22 01:41 UTC, 2 vCPU, 7801x7911 px, 3 default products"),
    ),
    (
        11031 * 11186,
        Figure(16.5, "s", "make bench 2026-11-22 01:41 UTC, 2 vCPU, 11031x11186 px (2x scene)"),
    ),
)
"""Wall time of `scoresby process` (true_color, false_color_ice, ndvi with quicklooks) by scene pixels."""
PEAK_RSS_MIB = Figure(322.4, "MiB", "make bench 2026-11-22: peak RSS, 1x and 2x scene alike (322/322 MiB)")
JOB_START_S = Figure(
    60.0,
    "s",
    "assumption, not measured: Batch container start and image pull on a running instance, per job",
)
INSTANCE_START_S = Figure(
    180.0, "s", "assumption, not measured: a Spot instance boots and joins the ECS cluster, per instance"
)

# --- published prices, us-east-1 (Linux), as read on the date given ---------------------------------

SPOT_PRICE_DEFAULT = Figure(
    0.045,
    "USD per r6i.large-hour",
    "assumed default 2026-12-02 (~36% of on-demand; no Spot price feed reachable): pass --spot-price "
    "with today's `aws ec2 describe-spot-price-history --instance-types r6i.large`",
)
ON_DEMAND_R6I_LARGE = Figure(0.126, "USD per hour", "aws.amazon.com/ec2/pricing/on-demand, us-east-1")
SPOT_INSTANCE_VCPUS = 2
"""vCPUs of the instance the Spot price is for (r6i.large)."""
SFN_TRANSITION = Figure(0.025 / 1000, "USD per state transition", "aws.amazon.com/step-functions/pricing")
LAMBDA_REQUEST = Figure(0.20 / 1e6, "USD per request", "aws.amazon.com/lambda/pricing")
LAMBDA_GB_S = Figure(
    0.0000133334, "USD per GB-second", "aws.amazon.com/lambda/pricing, Arm (the functions' architecture)"
)
DYNAMODB_WRITE = Figure(
    0.625 / 1e6, "USD per write request unit", "aws.amazon.com/dynamodb/pricing/on-demand (since 2024-11)"
)
DYNAMODB_READ = Figure(
    0.125 / 1e6, "USD per read request unit", "aws.amazon.com/dynamodb/pricing/on-demand (since 2024-11)"
)
S3_PUT = Figure(0.005 / 1000, "USD per PUT/LIST request", "aws.amazon.com/s3/pricing, S3 Standard")
S3_GET = Figure(0.0004 / 1000, "USD per GET request", "aws.amazon.com/s3/pricing, S3 Standard")
PRICES_READ_ON = "2026-12-02"

# --- counts per scene, job and run (kept in sync with the code by tests) ----------------------------

TRANSITIONS_PER_JOB = 4
"""States one successful Batch job passes in the Map's item processor, its RecordJobTimes included
(tests/infra counts them)."""
TRANSITIONS_PER_FAILED_JOB = 5
"""Extra states of a failed job that started: two choices, the parse of its Cause, its times, the map over its
scenes (tests/infra); not estimated."""
TRANSITIONS_PER_FAILED_SCENE = 6
"""States per scene of a failed job, first branch of each Choice (tests/infra); not estimated."""
TRANSITIONS_PER_RUN = 12
"""States outside the Map on the success path: init, nothing-new choice, inline choice, map, the time series'
count, choice, command, job and its times, the place-stage choice, summary, publish (tests/infra); a run with
composites adds the place stage's states."""
DYNAMODB_WRITES_PER_SCENE = 3
"""PENDING PutItem at planning, RUNNING and SUCCEEDED UpdateItems from the job (tests/lambdas count them)."""
DYNAMODB_WRITES_PER_JOB = 1
"""The state machine's PutItem of the job's row (`jobs:<run>`, its Batch start/stop times; tests/infra)."""
FILES_PER_PRODUCT = 3
"""COG, quicklook PNG and histogram PNG: one S3 PUT each, plus one STAC Item per scene."""
S3_GETS_PER_SCENE = Figure(
    132.0,
    "GET requests",
    "make bench 2026-12-02 (bench/s3_bench.py): a full Landsat scene from moto's S3, 130 range GETs of its "
    "6 band files (352 MiB, read once: 1.00x) plus the listing and the MTL",
)
INIT_LAMBDA = (1.0, Figure(0.02, "s per scene", "assumption: one conditional write per scene, ~20 ms"))
"""(memory GB, seconds per scene) of the init function (infra/run_functions.py: 1024 MB)."""
SUMMARY_LAMBDA = (0.5, Figure(0.002, "s per scene", "assumption: one paginated Query, ~2 ms per row"))
"""(memory GB, seconds per scene) of the summary function (infra/run_functions.py: 512 MB)."""
DEFAULT_PRODUCTS_MEASURED = 3

# --- the time-series job after the Map (infra/timeseries_step.py) ---------------------------------

TIMESERIES_SCENE_S = Figure(
    0.019,
    "s per scene",
    "make bench 2026-12-02, bench/science_bench.py, 200-scene time series: 3.6-3.8 s (bench/README.md)",
)
TIMESERIES_GETS_PER_SCENE = Figure(
    4.0,
    "GET requests per scene",
    "counted from the code, not measured: the STAC Item (commands/timeseries.py load_rows), the COG header "
    "(32 KiB at open) and about 2 range reads of one overview level (raster/timeseries.py read_frame)",
)
TIMESERIES_FILES = 3
"""timeseries.csv, timeseries.png and timeseries.json; plus one GIF per place with two or more dates."""


def usd_per_vcpu_hour(spot_price: float) -> float:
    """The Spot price of the instance shared out per vCPU: what one vCPU-hour of a job costs."""
    return spot_price / SPOT_INSTANCE_VCPUS


def scene_seconds(pixels: int) -> float:
    """Processing seconds of one scene on MEASURED_VCPUS: linear between the measured points."""
    points = [(0, 0.0), *((px, f.value) for px, f in SCENE_SECONDS)]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if pixels <= x1:
            return y0 + (y1 - y0) * (pixels - x0) / (x1 - x0)
    (x0, y0), (x1, y1) = points[-2], points[-1]
    return y1 + (y1 - y0) * (pixels - x1) / (x1 - x0)


def default_scenes_per_job(target_s: float = 300.0) -> int:
    """Scenes per Batch job so that a job of full Landsat scenes runs about `target_s` (5 minutes)."""
    return max(1, int(target_s // scene_seconds(LANDSAT_FULL_PX)))


def job_memory_mib(margin: float = 4.0) -> int:
    """Job memory: the measured peak RSS times `margin`, rounded up to 512 MiB steps (1536 MiB).

    The peak did not grow from the 1x to the 2x scene (bounded windows), so a Sentinel-2 10 m tile (2x
    the pixels of Landsat) needs the same; the margin covers GDAL caches, S3 buffers and the container.
    """
    return int(-(-PEAK_RSS_MIB.value * margin // 512) * 512)


@dataclass(frozen=True)
class Estimate:
    """The expected wall time and cost of a run, item by item (USD)."""

    scenes: dict[str, int]
    compute_s: float
    vcpu_hours: float
    jobs: int
    wall_s: float
    costs: dict[str, float]
    assumptions: list[str] = field(default_factory=list)
    timeseries_s: float = 0.0
    """Busy time of the run's one time-series job (job start included)."""

    @property
    def total(self) -> float:
        """Everything together."""
        return sum(self.costs.values())


def timeseries_job_s(scenes: int) -> float:
    """Busy time of the time-series job after the Map: a job start plus the measured time per scene."""
    return JOB_START_S.value + scenes * TIMESERIES_SCENE_S.value if scenes else 0.0


def estimate(
    scenes_by_sensor: Mapping[str, int],
    *,
    spot_price: float = SPOT_PRICE_DEFAULT.value,
    job_vcpus: int = MEASURED_VCPUS,
    scenes_per_job: int | None = None,
    concurrency: int = 100,
    products_per_scene: float = DEFAULT_PRODUCTS_MEASURED,
) -> Estimate:
    """Cost and wall time of running scenes (sensor name -> count; unknown names count as the largest scene).

    `scenes_per_job` defaults to the stack's scenesPerJob default (`default_scenes_per_job`). The run's
    time-series job is included: the stack runs it whenever a scene of the run is done.
    """
    if scenes_per_job is None:
        scenes_per_job = default_scenes_per_job()
    counts = dict(scenes_by_sensor)
    n = sum(counts.values())
    work_s = sum(scene_seconds(full_scene_px(name)) * k for name, k in counts.items())
    # Measured on MEASURED_VCPUS; more vCPUs per job are assumed to help no further (two worker threads).
    jobs = -(-n // max(1, scenes_per_job)) if n else 0
    compute_s = work_s + jobs * JOB_START_S.value
    vcpu_hours = compute_s * job_vcpus / 3600
    series_s = timeseries_job_s(n)
    slots = max(1, min(concurrency, jobs or 1))
    # The time-series job starts when the Map ends, on an instance the scene jobs left running.
    wall_s = (INSTANCE_START_S.value + compute_s / slots + series_s) if n else 0.0
    transitions = TRANSITIONS_PER_RUN + jobs * TRANSITIONS_PER_JOB
    init_gb_s = INIT_LAMBDA[0] * INIT_LAMBDA[1].value * n
    summary_gb_s = SUMMARY_LAMBDA[0] * SUMMARY_LAMBDA[1].value * n
    s3_puts = n * (products_per_scene * FILES_PER_PRODUCT + 1) + 1  # + summary.json
    # At most one GIF per place with two or more dates: n / 2 GIFs at most (places are known only later).
    series_puts = (TIMESERIES_FILES + n // 2) if n else 0
    series_jobs = 1 if n else 0
    costs = {
        "compute (Batch on Spot)": vcpu_hours * usd_per_vcpu_hour(spot_price),
        "time-series job (Batch on Spot, S3)": series_s * job_vcpus / 3600 * usd_per_vcpu_hour(spot_price)
        + series_puts * S3_PUT.value
        + n * TIMESERIES_GETS_PER_SCENE.value * S3_GET.value,
        "instance start-up": slots * INSTANCE_START_S.value / 3600 * spot_price,
        "Step Functions transitions": transitions * SFN_TRANSITION.value,
        "Lambda": 2 * LAMBDA_REQUEST.value + (init_gb_s + summary_gb_s) * LAMBDA_GB_S.value,
        "DynamoDB writes": (n * DYNAMODB_WRITES_PER_SCENE + (jobs + series_jobs) * DYNAMODB_WRITES_PER_JOB)
        * DYNAMODB_WRITE.value,
        "S3 requests": s3_puts * S3_PUT.value + n * S3_GETS_PER_SCENE.value * S3_GET.value,
    }
    assumptions = [
        f"{f.value:g} {f.unit}: {f.source}"
        for f in (JOB_START_S, INSTANCE_START_S, TIMESERIES_GETS_PER_SCENE)
        + ((SPOT_PRICE_DEFAULT,) if spot_price == SPOT_PRICE_DEFAULT.value else ())
    ]
    return Estimate(counts, work_s, vcpu_hours, jobs, wall_s, costs, assumptions, series_s)


# --- actual cost of a finished run ------------------------------------------------------------------


def compute_cost(
    busy_s: float, *, job_vcpus: int = MEASURED_VCPUS, spot_price: float = SPOT_PRICE_DEFAULT.value
) -> dict[str, float]:
    """Busy seconds of jobs priced as the estimator prices them: vCPU-hours x the Spot price per vCPU."""
    vcpu_hours = busy_s * job_vcpus / 3600
    return {
        "busy_s": round(busy_s, 3),
        "vcpu_hours": round(vcpu_hours, 6),
        "spot_price_usd_per_hour": spot_price,
        "compute_usd": round(vcpu_hours * usd_per_vcpu_hour(spot_price), 6),
    }


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def busy_seconds(started_at: str | None, finished_at: str | None, duration_s: float | None) -> float:
    """How long a scene held its job: finished_at - started_at, else the recorded duration, else 0."""
    start, end = _parse_time(started_at), _parse_time(finished_at)
    if start is not None and end is not None and end >= start:
        return max((end - start).total_seconds(), float(duration_s or 0.0))
    return float(duration_s or 0.0)


def actual_compute_cost(
    rows: Iterable[tuple[str | None, str | None, float | None]],
    *,
    job_vcpus: int = MEASURED_VCPUS,
    spot_price: float = SPOT_PRICE_DEFAULT.value,
) -> dict[str, float]:
    """Compute cost of finished scenes from their (started_at, finished_at, duration_s), same prices."""
    seconds = sum(busy_seconds(*row) for row in rows)
    return compute_cost(seconds, job_vcpus=job_vcpus, spot_price=spot_price)


def job_busy_seconds(started_ms: float | None, stopped_ms: float | None) -> float:
    """Seconds a Batch job ran, from DescribeJobs' StartedAt/StoppedAt (epoch ms); 0 without both."""
    if started_ms is None or stopped_ms is None:
        return 0.0
    return max(0.0, (float(stopped_ms) - float(started_ms)) / 1000)


def batch_jobs_cost(
    jobs: Iterable[tuple[float | None, float | None]],
    *,
    job_vcpus: int = MEASURED_VCPUS,
    spot_price: float = SPOT_PRICE_DEFAULT.value,
) -> dict[str, float]:
    """Compute cost of Batch jobs from their (started_ms, stopped_ms), same prices; with the job count."""
    times = list(jobs)
    seconds = sum(job_busy_seconds(*t) for t in times)
    return {"jobs": len(times), **compute_cost(seconds, job_vcpus=job_vcpus, spot_price=spot_price)}
