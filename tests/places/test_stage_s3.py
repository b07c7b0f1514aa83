"""The AWS place stage run job by job in-process against moto S3 equals the local build pixel for pixel.

Tiles of 512 px (two tiles across the 600 x 300 px place, one tile a job), a polygon AOI whose notch
crosses both tiles, three summers (change and trend). A second round adding one scene plans one period's
jobs plus its change and trend, and the result equals the local build's incremental run again.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
import rasterio

from scoresby.places.build import build_place_products
from scoresby.raster.quality import aoi_grid
from scoresby.stores import work_files
from tests.places import synth
from tests.places.conftest import options, scenes_of
from tests.places.stage_helpers import PLACE, MemoryLedger, fetch, run_round, same_raster, write_round

BUCKET = "scoresby-place-stage"
RUN = "glacier"


def polygon_aoi() -> dict[str, Any]:
    """The synthetic place's bbox with a V-shaped notch in the north across the tiles' border (col 512)."""
    aoi = synth.place_aoi()
    w, s, e, n = aoi["bbox"]
    x = [w + f * (e - w) for f in (0.70, 0.82, 0.95)]
    ring = [[w, s], [e, s], [e, n], [x[2], n], [x[1], s + 0.5 * (n - s)], [x[0], n], [w, n], [w, s]]
    return {**aoi, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def _compare(local_dir: Path, s3_dir: str, tmp: Path) -> list[str]:
    """Every Item of the local place folder equals the S3 one (stats approx), and every file of it."""
    place = local_dir / "places" / PLACE
    compared = []
    for item_dir in sorted(p for p in place.iterdir() if p.is_dir() and not p.name.startswith(".")):
        iid = item_dir.name
        local = json.loads((item_dir / f"{iid}.json").read_text())
        remote_text = work_files.read_text(f"{s3_dir}/places/{PLACE}/{iid}/{iid}.json")
        assert remote_text is not None, iid
        remote = json.loads(remote_text)
        stats_l = local["properties"].pop("scoresby:stats", None)
        stats_r = remote["properties"].pop("scoresby:stats", None)
        for key in local["properties"].keys() | remote["properties"].keys():
            assert remote["properties"].get(key) == local["properties"].get(key), (iid, key)
        assert remote == local
        if stats_l is not None:
            assert stats_r.keys() == stats_l.keys()
            for key, value in stats_l.items():
                assert stats_r[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key
        names = sorted(f.name for f in item_dir.iterdir())
        remote_names = work_files.list_names(f"{s3_dir}/places/{PLACE}/{iid}")
        assert remote_names == names  # no stale assets, nothing missing
        for name in names:
            if name.endswith(".tif"):
                same_raster(item_dir / name, fetch(f"{s3_dir}/places/{PLACE}/{iid}/{name}", tmp))
            elif name.endswith(".png"):
                assert (
                    fetch(f"{s3_dir}/places/{PLACE}/{iid}/{name}", tmp).read_bytes()
                    == (item_dir / name).read_bytes()
                )
        compared.append(iid)
    return compared


def _same_rows(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """places.csv rows equal, figures to float precision (sums over tiles add in another order)."""
    assert [r.keys() for r in got] == [r.keys() for r in want] and len(want) >= 3
    for g, w in zip(got, want, strict=True):
        for key, value in w.items():
            if isinstance(value, float):
                assert g[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key
            else:
                assert g[key] == value, key


def test_s3_stage_equals_local_build_and_a_new_scene_redoes_one_period(
    moto_server_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Round 1 makes every Item as the local build does; round 2 (one scene) redoes one period + derived."""
    monkeypatch.setenv("SCORESBY_PLACE_TILE_PX", "512")
    monkeypatch.setenv("SCORESBY_PLACE_TILES_PER_JOB", "1")
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    aoi = polygon_aoi()
    _, made = synth.write_place(tmp_path / "scenes", years=(2000, 2001, 2002))
    scenes = scenes_of(aoi, made)
    opts = options(trend=True)
    local_dir = tmp_path / "local" / RUN
    local = build_place_products(scenes, opts, local_dir)
    clear = (
        local_dir / "places" / PLACE / f"{PLACE}_composite_2000" / f"{PLACE}_composite_2000_clear_count.tif"
    )
    with rasterio.open(clear) as ds:
        counts = ds.read(1)
    assert counts[5, 500] == 0 and counts[5, 530] == 0 and counts[200, 500] > 0 and counts[200, 530] > 0
    output = f"s3://{BUCKET}/out"
    ledger = MemoryLedger()

    round1 = f"s3://{BUCKET}/places/{RUN}/round-1/"
    write_round(round1, opts, scenes)
    first = run_round(round1, RUN, output, ledger)
    counts = {name: len(jobs) for name, jobs in first["lists"].items()}
    assert counts == {"composite-tiles": 6, "composite-items": 3, "derived-tiles": 4, "derived-items": 2}
    assert sorted(first["result"]["made"]) == sorted(local.made) and first["result"]["failed"] == []
    assert first["result"]["jobs"] == {"plan": 1, **counts, "finish": 1}
    _same_rows(first["result"]["rows"], local.rows)
    assert sorted(_compare(local_dir, f"{output}/{RUN}", tmp_path)) == sorted(local.items)
    inside = json.loads(
        work_files.read_text(
            f"{output}/{RUN}/places/{PLACE}/{PLACE}_composite_2000/{PLACE}_composite_2000.json"
        )
        or "{}"
    )
    assert inside["geometry"] == aoi["geometry"]
    assert work_files.list_names(f"{output}/{RUN}/places/{PLACE}/.work") == []  # tiles removed once published
    assert work_files.read_text(f"{output}/{RUN}/places/places.csv") is not None

    grid = aoi_grid(aoi)
    shape = (grid.height, grid.width)
    day = date(2002, 9, 2)
    sid = synth.scene_id("landsat-8", 911, 910, day)
    extra = synth.write_scene(
        tmp_path / "scenes",
        grid,
        sid,
        "landsat-8",
        day,
        np.ones(shape, bool),
        np.zeros(shape, bool),
        synth.surface(2002, 3, shape),
    )
    again = build_place_products(scenes_of(aoi, [extra]), opts, local_dir)
    round2 = f"s3://{BUCKET}/places/{RUN}/round-2/"
    write_round(round2, opts, scenes_of(aoi, [extra]))
    second = run_round(round2, RUN, output, ledger)
    counts = {name: len(jobs) for name, jobs in second["lists"].items()}
    # One period's two tiles and its Item; the change and the trend (two tiles each) and their Items.
    assert counts == {"composite-tiles": 2, "composite-items": 1, "derived-tiles": 4, "derived-items": 2}
    commands = [" ".join(j["command"]) for jobs in second["lists"].values() for j in jobs]
    assert all(f"{PLACE}_composite_2002" in c or "_change_" in c or "_trend" in c for c in commands)
    assert sorted(second["result"]["made"]) == sorted(again.made)
    assert sorted(_compare(local_dir, f"{output}/{RUN}", tmp_path)) == sorted(again.items)
    round3 = f"s3://{BUCKET}/places/{RUN}/round-3/"
    write_round(round3, opts, scenes_of(aoi, [extra]))
    third = run_round(round3, RUN, output, ledger)
    assert all(jobs == [] for jobs in third["lists"].values()) and third["result"]["made"] == []


def test_s3_publish_removes_assets_the_new_item_no_longer_names(moto_server_env: str, tmp_path: Path) -> None:
    """Publishing an Item again without one of its files deletes that file after the new Item is up."""
    from scoresby.places.outputs import publish_item

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    dest = f"s3://{BUCKET}/out/run/places/{PLACE}/item"
    files = []
    for name in ("item_a.tif", "item_b.tif"):
        (tmp_path / name).write_bytes(name.encode())
        files.append(tmp_path / name)
    publish_item({"id": "item", "assets": {}}, dest, files, tmp_path)
    assert work_files.list_names(dest) == ["item.json", "item_a.tif", "item_b.tif"]
    publish_item({"id": "item", "assets": {"a": {}}}, dest, files[:1], tmp_path)
    assert work_files.list_names(dest) == ["item.json", "item_a.tif"]
    assert json.loads(work_files.read_text(f"{dest}/item.json") or "{}")["assets"] == {"a": {}}
