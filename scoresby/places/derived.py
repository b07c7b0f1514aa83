"""Change and trend temps on a grid (the AOI's, or one tile of it) from the periods' published COGs.

`offset` is the grid's (column, row) in the AOI grid the COGs lie on: a tile reads its window of them.
The COGs are opened by GDAL path (a local file or /vsis3/...), window by window: memory stays a few blocks.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window

from scoresby.places import change
from scoresby.places.blocks import TREND_MMAP_THRESHOLD, run_blocks, steady_malloc
from scoresby.places.compose import open_temps
from scoresby.places.reuse import Earlier, EarlierLayers, whole, within
from scoresby.places.sensor_view import ProductRoles
from scoresby.places.trend import theil_sen_mann_kendall
from scoresby.raster.bands import Grid

TREND_BLOCK_PX = 512
"""Trend blocks, aligned with the composites' 512 px COG tiles (each tile decoded once)."""


def _shifted(window: Window, offset: tuple[int, int]) -> Window:
    return Window(window.col_off + offset[0], window.row_off + offset[1], window.width, window.height)


class _ThreadDatasets:
    """COGs opened once in each block thread (a GDAL dataset is not shared between threads), by key."""

    def __init__(self, paths: Mapping[Any, str]) -> None:
        self.paths = paths
        self.local = threading.local()

    def get(self) -> dict[Any, Any]:
        """This thread's datasets, opened on first use."""
        src = getattr(self.local, "src", None)
        if src is None:
            src = self.local.src = {k: rasterio.open(path) for k, path in self.paths.items()}
        return src

    def close(self) -> None:
        """Close this thread's datasets."""
        for ds in getattr(self.local, "src", {}).values():
            ds.close()


def change_specs(indices: Sequence[ProductRoles]) -> dict[str, tuple[int, str, float | None]]:
    """Every temp a change map has: name -> (bands, dtype, nodata)."""
    return {
        **{f"{p.name}_difference": (1, "float32", float("nan")) for p in indices},
        "transitions": (1, "uint8", change.TRANSITIONS_NODATA),
    }


def trend_specs(indices: Sequence[str]) -> dict[str, tuple[int, str, float | None]]:
    """Every temp a trend map of these indices has: name -> (bands, dtype, nodata)."""
    return {f"{n}_{suffix}": (1, "float32", float("nan")) for n in indices for suffix in ("slope", "p_value")}


class _Partly:
    """A block work made only in the cells to make again; elsewhere the published product's layers."""

    def __init__(self, work: Any, earlier: Earlier) -> None:
        if earlier.cells is None:
            raise ValueError("a trend map is made again in cells")
        self.work, self.cells, self.layers = work, earlier.cells, EarlierLayers(earlier)

    def block(self, window: Window) -> tuple[Window, dict[str, np.ndarray]]:
        """The published layers of a block, made again in the rectangle of its cells to make."""
        rect = self.cells.rect(window)
        if rect is not None and whole(rect, (int(window.height), int(window.width))):
            return self.work.block(window)  # nothing published is kept: not read
        layers = self.layers.read(window)
        if rect is not None:
            for name, data in self.work.block(within(window, rect))[1].items():
                layers[name][rect] = data
        return window, layers

    def close_thread(self) -> None:
        """Close this thread's datasets."""
        self.work.close_thread()
        self.layers.close_thread()


class _ChangeWork:
    """Transitions and index differences of one block, from the two composites' COGs."""

    def __init__(
        self, sources: Mapping[tuple[str, str], str], names: list[str], offset: tuple[int, int]
    ) -> None:
        self.sources, self.names, self.offset = _ThreadDatasets(sources), names, offset

    def block(self, window: Window) -> tuple[Window, dict[str, np.ndarray]]:
        """{"transitions": codes, "<index>_difference": to - from} of a block."""
        src, at = self.sources.get(), _shifted(window, self.offset)
        out = {
            "transitions": change.transitions(
                src["from", "classes"].read(1, window=at), src["to", "classes"].read(1, window=at)
            )
        }
        for name in self.names:
            out[f"{name}_difference"] = change.difference(
                src["to", name].read(1, window=at), src["from", name].read(1, window=at)
            )
        return window, out

    def close_thread(self) -> None:
        """Close this thread's datasets."""
        self.sources.close()


def change_temps(
    grid: Grid,
    offset: tuple[int, int],
    sources: Mapping[tuple[str, str], str],
    indices: Sequence[ProductRoles],
    tmp: Path,
    gdal_env: Mapping[str, str] | None = None,
    label: str = "",
) -> tuple[dict[str, Path], np.ndarray]:
    """Index differences (to - from) and transitions; `sources[("from"|"to", key)]`: the COGs' paths.

    Returns the temps and the pixel count of each transition code (34 bins). `label` names the work in
    progress lines (blocks.run_blocks).
    """
    counts = np.zeros(34, dtype=np.int64)
    temps: dict[str, Path] = {}
    with ExitStack() as stack:
        out = open_temps(grid, change_specs(indices), tmp, temps, stack)

        def write(done: tuple[Window, dict[str, np.ndarray]]) -> None:
            nonlocal counts
            window, layers = done
            counts += change.transition_counts(layers["transitions"])
            for key, data in layers.items():
                out[key].write(data, 1, window=window)

        work = _ChangeWork(sources, [p.name for p in indices], offset)
        # The COGs' 512 px tiles, as the trend's blocks: each tile decoded once, in the block threads.
        run_blocks(work, list(grid.windows(TREND_BLOCK_PX, TREND_BLOCK_PX)), write, gdal_env, label)
    return temps, counts


class _TrendWork:
    """Slope and p of every index for one block, from the periods' COGs."""

    def __init__(self, paths: dict[str, list[str]], times: np.ndarray, offset: tuple[int, int]) -> None:
        self.periods = {name: len(v) for name, v in paths.items()}
        self.sources = _ThreadDatasets({(name, i): p for name, v in paths.items() for i, p in enumerate(v)})
        self.times, self.offset = times, offset
        steady_malloc(TREND_MMAP_THRESHOLD)

    def block(self, window: Window) -> tuple[Window, dict[str, np.ndarray]]:
        """{"<index>_slope": ..., "<index>_p_value": ...} of a block."""
        out = {}
        src, at = self.sources.get(), _shifted(window, self.offset)
        for name, n in self.periods.items():
            values = np.stack([src[name, i].read(1, window=at) for i in range(n)])
            out[f"{name}_slope"], out[f"{name}_p_value"] = theil_sen_mann_kendall(values, self.times)
        return window, out

    def close_thread(self) -> None:
        """Close this thread's datasets."""
        self.sources.close()


def trend_temps(
    grid: Grid,
    offset: tuple[int, int],
    paths: dict[str, list[str]],
    times: Sequence[float],
    tmp: Path,
    gdal_env: Mapping[str, str] | None = None,
    earlier: Earlier | None = None,
    label: str = "",
) -> dict[str, Path]:
    """Theil-Sen slope (per year) and Mann-Kendall p of each index; `paths[index]`: the periods' COGs.

    With `earlier` (the AOI's grid only), made again in its cells only (reuse.py). `label` names the work
    in progress lines (blocks.run_blocks).
    """
    temps: dict[str, Path] = {}
    with ExitStack() as stack:
        out = open_temps(grid, trend_specs(list(paths)), tmp, temps, stack)

        def write(done: tuple[Window, dict[str, np.ndarray]]) -> None:
            window, layers = done
            for key, data in layers.items():
                out[key].write(data, 1, window=window)

        work = _partly(_TrendWork(paths, np.array(times, dtype=np.float64), offset), earlier, offset)
        run_blocks(work, list(grid.windows(TREND_BLOCK_PX, TREND_BLOCK_PX)), write, gdal_env, label)
    return temps


def _partly(work: Any, earlier: Earlier | None, offset: tuple[int, int]) -> Any:
    """The work itself, or made again only in `earlier`'s cells (on the AOI's grid: no tile offset)."""
    if earlier is None:
        return work
    if offset != (0, 0):
        raise ValueError("a tile is made whole")
    return _Partly(work, earlier)
