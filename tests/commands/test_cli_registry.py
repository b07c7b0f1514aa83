"""The subcommand registry: each command module declares its own parser; `--help` loads no heavy library."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import scoresby.commands
from scoresby.cli import build_parser, command_modules

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("rasterio", "numpy", "boto3", "botocore", "werkzeug", "matplotlib", "pystac", "tqdm")


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    """The subcommand names of the top-level parser, in help order."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


def test_the_source_scan_finds_exactly_the_modules_that_define_add_parser() -> None:
    """cli reads sources instead of importing every helper; importing them all must agree."""
    with_parser = set()
    for info in pkgutil.iter_modules(scoresby.commands.__path__):
        module = importlib.import_module(f"scoresby.commands.{info.name}")
        if callable(getattr(module, "add_parser", None)):
            with_parser.add(module.__name__)
    assert {m.__name__ for m in command_modules()} == with_parser
    assert "scoresby.commands.scene" not in with_parser and "scoresby.commands.run" in with_parser


def test_every_subcommand_in_its_help_order_with_a_run_function() -> None:
    """The order of `scoresby --help` is kept; every subcommand has its run function as `func`."""
    parser = build_parser()
    names = _subcommands(parser)
    assert names[:10] == [
        "process",
        "run",
        "timeseries",
        "search",
        "watch",
        "watches",
        "status",
        "view",
        "submit",
        "rerun",
    ]
    args = parser.parse_args(["status"])
    assert args.func.__module__ == "scoresby.commands.status" and args.func.__name__ == "status_command"
    args = parser.parse_args(["submit", "x.json", "--estimate"])
    assert args.func.__name__ == "submit_command" and args.stack == "Scoresby"


def test_building_the_parser_imports_no_heavy_library() -> None:
    """`scoresby --help` (all parsers built) in a fresh interpreter: none of the heavy libraries loaded."""
    code = (
        "import json, sys\n"
        "from scoresby.cli import build_parser\n"
        "build_parser().format_help()\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout) == []
    helped = subprocess.run(
        [sys.executable, "-m", "scoresby.cli", "--help"], capture_output=True, text=True, env=env, check=True
    )
    assert "resubmit the failed scenes of an AWS run" in helped.stdout and helped.stderr == ""


def test_a_new_command_module_is_found_without_an_edit_to_cli(tmp_path: Path) -> None:
    """A module with `add_parser` dropped into (a copy of) scoresby/commands becomes a subcommand."""
    package = tmp_path / "scoresby"
    src = Path(scoresby.__file__).parent
    subprocess.run(["cp", "-r", str(src), str(package)], check=True)
    (package / "commands" / "hello.py").write_text(
        '"""`scoresby hello`: a toy command."""\n\n'
        "def add_parser(sub):\n"
        '    """Its parser."""\n'
        '    p = sub.add_parser("hello", help="say hello")\n'
        '    p.add_argument("--name", default="world")\n'
        "    p.set_defaults(func=hello_command)\n\n\n"
        "def hello_command(args):\n"
        '    """Say hello."""\n'
        '    print(f"hello {args.name}")\n'
        "    return 0\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "scoresby.cli", "hello", "--name", "Scoresby Sund"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert (run.returncode, run.stdout) == (0, "hello Scoresby Sund\n"), run.stderr
    helped = subprocess.run(
        [sys.executable, "-m", "scoresby.cli", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert "say hello" in helped.stdout
