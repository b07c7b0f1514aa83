"""`scoresby timeseries RUN --output DEST`: the run's rows from the task log, its exit codes and messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoresby.cli import main as scoresby
from scoresby.core.layout import run_dir_of, task_log_path
from scoresby.core.scene_list import Scene
from scoresby.core.timeseries import TASK_LOG_STATS
from scoresby.stores.sqlite_log import SqliteTaskLog

STATS = {"valid_percent": 99.0, "cloud_percent": 12.5, "quality_band": "QA_PIXEL", "pixels": {"valid": 9}}


def _plan(output: Path, run: str, n: int) -> list[Scene]:
    scenes = [
        Scene(scene_id=f"LC08_L2SP_226010_2014082{i}", source=f"/data/{i}", products=("ndvi",))
        for i in range(n)
    ]
    with SqliteTaskLog(task_log_path(str(output))) as log:
        log.plan(run, scenes, run_dir_of(str(output), run), False)
    return scenes


def test_the_sqlite_log_gives_its_rows_the_task_log_figures(tmp_path: Path) -> None:
    [s] = _plan(tmp_path, "sund", 1)
    with SqliteTaskLog(task_log_path(str(tmp_path))) as log:
        log.start("sund", s.scene_id, "host")
        log.succeed("sund", s.scene_id, {"ndvi": "/x.tif"}, 1.0, stats=STATS)
    with SqliteTaskLog(task_log_path(str(tmp_path)), create=False) as log:
        [row] = log.records("sund")
    assert set(row.stats or {}) == set(TASK_LOG_STATS)  # the DynamoDB rows' field names
    assert (
        row.stats is not None and row.stats["cloud_percent"] == 12.5 and row.stats["snow_ice_percent"] is None
    )


def test_a_run_with_no_finished_scene_builds_nothing_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _plan(tmp_path, "sund", 2)
    assert scoresby(["timeseries", "sund", "--output", str(tmp_path)]) == 0
    assert "no finished scene" in capsys.readouterr().out
    assert not (tmp_path / "sund" / "timeseries.csv").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["../up", "--output", "out"], "RUN: '../up' is not allowed"),
        (["sund", "--output", "out", "--timelapse", '{"max_cloud": 140}'], "--timelapse.max_cloud: 140"),
        (["sund", "--output", "out", "--timelapse", "{"], "--timelapse"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scoresby(["timeseries", *args]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1


def test_a_missing_task_log_fails_with_exit_1_naming_the_run_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scoresby(["timeseries", "sund", "--output", str(tmp_path / "nothing")]) == 1
    err = capsys.readouterr().err
    assert "scoresby timeseries: error:" in err and str(tmp_path / "nothing" / "sund") in err


def test_stack_reads_the_aws_task_log_of_that_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from scoresby.commands import stack
    from scoresby.core.task_log import FAILED, TaskRecord

    asked: list[tuple[str, str]] = []
    monkeypatch.setattr(stack, "find_stack", lambda name: stack.StackInfo(name, "us-east-1", {}))
    monkeypatch.setattr(
        stack,
        "read_run",
        lambda info, run: asked.append((info.name, run)) or [TaskRecord(run, "LC08_x", status=FAILED)],
    )
    assert scoresby(["timeseries", "sund", "--output", str(tmp_path), "--stack", "Scoresby-test"]) == 0
    assert asked == [("Scoresby-test", "sund")]
    assert "no finished scene" in capsys.readouterr().out


def test_the_sqlite_log_clears_figures_on_a_new_attempt_and_carries_them_to_skipped_rows(
    tmp_path: Path,
) -> None:
    [s] = _plan(tmp_path, "run-a", 1)
    path = task_log_path(str(tmp_path))
    with SqliteTaskLog(path) as log:
        log.start("run-a", s.scene_id, "host")
        log.succeed("run-a", s.scene_id, {"ndvi": "/x.tif"}, 1.0, stats=STATS)
        # another run writing to the same output reuses the scene, and its figures
        assert log.plan("run-b", [s], run_dir_of(str(tmp_path), "run-a"), False) == []
        [skipped] = log.records("run-b")
        assert (
            skipped.status == "SKIPPED"
            and skipped.stats is not None
            and skipped.stats["cloud_percent"] == 12.5
        )
        # overwrite: the scene runs again; until it succeeds it has no figures
        log.plan("run-a", [s], run_dir_of(str(tmp_path), "run-a"), True)
        log.start("run-a", s.scene_id, "host")
        log.fail("run-a", s.scene_id, "MissingBands", "needs B5", 0.1)
        [failed] = log.records("run-a")
        assert failed.status == "FAILED" and failed.stats is None
