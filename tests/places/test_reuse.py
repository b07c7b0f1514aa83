"""reuse.Cells: which cells of a grid were made again, and the rectangle of a block around them."""

from __future__ import annotations

import numpy as np
import pytest
from rasterio.windows import Window

from scoresby.places.reuse import Cells, within
from scoresby.raster.bands import Grid
from scoresby.raster.quality import aoi_grid
from tests.places import synth


@pytest.fixture
def grid() -> Grid:
    return aoi_grid(synth.place_aoi())  # 604 x 306 px: 5 x 3 cells of 128 px, the last ones partial


def test_marked_rectangles_come_back_as_the_rectangle_of_each_block(grid: Grid) -> None:
    cells = Cells(grid, 128)
    assert cells.map.shape == (3, 5)
    first, second = Window(0, 0, 512, 300), Window(512, 0, 88, 300)
    assert cells.rect(first) is None and cells.rect(second) is None
    cells.mark(first, (slice(128, 256), slice(256, 512)))
    assert cells.map.sum() == 2 and cells.map[1, 2:4].all()
    assert cells.rect(first) == (slice(128, 256), slice(256, 512))
    assert cells.rect(second) is None
    cells.mark(second, (slice(256, 300), slice(0, 88)))  # the partial corner cell
    assert cells.map[2, 4] and cells.rect(second) == (slice(256, 300), slice(0, 88))
    assert (grid.width, grid.height) == (604, 306)
    assert cells.pixels() == 2 * 128 * 128 + 50 * 92  # the grid's corner cell has 50 x 92 px
    # A window off the cell lines (a tile): its marked cells (row 128-255, columns 256-511), clipped to it.
    assert cells.rect(Window(300, 100, 200, 100)) == (slice(28, 100), slice(0, 200))


def test_cells_of_either_and_the_window_of_a_rectangle(grid: Grid) -> None:
    a, b = Cells(grid, 128), Cells(grid, 128)
    a.mark(Window(0, 0, 512, 300), (slice(0, 128), slice(0, 128)))
    b.mark(Window(512, 0, 88, 300), (slice(0, 128), slice(0, 88)))
    both = a | b
    assert np.flatnonzero(both.map.ravel()).tolist() == [0, 4] and a.map.sum() == 1 and b.map.sum() == 1
    with pytest.raises(ValueError):
        _ = a | Cells(grid, 256)
    assert within(Window(512, 0, 88, 300), (slice(256, 300), slice(0, 88))) == Window(512, 256, 88, 44)
