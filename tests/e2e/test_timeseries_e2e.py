"""An AWS run's time series under moto: statistics in the DynamoDB rows, the files in the S3 run folder.

The demo's six summers of a retreating glacier (synthetic Landsat C2 L2 scenes with QA_PIXEL, one AOI grid,
one stretch, `"timelapse": {"max_cloud": 40}`) are uploaded to the moto sources bucket and submitted as they
are; the state machine runs one real `scoresby process` job per scene, then one `scoresby timeseries` job.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from PIL import Image

from infra.timeseries_step import TIMESERIES_JOB_NAME
from scoresby.core.task_log import FAILED, SKIPPED, SUCCEEDED
from scoresby.core.timeseries import TASK_LOG_STATS
from scoresby.demo import glacier
from scoresby.stores.dynamo_log import DynamoTaskLog
from tests.e2e import harness
from tests.e2e.harness import SOURCES_BUCKET
from tests.e2e.moto_patches import BatchOutcome
from tests.science.conftest import aoi_window

pytestmark = pytest.mark.slow

RUN = "e2e-series"
PLACE = "aoi-scoresby-sund"


@pytest.fixture(scope="module")
def series_run(world: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The glacier series in the sources bucket, submitted as one execution and run to the end."""
    stack: harness.MotoStack = world["stack"]
    root = tmp_path_factory.mktemp("glacier")
    scenes_json, scenes = glacier.write_series(root)
    s3 = boto3.client("s3")
    doc = json.loads(scenes_json.read_text())
    for entry, scene in zip(doc["scenes"], scenes, strict=True):
        for f in sorted(scene.folder.iterdir()):
            s3.upload_file(str(f), SOURCES_BUCKET, f"glacier/{scene.scene_id}/{f.name}")
        entry["source"] = f"s3://{SOURCES_BUCKET}/glacier/{scene.scene_id}/"
    doc["run_name"] = RUN
    del doc["composites"]  # this module is about the time series; the place stage: test_places_e2e.py
    jobs_before = len(world["container"].runs)
    described = stack.wait(stack.start(RUN, doc), timeout_s=600)
    return {
        "doc": doc,
        "execution": described,
        "scenes": scenes,
        "runs": world["container"].runs[jobs_before:],
        "messages": stack.drain_messages(),
        "prefix": f"products/{RUN}/",
    }


def _get(stack: harness.MotoStack, key: str) -> bytes:
    return bytes(boto3.client("s3").get_object(Bucket=stack.output_bucket, Key=key)["Body"].read())


def test_the_run_ends_with_one_timeseries_job_after_the_scene_jobs(
    series_run: dict[str, Any], world: dict[str, Any]
) -> None:
    assert series_run["execution"]["status"] == "SUCCEEDED", series_run["execution"].get("cause")
    runs = series_run["runs"]
    failures = "\n".join(f"{r.job_name}: {r.stderr[-1500:]}" for r in runs if r.returncode)
    assert [r.returncode for r in runs] == [0] * len(runs), failures
    assert [r.job_name for r in runs][-1] == TIMESERIES_JOB_NAME
    assert len(runs) == len(glacier.DATES) + 1
    job = runs[-1]
    output = f"s3://{world['stack'].output_bucket}/products/"
    assert job.argv[-6:-1] == ["timeseries", RUN, "--output", output, "--timelapse"]
    assert json.loads(job.argv[-1]) == {"max_cloud": 40.0, "fps": 1.0, "mp4": True}
    assert json.loads(series_run["execution"]["output"])["timeseries"] == SUCCEEDED


def test_statistics_are_in_the_dynamodb_rows_as_in_the_stac_items(
    series_run: dict[str, Any], world: dict[str, Any]
) -> None:
    stack: harness.MotoStack = world["stack"]
    rows = {r.scene_id: r for r in DynamoTaskLog(stack.table_name).records(RUN)}
    raw = boto3.client("dynamodb").get_item(
        TableName=stack.table_name,
        Key={"run_id": {"S": RUN}, "scene_id": {"S": series_run["scenes"][0].scene_id}},
    )["Item"]
    assert set(raw["stats"]["M"]) == set(TASK_LOG_STATS)  # every figure named, as in the SQLite log
    for scene in series_run["scenes"]:
        row = rows[scene.scene_id]
        assert row.status == SUCCEEDED
        item = json.loads(_get(stack, f"{series_run['prefix']}{scene.scene_id}/{scene.scene_id}.json"))
        stats = item["properties"]["scoresby:stats"]
        assert row.stats == pytest.approx({k: stats[k] for k in TASK_LOG_STATS}), scene.scene_id
        assert row.stats["quality_band"] == "QA_PIXEL"
    window = aoi_window()
    for scene in series_run["scenes"]:  # and the generator's truth, as the local run finds it
        truth = scene.truth(*window)
        for key in ("cloud_percent", "snow_ice_percent", "water_percent"):
            assert rows[scene.scene_id].stats[key] == pytest.approx(truth[key], abs=1.0), (
                scene.scene_id,
                key,
            )
    cloudy = rows[glacier.scene_id_of(2018)].stats
    assert cloudy["cloud_percent"] > 40  # the date the timelapse leaves out


def test_timeseries_csv_and_png_are_in_the_s3_run_folder(
    series_run: dict[str, Any], world: dict[str, Any]
) -> None:
    stack: harness.MotoStack = world["stack"]
    table = list(csv.DictReader(io.StringIO(_get(stack, series_run["prefix"] + "timeseries.csv").decode())))
    assert [r["scene_id"] for r in table] == [s.scene_id for s in series_run["scenes"]]  # date order
    assert {r["place"] for r in table} == {PLACE}
    first, last = table[0], table[-1]
    assert float(last["snow_ice_percent"]) < float(first["snow_ice_percent"]) - 5  # the retreat
    with Image.open(io.BytesIO(_get(stack, series_run["prefix"] + "timeseries.png"))) as png:
        assert png.format == "PNG" and png.size == (900, 640)
        pixels = np.asarray(png.convert("RGB"))
    assert (pixels < 200).any(axis=2).mean() > 0.02  # lines and labels drawn, not a blank canvas
    Path("/tmp/scoresby-e2e-timeseries.png").write_bytes(_get(stack, series_run["prefix"] + "timeseries.png"))  # noqa: S108


def test_the_timelapse_gif_has_the_clear_dates_in_order(
    series_run: dict[str, Any], world: dict[str, Any]
) -> None:
    from scoresby.raster.timeseries import HEADER_PX, _stamp

    stack: harness.MotoStack = world["stack"]
    data = _get(stack, f"{series_run['prefix']}{PLACE}_timelapse.gif")
    Path("/tmp/scoresby-e2e-timelapse.gif").write_bytes(data)  # noqa: S108 - for a human to look at
    manifest = json.loads(_get(stack, series_run["prefix"] + "timeseries.json"))
    by_id = {r["scene_id"]: r for r in manifest["rows"]}
    shown = [
        s for s, (_, cloud) in zip(series_run["scenes"], glacier.DATES, strict=True) if cloud * 100 <= 40
    ]
    with Image.open(io.BytesIO(data)) as gif:
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")).astype(np.int16))
    assert len(frames) == len(shown) == len(glacier.DATES) - 1  # 2018 (62 % cloud) left out
    # Each frame's date strip is closest to the strip drawn for its own date: the dates, in date order.
    width = frames[0].shape[1]
    strips = []
    for s in shown:
        row = by_id[s.scene_id]
        label = f"{s.date}  {row['sensor']}  cloud {row['cloud_percent']:.0f} %"
        blank = np.zeros((frames[0].shape[0] - HEADER_PX, width, 3), dtype=np.uint8)
        strips.append(np.asarray(_stamp(blank, label))[:HEADER_PX].astype(np.int16))
    for i, frame in enumerate(frames):
        distances = [np.abs(frame[:HEADER_PX] - strip).sum() for strip in strips]
        assert int(np.argmin(distances)) == i, (i, distances)
    assert manifest["timelapses"][PLACE][0] == f"{PLACE}_timelapse.gif"


def test_the_summary_and_its_mail_carry_the_statistics_and_the_series(
    series_run: dict[str, Any], world: dict[str, Any]
) -> None:
    stack: harness.MotoStack = world["stack"]
    summary = json.loads(_get(stack, series_run["prefix"] + "summary.json"))
    assert summary["timeseries"]["status"] == SUCCEEDED
    assert summary["timeseries"]["timelapses"][PLACE][0] == f"{PLACE}_timelapse.gif"
    for scene in summary["scenes"]:
        assert scene["stats"]["place"] == PLACE and scene["stats"]["snow_ice_percent"] is not None
    [mail] = [m for m in series_run["messages"] if m["Subject"].startswith(f"Scoresby {RUN}:")]
    assert f"Time series: s3://{stack.output_bucket}/{series_run['prefix']}timeseries.csv" in mail["Message"]
    assert f"timelapse of {PLACE}: {PLACE}_timelapse.gif" in mail["Message"]
    assert f"{glacier.scene_id_of(2018)}: cloud " in mail["Message"]


def test_a_failed_time_series_job_is_reported_and_the_run_still_succeeds(
    series_run: dict[str, Any], world: dict[str, Any]
) -> None:
    """The same list again: every scene SKIPPED (done), the time-series job runs and its container dies."""
    stack: harness.MotoStack = world["stack"]
    reason = "OutOfMemoryError: Container killed due to memory usage"
    world["container"].faults[TIMESERIES_JOB_NAME] = BatchOutcome(137, reason)
    jobs_before = len(world["container"].runs)
    described = stack.wait(stack.start(f"{RUN}-again", series_run["doc"]), timeout_s=300)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    output = json.loads(described["output"])
    assert output["counts"][SKIPPED] == len(glacier.DATES) and output["timeseries"] == FAILED
    assert [r.job_name for r in world["container"].runs[jobs_before:]] == [TIMESERIES_JOB_NAME]
    [mail] = [m for m in stack.drain_messages() if m["Subject"].startswith(f"Scoresby {RUN}:")]
    assert f"Time series not updated: States.TaskFailed: {reason}" in mail["Message"]
    summary = json.loads(_get(stack, series_run["prefix"] + "summary.json"))
    assert summary["timeseries"] == {"status": FAILED, "error": f"States.TaskFailed: {reason}"}
    # the figures come from the task log then: SKIPPED rows carry those of the run that made the products
    assert all(s["stats"]["snow_ice_percent"] is not None for s in summary["scenes"])
