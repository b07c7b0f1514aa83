"""Real faults through the real CLI: signals, full disks, concurrent runners, hung workers, broken task logs.

Issue 9, items 5-8, 12, 13. Full disks are real small tmpfs mounts (root only; skipped where not allowed).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scoresby.core.layout import task_log_path
from scoresby.core.task_log import FAILED, RUNNING, SKIPPED, SUCCEEDED
from scoresby.demo.gradient import write_landsat_l2_scene
from tests import prerequisites
from tests.commands.test_run import _counts, _start_runner, _wait_for, _worker_pids, records_by_id

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scoresby.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env or ENV,
        timeout=600,
    )


def one_error_line(stderr: str, prefix: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str, str], Path]]:
    """mount(name, size) -> a fresh tmpfs of that size; all unmounted afterwards."""
    mounted: list[Path] = []

    def mount(name: str, size: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
        )
        if proc.returncode != 0:
            prerequisites.missing(f"cannot mount a tmpfs (needs root): {proc.stderr.decode().strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


def scene(tmp_path: Path, name: str, size: int = 600) -> Path:
    return write_landsat_l2_scene(tmp_path / "src" / name, width=size, height=size, scene_id=name)


SCENE = "LC08_L2SP_226010_20140820_20200911_02_T1"


def test_sigterm_stops_process_removes_temps_publishes_nothing(tmp_path: Path) -> None:
    src = scene(tmp_path, SCENE, 3000)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scoresby.cli",
            "process",
            json.dumps({"source": str(src)}),
            "--output",
            str(out),
        ],
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**ENV, "TMPDIR": str(tmp)},
    )
    _wait_for(lambda: any(p.is_file() for p in tmp.rglob("*")), 120, "temp files", proc)  # type: ignore[arg-type]
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert "SIGTERM" in one_error_line(stderr, "scoresby: error:")
    assert list(tmp.iterdir()) == []
    assert not (out / "adhoc" / SCENE).exists()


def test_full_output_disk_leaves_no_half_scene(tmp_path: Path, tmpfs: Callable[[str, str], Path]) -> None:
    out = tmpfs("out", "600k")
    src = scene(tmp_path, SCENE, 900)
    proc = cli("process", json.dumps({"source": str(src)}), "--output", str(out), cwd=REPO)
    assert proc.returncode == 1
    line = one_error_line(proc.stderr, "scoresby: error:")
    assert "disk is full" in line and str(out) in line
    assert [p for p in out.rglob("*") if p.is_file()] == []
    assert not (out / "adhoc" / SCENE).exists()


def test_temp_space_is_checked_up_front_with_both_figures(
    tmp_path: Path, tmpfs: Callable[[str, str], Path]
) -> None:
    tmp = tmpfs("tmp", "1m")
    src = scene(tmp_path, SCENE, 900)
    proc = cli(
        "process",
        json.dumps({"source": str(src)}),
        "--output",
        str(tmp_path / "out"),
        cwd=REPO,
        env={**ENV, "TMPDIR": str(tmp)},
    )
    assert proc.returncode == 1
    line = one_error_line(proc.stderr, "scoresby: error:")
    assert "MB free but this scene needs about" in line and str(tmp) in line
    assert list(tmp.iterdir()) == []


def test_rerun_redoes_a_scene_missing_any_output(tmp_path: Path) -> None:
    names = ["LC08_L2SP_001001_20200101_20200102_02_T1", "LC08_L2SP_001002_20200101_20200102_02_T1"]
    scenes = [{"source": str(scene(tmp_path, n, 200)), "products": ["true_color"]} for n in names]
    (tmp_path / "s.json").write_text(json.dumps({"run_name": "re", "scenes": scenes}))
    out = tmp_path / "out"
    assert cli("run", "s.json", "--output", str(out), "--workers", "1", cwd=tmp_path).returncode == 0
    (out / "re" / names[0] / f"{names[0]}_true_color.png").unlink()
    (out / "re" / names[1] / f"{names[1]}.json").unlink()
    assert cli("run", "s.json", "--output", str(out), "--workers", "1", cwd=tmp_path).returncode == 0
    records = records_by_id(out, "re")
    assert [(records[n].status, records[n].attempts) for n in names] == [(SUCCEEDED, 2), (SUCCEEDED, 2)]
    assert (out / "re" / names[0] / f"{names[0]}_true_color.png").is_file()
    assert (out / "re" / names[1] / f"{names[1]}.json").is_file()
    # process alone: a scene without its STAC Item is not done either
    (out / "re" / names[1] / f"{names[1]}.json").unlink()
    proc = cli("process", json.dumps(scenes[1]), "--output", str(out), "--run-name", "re", cwd=tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout)["skipped"] is False


def _many_scenes(tmp_path: Path, n: int, run_name: str, size: int = 700) -> Path:
    ids = [f"LC08_L2SP_00{i:04d}_20200101_20200102_02_T1" for i in range(n)]
    scenes = [{"source": str(scene(tmp_path, s, size))} for s in ids]
    path = tmp_path / f"{run_name}.json"
    path.write_text(json.dumps({"run_name": run_name, "scenes": scenes}))
    return path


def test_second_runner_on_the_same_output_is_refused_and_a_killed_lock_recovers(tmp_path: Path) -> None:
    scenes_json = _many_scenes(tmp_path, 4, "lock")
    out = tmp_path / "out"
    first = _start_runner(scenes_json, out, tmp_path, "--workers", "1")
    _wait_for(lambda: _counts(out, "lock")[RUNNING] == 1, 120, "a RUNNING scene", first)
    second = cli("run", str(scenes_json), "--output", str(out), cwd=tmp_path)
    assert second.returncode == 75
    line = one_error_line(second.stderr, "scoresby run:")
    assert f"pid {first.pid}" in line and "another scoresby run" in line
    assert _counts(out, "lock")[RUNNING] == 1  # the first runner's row was not reset
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    again = cli("run", str(scenes_json), "--output", str(out), "--workers", "1", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert all(r.attempts <= 2 for r in records_by_id(out, "lock").values())
    assert {r.status for r in records_by_id(out, "lock").values()} <= {SUCCEEDED, SKIPPED}


def test_workers_do_not_outlive_a_killed_runner(tmp_path: Path) -> None:
    scenes_json = _many_scenes(tmp_path, 3, "orphans", 1500)
    out = tmp_path / "out"
    runner = _start_runner(scenes_json, out, tmp_path, "--workers", "2")
    _wait_for(lambda: _counts(out, "orphans")[RUNNING] >= 1, 120, "a RUNNING scene", runner)
    workers = _worker_pids(runner.pid)
    assert workers
    os.kill(runner.pid, signal.SIGKILL)  # the runner only, not its process group
    runner.wait(timeout=30)
    deadline = time.monotonic() + 60
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [p for p in workers if Path(f"/proc/{p}").exists() and "Z" not in _state(p)]
        time.sleep(0.1)
    assert alive == []
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob(f"scoresby-worker-*/scoresby-*{workers[0]}"))


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_hung_worker_is_ended_after_the_scene_timeout(tmp_path: Path) -> None:
    scenes_json = _many_scenes(tmp_path, 2, "hung", 400)
    out = tmp_path / "out"
    runner = _start_runner(scenes_json, out, tmp_path, "--workers", "1", "--scene-timeout", "5")
    _wait_for(lambda: _counts(out, "hung")[RUNNING] == 1, 120, "a RUNNING scene", runner)
    (pid,) = _worker_pids(runner.pid)
    os.kill(pid, signal.SIGSTOP)
    _, stderr = runner.communicate(timeout=300)
    assert runner.returncode == 1, stderr
    records = records_by_id(out, "hung")
    failed = [r for r in records.values() if r.status == FAILED]
    assert len(failed) == 1 and failed[0].error["type"] == "SceneTimeout"
    assert "--scene-timeout 5" in failed[0].error["message"]
    assert [r.status for r in records.values()].count(SUCCEEDED) == 1
    assert not Path(f"/proc/{pid}").exists() or _state(pid) == "Z"


def test_worker_stopped_by_sigterm_is_not_called_out_of_memory(tmp_path: Path) -> None:
    scenes_json = _many_scenes(tmp_path, 2, "term", 1500)
    out = tmp_path / "out"
    runner = _start_runner(scenes_json, out, tmp_path, "--workers", "1")
    _wait_for(lambda: _counts(out, "term")[RUNNING] == 1, 120, "a RUNNING scene", runner)
    (pid,) = _worker_pids(runner.pid)
    os.kill(pid, signal.SIGTERM)
    runner.communicate(timeout=300)
    (failed,) = [r for r in records_by_id(out, "term").values() if r.status == FAILED]
    assert "SIGTERM" in failed.error["message"] and "out of memory" not in failed.error["message"]


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_task_log_is_one_line_for_run_and_status(damage: str, tmp_path: Path) -> None:
    scenes_json = _many_scenes(tmp_path, 1, "corrupt", 200)
    out = tmp_path / "out"
    assert cli("run", str(scenes_json), "--output", str(out), cwd=tmp_path).returncode == 0
    db = task_log_path(str(out))
    data = db.read_bytes()
    db.write_bytes(data[:100] if damage == "truncated" else b"\x00garbage" * 200)
    for command in ("run", "status"):
        args = [str(scenes_json)] if command == "run" else []
        proc = cli(command, *args, "--output", str(out), cwd=tmp_path)
        assert proc.returncode == 2
        line = one_error_line(proc.stderr, f"scoresby {command}:")
        assert str(db.resolve()) in line and "cannot be used" in line


def test_status_on_a_read_only_task_log_writes_nothing(
    tmp_path: Path, tmpfs: Callable[[str, str], Path]
) -> None:
    out = tmpfs("out", "20m")
    scenes_json = _many_scenes(tmp_path, 1, "ro", 200)
    assert cli("run", str(scenes_json), "--output", str(out), cwd=tmp_path).returncode == 0
    before = sorted(p.name for p in out.iterdir())
    assert subprocess.run(["mount", "-o", "remount,ro", str(out)], check=False).returncode == 0
    proc = cli("status", "--output", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "1 SUCCEEDED" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == before
    proc = cli("run", str(scenes_json), "--output", str(out), cwd=tmp_path)
    assert proc.returncode == 2
    assert "Read-only file system" in one_error_line(proc.stderr, "scoresby run:")


def test_s3_output_is_checked_before_any_scene(tmp_path: Path, moto_server_env: str) -> None:
    scenes_json = _many_scenes(tmp_path, 1, "s3check", 200)
    proc = cli(
        "run",
        str(scenes_json),
        "--output",
        "s3://no-such-bucket-here/p/",
        cwd=tmp_path,
        env={**ENV, **os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 2
    line = one_error_line(proc.stderr, "scoresby run:")
    assert "s3://no-such-bucket-here/p/" in line and "NoSuchBucket" in line
    assert not (tmp_path / ".scoresby").exists()  # no task log: nothing was planned
