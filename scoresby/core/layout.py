"""Output layout: where a run, a scene and each of its files live, for a local folder or an s3:// prefix."""

from __future__ import annotations

import re
from pathlib import Path


def join_uri(base: str, *parts: str) -> str:
    """Join path components onto a local folder or an s3:// prefix."""
    if base.startswith("s3://"):
        return "/".join([base.rstrip("/"), *parts])
    return str(Path(base).joinpath(*parts))


def split_s3_uri(uri: str) -> tuple[str, str]:
    """("bucket", "key/part") of "s3://bucket/key/part"."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


# Where `scoresby run` and `scoresby status` look when no output is given (relative to the working directory).
DEFAULT_OUTPUT = "output"


def run_dir_of(output: str, run_name: str) -> str:
    """The run folder `<output>/<run_name>/` (a local path, or an s3:// prefix ending in "/")."""
    if output.startswith("s3://"):
        return f"{output.rstrip('/')}/{run_name}/"
    return str(Path(output) / run_name)


def scene_dest(output: str, run_name: str, scene_id: str) -> str:
    """`<output>/<run_name>/<scene_id>` as a local path or s3:// URI."""
    return join_uri(output, run_name, scene_id)


# --- a scene's files: `<scene_id>_<product>.tif`, its quicklook and histogram, and `<scene_id>.json` -----
COG_SUFFIX = ".tif"
QUICKLOOK_SUFFIX = ".png"
HISTOGRAM_SUFFIX = "_hist.png"
STAC_ITEM_SUFFIX = ".json"


def cog_name(scene_id: str, product: str) -> str:
    """The file name of a product's COG: `<scene_id>_<product>.tif`."""
    return f"{scene_id}_{product}{COG_SUFFIX}"


def stac_item_name(scene_id: str) -> str:
    """The file name of a scene's STAC Item: `<scene_id>.json`."""
    return f"{scene_id}{STAC_ITEM_SUFFIX}"


def quicklook_of(cog_uri: str) -> str:
    """The quicklook PNG beside a COG (a local path or an s3:// URI)."""
    return cog_uri.removesuffix(COG_SUFFIX) + QUICKLOOK_SUFFIX


def histogram_of(cog_uri: str) -> str:
    """The histogram PNG beside a COG (a local path or an s3:// URI)."""
    return cog_uri.removesuffix(COG_SUFFIX) + HISTOGRAM_SUFFIX


def expected_outputs(dest: str, scene_id: str, products: tuple[str, ...]) -> tuple[dict[str, str], str]:
    """COG URI per product and the STAC Item URI a finished scene has."""
    return (
        {p: join_uri(dest, cog_name(scene_id, p)) for p in products},
        join_uri(dest, stac_item_name(scene_id)),
    )


def product_files(cog_uri: str) -> list[str]:
    """Every file of one product, from its COG: the COG, its quicklook and its histogram."""
    return [cog_uri, quicklook_of(cog_uri), histogram_of(cog_uri)]


def scene_files_of(cog_uri: str) -> list[str]:
    """What must exist for a product of a scene to count as done: its files and the scene's STAC Item."""
    if cog_uri.startswith("s3://"):
        folder = cog_uri.rsplit("/", 1)[0]
        stac = f"{folder}/{stac_item_name(folder.rsplit('/', 1)[-1])}"
    else:
        stac = str(Path(cog_uri).parent / stac_item_name(Path(cog_uri).parent.name))
    return [*product_files(cog_uri), stac]


# The local task log lives next to the outputs; for s3:// outputs under ./.scoresby/<bucket>/<prefix>/.
TASK_LOG_NAME = "scoresby-tasklog.sqlite"
LOCAL_STATE_DIR = ".scoresby"


def task_log_path(output: str) -> Path:
    """Where the task log of an output destination lives (local folder or s3:// prefix)."""
    if output.startswith("s3://"):
        bucket_and_prefix = output[len("s3://") :].strip("/")
        parts = [p for p in bucket_and_prefix.split("/") if p not in ("", ".", "..")]
        return Path(LOCAL_STATE_DIR, *parts, TASK_LOG_NAME)
    return Path(output) / TASK_LOG_NAME


# Run files inside `<output>/<run_name>/` (a scene folder of the same name would make them unwritable).
SUMMARY_NAME = "summary.json"
REPORT_NAME = "report.html"
RUN_LOCK_NAME = "scoresby-run.lock"

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
NAME_LIMITS = {"run name": 80, "scene id": 128}
# Scoresby's own names at the output root and in a run folder, compared case-insensitively (macOS and
# Windows file systems fold case); a name that starts with one of them (SQLite's "-wal"/"-shm") collides too.
RESERVED_NAMES = (TASK_LOG_NAME, RUN_LOCK_NAME, LOCAL_STATE_DIR, SUMMARY_NAME, REPORT_NAME)


def name_problem(value: object, kind: str) -> str | None:
    """Why `value` cannot be a run name or scene id (a folder under the output), or None when it can.

    The one rule for both, used by every entry point (scene lists, --run-name, SCORESBY_RUN_ID): one path
    component that stays inside its parent, is not hidden (temp names start with "."), and is not one of
    Scoresby's own file names.
    """
    limit = NAME_LIMITS[kind]
    allowed = (
        f"allowed: 1-{limit} letters, digits, '.', '_', '-' starting with a letter or digit, "
        f"not one of Scoresby's own names ({', '.join(RESERVED_NAMES)})"
    )
    if not isinstance(value, str) or len(value) > limit or not NAME_PATTERN.fullmatch(value):
        return allowed
    lowered = value.lower()
    if any(lowered.startswith(reserved.lower()) for reserved in RESERVED_NAMES):
        return f"it collides with Scoresby's own file {_reserved_of(lowered)}; {allowed}"
    return None


def check_name(value: object, kind: str, field: str) -> str:
    """`value` when it is a usable run name or scene id, else InvalidInput naming `field`."""
    from scoresby.core.errors import InvalidInput

    problem = name_problem(value, kind)
    if problem is not None:
        raise InvalidInput(f"{field}: {value!r} is not allowed; {problem}")
    return str(value)


def _reserved_of(lowered: str) -> str:
    return next(r for r in RESERVED_NAMES if lowered.startswith(r.lower()))


# --- the work bucket (AWS) -------------------------------------------------------------------------------
LISTS_PREFIX = "lists/"
"""`scoresby submit` puts lists over the 256 KiB execution-input quota here; the input names the object."""
ITEMS_PREFIX = "items/"
"""The init step writes a run's Map items here when they are too many to pass inline."""


def list_key(name: str) -> str:
    """The work-bucket key of a scene list `scoresby submit` stored: `lists/<name>.json`."""
    return f"{LISTS_PREFIX}{name}.json"


def items_key(run_name: str, token: str) -> str:
    """The work-bucket key of one planning's Map items: `items/<run>/<token>.json`."""
    return f"{ITEMS_PREFIX}{run_name}/{token}.json"


# --- science outputs of a run (issue 12): the time series of every place the run covers ------------------
TIMESERIES_CSV = "timeseries.csv"
TIMESERIES_PNG = "timeseries.png"
TIMESERIES_JSON = "timeseries.json"
"""What the time series holds (files, timelapses, a row per scene): read by the AWS summary Lambda."""


def timelapse_name(place: str, suffix: str = ".gif") -> str:
    """`<place>_timelapse.gif` (or .mp4) in the run folder."""
    return f"{place}_timelapse{suffix}"
