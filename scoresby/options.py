"""Options shared by several subcommands, each defined once (as rasterio's rio/options.py does).

A subcommand's parser calls these; only the help text may differ, since what `--output` means differs
between `process` (where to write) and `status` (where a run wrote).
"""

from __future__ import annotations

import argparse
from typing import TypeAlias

from scoresby.core.contract import STACK_NAME

DEFAULT_STACK = STACK_NAME
DEFAULT_SCENE_TIMEOUT_HELP = "default: 3600; 0: no limit"


def output_option(parser: argparse.ArgumentParser, help: str, *, required: bool = False) -> None:  # noqa: A002
    """--output DEST: a local folder or an s3:// prefix."""
    parser.add_argument("--output", required=required, metavar="DEST", help=help)


def products_option(parser: argparse.ArgumentParser, help: str) -> None:  # noqa: A002
    """--products a,b,...: the products to make, comma-separated."""
    parser.add_argument("--products", metavar="a,b,...", help=help)


def run_name_option(parser: argparse.ArgumentParser, help: str, *, default: str | None = None) -> None:  # noqa: A002
    """--run-name NAME: the run's folder under the output and its task-log key."""
    parser.add_argument("--run-name", default=default, metavar="NAME", help=help)


def overwrite_option(parser: argparse.ArgumentParser, help: str) -> None:  # noqa: A002
    """--overwrite: make outputs again that already exist."""
    parser.add_argument("--overwrite", action="store_true", help=help)


def workers_option(parser: argparse.ArgumentParser) -> None:
    """--workers N: scenes processed at once on this machine."""
    parser.add_argument("--workers", type=int, metavar="N", help="parallel scenes (default: one per core)")


def scene_timeout_option(parser: argparse.ArgumentParser, help: str) -> None:  # noqa: A002
    """--scene-timeout SECONDS: fail a scene whose worker gives no result for this long."""
    parser.add_argument("--scene-timeout", type=float, metavar="SECONDS", help=help)


def stack_option(
    parser: argparse.ArgumentParser, help: str | None = None, *, default: str | None = None
) -> None:  # noqa: A002
    """--stack NAME: the deployed CloudFormation stack to read or start."""
    parser.add_argument("--stack", default=default, metavar="NAME", help=help)


Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What `add_subparsers` returns: each command module's `add_parser` adds its parser to it (cli.py)."""
