"""Remaking a composite that only gained scenes: the published pixels kept where no added scene is clear.

Every layer of a composite pixel is made from the observations clear at that pixel alone (merge, reduce,
classes, frequencies, indices). So when a period gained scenes and lost none, and neither the settings nor
any earlier scene changed, a pixel can differ from the published composite only where an added scene's QA
says clear. compose.py makes those pixels again (per block, the STACK_PX-aligned rectangle around them,
exactly as a build from scratch makes it) and reads the rest back from the published COGs, which hold the
temps' values losslessly. A trend pixel depends on that pixel's composites alone, so the trend is made
again only in the cells its composites were made again in (`derived_earlier_of`). The manifest records what
each composite and trend was made from (`inputs_record`, `derived_record`); the published Item's own scene
or period list must agree with it, so a run killed between publishing a product and recording it never
reuses one made from other inputs.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import RasterioError
from rasterio.windows import Window

from scoresby.raster.bands import Grid

ASSET_OF_LAYER = {"dn": "reflectance"}
"""compose's temp names whose Item asset is named otherwise."""


class EarlierUnreadable(Exception):
    """A published product's COG could not be read back (the product is then made whole)."""


class Cells:
    """Which `px` x `px` cells of a grid were made again: where a composite's pixels may have changed."""

    def __init__(self, grid: Grid, px: int) -> None:
        self.px, self.height, self.width = px, grid.height, grid.width
        self.map = np.zeros((-(-grid.height // px), -(-grid.width // px)), dtype=bool)

    def mark(self, window: Window, rect: tuple[slice, slice]) -> None:
        """Mark the cells of a rectangle of a block (block offsets and the rectangle on `px` lines)."""
        r0, c0, px = int(window.row_off), int(window.col_off), self.px
        rows, cols = rect
        top, bottom = (r0 + rows.start) // px, -(-(r0 + rows.stop) // px)
        self.map[top:bottom, (c0 + cols.start) // px : -(-(c0 + cols.stop) // px)] = True

    def __or__(self, other: Cells) -> Cells:
        """The cells marked in either."""
        if (self.px, self.map.shape) != (other.px, other.map.shape):
            raise ValueError("cells of different grids")
        out = copy.copy(self)
        out.map = self.map | other.map
        return out

    def pixels(self) -> int:
        """The grid's pixels in marked cells (the last row and column of cells may be partial)."""
        heights = np.minimum(self.px, self.height - self.px * np.arange(self.map.shape[0]))
        widths = np.minimum(self.px, self.width - self.px * np.arange(self.map.shape[1]))
        return int((heights[:, None] * widths[None, :])[self.map].sum())

    def rect(self, window: Window) -> tuple[slice, slice] | None:
        """The rectangle of a block (block coordinates) around its marked cells, None when none is."""
        r0, c0, px = int(window.row_off), int(window.col_off), self.px
        h, w = int(window.height), int(window.width)
        part = self.map[r0 // px : -(-(r0 + h) // px), c0 // px : -(-(c0 + w) // px)]
        rows, cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
        if not rows.size:
            return None
        top, left = r0 // px * px - r0, c0 // px * px - c0  # the first cell's corner in the block
        return (
            slice(max(0, top + int(rows[0]) * px), min(h, top + (int(rows[-1]) + 1) * px)),
            slice(max(0, left + int(cols[0]) * px), min(w, left + (int(cols[-1]) + 1) * px)),
        )


def whole(rect: tuple[slice, slice], shape: tuple[int, int]) -> bool:
    """True when a rectangle of a block (rows, cols) is the whole block: nothing published is kept."""
    rows, cols = rect
    return (rows.start, rows.stop, cols.start, cols.stop) == (0, shape[0], 0, shape[1])


def within(window: Window, rect: tuple[slice, slice]) -> Window:
    """The window of a rectangle (rows, cols) of a block."""
    rows, cols = rect
    return Window(
        window.col_off + cols.start,
        window.row_off + rows.start,
        cols.stop - cols.start,
        rows.stop - rows.start,
    )


@dataclass(frozen=True)
class Earlier:
    """The published product a remake starts from: each layer's COG, and what changed since.

    A composite: the scenes `added` (its pixels are made again around where they are clear). A trend map:
    the `cells` its composites were made again in (its pixels are made again there).
    """

    files: dict[str, Path]
    added: tuple[str, ...] = ()
    cells: Cells | None = None


def inputs_record(settings: str, keys: Mapping[str, str]) -> dict[str, Any]:
    """What a composite is made from, for the manifest: the settings' fingerprint and each scene's key."""
    return {"settings": settings, "scenes": dict(sorted(keys.items()))}


def earlier_of(
    record: Any,
    item: Mapping[str, Any] | None,
    folder: Path,
    settings: str,
    keys: Mapping[str, str],
    specs: Mapping[str, tuple[int, str, float | None]],
    grid: Grid,
) -> Earlier | None:
    """The published composite in `folder` to start from, None when it must be made whole.

    `record`: the manifest's inputs of the published composite; `item`: its published Item; `keys`: the
    period's scenes now (id -> key); `specs`: compose's layers (name -> bands, dtype, nodata).
    """
    if not isinstance(record, dict) or record.get("settings") != settings or item is None:
        return None
    before = record.get("scenes")
    props = item.get("properties")
    if not isinstance(before, dict) or not before or not isinstance(props, dict):
        return None
    if props.get("scoresby:scenes") != sorted(before):
        return None  # the published composite is not the one recorded
    if any(keys.get(sid) != key for sid, key in before.items()):
        return None  # a scene was removed or changed
    added = tuple(sorted(set(keys) - set(before)))
    files = _files(item, folder, specs, grid)
    return Earlier(files, added) if added and files else None


def derived_record(settings: str, inputs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """What a trend map is made from, for the manifest: the settings, its composites' fingerprints."""
    return {"settings": settings, "inputs": [list(pair) for pair in inputs]}


def derived_earlier_of(
    record: Any,
    item: Mapping[str, Any] | None,
    folder: Path,
    settings: str,
    inputs: Sequence[tuple[str, str]],
    remade: Mapping[str, tuple[str | None, Cells | None]],
    specs: Mapping[str, tuple[int, str, float | None]],
    grid: Grid,
) -> Earlier | None:
    """The published trend map in `folder` to start from, None when it must be made whole.

    `inputs`: its composites now, (item id, fingerprint) in order, which its published Item must name as its
    `scoresby:period_items`; `remade`: the composites made again in this build, by id: (fingerprint
    before, the cells made again, None when made whole). It serves when the settings are the recorded ones
    and every composite is either the recorded one or was that one before this build made it again in cells.
    """
    if not isinstance(record, dict) or record.get("settings") != settings or item is None:
        return None
    before = record.get("inputs")
    ids = [iid for iid, _ in inputs]
    props = item.get("properties")
    if (
        not isinstance(before, list)
        or not isinstance(props, dict)
        or props.get("scoresby:period_items") != ids
    ):
        return None
    if [pair[0] if isinstance(pair, list) and len(pair) == 2 else None for pair in before] != ids:
        return None
    cells: Cells | None = None
    for (iid, fp_before), (_, fp_now) in zip(before, inputs, strict=True):
        if fp_before == fp_now:
            continue
        previous, made = remade.get(iid, (None, None))
        if made is None or previous != fp_before:
            return None
        cells = made if cells is None else cells | made
    files = _files(item, folder, specs, grid)
    return Earlier(files, cells=cells) if cells is not None and files else None


def _files(
    item: Mapping[str, Any], folder: Path, specs: Mapping[str, tuple[int, str, float | None]], grid: Grid
) -> dict[str, Path]:
    """Each layer's published COG, {} unless every one is on the grid with the layer's bands and type."""
    item_id = str(item.get("id", ""))
    files = {name: folder / f"{item_id}_{ASSET_OF_LAYER.get(name, name)}.tif" for name in specs}
    return files if all(_fits(files[name], spec, grid) for name, spec in specs.items()) else {}


def _fits(path: Path, spec: tuple[int, str, float | None], grid: Grid) -> bool:
    """True when the COG is on the grid with the layer's bands and type."""
    try:
        with rasterio.open(path) as ds:
            return (
                (ds.width, ds.height, ds.count, ds.dtypes[0]) == (grid.width, grid.height, spec[0], spec[1])
                and ds.transform == grid.transform
                and ds.crs == grid.crs
            )
    except (OSError, RasterioError):
        return False


class EarlierLayers:
    """The published composite's layers, read block by block (each block thread with its own datasets)."""

    def __init__(self, earlier: Earlier) -> None:
        self.earlier = earlier
        self.local = threading.local()

    def read(self, window: Window) -> dict[str, np.ndarray]:
        """Every layer of one block, as compose makes them ((6, h, w) for `dn`, else (h, w))."""
        try:
            datasets = self._datasets()
            return {
                name: ds.read(window=window) if ds.count > 1 else ds.read(1, window=window)
                for name, ds in datasets.items()
            }
        except (OSError, RasterioError) as exc:
            raise EarlierUnreadable(f"a published COG cannot be read back: {exc}") from exc

    def _datasets(self) -> dict[str, Any]:
        datasets = getattr(self.local, "datasets", None)
        if datasets is None:
            datasets = self.local.datasets = {}
            for name, path in self.earlier.files.items():
                datasets[name] = rasterio.open(path)
        return datasets

    def close_thread(self) -> None:
        """Close this thread's datasets."""
        for ds in getattr(self.local, "datasets", {}).values():
            ds.close()
        self.local.datasets = None
