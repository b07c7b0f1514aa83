"""Incremental place products: only periods whose scenes changed are made again; a killed run is finished."""

from __future__ import annotations

import logging
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from scoresby.places.build import build_place_products
from scoresby.raster.quality import aoi_grid
from tests.places import synth
from tests.places.conftest import options, scenes_of


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
