"""The `scoresby` command: parses arguments, sets up logging and hands each subcommand to its module."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings
from collections.abc import Sequence

from scoresby.core.warnings import ScoresbyWarning
from scoresby.options import (
    DEFAULT_SCENE_TIMEOUT_HELP,
    DEFAULT_STACK,
    output_option,
    overwrite_option,
    products_option,
    run_name_option,
    scene_timeout_option,
    stack_option,
    workers_option,
)
from scoresby.pricing import cost

# subcommand -> "module:function"; imported lazily so `scoresby --help` stays fast and the AWS
# commands do not load rasterio.
COMMANDS = {
    "process": "scoresby.commands.process:process_command",
    "run": "scoresby.commands.run:run_command",
    "status": "scoresby.commands.status:status_command",
    "search": "scoresby.commands.search:search_command",
    "watch": "scoresby.commands.watch:watch_command",
    "watches": "scoresby.commands.watches:watches_command",
    "timeseries": "scoresby.commands.timeseries:timeseries_command",
    "submit": "scoresby.commands.aws:submit_command",
    "rerun": "scoresby.commands.rerun:rerun_command",
    "view": "scoresby.commands.view:view_command",
    "places": "scoresby.commands.places:places_command",
}


# Flags whose values may start with "-" (western longitudes, southern latitudes).
NEGATIVE_VALUE_FLAGS = ("--bbox",)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand (DESIGN.md, command line)."""
    parser = argparse.ArgumentParser(
        prog="scoresby",
        description="Landsat 8/9 and Sentinel-2 scenes to Cloud-Optimized GeoTIFF products, "
        "on this machine or on AWS Batch.",
        epilog="examples:\n"
        "  scoresby run scenes.json --output ./products\n"
        "  scoresby status --output ./products\n"
        "  scoresby search --stac earth-search --collection landsat-c2-l2 --bbox -27.5,70,-21.5,71.5 "
        "--datetime 2013-06-01/.. -o scenes.json\n"
        '  scoresby process \'{"source": "/data/LC08_L2SP_226010_20140820_20200911_02_T1/"}\' --output out\n'
        "  scoresby watch examples/watch-scoresby-sund.json --every 16d\n"
        "  scoresby submit scenes.json --stack Scoresby\n"
        "scene lists: docs/SCENE-LISTS.md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("process", help="make the products of one scene (the Batch container runs this)")
    p.add_argument(
        "scene",
        metavar="SCENE",
        help="one scene object as inline JSON or a path to a JSON file; a JSON list of scene objects runs "
        "them one after the other (a Batch job's scenes): a JSON line each, exit 1 if any failed",
    )
    output_option(p, "local folder or s3:// prefix", required=True)
    products_option(p, "comma-separated products, overriding the scene's")
    run_name_option(p, "run folder under DEST (default: adhoc)", default="adhoc")
    overwrite_option(p, "replace outputs that already exist")

    r = sub.add_parser("run", help="process a scene list on this machine")
    r.add_argument("scenes", metavar="SCENES.json", help="scene list (full form, bare list or blog shape)")
    output_option(r, "local folder or s3:// prefix (default: the list's, else ./output)")
    workers_option(r)
    run_name_option(r, "run name (default: the list's run_name)")
    products_option(r, "comma-separated products, overriding the list's")
    overwrite_option(r, "redo scenes that already succeeded")
    scene_timeout_option(
        r, f"fail a scene whose worker gives no result for this long ({DEFAULT_SCENE_TIMEOUT_HELP})"
    )

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

    se = sub.add_parser("search", help="find scenes by area and dates in a STAC API; prints a scene list")
    se.add_argument(
        "--stac", required=True, metavar="URL|PRESET", help="earth-search, landsatlook or an https:// URL"
    )
    se.add_argument("--collection", required=True, action="append", metavar="NAME", help="repeat for several")
    se.add_argument("--bbox", metavar="W,S,E,N", help="area in degrees")
    se.add_argument("--aoi", metavar="AREA.geojson", help="area as a GeoJSON geometry or feature")
    se.add_argument("--datetime", required=True, metavar="START/END", help="e.g. 2013-04-01/.. (open end)")
    se.add_argument("--max-cloud", type=float, metavar="PCT", help="only items with eo:cloud_cover <= PCT")
    se.add_argument("--limit", type=int, metavar="N", help="at most N items")
    se.add_argument(
        "--allow-host",
        action="append",
        metavar="HOST",
        help="a private host, IP or network the API's assets may name (repeat; also SCORESBY_ALLOW_HOSTS)",
    )
    se.add_argument("--timeout", type=float, metavar="S", help="per-request timeout in seconds (default 30)")
    products_option(se, "products of the list (default: the defaults)")
    output_option(se, "output of the list (local folder or s3:// prefix)")
    se.add_argument("-o", metavar="SCENES.json", help="write the list to a file instead of stdout")

    w = sub.add_parser("watch", help="keep a place up to date: search again, process only new scenes")
    w.add_argument("watch", metavar="WATCH.json", help='a scene list with a "search" block open at the end')
    when = w.add_mutually_exclusive_group()
    when.add_argument("--once", action="store_true", help="one round, then exit (for cron; the default)")
    when.add_argument("--every", metavar="PERIOD", help="a round every PERIOD (e.g. 16d, 12h) until stopped")
    output_option(w, "local folder or s3:// prefix (default: the watch's, else ./output)")
    workers_option(w)
    products_option(w, "comma-separated products, overriding the watch's")
    scene_timeout_option(w, f"as for run ({DEFAULT_SCENE_TIMEOUT_HELP})")

    ws = sub.add_parser("watches", help="the watches of an output (or a stack) and their last rounds")
    output_option(ws, "where the local watches write (default: ./output)")
    stack_option(ws, "the watches deployed with this stack instead")

    s = sub.add_parser("status", help="per-status counts and failed scenes of a run (local or AWS)")
    s.add_argument("run", nargs="?", metavar="RUN", help="run name (default: the latest)")
    output_option(s, "where the local run wrote its outputs (default: ./output)")
    stack_option(s, "read the AWS task log of this stack instead")
    s.add_argument("--watch", action="store_true", help="refresh until the run finishes")

    v = sub.add_parser("view", help="serve a run on 127.0.0.1 and open its map page (full-resolution COGs)")
    v.add_argument(
        "run", metavar="RUN", help="the run folder (<output>/<run_name>) or s3://bucket/prefix/run/"
    )
    v.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    v.add_argument("--no-browser", action="store_true", help="print the URL only; do not open a browser")

    sb = sub.add_parser("submit", help="start the AWS pipeline on a scene list")
    sb.add_argument("scenes", metavar="SCENES.json")
    stack_option(sb, f"CloudFormation stack (default: {DEFAULT_STACK})", default=DEFAULT_STACK)
    sb.add_argument("--name", metavar="RUN", help="run name (default: the list's run_name)")
    sb.add_argument(
        "--estimate",
        action="store_true",
        help="print the expected time and cost; start nothing (no AWS needed)",
    )
    sb.add_argument(
        "--spot-price",
        type=float,
        default=cost.SPOT_PRICE_DEFAULT.value,
        metavar="USD",
        help=f"--estimate: Spot price per r6i.large-hour (default {cost.SPOT_PRICE_DEFAULT.value}, "
        f"assumed {cost.PRICES_READ_ON})",
    )
    sb.add_argument(
        "--scenes-per-job",
        type=int,
        default=cost.default_scenes_per_job(),
        metavar="N",
        help="--estimate: the stack's scenesPerJob (default "
        f"{cost.default_scenes_per_job()}: a job of full Landsat scenes runs ~5 min)",
    )
    sb.add_argument(
        "--job-vcpus", type=int, default=cost.MEASURED_VCPUS, metavar="N", help="--estimate: jobVcpus"
    )
    sb.add_argument(
        "--concurrency",
        type=int,
        default=100,
        metavar="N",
        help="--estimate: mapMaxConcurrency (default 100)",
    )

    rr = sub.add_parser("rerun", help="resubmit the failed scenes of an AWS run")
    rr.add_argument("run", metavar="RUN")
    rr.add_argument("--failed", action="store_true", required=True, help="resubmit only the failed scenes")
    stack_option(rr, default=DEFAULT_STACK)
    pl = sub.add_parser("places", help="the AWS place stage's Batch jobs (the state machine runs these)")
    pl_sub = pl.add_subparsers(dest="places_command", required=True, metavar="JOB")
    for name, text in (
        ("plan", "take stock of a round's place, claim what is out of date, write the job lists"),
        ("tiles", "make tiles of one place product"),
        ("assemble", "one place product's COGs and Item from its tiles"),
        ("finish", "places.csv and the round's result.json; claims released"),
    ):
        job = pl_sub.add_parser(name, help=text)
        job.add_argument(
            "round", metavar="ROUND_URI", help="the round folder (s3://<work bucket>/places/<run>/<round>/)"
        )
        if name in ("plan", "finish"):
            job.add_argument("--run-name", required=True, metavar="NAME", help="the run's name")
            output_option(job, "the run's output (s3:// prefix or folder)", required=True)
        else:
            job.add_argument("--item", required=True, metavar="ITEM_ID", help="the place product's Item id")
        if name == "tiles":
            job.add_argument("--tiles", required=True, metavar="N,N,...", help="tile numbers, e.g. 0,1,2,3")
    return parser


def _attach_negative_values(argv: Sequence[str]) -> list[str]:
    """`--bbox -27.5,70,...` as `--bbox=-27.5,70,...`: argparse takes a leading "-" for an option."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in NEGATIVE_VALUE_FLAGS and arg.startswith("-") and arg[1:2].isdigit():
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `scoresby` command; returns the process exit code."""
    args = build_parser().parse_args(_attach_negative_values(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # The command line records these as notes in each STAC Item and log line; as Python warnings they are
    # for library callers to filter (scoresby.warnings), and would only repeat the notes here.
    warnings.simplefilter("ignore", ScoresbyWarning)
    module_name, func_name = COMMANDS[args.command].split(":")
    command = getattr(importlib.import_module(module_name), func_name)
    return int(command(args))


if __name__ == "__main__":
    sys.exit(main())
