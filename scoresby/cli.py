"""The `scoresby` command: parses arguments, sets up logging and hands each subcommand to its module.

A subcommand is one module in scoresby/commands/ defining `add_parser(sub)`: it adds its parser (help order
`HELP_ORDER`) and sets `func`, its run function; `command_modules` finds it, so cli.py needs no edit.
`--help` imports every command module: keep their top-level imports light (heavy ones inside `func`).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import scoresby.commands
from scoresby.core.warnings import ScoresbyWarning

# Flags whose values may start with "-" (western longitudes, southern latitudes).
NEGATIVE_VALUE_FLAGS = ("--bbox",)

_ADD_PARSER = re.compile(r"^def add_parser\(", re.MULTILINE)


def command_modules() -> list[ModuleType]:
    """The modules of scoresby.commands that define `add_parser`, in help order (HELP_ORDER, then name).

    The helper modules next to them (scene, dispatch, run_worker, ...) are not imported: their sources are
    read for `def add_parser(` first, so `scoresby --help` does not load what only running a scene needs.
    """
    folder = Path(scoresby.commands.__path__[0])
    names = [
        info.name
        for info in pkgutil.iter_modules(scoresby.commands.__path__)
        if not info.ispkg and _ADD_PARSER.search((folder / f"{info.name}.py").read_text(encoding="utf-8"))
    ]
    modules = [importlib.import_module(f"scoresby.commands.{name}") for name in names]
    return sorted(modules, key=lambda m: (getattr(m, "HELP_ORDER", 1000), m.__name__))


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
    for module in command_modules():
        module.add_parser(sub)
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
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
