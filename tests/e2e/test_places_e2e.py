"""The place stage under moto: the glacier series as two paths, place products equal to a local run's.

The demo's six summers (scoresby/demo/glacier.py) are split into two WRS paths as tests/places does: path
000 keeps the west 62 % of each scene (15 August), path 001 the east 62 % a week later, so every period
has two partial observations that overlap in the middle. The list (with the demo's `composites`) is run
through the state machine, every Batch job (scene, time series and place jobs) run as the worker
container, and locally with `scoresby run`: the place COGs in S3 must equal the local ones pixel for pixel.
A second round adds one scene to the last summer: it must run the plan, that one period's composite tiles
and its assembly, the change and trend, the finish, and nothing else; the other periods' objects stay.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
import rasterio

from scoresby.core import place_stage
from scoresby.core.task_log import SUCCEEDED
from scoresby.demo import glacier
from scoresby.stores import job_rows
from scoresby.stores.dynamo_log import DynamoTaskLog
from tests.e2e import harness
from tests.e2e.harness import REPO_ROOT, SOURCES_BUCKET

pytestmark = pytest.mark.slow

RUN = "e2e-places"
WEST, EAST = 0.62, 0.38
"""Path 000 covers the columns left of 62 % of the grid, path 001 those right of 38 % (as tests/places)."""
LAST = 2021
"""The summer the second round adds a scene to: its composite, the change first-last and the trend change."""


def split_scene(scene: glacier.SeriesScene, root: Path, path: int, day: date) -> Path:
    """A copy of one glacier scene as WRS path `path` on `day`, keeping only that path's columns."""
    # Row 010: path 000 on 15 August must not be the glacier's own id (the time-series e2e would skip it).
    sid = f"LC08_L2SP_{path:03d}010_{day:%Y%m%d}_{day + timedelta(days=11):%Y%m%d}_02_T1"
    folder = root / sid
    folder.mkdir(parents=True)
    cols = np.arange(glacier.SIZE)
    inside = cols < int(WEST * glacier.SIZE) if path == 0 else cols >= int(EAST * glacier.SIZE)
    for f in sorted(scene.folder.iterdir()):
        target = folder / f.name.replace(scene.scene_id, sid)
        if f.suffix == ".txt":  # the MTL: its id and date
            text = f.read_text(encoding="utf-8").replace(scene.scene_id, sid)
            target.write_text(text.replace(f"DATE_ACQUIRED = {scene.date}", f"DATE_ACQUIRED = {day}"))
            continue
        with rasterio.open(f) as src:
            profile, data = src.profile, src.read(1)
        data[:, ~inside] = glacier.QA_FILL if f.name.endswith("_QA_PIXEL.TIF") else 0
        with rasterio.open(target, "w", **profile) as dst:
            dst.write(data, 1)
    return folder


def scene_list(folders: list[Path], source: Any) -> dict[str, Any]:
    """The demo's list (products, AOI, stretch, composites) over the two-path scenes."""
    return {
        "run_name": RUN,
        "products": glacier.PRODUCTS,
        "aoi": glacier.aoi(),
        "stretch": glacier.STRETCH,
        "composites": glacier.COMPOSITES,
        "scenes": [{"scene_id": f.name, "source": source(f)} for f in folders],
    }


def run_locally(doc: dict[str, Any], path: Path, output: Path) -> None:
    """`scoresby run` of the list on this machine (a child process: no moto, no AWS variables)."""
    path.write_text(json.dumps(doc), encoding="utf-8")
    env = {k: os.environ[k] for k in ("PATH", "LANG", "TMPDIR") if k in os.environ}
    env.update(HOME=str(output.parent), PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "scoresby.cli", "run", str(path), "--output", str(output)],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]


def upload(folders: list[Path]) -> None:
    s3 = boto3.client("s3")
    for folder in folders:
        for f in sorted(folder.iterdir()):
            s3.upload_file(str(f), SOURCES_BUCKET, f"glacier-paths/{folder.name}/{f.name}")


def s3_source(folder: Path) -> str:
    return f"s3://{SOURCES_BUCKET}/glacier-paths/{folder.name}/"


def place_objects(stack: harness.MotoStack) -> dict[str, dict[str, Any]]:
    """Every object under the run's places/ folder in S3: relative key -> ETag, LastModified."""
    prefix = f"products/{RUN}/places/"
    found = {}
    for page in (
        boto3.client("s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=stack.output_bucket, Prefix=prefix)
    ):
        for o in page.get("Contents", []):
            found[o["Key"][len(prefix) :]] = {"ETag": o["ETag"], "LastModified": o["LastModified"]}
    return found


def job_lists(stack: harness.MotoStack, places: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The round's four job lists as the plan job wrote them."""
    s3 = boto3.client("s3")
    return {
        name: json.loads(
            s3.get_object(Bucket=places["bucket"], Key=place_stage.list_key(places["prefix"], name))[
                "Body"
            ].read()
        )
        for name in place_stage.JOB_LISTS
    }


def submit(world: dict[str, Any], doc: dict[str, Any], name: str) -> dict[str, Any]:
    """One execution to its end: its jobs, its init and summary events, its job lists, the S3 objects."""
    stack: harness.MotoStack = world["stack"]
    jobs_before, calls_before = len(world["container"].runs), len(world["lambda_calls"])
    described = stack.wait(stack.start(name, doc), timeout_s=3600)
    calls = world["lambda_calls"][calls_before:]
    [init] = [c["result"] for c in calls if "places" in c.get("result", {}) and "items" in c["result"]]
    [summary] = [c["event"] for c in calls if "place_stage" in c["event"]]
    return {
        "execution": described,
        "runs": world["container"].runs[jobs_before:],
        "places": init["places"],
        "summary_event": summary,
        "lists": job_lists(stack, init["places"]),
        "objects": place_objects(stack),
    }


def assert_equal_to_local(stack: harness.MotoStack, local_run: Path, tmp: Path) -> None:
    """Every place COG in S3 equals the local run's: same files, grids, overviews and pixels."""
    local_places = local_run / RUN / "places"
    local = {p.relative_to(local_places).as_posix() for p in local_places.rglob("*.tif")}
    aws = {k for k in place_objects(stack) if k.endswith(".tif")}
    assert local and aws == local, sorted(aws ^ local)
    s3 = boto3.client("s3")
    for rel in sorted(local):
        copy = tmp / rel
        copy.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(stack.output_bucket, f"products/{RUN}/places/{rel}", str(copy))
        with rasterio.open(local_places / rel) as a, rasterio.open(copy) as b:
            # str(): a NaN nodata equals itself only as text
            assert (a.crs, a.transform, a.shape, a.count, a.dtypes, str(a.nodata)) == (
                b.crs,
                b.transform,
                b.shape,
                b.count,
                b.dtypes,
                str(b.nodata),
            ), rel
            assert a.overviews(1) == b.overviews(1), rel  # none below 512 px: the glacier AOI is smaller
            np.testing.assert_array_equal(a.read(), b.read(), err_msg=rel)  # NaN where NaN


def place_runs(runs: list[harness.ContainerRun]) -> list[harness.ContainerRun]:
    return [r for r in runs if harness.is_place_job(r)]


@pytest.fixture(scope="module")
def rounds(world: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Round 1 (twelve scenes) and round 2 (plus one), each on AWS (moto) and locally."""
    root = tmp_path_factory.mktemp("glacier-paths")
    _, series = glacier.write_series(root / "series")
    folders = []
    for scene in series:
        day = date.fromisoformat(scene.date)
        folders += [
            split_scene(scene, root / "paths", 0, day),
            split_scene(scene, root / "paths", 1, day + timedelta(7)),
        ]
    # The scene round 2 adds: the terminus of 2020 seen again on 5 September 2021 (path 000).
    extra_source = glacier.write_scene(root / "extra", 2020, 0.0)
    extra = split_scene(extra_source, root / "paths", 0, date(LAST, 9, 5))
    upload([*folders, extra])
    local = root / "local"
    out: dict[str, Any] = {"local": local, "tmp": root / "downloads"}
    run_locally(scene_list(folders, str), root / "round1.json", local)
    out["first"] = submit(world, scene_list(folders, s3_source), f"{RUN}-round-1")
    assert_equal_to_local(world["stack"], local, root / "downloads-1")
    out["second"] = submit(world, scene_list([*folders, extra], s3_source), f"{RUN}-round-2")
    run_locally(scene_list([*folders, extra], str), root / "round2.json", local)
    out["extra"] = extra.name
    return out


def test_the_run_succeeds_with_the_place_stage_and_every_job_succeeded(rounds: dict[str, Any]) -> None:
    for key in ("first", "second"):
        r = rounds[key]
        assert r["execution"]["status"] == SUCCEEDED, r["execution"].get("cause")
        failures = "\n".join(f"{j.job_name}: {j.stderr[-1500:]}" for j in r["runs"] if j.returncode)
        assert all(j.returncode == 0 for j in r["runs"]), failures
        event = r["summary_event"]
        assert event["places"] == r["places"] and event["place_stage"]["status"] == SUCCEEDED
        names = [j.job_name for j in place_runs(r["runs"])]
        assert names[0] == place_stage.PLAN_JOB_NAME and names[-1] == place_stage.FINISH_JOB_NAME
    assert len(harness.scene_runs(rounds["first"]["runs"])) == 2 * len(glacier.DATES)
    [new] = harness.scene_runs(rounds["second"]["runs"])  # the one new scene, the others are done
    assert rounds["extra"] in " ".join(new.argv)


def test_the_place_products_made_on_aws_equal_the_local_runs_pixel_for_pixel(
    world: dict[str, Any], rounds: dict[str, Any]
) -> None:
    # round 1 was compared in the fixture, before round 2 replaced the last summer; now round 2
    assert_equal_to_local(world["stack"], rounds["local"], rounds["tmp"])
    products = {k.split("/")[-1] for k in rounds["second"]["objects"] if k.endswith(".tif")}
    assert any(f"_composite_{LAST}_" in p for p in products)
    assert any("_change_" in p for p in products) and any("_trend_" in p for p in products)


def test_every_place_job_ran_as_listed_and_has_its_jobs_row(
    world: dict[str, Any], rounds: dict[str, Any]
) -> None:
    stack: harness.MotoStack = world["stack"]
    rows = job_rows.job_rows(DynamoTaskLog(stack.table_name), RUN)
    for key in ("first", "second"):
        r = rounds[key]
        listed = [(j["job_name"], j["command"]) for name in place_stage.JOB_LISTS for j in r["lists"][name]]
        ran = place_runs(r["runs"])
        assert sorted(j.job_name for j in ran[1:-1]) == sorted(n for n, _ in listed)
        for job in ran[1:-1]:
            [command] = [c for n, c in listed if n == job.job_name]
            assert job.argv[-len(command) :] == command  # the item's command, as the plan wrote it
        # each place job's times, for the stage's cost (by job id: a Distributed Map's items run in child
        # executions, whose $$.Execution.Name is their own)
        status = {row.job_id: row.status for row in rows}
        assert {status.get(j.job_id) for j in ran} == {SUCCEEDED}


def test_a_round_adding_one_scene_recomputes_one_period_with_change_and_trend_only(
    rounds: dict[str, Any],
) -> None:
    first, second = rounds["first"]["lists"], rounds["second"]["lists"]
    periods = len(first["composite-items"])
    assert periods == len(glacier.DATES)  # every summer is a period of its own
    assert len(first["composite-tiles"]) % periods == 0
    tiles_per_period = len(first["composite-tiles"]) // periods
    assert len(second["composite-items"]) == 1  # the last summer's assembly
    assert len(second["composite-tiles"]) == tiles_per_period  # its tiles, no other period's
    assert len(second["derived-tiles"]) == len(first["derived-tiles"]) > 0  # change and trend again
    assert len(second["derived-items"]) == len(first["derived-items"]) == 2  # change first-last, trend
    ran = place_runs(rounds["second"]["runs"])
    assert len(ran) == 2 + sum(len(v) for v in second.values())  # plan + the listed jobs + finish


def test_the_untouched_periods_objects_were_not_rewritten(rounds: dict[str, Any]) -> None:
    before, after = rounds["first"]["objects"], rounds["second"]["objects"]
    untouched = [k for k in before if "_composite_" in k and f"_composite_{LAST}" not in k]
    assert untouched
    for key in untouched:
        assert after[key] == before[key], key  # same ETag, same LastModified
    remade = [k for k in before if f"_composite_{LAST}_" in k and k.endswith(".tif")]
    assert remade and all(after[k]["LastModified"] > before[k]["LastModified"] for k in remade)
