"""`scoresby watch` against the real STAC API: items added between rounds, real pixels."""

from __future__ import annotations

import copy
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from scoresby.core.task_log import SKIPPED, SUCCEEDED
from scoresby.stores.sqlite_log import SqliteTaskLog
from scoresby.stores.watch_state import SqliteWatchState
from tests.stac_server import REAL_ITEMS, StacServer

pytestmark = pytest.mark.slow

L8_ID = "LC08_L2SP_001062_20201031_20201106_02_T2"
L8_ITEM = REAL_ITEMS / "landsat-c2-l2__LC08_L2SP_033032_20231008_02_T1.json"
BANDS = {"red": "B4", "nir08": "B5"}  # all that ndvi needs: keeps each scene about a second


@pytest.fixture(scope="module")
def band_folder(real_data_dir: Path, moto_server: str) -> str:
    """The real Landsat 8 sample's red and NIR bands in (moto) S3, shared by every item of this module.

    s3://, not file://: an Item from a STAC API may name only remote assets (core/href_policy.py).
    """
    import boto3

    s3 = boto3.client(
        "s3", endpoint_url=moto_server, region_name="us-east-1", **_fake_keys()
    )  # the session's moto server; each test points GDAL and boto3 at it (moto_env)
    s3.create_bucket(Bucket="scoresby-watch-bands")
    for band in BANDS.values():
        name = f"{L8_ID}_SR_{band}.TIF"
        s3.upload_file(
            str(real_data_dir / "landsat8" / L8_ID / name), "scoresby-watch-bands", f"bands/{name}"
        )
    return "s3://scoresby-watch-bands/bands/"


def _fake_keys() -> dict[str, str]:
    from tests.conftest import FAKE_CREDENTIALS

    return {"aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}  # fmt: skip


@pytest.fixture(autouse=True)
def moto_env(moto_server_env: str) -> str:
    """Every watch (and its worker processes) reads the bands from the moto server."""
    return moto_server_env


def item(folder: str, collection: str, item_id: str, when: str, updated: str) -> dict[str, Any]:
    """The real Earth Search Landsat item as a new item: id, acquisition time, `updated`, band files in S3."""
    doc = copy.deepcopy(json.loads(L8_ITEM.read_text()))
    doc.update(id=item_id, collection=collection, links=[])
    doc["properties"].update(datetime=when, created=updated, updated=updated)
    doc["assets"] = {
        key: {**doc["assets"][key], "href": f"{folder}{L8_ID}_SR_{band}.TIF"} for key, band in BANDS.items()
    }
    return doc


def write_watch(path: Path, stac: StacServer, collection: str, run_name: str) -> Path:
    """A watch over the whole world since 2013 whose scenes make ndvi."""
    doc = {
        "run_name": run_name,
        "products": ["ndvi"],
        "search": {
            "stac": stac.url,
            "collections": [collection],
            "bbox": [-180, -90, 180, 90],
            "datetime": "2013-04-01/..",
        },
    }
    path.write_text(json.dumps(doc))
    return path


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "scoresby.cli", *args]


def watch(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli("watch", *args), capture_output=True, text=True, timeout=timeout)


def rows(out: Path, run: str) -> dict[str, Any]:
    with SqliteTaskLog(out / "scoresby-tasklog.sqlite", create=False) as log:
        return {r.scene_id: r for r in log.records(run)}


def last_outcome(out: Path, run: str) -> str | None:
    """The outcome of the watch's latest finished round (None before one, or while one runs)."""
    try:
        with SqliteWatchState(out / "scoresby-tasklog.sqlite", create=False) as state:
            status = state.status(run)
    except (FileNotFoundError, sqlite3.Error):
        return None
    return status.round_outcome if status else None


def test_rounds_backfill_then_nothing_new_then_only_the_new_and_reprocessed_items(
    stac_api: StacServer, band_folder: str, tmp_path: Path
) -> None:
    c, out = "watch-rounds", tmp_path / "out"
    stac_api.add(
        [
            item(band_folder, c, "LC08_A_20201031", "2020-10-31T14:00:00Z", "2020-11-06T10:00:00Z"),
            item(band_folder, c, "LC08_B_20210101", "2021-01-01T14:00:00Z", "2021-01-08T10:00:00Z"),
        ]
    )
    path = write_watch(tmp_path / "watch.json", stac_api, c, "rounds")

    first = watch(str(path), "--once", "--output", str(out), "--workers", "1")
    assert first.returncode == 0, first.stderr
    assert "round 1: 2 new items, backfill" in first.stdout
    before = rows(out, "rounds")
    assert {k: r.status for k, r in before.items()} == dict.fromkeys(
        ["LC08_A_20201031", "LC08_B_20210101"], SUCCEEDED
    )
    ndvi_a = out / "rounds" / "LC08_A_20201031" / "LC08_A_20201031_ndvi.tif"
    mtime_a = ndvi_a.stat().st_mtime_ns

    second = watch(str(path), "--once", "--output", str(out))
    assert second.returncode == 0, second.stderr
    assert "round 2: nothing new since 2021-01-05T10:00:00.000Z" in second.stdout  # cursor minus 3 days
    assert "2 scenes done so far" in second.stdout
    assert rows(out, "rounds") == before  # not even planned again

    # New imagery; a Landsat reprocessing (a new id for a 2019 acquisition, found by `updated`); and the
    # provider updating item A in place (same id, newer `updated`).
    stac_api.add(
        [
            item(band_folder, c, "LC08_C_20210117", "2021-01-17T14:00:00Z", "2021-01-24T10:00:00Z"),
            item(band_folder, c, "LC08_D_20190505", "2019-05-05T14:00:00Z", "2021-01-25T10:00:00Z"),
            item(band_folder, c, "LC08_A_20201031", "2020-10-31T14:00:00Z", "2021-01-26T10:00:00Z"),
        ]
    )
    third = watch(str(path), "--once", "--output", str(out), "--workers", "1")
    assert third.returncode == 0, third.stderr
    assert "round 3: 3 new items, since 2021-01-05T10:00:00.000Z" in third.stdout
    after = rows(out, "rounds")
    assert set(after) == {"LC08_A_20201031", "LC08_B_20210101", "LC08_C_20210117", "LC08_D_20190505"}
    assert after["LC08_B_20210101"].status == SKIPPED and after["LC08_B_20210101"].attempts == 1  # untouched
    assert all(
        after[k].status == SUCCEEDED for k in ("LC08_A_20201031", "LC08_C_20210117", "LC08_D_20190505")
    )
    assert after["LC08_A_20201031"].attempts == 2 and ndvi_a.stat().st_mtime_ns != mtime_a  # A made again
    # One run, one report: the summary covers every round's scenes.
    summary = json.loads((out / "rounds" / "summary.json").read_text())
    assert json.dumps(summary).count("LC08_") >= 4

    fourth = watch(str(path), "--once", "--output", str(out))
    assert "round 4: nothing new" in fourth.stdout and "4 scenes done so far" in fourth.stdout

    listed = subprocess.run(cli("watches", "--output", str(out)), capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    header, line = listed.stdout.splitlines()[1:3]
    assert header.split()[:3] == ["WATCH", "ROUNDS", "LAST"]
    assert line.split()[:2] == ["rounds", "4"] and "nothing new" in line
    assert "updated 2021-01-26T10:00:00.000Z" in line and "when cron or the timer runs it" in line
    # done 4, failed 0, pending 0
    assert line.split("nothing new")[1].split()[:3] == ["4", "0", "0"]


def test_a_killed_round_resumes_with_the_scenes_it_left(
    stac_api: StacServer, band_folder: str, tmp_path: Path
) -> None:
    c, out = "watch-killed", tmp_path / "out"
    stac_api.add(
        [
            item(band_folder, c, f"LC08_K{i}_2020", f"2020-0{i}-01T14:00:00Z", f"2020-0{i}-08T10:00:00Z")
            for i in range(1, 5)
        ]
    )
    path = write_watch(tmp_path / "watch.json", stac_api, c, "killed")
    proc = subprocess.Popen(
        cli("watch", str(path), "--output", str(out), "--workers", "1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if any(r.status == SUCCEEDED for r in rows(out, "killed").values()):
                    break
            except (FileNotFoundError, sqlite3.Error):
                pass
            time.sleep(0.2)
        proc.kill()  # SIGKILL: no clean-up at all
    finally:
        proc.wait(timeout=30)
    killed = rows(out, "killed")
    assert len(killed) == 4 and 1 <= sum(r.status == SUCCEEDED for r in killed.values()) < 4

    resumed = watch(str(path), "--once", "--output", str(out), "--workers", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert "round 2: 0 new items" in resumed.stdout  # the search found nothing new ...
    final = rows(out, "killed")
    assert all(r.status in (SUCCEEDED, SKIPPED) for r in final.values())  # ... and it finished the rest
    for scene_id, row in killed.items():
        if row.status == SUCCEEDED:
            assert final[scene_id].attempts == 1  # done scenes are not made again


def test_two_watch_once_at_the_same_time_do_not_duplicate_work(
    stac_api: StacServer, band_folder: str, tmp_path: Path
) -> None:
    c, out = "watch-twice", tmp_path / "out"
    stac_api.add(
        [
            item(band_folder, c, f"LC08_T{i}_2020", f"2020-0{i}-01T14:00:00Z", f"2020-0{i}-08T10:00:00Z")
            for i in range(1, 4)
        ]
    )
    path = write_watch(tmp_path / "watch.json", stac_api, c, "twice")
    args = cli("watch", str(path), "--once", "--output", str(out), "--workers", "1")
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in "ab"]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 75]), results
    if codes == [0, 75]:
        assert any("round skipped: another scoresby run is using" in err for _, _, err in results)
    final = rows(out, "twice")
    assert len(final) == 3 and all(r.status == SUCCEEDED and r.attempts == 1 for r in final.values())
    assert sum("3 new items" in o for _, o, _ in results) == 1  # the items were new to one round only


def test_every_survives_a_failed_round_and_stops_on_sigterm(
    stac_api: StacServer, band_folder: str, tmp_path: Path
) -> None:
    c, out = "watch-every", tmp_path / "out"  # the collection does not exist yet: round 1 fails
    path = write_watch(tmp_path / "watch.json", stac_api, c, "every")
    proc = subprocess.Popen(
        cli("watch", str(path), "--every", "2s", "--output", str(out), "--workers", "1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.5)
        stac_api.add([item(band_folder, c, "LC08_E1_2020", "2020-01-01T14:00:00Z", "2020-01-08T10:00:00Z")])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and last_outcome(out, "every") != "nothing new":
            time.sleep(0.3)  # the round after the one that processed the new item
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, stderr
    assert "round failed (SearchError)" in stderr and "no collection 'watch-every'" in stderr
    assert "1 new item, backfill" in stdout and "nothing new" in stdout, (stdout, stderr)
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (
            {"search": {"datetime": "2013-04-01/2020-01-01"}},
            "search.datetime: '2013-04-01/2020-01-01' is not allowed in a watch",
        ),
        ({"run_name": None}, "run_name: missing; allowed: a fixed name"),
        (
            {"search": None, "scenes": [{"source": "/tmp/x"}]},
            'search: missing; a watch finds its scenes with a "search"',
        ),
        ({"search": {"limit": 5}}, "search.limit: 5 is not allowed in a watch"),
    ],
)
def test_a_bad_watch_is_one_line_per_problem_and_exit_2(
    tmp_path: Path, change: dict[str, Any], fragment: str
) -> None:
    doc: dict[str, Any] = {
        "run_name": "bad",
        "search": {
            "stac": "http://127.0.0.1:9",
            "collections": ["x"],
            "bbox": [0, 0, 1, 1],
            "datetime": "2013-04-01/..",
        },
    }
    for key, value in change.items():
        if isinstance(value, dict):
            doc[key] = {**doc[key], **value}
        elif value is None:
            doc.pop(key)
        else:
            doc[key] = value
    (tmp_path / "w.json").write_text(json.dumps(doc))
    result = watch(str(tmp_path / "w.json"), "--output", str(tmp_path / "out"), timeout=60)
    assert result.returncode == 2 and fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_period_is_refused(tmp_path: Path) -> None:
    result = watch(str(tmp_path / "w.json"), "--every", "16 days", timeout=60)
    assert result.returncode == 2
    assert "--every '16 days' is not allowed; allowed: a number and a unit" in result.stderr


def test_the_python_api_runs_one_round(stac_api: StacServer, band_folder: str, tmp_path: Path) -> None:
    import scoresby

    c = "watch-api"
    stac_api.add([item(band_folder, c, "LC08_P1_2020", "2020-01-01T14:00:00Z", "2020-01-08T10:00:00Z")])
    doc = json.loads(write_watch(tmp_path / "w.json", stac_api, c, "api").read_text())
    first = scoresby.watch(doc, tmp_path / "out", workers=1, progress=False)
    assert first.round is not None and first.round.new == 1 and first.counts[SUCCEEDED] == 1
    again = scoresby.watch(doc, tmp_path / "out", workers=1, progress=False)
    assert again.round is not None and again.round.outcome == "nothing new"
    assert again.counts[SUCCEEDED] == 1 and again.outputs == first.outputs
