"""The time series of a run: one row per scene from its STAC Item, grouped by place, as CSV (stdlib only)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

STAT_FIELDS = (
    "valid_percent",
    "cloud_percent",
    "shadow_percent",
    "clear_percent",
    "snow_ice_percent",
    "water_percent",
    "ndvi_mean",
    "valid_km2",
    "cloud_km2",
    "shadow_km2",
    "clear_km2",
    "snow_ice_km2",
    "water_km2",
)
"""The figures of a STAC Item's `scoresby:stats`, in the order timeseries.csv lists them."""

CSV_FIELDS = ("place", "scene_id", "sensor", "datetime", *STAT_FIELDS)

TASK_LOG_STATS = ("quality_band", *STAT_FIELDS)
"""What a task-log row keeps of a scene's statistics (SQLite `scene_stats`, DynamoDB `stats`): the figures
and the quality band they were masked with (None: cloud figures unknown). Pixel counts stay in the Item."""


def task_log_stats(stats: Mapping[str, Any]) -> dict[str, Any]:
    """A scene's `scoresby:stats` cut to TASK_LOG_STATS, every name present (unknown: None, never 0)."""
    return {name: stats.get(name) for name in TASK_LOG_STATS}


CLOUDY_PERCENT = 40.0
"""Above this cloud percent a scene's snow/ice and water figures describe the clouds' gaps, not the place:
the chart marks such scenes instead of joining them into the line (a run's `timelapse.max_cloud` wins)."""


def row_from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """One time-series row from a scene's STAC Item (the statistics null where the Item has none)."""
    props = item.get("properties", {})
    stats = props.get("scoresby:stats") or {}
    row: dict[str, Any] = {
        "place": props.get("scoresby:place") or item.get("id"),
        "scene_id": item.get("id"),
        "sensor": props.get("platform"),
        "datetime": props.get("datetime"),
    }
    row.update({f: stats.get(f) for f in STAT_FIELDS})
    return row


def sort_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows by place, then date (then scene id, so equal dates keep one order)."""
    return sorted(rows, key=lambda r: (str(r["place"]), str(r["datetime"] or ""), str(r["scene_id"])))


def by_place(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Rows grouped by place, each group in date order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in sort_rows(rows):
        groups.setdefault(str(row["place"]), []).append(row)
    return groups


def is_cloudy(row: Mapping[str, Any], max_cloud: float | None = None) -> bool:
    """True when the row's cloud percent is known and above `max_cloud` (default CLOUDY_PERCENT)."""
    cloud = row.get("cloud_percent")
    limit = CLOUDY_PERCENT if max_cloud is None else max_cloud
    return cloud is not None and cloud > limit


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    """timeseries.csv: CSV_FIELDS as the header, a row per scene; unknown figures are empty cells."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in sort_rows(rows):
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in CSV_FIELDS})
    return out.getvalue()
