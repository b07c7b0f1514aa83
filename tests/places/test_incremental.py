"""Incremental place products: only periods whose scenes changed are made again; a killed run is finished."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from scoresby.places import reuse
from scoresby.places.build import PlaceResult, build_place_products
from scoresby.places.compose import layer_specs
from scoresby.places.derived import trend_specs
from scoresby.places.sensor_view import product_roles
from scoresby.raster.quality import aoi_grid
from tests.places import synth
from tests.places.conftest import PRODUCTS, options, scenes_of


def _mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_one_added_scene_remakes_one_period(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A scene added to 2002 remakes its composite, change and trend; 2000 and 2001 keep their files."""
    aoi, made = synth.write_place(tmp_path / "scenes", years=(2000, 2001, 2002))
    run_dir = tmp_path / "run"
    scenes = scenes_of(aoi, made)
    first = build_place_products(scenes, options(), run_dir)
    assert sorted(first.made) == sorted(
        [f"aoi-synth_composite_{y}" for y in (2000, 2001, 2002)] + ["aoi-synth_change_2000_2002"]
    )
    place = run_dir / "places" / "aoi-synth"
    before = _mtimes(place)
    again = build_place_products(scenes, options(), run_dir)
    assert again.made == []
    assert _mtimes(place) == before
    grid = aoi_grid(aoi)
    shape = (grid.height, grid.width)
    day = date(2002, 9, 2)
    extra = synth.write_scene(
        tmp_path / "scenes",
        grid,
        synth.scene_id("landsat-8", 911, 910, day),
        "landsat-8",
        day,
        np.ones(shape, dtype=bool),
        np.zeros(shape, dtype=bool),
        synth.surface(2002, 3, shape),
    )
    caplog.clear()  # the records of this build only (another test may have set INFO for the earlier ones)
    with caplog.at_level(logging.INFO, logger="scoresby.places.build"):
        third = build_place_products(scenes_of(aoi, [extra]), options(trend=True), run_dir)
    assert sorted(third.made) == ["aoi-synth_change_2000_2002", "aoi-synth_composite_2002", "aoi-synth_trend"]
    progress = [r.getMessage() for r in caplog.records]
    assert progress[0] == "place aoi-synth: 3 composites, 1 to make, 2 current"
    assert "place aoi-synth: 2 change and trend maps, 2 to make" in progress
    assert sum(m.startswith("place product aoi-synth_") and " made in " in m for m in progress) == 3
    after = _mtimes(place)
    for year in (2000, 2001):
        keys = [k for k in before if k.startswith(f"aoi-synth_composite_{year}/")]
        assert keys and all(after[k] == before[k] for k in keys)
    assert extra.scene_id in third.items["aoi-synth_composite_2002"]["properties"]["scoresby:scenes"]


def test_killed_run_is_finished_by_the_next(tmp_path: Path) -> None:
    """A product missing (as if the run died before publishing it) is made by the next run; leftovers go."""
    aoi, made = synth.write_place(tmp_path / "scenes", years=(2000, 2001))
    run_dir = tmp_path / "run"
    scenes = scenes_of(aoi, made)
    build_place_products(scenes, options(), run_dir)
    place = run_dir / "places" / "aoi-synth"
    shutil.rmtree(place / "aoi-synth_composite_2001")
    (place / ".tmp-deadbeef").mkdir()
    (place / ".aoi-synth_trend.0123abcd.staging").mkdir()
    before = _mtimes(place / "aoi-synth_composite_2000")
    result = build_place_products(scenes, options(), run_dir)
    assert result.made == ["aoi-synth_composite_2001"]  # the change is current: same inputs, same result
    assert _mtimes(place / "aoi-synth_composite_2000") == before
    assert not [p for p in place.iterdir() if p.name.startswith(".")]


def test_period_that_loses_its_scenes_is_removed(tmp_path: Path) -> None:
    """Scenes excluded (failed) take their period's composite away, with a note."""
    aoi, made = synth.write_place(tmp_path / "scenes", years=(2000, 2001))
    run_dir = tmp_path / "run"
    build_place_products(scenes_of(aoi, made), options(change=False), run_dir)
    gone = [s.scene_id for s in made if s.day.year == 2001]
    result = build_place_products(scenes_of(aoi, made), options(change=False), run_dir, exclude=gone)
    assert sorted(result.items) == ["aoi-synth_composite_2000"]
    assert not (run_dir / "places" / "aoi-synth" / "aoi-synth_composite_2001").exists()
    assert any("aoi-synth_composite_2001" in n for n in result.notes)
    named = f"{', '.join(sorted(gone)[:3])} and {len(gone) - 3} more"
    assert [n for n in result.notes if "failed in the task log" in n] == [
        f"{len(gone)} scenes failed in the task log, not used in composites: {named}"
    ]


def test_change_pair_without_scenes_is_a_note(tmp_path: Path) -> None:
    """A change pair naming a period with no scenes gives a note, not an error."""
    aoi, made = synth.write_place(tmp_path / "scenes", years=(2000,))
    result = build_place_products(scenes_of(aoi, made), options(change=[["2000", "2005"]]), tmp_path / "run")
    assert "change 2000 -> 2005: period 2005 has no scenes; no change map" in result.notes
    assert list(result.items) == ["aoi-synth_composite_2000"]


def test_season_and_sensors(tmp_path: Path) -> None:
    """Seasons label JJA by year; `sensors` without tm leaves the TM year out."""
    aoi, made = synth.write_place(tmp_path / "scenes", years=(2000, 2002))
    result = build_place_products(
        scenes_of(aoi, made), options(period="season", months=[6, 7, 8], sensors=["oli"]), tmp_path / "run"
    )
    assert sorted(result.items) == ["aoi-synth_composite_2002-JJA"]
    props: dict[str, Any] = result.items["aoi-synth_composite_2002-JJA"]["properties"]
    assert (
        props["start_datetime"] == "2002-06-01T00:00:00Z" and props["end_datetime"] == "2002-08-31T23:59:59Z"
    )
    assert any("sensors outside composites.sensors" in n for n in result.notes)


def _assets(place: Path, item_id: str) -> dict[str, np.ndarray]:
    """Every COG of an Item, read whole, by file name without the Item id."""
    out = {}
    for cog in sorted((place / item_id).glob("*.tif")):
        with rasterio.open(cog) as ds:
            out[cog.name.removeprefix(item_id)] = ds.read()
    return out


def _assert_same_as_scratch(
    aoi: dict[str, Any], made: list[synth.Synth], result: PlaceResult, run_dir: Path, scratch_dir: Path
) -> None:
    """Every COG and the properties of each Item `result` made equal those of a build from scratch."""
    scratch = build_place_products(scenes_of(aoi, made), options(trend=True), scratch_dir)
    place, fresh = run_dir / "places" / "aoi-synth", scratch_dir / "places" / "aoi-synth"
    for item_id in result.made:
        mine, theirs = _assets(place, item_id), _assets(fresh, item_id)
        assert mine.keys() == theirs.keys() and mine
        for name, data in mine.items():
            np.testing.assert_array_equal(data, theirs[name], err_msg=f"{item_id}{name}")
        assert result.items[item_id]["properties"] == scratch.items[item_id]["properties"]


def test_added_scene_is_made_where_it_is_clear_and_equals_a_build_from_scratch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A composite that gained a scene is made again only around where that scene is clear, its trend only
    there too, and every COG of them and of the change equals a build from scratch bit for bit.

    The added scene is the first (by id) of two same-day rows of one path: in their overlap it wins the
    merge, so the observation changes there too.
    """
    aoi, made = synth.write_place(tmp_path / "scenes", years=(2000, 2001, 2002))
    added = next(s for s in made if s.day == date(2002, 7, 10) and "_910910_" in s.scene_id)
    same_day = [s for s in made if s.day == added.day and s is not added]
    assert same_day and all(s.scene_id > added.scene_id for s in same_day)
    grid = aoi_grid(aoi)
    run_dir, scratch_dir = tmp_path / "run", tmp_path / "scratch"
    build_place_products(scenes_of(aoi, [s for s in made if s is not added]), options(trend=True), run_dir)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="scoresby.places"):
        result = build_place_products(scenes_of(aoi, made), options(trend=True), run_dir)
    remade = ["aoi-synth_change_2000_2002", "aoi-synth_composite_2002", "aoi-synth_trend"]
    assert sorted(result.made) == remade
    # Rows 0-173 and columns 0-371 are the scene's: on 128 px lines, 256 x 384 px of the first 512 px block;
    # the second block (columns 512-599) is read back whole.
    total = grid.width * grid.height
    message = (
        f"composite made again where its 1 added scenes are clear: {256 * 384} of {total} px "
        f"({100 * 256 * 384 / total:.0f} %), the rest read back from the published composite"
    )
    messages = [r.getMessage() for r in caplog.records]
    assert message in messages
    # 2 x 3 of the 3 x 5 cells of 128 px (the map counts the edge cells whole); the change map is made whole.
    assert (
        "aoi-synth_trend made again where its composites were (40 % of the AOI), the rest read back"
        in messages
    )
    assert not [m for m in messages if m.startswith("aoi-synth_change_2000_2002 made again")]
    _assert_same_as_scratch(aoi, made, result, run_dir, scratch_dir)
    composite = _assets(run_dir / "places" / "aoi-synth", "aoi-synth_composite_2002")
    assert composite["_clear_count.tif"][0, : int(0.58 * grid.height), : int(0.62 * grid.width)].min() >= 1


def test_block_made_again_whole_is_not_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A block an added scene makes again whole is not read back from the published COGs (the composite's
    nor the trend's), one it makes in part is, and the products still equal a build from scratch.

    The added scene is path B's of 2002 (columns 229-555, every row): it is clear in the second 512 px block
    from its first column (columns 512-555, on 128 px lines the block's whole 92 columns), in the first block
    from column 229 only.
    """
    aoi, made = synth.write_place(tmp_path / "scenes", years=(2000, 2001, 2002))
    added = next(s for s in made if s.day == date(2002, 7, 17))
    run_dir, scratch_dir = tmp_path / "run", tmp_path / "scratch"
    build_place_products(scenes_of(aoi, [s for s in made if s is not added]), options(trend=True), run_dir)
    read_back: list[tuple[str, int]] = []
    original = reuse.EarlierLayers.read

    def counted(self: reuse.EarlierLayers, window: Window) -> dict[str, np.ndarray]:
        read_back.append((next(iter(self.earlier.files.values())).parent.name, int(window.col_off)))
        return original(self, window)

    monkeypatch.setattr(reuse.EarlierLayers, "read", counted)
    result = build_place_products(scenes_of(aoi, made), options(trend=True), run_dir)
    assert sorted(result.made) == [
        "aoi-synth_change_2000_2002",
        "aoi-synth_composite_2002",
        "aoi-synth_trend",
    ]
    assert sorted(read_back) == [("aoi-synth_composite_2002", 0), ("aoi-synth_trend", 0)]
    _assert_same_as_scratch(aoi, made, result, run_dir, scratch_dir)


def test_composite_made_whole_unless_it_only_gained_scenes(tmp_path: Path) -> None:
    """reuse.earlier_of: the published composite serves only with the recorded inputs, the same settings,
    every earlier scene unchanged, an added scene, and every layer's COG on the grid."""
    aoi, made = synth.write_place(tmp_path / "scenes", years=(2002,))
    run_dir = tmp_path / "run"
    build_place_products(scenes_of(aoi, made[:-2]), options(), run_dir)
    place = run_dir / "places" / "aoi-synth"
    item_id = "aoi-synth_composite_2002"
    man = json.loads((place / "manifest.json").read_text())
    record = man["inputs"][item_id]
    item = json.loads((place / item_id / f"{item_id}.json").read_text())
    grid = aoi_grid(aoi)
    specs = layer_specs([r for r in map(product_roles, PRODUCTS) if r is not None and r.kind == "index"])
    keys = {**record["scenes"], "LC08_added": "k"}

    def earlier(**over: Any) -> reuse.Earlier | None:
        args = {"record": record, "item": item, "settings": record["settings"], "keys": keys} | over
        return reuse.earlier_of(
            args["record"], args["item"], place / item_id, args["settings"], args["keys"], specs, grid
        )

    found = earlier()
    assert found is not None and found.added == ("LC08_added",)
    assert set(found.files) == set(specs) and all(p.is_file() for p in found.files.values())
    assert found.files["dn"].name == f"{item_id}_reflectance.tif"
    assert earlier(keys=dict(record["scenes"])) is None  # nothing added
    assert earlier(settings="other") is None  # method, products, stretch, AOI or grid changed
    first = next(iter(record["scenes"]))
    assert earlier(keys={**keys, first: "changed"}) is None  # an earlier scene's source changed
    assert earlier(keys={k: v for k, v in keys.items() if k != first}) is None  # a scene removed
    other = {**item, "properties": {**item["properties"], "scoresby:scenes": sorted(keys)}}
    assert earlier(item=other) is None  # published from other scenes than recorded (killed mid-way)
    assert earlier(record=None) is None and earlier(item=None) is None
    (place / item_id / f"{item_id}_ndsi.tif").unlink()
    assert earlier() is None  # a layer's COG is gone


def test_trend_made_whole_unless_its_composites_were_made_again_in_cells(tmp_path: Path) -> None:
    """reuse.derived_earlier_of: a published trend serves only when each changed composite was the recorded
    one before this build made it again in cells (a run killed before recording the trend makes it whole)."""
    aoi, made = synth.write_place(tmp_path / "scenes", years=(2000, 2001, 2002))
    run_dir = tmp_path / "run"
    build_place_products(scenes_of(aoi, made), options(trend=True), run_dir)
    place = run_dir / "places" / "aoi-synth"
    item_id = "aoi-synth_trend"
    record = json.loads((place / "manifest.json").read_text())["inputs"][item_id]
    item = json.loads((place / item_id / f"{item_id}.json").read_text())
    grid = aoi_grid(aoi)
    specs = trend_specs(["ndsi", "ndvi", "evi"])
    ids = [iid for iid, _ in record["inputs"]]
    assert ids == item["properties"]["scoresby:period_items"] and len(ids) == 3
    cells = reuse.Cells(grid, 128)
    cells.mark(Window(0, 0, 512, 300), (slice(0, 128), slice(0, 256)))
    now = [(ids[0], record["inputs"][0][1]), (ids[1], record["inputs"][1][1]), (ids[2], "new")]
    remade: dict[str, tuple[str | None, reuse.Cells | None]] = {ids[2]: (record["inputs"][2][1], cells)}

    def earlier(**over: Any) -> reuse.Earlier | None:
        args = {"record": record, "item": item, "inputs": now, "remade": remade} | over
        return reuse.derived_earlier_of(
            args["record"], args["item"], place / item_id, record["settings"], args["inputs"],
            args["remade"], specs, grid,
        )  # fmt: skip

    found = earlier()
    assert found is not None and found.cells is not None and found.cells.map.sum() == 2
    assert set(found.files) == set(specs)
    assert earlier(remade={ids[2]: (record["inputs"][2][1], None)}) is None  # the composite was made whole
    assert earlier(remade={ids[2]: ("other", cells)}) is None  # it was not the recorded one before
    assert earlier(remade={}) is None  # changed in an earlier run (killed before the trend was recorded)
    other = {**item, "properties": {**item["properties"], "scoresby:period_items": ids[:2]}}
    assert earlier(item=other) is None  # the published trend is of other periods
    assert earlier(inputs=now[:2]) is None  # a period gone
    assert earlier(record=None) is None


def test_composite_that_cannot_be_made_keeps_its_trend_on_the_published_one(tmp_path: Path) -> None:
    """A period whose new scene cannot be read keeps its published composite, and the trend stays made from
    that one; once the scene reads, the composite and the trend are made again (not left current)."""
    aoi, made = synth.write_place(tmp_path / "scenes", years=(2000, 2001, 2002))
    run_dir = tmp_path / "run"
    build_place_products(scenes_of(aoi, made), options(trend=True), run_dir)
    grid = aoi_grid(aoi)
    shape = (grid.height, grid.width)
    day = date(2002, 9, 2)
    sid = synth.scene_id("landsat-8", 911, 910, day)
    args = (grid, sid, "landsat-8", day, np.ones(shape, dtype=bool), np.zeros(shape, dtype=bool))
    extra = synth.write_scene(tmp_path / "scenes", *args, synth.surface(2002, 3, shape))
    band = extra.folder / f"{sid}_SR_B4.TIF"
    good = band.read_bytes()
    band.write_bytes(good[: len(good) // 3])  # cut short: the header reads, the pixels do not
    scenes = scenes_of(aoi, [*made, extra])
    broken = build_place_products(scenes, options(trend=True), run_dir)
    assert "aoi-synth_composite_2002" not in broken.made
    assert any(n.startswith("aoi-synth_composite_2002 not made:") for n in broken.notes), broken.notes
    assert "aoi-synth_trend" not in broken.made and "aoi-synth_change_2000_2002" not in broken.made
    band.write_bytes(good)
    mended = build_place_products(scenes, options(trend=True), run_dir)
    assert sorted(mended.made) == [
        "aoi-synth_change_2000_2002",
        "aoi-synth_composite_2002",
        "aoi-synth_trend",
    ]
