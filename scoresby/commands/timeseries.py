"""After a run: rebuild its time series (timeseries.csv, timeseries.png, a timelapse per place).

Built from the task log (which scenes succeeded, where their COGs are) and their STAC Items (statistics,
date, place), so a later run of the same name extends it. Frames come from the COGs' overviews.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scoresby.core.errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK, InvalidInput, one_line
from scoresby.core.json_input import load_json
from scoresby.core.layout import (
    TIMESERIES_CSV,
    TIMESERIES_JSON,
    TIMESERIES_PNG,
    check_name,
    join_uri,
    run_dir_of,
    stac_item_name,
    task_log_path,
    timelapse_name,
)
from scoresby.core.task_log import SKIPPED, SUCCEEDED, TaskRecord
from scoresby.core.timeseries import by_place, is_cloudy, row_from_item, sort_rows, to_csv
from scoresby.options import Subparsers, output_option, stack_option

log = logging.getLogger(__name__)

MIN_FRAMES = 2
"""A place gets a timelapse from this many frames on (one frame shows no change)."""


def _gdal_path(uri: str) -> str:
    return "/vsis3/" + uri.removeprefix("s3://") if uri.startswith("s3://") else uri


def load_rows(run_dir: str, records: Sequence[TaskRecord]) -> list[dict[str, Any]]:
    """A row per finished scene from its STAC Item (the Item itself under "item", the COG under "cog")."""
    from scoresby.stores.run_files import read_json

    rows = []
    for r in records:
        if r.status not in (SUCCEEDED, SKIPPED):
            continue
        item = read_json(join_uri(run_dir, r.scene_id, stac_item_name(r.scene_id)))
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
    import tempfile

    from scoresby.discovery.sources import gdal_env_options
    from scoresby.raster.timeseries import mp4_unavailable, write_chart, write_timelapse
    from scoresby.stores.run_files import write_run_file

    rows = load_rows(run_dir, records)
    if not rows:
        return None
    options = timelapse or {}
    max_cloud = options.get("max_cloud")
    notes = []
    want_mp4 = bool(options.get("mp4", True))
    if want_mp4 and (note := mp4_unavailable()) is not None:
        log.info("%s", note)  # one line per run, not per place: the GIFs are the product
        notes.append(note)
        want_mp4 = False
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
            mp4 = Path(tmp) / timelapse_name(place, ".mp4") if want_mp4 else None
            try:
                # The COGs are read as the scenes' bands are (S3 endpoint, requester pays, no listing).
                written = write_timelapse(
                    frames,
                    gif,
                    fps=options.get("fps", 1.0),
                    mp4_path=mp4,
                    gdal_env=gdal_env_options(path for _, path in frames),
                )
            except Exception as exc:  # noqa: BLE001 - one place's frames failing leaves the rest of the series
                log.warning("timelapse of %s not written: %s", place, exc)
                notes.append(f"timelapse of {place} not written: {type(exc).__name__}: {one_line(exc)}")
                continue
            names = []
            for path in map(Path, written):
                kind = "image/gif" if path.suffix == ".gif" else "video/mp4"
                write_run_file(run_dir, path.name, path.read_bytes(), kind)
                names.append(path.name)
            timelapses[place] = names
    plain_rows = [{k: v for k, v in row.items() if k not in ("item", "cog")} for row in rows]
    science = {
        "csv": TIMESERIES_CSV,
        "chart": TIMESERIES_PNG,
        "timelapses": timelapses,
        "max_cloud": max_cloud,
        "notes": notes,
        "rows": plain_rows,
    }  # the footprints come from the Items the Collection links (report/footprints.py), once, in summary.json
    # Last, so a reader that finds it finds every file it names (the AWS summary Lambda reads it).
    write_run_file(run_dir, TIMESERIES_JSON, json.dumps(science).encode("utf-8"), "application/json")
    return science


def read_records(output: str, run_name: str, stack: str | None = None) -> list[TaskRecord]:
    """A run's rows: `stack`'s or SCORESBY_TASK_TABLE's DynamoDB table, else `output`'s SQLite log."""
    if stack:
        from scoresby.commands.stack import find_stack, read_run

        return read_run(find_stack(stack), run_name)
    from scoresby.core.config import JobSettings

    settings = JobSettings.from_env()
    if settings.task_table:
        from scoresby.stores.dynamo_log import DynamoTaskLog

        return DynamoTaskLog(settings.task_table).records(run_name)
    from scoresby.stores.sqlite_log import SqliteTaskLog

    with SqliteTaskLog(task_log_path(output), create=False) as task_log:
        return task_log.records(run_name)


HELP_ORDER = 30
"""Where `scoresby --help` lists this command."""


def add_parser(sub: Subparsers) -> None:
    """`scoresby timeseries`: its parser, run by `timeseries_command`."""
    ts = sub.add_parser(
        "timeseries",
        help="rebuild a run's timeseries.csv/.png and timelapses from its task log and STAC Items",
    )
    ts.add_argument("run", metavar="RUN", help="run name")
    output_option(ts, "the run's output (folder or s3:// prefix)", required=True)
    ts.add_argument(
        "--timelapse", metavar="JSON", help="the run's timelapse option, e.g. '{\"max_cloud\": 40}'"
    )
    stack_option(ts, "an AWS run: read the task log of this stack")
    ts.set_defaults(func=timeseries_command)


def timeseries_command(args: Any) -> int:
    """`scoresby timeseries RUN --output DEST [--timelapse JSON] [--stack NAME]`: rebuild a run's series.

    Exit 0 also when no scene is done yet (nothing to build), 1 when building failed, 2 for bad arguments.
    """
    from scoresby.core.science_options import check_timelapse

    try:
        run_name = check_name(args.run, "run name", "RUN")
        problems: list[str] = []
        timelapse = check_timelapse(load_json(args.timelapse or "{}", "--timelapse"), "--timelapse", problems)
        if problems:
            raise InvalidInput(problems)
    except InvalidInput as exc:
        sys.stderr.write(f"scoresby timeseries: error: {one_line(exc)}\n")
        return EXIT_INVALID
    run_dir = run_dir_of(args.output, run_name)
    try:
        records = read_records(args.output, run_name, getattr(args, "stack", None))
        science = update_timeseries(run_dir, records, timelapse)
    except Exception as exc:  # noqa: BLE001 - one line for the job's log; the state machine reports the exit
        log.debug("time series of %s failed", run_dir, exc_info=True)
        sys.stderr.write(f"scoresby timeseries: error: {run_dir}: {type(exc).__name__}: {one_line(exc)}\n")
        return EXIT_FAILED
    if science is None:
        sys.stdout.write(f"run {run_name}: no finished scene in {run_dir} yet; no time series\n")
        return EXIT_OK
    places = ", ".join(f"{p} ({', '.join(n)})" for p, n in science["timelapses"].items()) or "none"
    sys.stdout.write(
        f"run {run_name}: {len(science['rows'])} scenes in {join_uri(run_dir, TIMESERIES_CSV)}; "
        f"timelapses: {places}\n"
    )
    for note in science["notes"]:
        sys.stdout.write(note + "\n")
    return EXIT_OK
