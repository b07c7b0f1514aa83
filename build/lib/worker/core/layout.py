"""Output layout: where a run, a scene and each of its files live, for a local folder or an s3:// prefix."""

from __future__ import annotations

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


def expected_outputs(dest: str, scene_id: str, products: tuple[str, ...]) -> tuple[dict[str, str], str]:
    """COG URI per product and the STAC Item URI a finished scene has."""
    return ({p: join_uri(dest, f"{scene_id}_{p}.tif") for p in products}, join_uri(dest, f"{scene_id}.json"))


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


# Scene lists too big for a Step Functions input are stored in the work bucket under this prefix.
LISTS_PREFIX = "lists/"


# --- science outputs of a run (issue 12): the time series of every place the run covers ------------------
TIMESERIES_CSV = "timeseries.csv"
TIMESERIES_PNG = "timeseries.png"


def timelapse_name(place: str, suffix: str = ".gif") -> str:
    """`<place>_timelapse.gif` (or .mp4) in the run folder."""
    return f"{place}_timelapse{suffix}"
