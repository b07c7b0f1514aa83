"""The `scoresby` command: parses arguments, sets up logging and hands each subcommand to its module."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# subcommand -> "module:function"; imported lazily so `scoresby --help` stays fast and the AWS
# commands do not load rasterio.
COMMANDS = {
    "process": "worker.commands.process:process_command",
    "run": "worker.commands.run:run_command",
    "status": "worker.commands.status:status_command",
    "submit": "worker.commands.aws:submit_command",
    "rerun": "worker.commands.aws:rerun_command",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand (DESIGN.md, command line)."""
    parser = argparse.ArgumentParser(
        prog="scoresby",
        description="Landsat 8/9 and Sentinel-2 scenes to Cloud-Optimized GeoTIFF products, "
        "on this machine or on AWS Batch.",
        epilog="examples:\n"
        "  scoresby run scenes.json --output ./products\n"
        "  scoresby status --output ./products\n"
        '  scoresby process \'{"source": "/data/LC08_L2SP_226010_20140820_20200911_02_T1/"}\' --output out\n'
        "  scoresby submit scenes.json --stack Scoresby\n"
        "scene lists: docs/SCENE-LISTS.md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("process", help="make the products of one scene (the Batch container runs this)")
    p.add_argument("scene", metavar="SCENE", help="one scene object as inline JSON or a path to a JSON file")
    p.add_argument("--output", required=True, metavar="DEST", help="local folder or s3:// prefix")
    p.add_argument("--products", metavar="a,b,...", help="comma-separated products, overriding the scene's")
    p.add_argument(
        "--run-name", default="adhoc", metavar="NAME", help="run folder under DEST (default: adhoc)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")

    r = sub.add_parser("run", help="process a scene list on this machine")
    r.add_argument("scenes", metavar="SCENES.json", help="scene list (full form, bare list or blog shape)")
    r.add_argument(
        "--output", metavar="DEST", help="local folder or s3:// prefix (default: the list's, else ./output)"
    )
    r.add_argument("--workers", type=int, metavar="N", help="parallel scenes (default: one per core)")
    r.add_argument("--run-name", metavar="NAME", help="run name (default: the list's run_name)")
    r.add_argument("--products", metavar="a,b,...", help="comma-separated products, overriding the list's")
    r.add_argument("--overwrite", action="store_true", help="redo scenes that already succeeded")

    s = sub.add_parser("status", help="per-status counts and failed scenes of a run (local or AWS)")
    s.add_argument("run", nargs="?", metavar="RUN", help="run name (default: the latest)")
    s.add_argument(
        "--output", metavar="DEST", help="where the local run wrote its outputs (default: ./output)"
    )
    s.add_argument("--stack", metavar="NAME", help="read the AWS task log of this stack instead")
    s.add_argument("--watch", action="store_true", help="refresh until the run finishes")

    sb = sub.add_parser("submit", help="start the AWS pipeline on a scene list")
    sb.add_argument("scenes", metavar="SCENES.json")
    sb.add_argument(
        "--stack", default="Scoresby", metavar="NAME", help="CloudFormation stack (default: Scoresby)"
    )
    sb.add_argument("--name", metavar="RUN", help="run name (default: the list's run_name)")

    rr = sub.add_parser("rerun", help="resubmit the failed scenes of an AWS run")
    rr.add_argument("run", metavar="RUN")
    rr.add_argument("--failed", action="store_true", required=True, help="resubmit only the failed scenes")
    rr.add_argument("--stack", default="Scoresby", metavar="NAME")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `scoresby` command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    module_name, func_name = COMMANDS[args.command].split(":")
    command = getattr(importlib.import_module(module_name), func_name)
    return int(command(args))


if __name__ == "__main__":
    sys.exit(main())
