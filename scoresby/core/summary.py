"""The run summary: summary.json's figures and the status block of `scoresby status`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from scoresby.core.layout import REPORT_NAME, SUMMARY_NAME
from scoresby.core.task_log import FAILED, SKIPPED, STATUSES, TaskRecord, utc_now
from scoresby.core.timeseries import STAT_FIELDS

__all__ = ["REPORT_NAME", "SUMMARY_NAME"]  # re-exported: defined with the other reserved names in layout


def build_summary(
    run_name: str,
    records: Sequence[TaskRecord],
    *,
    duration_s: float | None = None,
    task_log: str | None = None,
    science: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON-safe summary of a run: totals and one row per scene (with its statistics, issue 12)."""
    stats_of = {row["scene_id"]: row for row in (science or {}).get("rows", [])}
    totals: dict[str, Any] = {"scenes": len(records)}
    totals.update({s: sum(r.status == s for r in records) for s in STATUSES})
    totals["processing_s"] = round(sum(r.duration_s or 0.0 for r in records if r.status != SKIPPED), 3)
    scenes = [
        {
            "scene_id": r.scene_id,
            "status": r.status,
            "attempts": r.attempts,
            "created_at": r.created_at,
            "started_at": r.started_at,
            "finished_at": r.finished_at,
            "duration_s": r.duration_s,
            "products": list(r.products),
            "outputs": dict(r.outputs),
            "error": r.error,
            "ran_on": r.ran_on,
            "source": r.source,
            "stats": _scene_stats(stats_of.get(r.scene_id), r.stats),
        }
        for r in records
    ]
    summary = {
        "run_name": run_name,
        "generated_at": utc_now(),
        "wall_clock_s": None if duration_s is None else round(duration_s, 3),
        "task_log": task_log,
        "totals": totals,
        "scenes": scenes,
    }
    if science:
        summary["timeseries"] = {k: v for k, v in science.items() if k != "rows"}
    return summary


def _scene_stats(row: dict[str, Any] | None, logged: dict[str, Any] | None) -> dict[str, Any] | None:
    """A scene's statistics: its time-series row (place, datetime, STAT_FIELDS), else its task-log row's.

    The task log's figures stand in where no time series was built (an AWS run whose time-series job
    failed); they have no place or datetime (those come from the STAC Item).
    """
    if row is None:
        row = None if logged is None else {"place": None, "datetime": None, **logged}
    if row is None:
        return None
    return {k: row.get(k) for k in ("place", "datetime", *STAT_FIELDS)}


def status_counts(records: Iterable[TaskRecord]) -> dict[str, int]:
    """Rows per status, every status present (zero when none)."""
    counts = Counter(r.status for r in records)
    return {status: counts.get(status, 0) for status in STATUSES}


def format_status(run_id: str, records: list[TaskRecord], where: str = "DynamoDB") -> str:
    """The status block of a local or AWS run: counts per status, then one line per failed scene."""
    counts = status_counts(records)
    lines = [
        f"run {run_id} ({where}): {len(records)} scenes, " + ", ".join(f"{n} {s}" for s, n in counts.items())
    ]
    for r in records:
        if r.status == FAILED:
            error = r.error or {}
            reason = f"{error.get('type', 'Error')}: {error.get('message', 'no reason recorded')}"
            lines.append(f"  FAILED {r.scene_id}  {reason}  (attempts {r.attempts})")
    return "\n".join(lines)
