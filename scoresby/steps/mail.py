"""The run's e-mail: the subject line and the message (counts, cost, outputs, time series, places, failures).

Pure text from the summary step's figures; SNS limits the subject to 100 characters.
"""

from __future__ import annotations

from typing import Any

from scoresby.core.task_log import FAILED, PENDING, RUNNING, SKIPPED, SUCCEEDED, TaskRecord

SUBJECT_MAX = 100
"""SNS limit for an e-mail subject."""
MESSAGE_MAX_FAILURES = 50
MESSAGE_MAX_STATS = 30
"""Scenes whose statistics the e-mail lists (all of them are in summary.json and timeseries.csv)."""
MESSAGE_MAX_PLACE_ITEMS = 20
"""Place items made or failed that the e-mail names (all of them are in summary.json's `places`)."""
MAIL_STATS = (("cloud_percent", "cloud"), ("snow_ice_percent", "snow/ice"), ("water_percent", "water"))


def compose_subject(run_name: str, totals: dict[str, Any]) -> str:
    """One ASCII line of at most 100 characters with the counts; the run name is shortened to fit."""
    counts = f"{totals[SUCCEEDED]} succeeded, {totals[FAILED]} failed, {totals[SKIPPED]} skipped"
    unfinished = totals[PENDING] + totals[RUNNING]
    if unfinished:
        counts += f", {unfinished} unfinished"
    room = SUBJECT_MAX - len("Scoresby : ") - len(counts)
    name = run_name if len(run_name) <= room else run_name[: max(room - 3, 1)] + "..."
    subject = f"Scoresby {name}: {counts}"
    return subject.encode("ascii", "replace").decode("ascii")[:SUBJECT_MAX]


def compose_message(
    run_name: str,
    run_root: str,
    summary_uri: str,
    records: list[TaskRecord],
    totals: dict[str, Any],
    duplicates: int = 0,
    new_items: int | None = None,
    science: list[str] | None = None,
    search_skipped: int = 0,
) -> str:
    """The e-mail body: counts, outputs and summary, the `science` lines, the failed scenes and errors."""
    lines = [f"Scoresby run {run_name} finished: {totals['scenes']} scenes."]
    if new_items is not None:  # a watch round: the counts below are the whole run, every round's scenes
        lines = [f"Scoresby watch {run_name}: this round found {new_items} new item(s); the run now has "
                 f"{totals['scenes']} scenes."]  # fmt: skip
    lines += [
        f"  succeeded {totals[SUCCEEDED]}, failed {totals[FAILED]}, skipped (done before) {totals[SKIPPED]}, "
        f"unfinished {totals[PENDING] + totals[RUNNING]}",
    ]
    if duplicates:
        lines.append(f"  {duplicates} duplicate scene(s) in the list were processed once")
    if search_skipped:
        lines.append(
            f"  {search_skipped} item(s) the search found were skipped (see the init function's log)"
        )
    lines += cost_lines(totals.get("cost"))
    lines += [
        "",
        f"Outputs: {run_root}<scene_id>/",
        f"Summary: {summary_uri}",
        *(science or []),
    ]
    failed = [r for r in records if r.status == FAILED]
    if failed:
        lines += ["", f"Failed scenes ({len(failed)}):"]
        for r in failed[:MESSAGE_MAX_FAILURES]:
            error = r.error or {}
            lines.append(
                f"  {r.scene_id}: {error.get('type', 'error')}: {error.get('message', 'no message')}"
            )
        if len(failed) > MESSAGE_MAX_FAILURES:
            lines.append(f"  ... and {len(failed) - MESSAGE_MAX_FAILURES} more (see summary.json)")
        lines += ["", f"Resubmit them with: scoresby rerun {run_name} --failed"]
    return "\n".join(lines) + "\n"


def cost_lines(cost: dict[str, Any] | None) -> list[str]:
    """The e-mail's compute-cost lines: the actual figure and what the scenes alone account for."""
    if not cost:
        return []
    price = f"${cost['spot_price_usd_per_hour']:g} per r6i.large-hour"
    if cost.get("source") != "batch jobs":
        return [
            f"  compute: {cost['busy_s'] / 3600:.2f} h of scene time, {cost['vcpu_hours']:.3f} vCPU-hours, "
            f"about ${cost['compute_usd']:.4f} at {price} (from the scene rows: no Batch job times recorded)"
        ]
    scenes = cost["scene_rows"]
    share = f" ({scenes['busy_s'] / cost['busy_s']:.0%} of it)" if cost["busy_s"] else ""
    return [
        f"  compute: {cost['jobs']} Batch job(s) ran {cost['busy_s'] / 3600:.2f} h (StartedAt to StoppedAt), "
        f"{cost['vcpu_hours']:.3f} vCPU-hours, about ${cost['compute_usd']:.4f} at {price}",
        f"  of which the scenes themselves: {scenes['busy_s'] / 3600:.2f} h{share}, "
        f"about ${scenes['compute_usd']:.4f}",
    ]


def compose_science(run_root: str, summary: dict[str, Any], outcome: dict[str, Any]) -> list[str]:
    """The e-mail's time-series lines and a few scenes' statistics (the rest are in summary.json)."""
    series = summary.get("timeseries")
    lines: list[str] = []
    if outcome["status"] == FAILED:
        lines += ["", f"Time series not updated: {outcome['error']}", "  (the Batch job's log has the error)"]
    elif series and "csv" in series:
        lines += ["", f"Time series: {run_root}{series['csv']}, {series['chart']}"]
        for place, names in series.get("timelapses", {}).items():
            lines.append(f"  timelapse of {place}: {', '.join(names)}")
        lines += [f"  {note}" for note in series.get("notes", [])]
    with_stats = [s for s in summary["scenes"] if s.get("stats")]
    if with_stats:
        lines += ["", "Statistics (cloud % of valid pixels; snow/ice and water % of clear pixels):"]
        for scene in with_stats[:MESSAGE_MAX_STATS]:
            stats = scene["stats"]
            figures = ", ".join(
                f"{label} {'unknown' if stats.get(k) is None else format(stats[k], '.1f')}"
                for k, label in MAIL_STATS
            )
            lines.append(f"  {scene['scene_id']}: {figures}")
        if len(with_stats) > MESSAGE_MAX_STATS:
            lines.append(f"  ... and {len(with_stats) - MESSAGE_MAX_STATS} more (see summary.json)")
    return lines


def compose_places(places: dict[str, Any] | None) -> list[str]:
    """The e-mail's place-stage lines: items made, failed items with their reason, notes, the stage's cost."""
    if not places:
        return []
    lines = ["", f"Place products (round {places.get('round') or 'unknown'}):"]
    if places.get("error"):
        lines.append(f"  the place stage failed: {places['error']} (the scene results stay)")
    made = places.get("made") or []
    if made or not places.get("error"):
        shown = ", ".join(made[:MESSAGE_MAX_PLACE_ITEMS]) + (
            " ..." if len(made) > MESSAGE_MAX_PLACE_ITEMS else ""
        )
        lines.append(f"  made {len(made)} item(s)" + (f": {shown}" if made else " (nothing had changed)"))
    failed = places.get("failed") or []
    if failed:
        lines.append(f"  failed {len(failed)} (a later round makes them again):")
        lines += [f"    {f['item']}: {f['reason']}" for f in failed[:MESSAGE_MAX_PLACE_ITEMS]]
        if len(failed) > MESSAGE_MAX_PLACE_ITEMS:
            lines.append(f"    ... and {len(failed) - MESSAGE_MAX_PLACE_ITEMS} more (see summary.json)")
    lines += [f"  {note}" for note in (places.get("notes") or [])[:MESSAGE_MAX_PLACE_ITEMS]]
    cost = places.get("cost")
    if cost:
        lines.append(
            f"  place stage compute: {cost['jobs']} Batch job(s) ran {cost['busy_s'] / 3600:.2f} h, "
            f"{cost['vcpu_hours']:.3f} vCPU-hours, about ${cost['compute_usd']:.4f} "
            f"(apart from the scene jobs above)"
        )
    return lines
