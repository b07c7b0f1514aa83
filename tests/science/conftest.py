"""The demo series, run once for the science tests (statistics, timelapse, MP4, report)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoresby.commands.run import run_plan
from scoresby.core.scene_list import load_scene_list
from scoresby.demo import glacier
from scoresby.raster.quality import aoi_grid


@pytest.fixture(scope="package")
def series(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[glacier.SeriesScene]]:
    """The demo series, generated and run once; returns the run folder and the generator's scenes."""
    root = tmp_path_factory.mktemp("series")
    scenes_json, scenes = glacier.write_series(root)
    plan = load_scene_list(str(scenes_json))
    summary = run_plan(plan, str(root), workers=2, progress=False)
    assert summary.exit_code == 0, summary.failed
    return Path(summary.run_dir), scenes


def aoi_window() -> tuple[slice, slice]:
    """Where the AOI grid lies in the generator's scene grid (both on the same 30 m lattice)."""
    grid = aoi_grid(glacier.aoi())
    col = round((grid.transform.c - glacier.ORIGIN[0]) / glacier.PIXEL_M)
    row = round((glacier.ORIGIN[1] - grid.transform.f) / glacier.PIXEL_M)
    assert col > 0 and row > 0 and col + grid.width < glacier.SIZE and row + grid.height < glacier.SIZE
    return slice(row, row + grid.height), slice(col, col + grid.width)
