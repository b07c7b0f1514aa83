"""SqliteTaskLog: state machine, re-planning, ordering, durability under SIGKILL and concurrent writers."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from scoresby.core.layout import task_log_path
from scoresby.core.scene_list import Scene
from scoresby.core.task_log import FAILED, PENDING, RUNNING, SKIPPED, SUCCEEDED
from scoresby.stores.sqlite_log import SqliteTaskLog

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
PRODUCTS = ("true_color", "ndvi")


def make_scenes(n: int, products: tuple[str, ...] = PRODUCTS) -> list[Scene]:
    return [Scene(scene_id=f"S{i:02d}", source=f"/data/S{i:02d}", products=products) for i in range(n)]


@pytest.fixture
def task_log(tmp_path: Path) -> SqliteTaskLog:
    with SqliteTaskLog(tmp_path / "out" / "scoresby-tasklog.sqlite") as tl:
        yield tl


def outputs_of(scene: Scene) -> dict[str, str]:
    return {p: f"/out/run/{scene.scene_id}/{scene.scene_id}_{p}.tif" for p in scene.products}


def test_task_log_path_local_and_s3() -> None:
    assert task_log_path("/data/out") == Path("/data/out/scoresby-tasklog.sqlite")
    expected = Path(".scoresby/bucket/some/prefix/scoresby-tasklog.sqlite")
    assert task_log_path("s3://bucket/some/prefix/") == expected
    assert task_log_path("s3://bucket") == Path(".scoresby/bucket/scoresby-tasklog.sqlite")
    # a prefix cannot climb out of ./.scoresby
    assert ".." not in task_log_path("s3://bucket/../../etc").parts


def test_plan_writes_pending_rows_in_input_order(task_log: SqliteTaskLog) -> None:
    scenes = make_scenes(3)[::-1]  # S02, S01, S00: order must follow the list, not the ids
    to_run = task_log.plan("r1", scenes, "/out/r1/", overwrite=False)
    assert [s.scene_id for s in to_run] == ["S02", "S01", "S00"]
    records = task_log.records("r1")
    assert [r.scene_id for r in records] == ["S02", "S01", "S00"]
    for r in records:
        assert r.status == PENDING and r.attempts == 0
        assert ISO_UTC.match(r.created_at)
        assert r.products == list(PRODUCTS) and r.outputs == {} and r.error is None
        assert r.output_root == "/out/r1/" and r.source == f"/data/{r.scene_id}"
    assert task_log.counts("r1") == {PENDING: 3, RUNNING: 0, SUCCEEDED: 0, FAILED: 0, SKIPPED: 0}


def test_start_succeed_fail_record_timings_outputs_and_errors(task_log: SqliteTaskLog) -> None:
    ok, bad = make_scenes(2)
    task_log.plan("r1", [ok, bad], "/out/r1/", overwrite=False)
    task_log.start("r1", ok.scene_id, ran_on="host-a")
    task_log.start("r1", bad.scene_id, ran_on="host-a")
    assert task_log.counts("r1")[RUNNING] == 2
    task_log.succeed("r1", ok.scene_id, outputs_of(ok), duration_s=1.5)
    task_log.fail("r1", bad.scene_id, "MissingBands", "scene S01: missing B5", duration_s=0.25)

    r_ok, r_bad = task_log.records("r1")
    assert (r_ok.status, r_ok.attempts, r_ok.ran_on, r_ok.duration_s) == (SUCCEEDED, 1, "host-a", 1.5)
    assert r_ok.outputs == outputs_of(ok) and r_ok.error is None
    assert ISO_UTC.match(r_ok.started_at) and ISO_UTC.match(r_ok.finished_at)
    assert datetime.fromisoformat(r_ok.finished_at) >= datetime.fromisoformat(r_ok.started_at)
    assert r_bad.status == FAILED and r_bad.attempts == 1
    assert r_bad.error == {"type": "MissingBands", "message": "scene S01: missing B5"}


def test_state_change_on_unknown_row_raises(task_log: SqliteTaskLog) -> None:
    with pytest.raises(KeyError, match="call plan"):
        task_log.start("nope", "S00", ran_on="h")


def test_replan_skips_done_and_reschedules_failed_running_pending(task_log: SqliteTaskLog) -> None:
    done, failed, running, pending = make_scenes(4)
    task_log.plan("r1", [done, failed, running, pending], "/out/r1/", overwrite=False)
    for s in (done, failed, running):
        task_log.start("r1", s.scene_id, ran_on="h")
    task_log.succeed("r1", done.scene_id, outputs_of(done), 2.0)
    task_log.fail("r1", failed.scene_id, "UnreadableRaster", "scene S01: truncated", 0.1)
    first_done = task_log.records("r1")[0]

    to_run = task_log.plan("r1", [done, failed, running, pending], "/out/r1/", overwrite=False)
    assert [s.scene_id for s in to_run] == ["S01", "S02", "S03"]
    by_id = {r.scene_id: r for r in task_log.records("r1")}
    skipped = by_id["S00"]
    assert skipped.status == SKIPPED
    assert skipped.outputs == outputs_of(done)
    # the row still tells when and where the outputs were made, and that they were made once
    assert (skipped.attempts, skipped.started_at, skipped.finished_at) == (
        1,
        first_done.started_at,
        first_done.finished_at,
    )
    assert by_id["S01"].status == PENDING and by_id["S01"].error is None and by_id["S01"].attempts == 1
    assert by_id["S02"].status == PENDING and by_id["S02"].attempts == 1  # RUNNING leftover of a killed run
    assert by_id["S03"].status == PENDING and by_id["S03"].attempts == 0

    # a SKIPPED row stays skipped on the next plan too
    assert [s.scene_id for s in task_log.plan("r1", [done], "/out/r1/", overwrite=False)] == []
    assert task_log.records("r1")[0].status == SKIPPED


def test_replan_with_overwrite_or_more_products_reschedules_done(task_log: SqliteTaskLog) -> None:
    (scene,) = make_scenes(1)
    task_log.plan("r1", [scene], "/out/r1/", overwrite=False)
    task_log.start("r1", scene.scene_id, ran_on="h")
    task_log.succeed("r1", scene.scene_id, outputs_of(scene), 1.0)

    assert task_log.plan("r1", [scene], "/out/r1/", overwrite=True) == [scene]
    assert task_log.records("r1")[0].status == PENDING

    task_log.start("r1", scene.scene_id, ran_on="h")
    task_log.succeed("r1", scene.scene_id, outputs_of(scene), 1.0)
    assert task_log.records("r1")[0].attempts == 2
    more = Scene(scene_id=scene.scene_id, source=scene.source, products=(*PRODUCTS, "ndsi"))
    assert task_log.plan("r1", [more], "/out/r1/", overwrite=False) == [more]
    fewer = Scene(scene_id=scene.scene_id, source=scene.source, products=("ndvi",))
    task_log.start("r1", scene.scene_id, ran_on="h")
    task_log.succeed("r1", scene.scene_id, outputs_of(more), 1.0)
    assert task_log.plan("r1", [fewer], "/out/r1/", overwrite=False) == []
    assert task_log.records("r1")[0].outputs == {"ndvi": outputs_of(more)["ndvi"]}


def test_done_scene_with_deleted_outputs_is_scheduled_again(task_log: SqliteTaskLog) -> None:
    a, b = make_scenes(2)
    task_log.plan("r1", [a, b], "/out/r1/", overwrite=False)
    for s in (a, b):
        task_log.start("r1", s.scene_id, ran_on="h")
        task_log.succeed("r1", s.scene_id, outputs_of(s), 1.0)
    gone = {outputs_of(b)["ndvi"]}
    to_run = task_log.plan("r1", [a, b], "/out/r1/", overwrite=False, output_exists=lambda u: u not in gone)
    assert to_run == [b]
    assert [r.status for r in task_log.records("r1")] == [SKIPPED, PENDING]


def test_done_scene_of_another_run_with_same_output_root_is_skipped(task_log: SqliteTaskLog) -> None:
    (scene,) = make_scenes(1)
    task_log.plan("a", [scene], "/out/shared/", overwrite=False)
    task_log.start("a", scene.scene_id, ran_on="h")
    task_log.succeed("a", scene.scene_id, outputs_of(scene), 1.0)
    assert task_log.plan("b", [scene], "/out/shared/", overwrite=False) == []
    assert task_log.plan("c", [scene], "/out/elsewhere/", overwrite=False) == [scene]


def test_runs_latest_first_and_requeue_running(task_log: SqliteTaskLog) -> None:
    scenes = make_scenes(2)
    for run in ("first", "second", "third"):
        task_log.plan(run, scenes, f"/out/{run}/", overwrite=False)
    assert task_log.runs() == ["third", "second", "first"]
    task_log.plan("first", scenes, "/out/first/", overwrite=False)  # re-running makes it the latest
    assert task_log.runs() == ["first", "third", "second"]

    task_log.start("first", "S00", ran_on="h")
    assert task_log.requeue_running("first") == 1
    assert [r.status for r in task_log.records("first")] == [PENDING, PENDING]


def test_missing_log_is_not_created_when_reading(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no task log"):
        SqliteTaskLog(tmp_path / "nothing" / "scoresby-tasklog.sqlite", create=False)
    assert not (tmp_path / "nothing").exists()


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_sigkill_loses_nothing_committed(tmp_path: Path) -> None:
    db = tmp_path / "tasklog.sqlite"
    writer = subprocess.Popen(
        _python(f"""
            import sys, time
            from scoresby.core.scene_list import Scene
            from scoresby.stores.sqlite_log import SqliteTaskLog
            tl = SqliteTaskLog({str(db)!r})
            scenes = [Scene(scene_id=f"S{{i}}", source="/x", products=("ndvi",)) for i in range(50)]
            tl.plan("r", scenes, "/out/r/", overwrite=False)
            for s in scenes:
                tl.start("r", s.scene_id, ran_on="h")
                tl.succeed("r", s.scene_id, {{"ndvi": "/out/" + s.scene_id}}, 0.1)
                print(s.scene_id, flush=True)
            time.sleep(60)
        """),
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    acknowledged = []
    assert writer.stdout is not None
    while len(acknowledged) < 50:
        line = writer.stdout.readline()
        assert line, "writer exited early"
        acknowledged.append(line.strip())
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=10)

    with SqliteTaskLog(db, create=False) as tl:
        records = {r.scene_id: r for r in tl.records("r")}
    assert all(records[s].status == SUCCEEDED for s in acknowledged)
    assert len(records) == 50


def test_concurrent_writers_and_reader_do_not_lock_each_other_out(tmp_path: Path) -> None:
    db = tmp_path / "tasklog.sqlite"
    SqliteTaskLog(db).close()
    code = f"""
        import sys
        from scoresby.core.scene_list import Scene
        from scoresby.stores.sqlite_log import SqliteTaskLog
        run = sys.argv[1]
        tl = SqliteTaskLog({str(db)!r})
        scenes = [Scene(scene_id=f"S{{i}}", source="/x", products=("ndvi",)) for i in range(40)]
        tl.plan(run, scenes, "/out/" + run, overwrite=False)
        for s in scenes:
            tl.start(run, s.scene_id, ran_on=run)
            if int(s.scene_id[1:]) % 2:
                tl.fail(run, s.scene_id, "X", "boom", 0.0)
            else:
                tl.succeed(run, s.scene_id, {{"ndvi": "u"}}, 0.0)
            tl.counts(run)
    """
    procs = [
        subprocess.Popen(
            [*_python(code), run], cwd=Path(__file__).parents[2], stderr=subprocess.PIPE, text=True
        )
        for run in ("w1", "w2", "w3")
    ]
    with SqliteTaskLog(db, create=False) as reader:
        while any(p.poll() is None for p in procs):
            for run in reader.runs():
                reader.records(run)
    errors = [p.stderr.read() for p in procs if p.stderr]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    with SqliteTaskLog(db, create=False) as tl:
        for run in ("w1", "w2", "w3"):
            assert tl.counts(run)[SUCCEEDED] == 20 and tl.counts(run)[FAILED] == 20
