"""After a run: rebuild its time series (timeseries.csv, timeseries.png, a timelapse per place).

Built from the task log (which scenes succeeded, where their COGs are) and their STAC Items (statistics,
date, place), so a later run of the same name extends it. Frames come from the COGs' overviews.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from worker.core.layout import TIMESERIES_CSV, TIMESERIES_PNG, join_uri, timelapse_name
from worker.core.task_log import SKIPPED, SUCCEEDED, TaskRecord
from worker.core.timeseries import by_place, is_cloudy, row_from_item, sort_rows, to_csv
from worker.stores.run_files import read_json, write_run_file

log = logging.getLogger(__name__)

MIN_FRAMES = 2
"""A place gets a timelapse from this many frames on (one frame shows no change)."""


def _gdal_path(uri: str) -> str:
    return "/vsis3/" + uri.removeprefix("s3://") if uri.startswith("s3://") else uri


def load_rows(run_dir: str, records: Sequence[TaskRecord]) -> list[dict[str, Any]]:
    """A row per finished scene from its STAC Item (the Item itself under "item", the COG under "cog")."""
    rows = []
    for r in records:
        if r.status not in (SUCCEEDED, SKIPPED):
            continue
        item = read_json(join_uri(run_dir, r.scene_id, f"{r.scene_id}.json"))
        if item is None:
            continue
        row = row_from_item(item)
        row["item"] = item
        row["cog"] = r.outputs.get("true_color")
        rows.append(row)
    return sort_rows(rows)


def update_timeseries(
    run_dir: str, records: Sequence[TaskRecord], timelapse: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """Write the run's time-series files; return what the summary and report show (None: no scene yet)."""
    from worker.raster.timeseries import write_chart, write_timelapse

    rows = load_rows(run_dir, records)
    if not rows:
        return None
    options = timelapse or {}
    max_cloud = options.get("max_cloud")
    write_run_file(run_dir, TIMESERIES_CSV, to_csv(rows).encode("utf-8"), "text/csv")
    timelapses: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="scoresby-timeseries-") as tmp:
        chart = write_chart(rows, Path(tmp) / TIMESERIES_PNG, max_cloud)
        write_run_file(run_dir, TIMESERIES_PNG, chart.read_bytes(), "image/png")
        for place, place_rows in by_place(rows).items():
            frames = [
                (row, _gdal_path(row["cog"]))
                for row in place_rows
                if row.get("cog")
                and row.get("datetime")
                and not (max_cloud is not None and is_cloudy(row, max_cloud))
            ]
            if len(frames) < MIN_FRAMES:
                continue
            gif = Path(tmp) / timelapse_name(place)
            mp4 = Path(tmp) / timelapse_name(place, ".mp4") if options.get("mp4", True) else None
            try:
                written = write_timelapse(frames, gif, fps=options.get("fps", 1.0), mp4_path=mp4)
            except Exception as exc:  # noqa: BLE001 - one place's frames failing leaves the rest of the series
                log.warning("timelapse of %s not written: %s", place, exc)
                continue
            names = []
            for path in map(Path, written):
                kind = "image/gif" if path.suffix == ".gif" else "video/mp4"
                write_run_file(run_dir, path.name, path.read_bytes(), kind)
                names.append(path.name)
            timelapses[place] = names
    plain_rows = [{k: v for k, v in row.items() if k not in ("item", "cog")} for row in rows]
    footprints = {row["scene_id"]: row["item"].get("geometry") for row in rows}
    return {
        "csv": TIMESERIES_CSV,
        "chart": TIMESERIES_PNG,
        "timelapses": timelapses,
        "max_cloud": max_cloud,
        "rows": plain_rows,
        "footprints": footprints,
    }
