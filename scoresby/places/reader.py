"""Reading a scene's reflectance by role and its QA onto the AOI grid, one block at a time.

Each file is read through raster.bands.OnGrid: a translation of the AOI grid (Landsat's half-pixel offset)
directly, only the part inside the block, shifted; anything else through a WarpedVRT onto the grid (bilinear
for reflectance, nearest for the QA bits).
Nothing of a scene is kept between blocks except open datasets.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import numpy as np
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from scoresby.core.errors import UnreadableRaster
from scoresby.core.scene_files import SceneFiles
from scoresby.places.sensor_view import ROLES, clear_of, role_bands
from scoresby.raster.band_files import open_band
from scoresby.raster.bands import Grid, OnGrid
from scoresby.sensors import sensor_named


def _on_grid(ds: Any, grid: Grid, resampling: Resampling, nodata: int, stack: ExitStack) -> OnGrid:
    """A file on the grid; its declared nodata (else `nodata`) reads as `nodata`."""
    src_nodata = ds.nodata if ds.nodata is not None else nodata
    return OnGrid(ds, grid, stack, resampling=resampling, src_nodata=src_nodata, nodata=nodata)


class SceneReader:
    """A scene's six reflectance roles and QA on the AOI grid; `read` gives one block or None."""

    def __init__(self, files: SceneFiles, grid: Grid) -> None:
        self.files = files
        self.scene_id = files.scene_id
        sensor = sensor_named(files.sensor)
        bands = role_bands(files.sensor, files.bands)
        qa = sensor.qa
        if bands is None or files.quality is None or qa is None:
            missing = "one of the roles " + ", ".join(ROLES) if bands is None else "a QA band"
            raise UnreadableRaster(files.scene_id, f"has no {missing}: not used in composites")
        self.stack = ExitStack()
        limit, name = sensor.max_pixels, sensor.constellation
        try:
            qa_ds = self.stack.enter_context(
                open_band(self.scene_id, qa.band, files.quality.path, limit, name)
            )
            self.qa_bits = qa
            self.qa = _on_grid(qa_ds, grid, Resampling.nearest, qa.nodata, self.stack)
            self.bands = []
            self.rescaling = []
            for role in ROLES:
                bf = files.bands[bands[role]]
                ds = self.stack.enter_context(open_band(self.scene_id, bands[role], bf.path, limit, name))
                self.bands.append(_on_grid(ds, grid, Resampling.bilinear, 0, self.stack))
                self.rescaling.append((bf.scale, bf.offset))
            self.extent = _extent(qa_ds, grid)
            self.dn_dtype = np.result_type(*(b.ds.dtypes[0] for b in self.bands))
        except BaseException:
            self.stack.close()
            raise

    def close(self) -> None:
        """Close the scene's datasets."""
        self.stack.close()

    def covers(self, window: Window) -> bool:
        """False when the block lies outside the scene's bounding box on the grid."""
        c0, r0, c1, r1 = self.extent
        return not (
            window.col_off >= c1
            or window.row_off >= r1
            or window.col_off + window.width <= c0
            or window.row_off + window.height <= r0
        )

    def read(self, window: Window) -> tuple[np.ndarray, np.ndarray] | None:
        """(reflectance (6, h, w) float32, clear (h, w)) of a block, None when the scene has nothing there."""
        got = self.read_dn(window)
        return None if got is None else (self.reflectance(got[0]), got[1])

    def read_dn(self, window: Window, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """(the six roles' DN (6, h, w) as stored, or into `out`; clear (h, w)) of a block, None when nothing
        is clear (then `out` is left as it was)."""
        try:
            clear = self.qa_clear(window)
            if clear is None or not clear.any():
                return None
            dn = np.empty((len(ROLES), *clear.shape), dtype=self.dn_dtype) if out is None else out
            unsigned = dn.dtype.kind == "u"
            for i, band in enumerate(self.bands):
                band.read(window, out=dn[i])
                if unsigned:  # DN > 0 is DN != 0: one pass, no temporary
                    np.logical_and(clear, dn[i], out=clear)
                else:
                    clear &= dn[i] > 0
        except RasterioError as exc:
            raise self._unreadable(exc) from exc
        return dn, clear

    def qa_clear(self, window: Window) -> np.ndarray | None:
        """Where the QA band says clear in a block (h, w), None outside the scene's bounding box."""
        if not self.covers(window):
            return None
        try:
            return clear_of(self.qa_bits, self.qa.read(window).astype(np.uint16, copy=False))
        except RasterioError as exc:
            raise self._unreadable(exc) from exc

    def _unreadable(self, exc: RasterioError) -> UnreadableRaster:
        return UnreadableRaster(self.scene_id, f"cannot be read for composites: {exc}")

    def reflectance(self, dn: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Reflectance (6, h, w) float32 of the roles' DN: DN x scale + offset in float32 (into `out`)."""
        refl = np.empty(dn.shape, dtype=np.float32) if out is None else out
        # `out` is often strided (one observation of a stack whose last axis is the observations): the
        # arithmetic then runs in a contiguous role buffer and each role is copied into `out` once.
        part = None if refl[0].flags.c_contiguous else np.empty(dn.shape[1:], dtype=np.float32)
        for i in range(len(self.rescaling)):
            into = refl[i] if part is None else part
            self.role_reflectance(i, dn[i], into)
            if part is not None:
                refl[i] = part
        return refl

    def role_reflectance(self, i: int, dn: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Reflectance of role i's DN into `out`: DN x scale + offset, in float32 (every path's one rule)."""
        scale, offset = self.rescaling[i]
        np.multiply(dn, np.float32(scale), out=out, casting="unsafe")
        out += np.float32(offset)
        return out


def _extent(ds: Any, grid: Grid) -> tuple[float, float, float, float]:
    """The file's bounds as (col0, row0, col1, row1) on the grid (a bounding box, widened by a pixel)."""
    west, south, east, north = transform_bounds(ds.crs, grid.crs, *ds.bounds, densify_pts=21)
    inv = ~grid.transform
    c0, r0 = inv @ (west, north)
    c1, r1 = inv @ (east, south)
    return min(c0, c1) - 1, min(r0, r1) - 1, max(c0, c1) + 1, max(r0, r1) + 1


MAX_OPEN_SCENES = 32
"""Scenes whose datasets stay open at once per block thread (7 files each): 2 threads x 224 files stay well
under the usual limit of 1024 open files."""


class ReaderPool:
    """SceneReaders by scene id, opened on first use; the least recently used is closed beyond the limit."""

    def __init__(self, opener: Callable[[str], SceneReader], limit: int = MAX_OPEN_SCENES) -> None:
        self.opener = opener
        self.limit = limit
        self.open: OrderedDict[str, SceneReader] = OrderedDict()

    def __call__(self, scene_id: str) -> SceneReader:
        """The scene's reader."""
        reader = self.open.pop(scene_id, None) or self.opener(scene_id)
        self.open[scene_id] = reader
        while len(self.open) > self.limit:
            self.open.popitem(last=False)[1].close()
        return reader

    def close(self) -> None:
        """Close every open reader."""
        while self.open:
            self.open.popitem()[1].close()
