"""Run files: summary.json and report.html written whole into a run folder, local (atomic rename) or s3://."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scoresby.core.layout import cog_name, join_uri, split_s3_uri
from scoresby.core.summary import REPORT_NAME, SUMMARY_NAME, build_summary
from scoresby.core.task_log import TaskRecord
from scoresby.report.page import render_report

log = logging.getLogger(__name__)


def write_report(
    run_name: str,
    run_dir: str,
    records: Sequence[TaskRecord],
    *,
    duration_s: float | None = None,
    task_log: str | None = None,
    science: dict[str, Any] | None = None,
    search_skipped: Sequence[str] = (),
) -> tuple[str, str]:
    """Write summary.json and report.html into the run folder (local or s3://); return their locations.

    `science` is the run's time series (commands/timeseries.py): per-scene statistics, chart, timelapses.
    """
    summary = build_summary(run_name, records, duration_s=duration_s, task_log=task_log, science=science)
    if search_skipped:  # Items the search left out (core/catalogue_items.py): counted and named
        summary["search"] = {"skipped": len(search_skipped), "notes": list(search_skipped)}
    summary_text = summary_json(summary, run_dir)
    page = render_report(summary, run_dir)
    if run_dir.startswith("s3://"):
        return (
            _upload(run_dir + SUMMARY_NAME, summary_text, "application/json"),
            _upload(run_dir + REPORT_NAME, page, "text/html; charset=utf-8"),
        )
    folder = Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    summary_path = write_atomic(folder / SUMMARY_NAME, summary_text)
    report_path = write_atomic(folder / REPORT_NAME, page)
    log.info("report written to %s", report_path)
    return str(summary_path), str(report_path)


FILE_FIELDS = ("scene_id", "status", "attempts", "duration_s", "error", "ran_on")
FILE_STATS = (
    "place",
    "datetime",
    "cloud_percent",
    "clear_percent",
    "snow_ice_percent",
    "water_percent",
    "ndvi_mean",
)
"""What summary.json keeps per scene: the report's and the mail's columns. The rest of a scene (times,
source, every figure, outputs) stays in the task log, the STAC Item and timeseries.csv."""


def summary_json(summary: dict[str, Any], run_dir: str = "") -> str:
    """summary.json's text: a line per scene of FILE_FIELDS and FILE_STATS, so 10,000 scenes stay under 5 MB.

    Null error and ran_on are left out; outputs appear only where a product is not at the layout's place
    (`<scene_id>/<scene_id>_<product>.tif` in the run folder); percents are rounded to 2 decimals, NDVI to 4.
    """
    head = {k: v for k, v in summary.items() if k != "scenes"}
    fields = [f" {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in head.items()]
    lines = [json.dumps(_file_row(s, run_dir), separators=(",", ":")) for s in summary["scenes"]]
    return "{\n" + ",\n".join(fields) + ',\n "scenes": [\n' + ",\n".join(lines) + "\n ]\n}\n"


def _norm(uri: str) -> str:
    return uri if uri.startswith("s3://") else str(Path(uri).resolve())


def _file_row(scene: dict[str, Any], run_dir: str) -> dict[str, Any]:
    row = {k: scene[k] for k in FILE_FIELDS if scene.get(k) is not None}
    sid = scene["scene_id"]
    moved = {
        p: uri
        for p, uri in (scene.get("outputs") or {}).items()
        if not run_dir or _norm(uri) != _norm(join_uri(run_dir, sid, cog_name(sid, p)))
    }
    if moved:
        row["outputs"] = moved
    stats = scene.get("stats")
    row["stats"] = None if stats is None else {k: _round(k, stats.get(k)) for k in FILE_STATS}
    return row


def _round(key: str, value: Any) -> Any:
    """Percents to 2 decimals, NDVI (-1..1) to 4."""
    if not isinstance(value, float):
        return value
    return round(value, 4 if key == "ndvi_mean" else 2)


def write_run_file(run_dir: str, name: str, data: bytes, content_type: str, s3_client: Any = None) -> str:
    """Write one file of the run folder whole (local: atomic rename; s3://: one upload); return where."""
    if run_dir.startswith("s3://"):
        import boto3  # only s3:// runs need it

        bucket, key = split_s3_uri(run_dir + name)
        s3 = s3_client or boto3.client("s3")
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
        return run_dir + name
    folder = Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    # Not mkstemp: its 0600 would make the file unreadable to whoever may read the products (umask).
    tmp = folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with tmp.open("xb") as f:
            f.write(data)
        Path(tmp).replace(folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return str((folder / name).resolve())


def read_json(uri: str) -> dict[str, Any] | None:
    """A small JSON document (a STAC Item) from a local path or s3://; None when it is not there."""
    try:
        if uri.startswith("s3://"):
            import boto3

            bucket, key = split_s3_uri(uri)
            body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
            return dict(json.loads(body))
        return dict(json.loads(Path(uri).read_text(encoding="utf-8")))
    except Exception as exc:  # noqa: BLE001 - a missing or unreadable Item leaves its scene out of the series
        log.warning("cannot read %s: %s", uri, exc)
        return None


def write_atomic(path: Path, text: str) -> Path:
    """Write via a temporary file in the same folder and os.replace, so readers never see half a file."""
    # Not mkstemp: its 0600 would make the report unreadable to whoever may read the products (umask).
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with tmp.open("x", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path.resolve()


def _upload(uri: str, text: str, content_type: str) -> str:
    import boto3  # only s3:// runs need it

    bucket, key = split_s3_uri(uri)
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"), ContentType=content_type)
    return uri
