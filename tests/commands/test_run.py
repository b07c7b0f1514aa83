"""`scoresby run` end to end on real scenes: broken scenes isolated, re-runs, overwrite, SIGKILL, crashes."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from scoresby.core.layout import task_log_path
from scoresby.core.task_log import FAILED, PENDING, RUNNING, SKIPPED, SUCCEEDED
from scoresby.stores.sqlite_log import SqliteTaskLog

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
L8_A = "landsat8/LC08_L2SP_001062_20201031_20201106_02_T2"
L8_B = "landsat8/LC08_L2SP_017036_20130419_20200913_02_T2"
L8_C = "landsat8/LC08_L2SR_099120_20191129_20201016_02_T2"
S2_TINY = "sentinel2/S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703"
S2_JP2 = "sentinel2/S2B_MSIL2A_20210122T133229_N0214_R081_T22HBD_20210122T155500"


def scoresby(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "scoresby.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"},
    )


def write_list(path: Path, scenes: list[dict[str, object]], run_name: str = "t") -> Path:
    path.write_text(json.dumps({"run_name": run_name, "scenes": scenes}), encoding="utf-8")
    return path


def records_by_id(output: Path, run: str) -> dict[str, object]:
    with SqliteTaskLog(task_log_path(str(output)), create=False) as tl:
        return {r.scene_id: r for r in tl.records(run)}


def tree_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def check_cogs(run_dir: Path) -> int:
    tifs = sorted(run_dir.rglob("*.tif"))
    for tif in tifs:
        valid, errors, _ = cog_validate(str(tif))
        assert valid, (tif, errors)
        with rasterio.open(tif) as ds:
            assert ds.width > 0 and ds.read(1, out_shape=(1, 16, 16)).size == 256
    return len(tifs)


@pytest.fixture
def broken_scenes(real_data_dir: Path, tmp_path: Path) -> list[dict[str, object]]:
    """A real folder without B5 asked for ndvi, one with a truncated band, and a source that is not there."""
    no_b5 = tmp_path / "src" / "LC08_L2SP_001062_20201031_20201106_02_T2"
    shutil.copytree(real_data_dir / L8_A, no_b5)
    (no_b5 / "LC08_L2SP_001062_20201031_20201106_02_T2_SR_B5.TIF").unlink()
    corrupt = tmp_path / "src" / "LC08_L2SP_017036_20130419_20200913_02_T2"
    shutil.copytree(real_data_dir / L8_B, corrupt)
    band = corrupt / "LC08_L2SP_017036_20130419_20200913_02_T2_SR_B4.TIF"
    data = band.read_bytes()
    band.chmod(0o644)
    band.write_bytes(data[: len(data) // 3])
    return [
        {"scene_id": "no_b5", "source": str(no_b5), "sensor": "landsat-8", "products": ["ndvi"]},
        {"scene_id": "truncated", "source": str(corrupt), "sensor": "landsat-8", "products": ["true_color"]},
        {
            "scene_id": "LC08_L2SP_999999_20200101_20200102_02_T1",
            "source": str(tmp_path / "nowhere"),
            "sensor": "landsat-8",
        },
    ]


def test_run_isolates_broken_scenes(
    real_data_dir: Path, broken_scenes: list[dict[str, object]], tmp_path: Path
) -> None:
    good = [{"source": str(real_data_dir / L8_A)}, {"source": str(real_data_dir / S2_TINY)}]
    scenes_json = write_list(tmp_path / "scenes.json", [good[0], *broken_scenes, good[1]], run_name="mixed")
    out = tmp_path / "out"

    proc = scoresby("run", str(scenes_json), "--output", str(out), "--workers", "2", cwd=tmp_path)

    assert proc.returncode == 1, proc.stderr
    records = records_by_id(out, "mixed")
    good_ids = ["LC08_L2SP_001062_20201031_20201106_02_T2", S2_TINY.split("/")[1]]
    for scene_id in good_ids:
        r = records[scene_id]
        assert r.status == SUCCEEDED and r.attempts == 1 and r.error is None
        assert set(r.outputs) == {"true_color", "false_color_ice", "ndvi"}
        assert all(Path(u).is_file() for u in r.outputs.values())
        assert r.ran_on and r.started_at and r.finished_at and r.duration_s > 0
    expected_errors = {
        "no_b5": ("MissingBands", "B5"),
        "truncated": ("UnreadableRaster", "SR_B4"),
        "LC08_L2SP_999999_20200101_20200102_02_T1": ("SourceNotFound", "nowhere"),
    }
    summary = json.loads((out / "mixed" / "summary.json").read_text())
    summary_rows = {row["scene_id"]: row for row in summary["scenes"]}
    for scene_id, (error_type, detail) in expected_errors.items():
        r = records[scene_id]
        assert r.status == FAILED and r.outputs == {}, r
        assert r.error["type"] == error_type and detail in r.error["message"], r.error
        assert r.error["message"].startswith(f"scene {scene_id}: ")
        assert summary_rows[scene_id]["status"] == FAILED and summary_rows[scene_id]["error"] == r.error
        assert f"  {scene_id}  {error_type}: scene {scene_id}: " in proc.stdout  # the end-of-run listing
        assert not (out / "mixed" / scene_id).exists()  # nothing half-made for a failed scene
    assert summary["totals"]["scenes"] == 5
    assert (summary["totals"][SUCCEEDED], summary["totals"][FAILED]) == (2, 3)
    assert [row["scene_id"] for row in summary["scenes"]][0] == good_ids[0]  # input order kept
    assert (out / "mixed" / "report.html").is_file()
    assert str((out / "mixed" / "report.html").resolve()) in proc.stdout
    assert check_cogs(out / "mixed") == 6
    with rasterio.open(records[good_ids[0]].outputs["true_color"]) as ds:
        assert (ds.count, ds.dtypes[0]) == (3, "uint8")
        assert ds.read(1).max() > 0


def test_rerun_skips_done_scenes_and_overwrite_redoes_them(real_data_dir: Path, tmp_path: Path) -> None:
    scenes = [
        {"source": str(real_data_dir / L8_A)},
        {"source": str(real_data_dir / S2_TINY)},
        {"scene_id": "gone", "source": str(tmp_path / "gone"), "sensor": "sentinel-2"},
    ]
    scenes_json = write_list(tmp_path / "scenes.json", scenes, run_name="again")
    out = tmp_path / "out"
    args = ("run", str(scenes_json), "--output", str(out), "--workers", "2")

    assert scoresby(*args, cwd=tmp_path).returncode == 1
    first = records_by_id(out, "again")
    mtimes = {p: p.stat().st_mtime_ns for p in tree_files(out / "again") if p.parent != out / "again"}
    assert len(mtimes) >= 20

    second_proc = scoresby(*args, cwd=tmp_path)
    assert second_proc.returncode == 1  # the missing source still fails
    second = records_by_id(out, "again")
    for scene_id, r in second.items():
        if scene_id == "gone":
            assert (r.status, r.attempts) == (FAILED, 2)
            continue
        assert r.status == SKIPPED
        assert (r.attempts, r.started_at) == (1, first[scene_id].started_at)
        assert r.outputs == first[scene_id].outputs
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes  # outputs untouched
    assert "2 skipped (already done)" in second_proc.stdout

    time.sleep(1.1)  # started_at has one-second resolution
    third_proc = scoresby(*args, "--overwrite", cwd=tmp_path)
    assert third_proc.returncode == 1
    third = records_by_id(out, "again")
    for scene_id in ("LC08_L2SP_001062_20201031_20201106_02_T2", S2_TINY.split("/")[1]):
        assert (third[scene_id].status, third[scene_id].attempts) == (SUCCEEDED, 2)
        assert third[scene_id].started_at > first[scene_id].started_at
    assert all(p.stat().st_mtime_ns > mtime for p, mtime in mtimes.items())

    # a deleted output is made again on the next run; the other scene stays skipped
    l8 = "LC08_L2SP_001062_20201031_20201106_02_T2"
    Path(third[l8].outputs["ndvi"]).unlink()
    assert scoresby(*args, cwd=tmp_path).returncode == 1
    fourth = records_by_id(out, "again")
    assert (fourth[l8].status, fourth[l8].attempts) == (SUCCEEDED, 3)
    assert Path(fourth[l8].outputs["ndvi"]).is_file()
    assert fourth[S2_TINY.split("/")[1]].status == SKIPPED


def test_invalid_scene_list_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    scenes_json = write_list(
        tmp_path / "scenes.json",
        [
            {"scene_id": "a", "source": "/x/a", "products": ["true_colour"]},
            {"scene_id": "b", "source": "ftp://host/b"},
        ],
    )
    out = tmp_path / "out"
    proc = scoresby("run", str(scenes_json), "--output", str(out), cwd=tmp_path)
    assert proc.returncode == 2
    assert "2 problem(s), nothing was processed" in proc.stderr
    assert "true_colour" in proc.stderr and "ftp://" in proc.stderr
    assert not out.exists()


def test_output_that_cannot_be_a_folder_exits_2(tmp_path: Path) -> None:
    scenes_json = write_list(tmp_path / "scenes.json", [{"scene_id": "a", "source": "/x/a"}])
    (tmp_path / "a_file").write_text("not a folder")
    proc = scoresby("run", str(scenes_json), "--output", str(tmp_path / "a_file" / "out"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "cannot create the output folder" in proc.stderr and "Traceback" not in proc.stderr


def _wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen[str]) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            pytest.fail(f"runner exited ({proc.returncode}) before {what}: {proc.stderr.read()}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _counts(out: Path, run: str) -> dict[str, int]:
    path = task_log_path(str(out))
    if not path.exists():
        return dict.fromkeys((PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED), 0)
    try:
        with SqliteTaskLog(path, create=False) as tl:
            return tl.counts(run)
    except sqlite3.OperationalError:  # the runner has created the file but not its tables yet
        return dict.fromkeys((PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED), 0)


def _start_runner(scenes_json: Path, out: Path, cwd: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "scoresby.cli", "run", str(scenes_json), "--output", str(out), *extra],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"},
    )


def test_sigkilled_run_resumes_without_redoing_or_partials(real_data_dir: Path, tmp_path: Path) -> None:
    sources = [L8_A, L8_B, L8_C, S2_TINY, S2_JP2]
    scenes_json = write_list(
        tmp_path / "scenes.json", [{"source": str(real_data_dir / s)} for s in sources], run_name="killed"
    )
    out = tmp_path / "out"
    runner = _start_runner(scenes_json, out, tmp_path, "--workers", "1")
    _wait_for(lambda: 1 <= _counts(out, "killed")[SUCCEEDED] < len(sources), 240, "a first SUCCEEDED", runner)
    os.killpg(runner.pid, signal.SIGKILL)  # the runner and its worker, at once
    runner.wait(timeout=30)
    before = records_by_id(out, "killed")
    done_before = {s for s, r in before.items() if r.status == SUCCEEDED}
    assert 1 <= len(done_before) < len(sources)

    proc = scoresby("run", str(scenes_json), "--output", str(out), "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = records_by_id(out, "killed")
    assert len(after) == len(sources)
    for scene_id, r in after.items():
        if scene_id in done_before:
            # finished before the kill: not processed again
            assert (r.status, r.attempts, r.started_at) == (SKIPPED, 1, before[scene_id].started_at)
        else:
            assert r.status == SUCCEEDED
            # processed at most once more: 1 if it had not started, 2 if the kill caught it RUNNING
            assert r.attempts == before[scene_id].attempts + 1 <= 2
    leftovers = [p for p in tree_files(out) if p.name.startswith(".") or p.suffix in (".tmp", ".partial")]
    assert leftovers == []
    assert check_cogs(out / "killed") == 3 * len(sources)


def _worker_pids(runner_pid: int) -> list[int]:
    """Children of the runner that are multiprocessing spawn workers (not the resource tracker)."""
    pids = []
    for task in Path(f"/proc/{runner_pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            if b"spawn_main" in cmdline:
                pids.append(int(child))
    return pids


def test_worker_crash_fails_only_its_scene(real_data_dir: Path, tmp_path: Path) -> None:
    sources = [L8_C, L8_A, S2_TINY]
    scenes_json = write_list(
        tmp_path / "scenes.json", [{"source": str(real_data_dir / s)} for s in sources], run_name="crash"
    )
    out = tmp_path / "out"
    runner = _start_runner(scenes_json, out, tmp_path, "--workers", "1")
    _wait_for(lambda: _counts(out, "crash")[RUNNING] == 1, 120, "a RUNNING scene", runner)
    with SqliteTaskLog(task_log_path(str(out)), create=False) as tl:
        victim = next(r.scene_id for r in tl.records("crash") if r.status == RUNNING)
    pids = _worker_pids(runner.pid)
    assert len(pids) == 1
    os.kill(pids[0], signal.SIGKILL)  # as the kernel's OOM killer would
    stdout, stderr = runner.communicate(timeout=240)

    assert runner.returncode == 1, stderr
    records = records_by_id(out, "crash")
    assert records[victim].status == FAILED
    assert records[victim].error["type"] == "WorkerCrashed"
    assert "killed by SIGKILL" in records[victim].error["message"]
    others = [r for s, r in records.items() if s != victim]
    assert [r.status for r in others] == [SUCCEEDED] * (len(sources) - 1)
    assert f"  {victim}  WorkerCrashed: " in stdout


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_ctrl_c_stops_cleanly_and_rerun_finishes(real_data_dir: Path, tmp_path: Path, how: str) -> None:
    sources = [L8_A, L8_B, L8_C]
    scenes_json = write_list(
        tmp_path / "scenes.json", [{"source": str(real_data_dir / s)} for s in sources], run_name="ctrlc"
    )
    out = tmp_path / "out"
    runner = _start_runner(scenes_json, out, tmp_path, "--workers", "1")
    _wait_for(lambda: _counts(out, "ctrlc")[RUNNING] == 1, 120, "a RUNNING scene", runner)
    if how == "ctrl-c":
        os.killpg(runner.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends to the foreground group
    else:
        runner.send_signal(signal.SIGTERM)  # `kill PID`: the runner alone
    stdout, stderr = runner.communicate(timeout=60)

    assert runner.returncode == 130, stderr
    assert "interrupted" in stdout
    counts = _counts(out, "ctrlc")
    assert counts[RUNNING] == 0 and counts[PENDING] >= 1
    assert (out / "ctrlc" / "summary.json").is_file()
    assert scoresby("run", str(scenes_json), "--output", str(out), cwd=tmp_path).returncode == 0
    assert {r.status for r in records_by_id(out, "ctrlc").values()} <= {SUCCEEDED, SKIPPED}


def test_run_to_s3_uploads_products_and_report(
    real_data_dir: Path, tmp_path: Path, moto_server_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from scoresby.commands.run import run_plan
    from scoresby.core.scene_list import parse_scene_list

    boto3.client("s3").create_bucket(Bucket="scoresby-runner-out")
    monkeypatch.chdir(tmp_path)  # the task log of an s3:// output lives under ./.scoresby/
    plan = parse_scene_list(
        {"run_name": "s3run", "scenes": [{"source": str(real_data_dir / L8_A)}]},
        output="s3://scoresby-runner-out/products/",
    )
    summary = run_plan(plan, plan.output, workers=1, progress=False)

    assert summary.exit_code == 0 and summary.counts[SUCCEEDED] == 1
    assert summary.report_html == "s3://scoresby-runner-out/products/s3run/report.html"
    log_path = tmp_path / ".scoresby" / "scoresby-runner-out" / "products" / "scoresby-tasklog.sqlite"
    assert Path(summary.task_log) == log_path
    with SqliteTaskLog(log_path, create=False) as tl:
        (rec,) = tl.records("s3run")
    assert (
        rec.outputs["ndvi"]
        == f"s3://scoresby-runner-out/products/s3run/{rec.scene_id}/{rec.scene_id}_ndvi.tif"
    )
    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="scoresby-runner-out")["Contents"]}
    assert {"products/s3run/summary.json", "products/s3run/report.html"} <= keys
    report = boto3.client("s3").get_object(Bucket="scoresby-runner-out", Key="products/s3run/report.html")
    page = report["Body"].read()
    srcs = re.findall(r'<img[^>]* src="([^"]+)"', page.decode())  # the chart; the table's come from its JSON
    table = json.loads(
        re.search(r'<script id="scene-data" type="application/json">(.*?)</script>', page.decode())[1]
    )
    for row in table["rows"]:
        for product, stem, flags in row[13]:
            stem = stem or f"{row[0]}/{row[0]}_{table['products'][product]}"
            srcs += [stem + ".png"] * (flags & 1) + [stem + "_hist.png"] * (flags & 2 > 0)
    assert len(srcs) == 6 + 1  # a quicklook and a histogram per product, and the time-series chart
    for src in srcs:  # every relative image link names an uploaded object
        assert not src.startswith(("s3://", "/", "http")) and f"products/s3run/{src}" in keys
