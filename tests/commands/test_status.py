"""`scoresby status` on the local SQLite task log: counts, failed scenes, latest run, --watch, errors."""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

import pytest

from scoresby.cli import build_parser
from scoresby.commands.status import local_status, status_command
from scoresby.core.layout import task_log_path
from scoresby.core.scene_list import Scene
from scoresby.stores.sqlite_log import SqliteTaskLog


def scenes(n: int) -> list[Scene]:
    return [Scene(scene_id=f"S{i}", source=f"/src/S{i}", products=("ndvi",)) for i in range(n)]


@pytest.fixture
def output(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    with SqliteTaskLog(task_log_path(str(out))) as tl:
        tl.plan("older", scenes(1), str(out / "older"), overwrite=False)
        tl.start("older", "S0", ran_on="h")
        tl.succeed("older", "S0", {"ndvi": "/o/S0.tif"}, 1.0)
        tl.plan("latest", scenes(3), str(out / "latest"), overwrite=False)
        tl.start("latest", "S0", ran_on="h")
        tl.succeed("latest", "S0", {"ndvi": "/o/S0.tif"}, 1.0)
        tl.start("latest", "S1", ran_on="h")
        tl.fail("latest", "S1", "MissingBands", "scene S1: needs B5; available: B2, B3, B4", 0.2)
    return out


def status(*argv: str) -> int:
    return status_command(build_parser().parse_args(["status", *argv]))


def test_latest_run_counts_and_failed_scenes(output: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert status("--output", str(output)) == 1  # a scene FAILED
    text = capsys.readouterr().out
    assert text.startswith("run latest (")
    assert "3 scenes, 1 PENDING, 0 RUNNING, 1 SUCCEEDED, 1 FAILED, 0 SKIPPED" in text
    assert "  FAILED S1  MissingBands: scene S1: needs B5; available: B2, B3, B4" in text


def test_named_run_without_failures_exits_0(output: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert status("older", "--output", str(output)) == 0
    assert "1 scenes, 0 PENDING, 0 RUNNING, 1 SUCCEEDED, 0 FAILED" in capsys.readouterr().out


def test_unknown_run_and_missing_log_exit_2(
    output: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert status("nope", "--output", str(output)) == 2
    err = capsys.readouterr().err
    assert "no run 'nope'" in err and "runs: latest, older" in err
    assert status("--output", str(tmp_path / "empty")) == 2
    assert "no task log at" in capsys.readouterr().err
    assert not (tmp_path / "empty").exists()


def test_watch_refreshes_until_nothing_is_pending(output: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def finish_the_run() -> None:
        with SqliteTaskLog(task_log_path(str(output))) as tl:
            time.sleep(0.3)
            tl.start("latest", "S2", ran_on="h")
            time.sleep(0.3)
            tl.succeed("latest", "S2", {"ndvi": "/o/S2.tif"}, 0.3)

    writer = threading.Thread(target=finish_the_run)
    writer.start()
    started = time.monotonic()
    assert local_status(str(output), None, watch=True, interval_s=0.1) == 1
    writer.join()
    blocks = [line for line in capsys.readouterr().out.splitlines() if line.startswith("run latest")]
    assert len(blocks) >= 3 and time.monotonic() - started >= 0.6
    assert "1 PENDING" in blocks[0] and "1 RUNNING" in "".join(blocks)
    assert "0 PENDING, 0 RUNNING, 2 SUCCEEDED, 1 FAILED" in blocks[-1]


def test_status_parser_defaults() -> None:
    args = build_parser().parse_args(["status"])
    assert isinstance(args, argparse.Namespace) and (args.run, args.output, args.watch) == (None, None, False)
