"""Reading a scene's bands: band readers on one target grid, windows, temp GTiff profiles, GDAL settings."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from scoresby.core.errors import GridMismatch, UnreadableRaster
from scoresby.raster.band_files import MAX_SCENE_PIXELS, cannot_read, open_band
from scoresby.sensors import Sensor

if TYPE_CHECKING:
    from scoresby.core.scene_files import BandFile

logger = logging.getLogger(__name__)

BLOCK = 512
"""Tile size of the COG outputs."""

WINDOW_ROWS = 512
WINDOW_COLS = 2048
"""Processing window: fixed pixel count, so memory does not grow with the scene's width or height.

Multiples of 512 (and 256), so each window covers whole source tiles of Landsat/Sentinel-2 COGs:
every compressed tile is decoded exactly once, whatever the GDAL block cache holds."""

TEMP_TILE = 256
"""Tile size of the uncompressed temp GTiffs (windows cover whole temp tiles)."""

GDAL_CACHEMAX_BYTES = 64 * 1024 * 1024
"""GDAL block cache bound: keeps peak RSS flat whatever the scene size.

In bytes: rasterio hands an integer GDAL_CACHEMAX to GDALSetCacheMax64, so a bare 128 would mean 128 bytes
(and a 500x slowdown), not 128 MB."""

RESAMPLING = Resampling.bilinear
"""Resampling of coarser bands onto the finest grid (reflectance, so bilinear is fine); a file that is only a
translation of the grid is shifted instead (Grid.lattice_shift)."""

ALLOWED_DTYPES = ("uint8", "uint16", "int16")


def gdal_options(read_options: Mapping[str, str]) -> dict[str, Any]:
    """GDAL configuration for a scene: discovery's read options plus the block-cache bound."""
    options: dict[str, Any] = dict(read_options)
    options.setdefault("GDAL_CACHEMAX", GDAL_CACHEMAX_BYTES)
    return options


@dataclass(frozen=True)
class Grid:
    """The target grid every band is read onto."""

    crs: CRS
    transform: Affine
    width: int
    height: int

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the grid's CRS."""
        west, south, east, north = rasterio.transform.array_bounds(self.height, self.width, self.transform)
        return west, south, east, north

    def overlaps(self, other: Grid) -> bool:
        """True when this grid's extent, taken into `other`'s CRS, shares area with `other`'s (or when the
        extent cannot be taken there: only a sure miss says False)."""
        from rasterio.warp import transform_bounds

        try:
            moved = transform_bounds(self.crs, other.crs, *self.bounds, densify_pts=21)
        except (RasterioError, ValueError):
            return True
        if not all(math.isfinite(v) for v in moved):
            return True
        left, bottom, right, top = moved
        o_left, o_bottom, o_right, o_top = other.bounds
        return min(right, o_right) > max(left, o_left) and min(top, o_top) > max(bottom, o_bottom)

    def describe(self) -> str:
        """Its bounds and CRS, for a message: "(left, bottom, right, top) in EPSG:32624"."""
        return f"{_fmt_bounds(self.bounds)} in {_crs_name(self.crs)}"

    def lattice_shift(self, ds: Any) -> tuple[int, int] | None:
        """(col, row) of this grid's origin in `ds`'s pixels when `ds` is a translation of the grid (same CRS
        and pixel size, north up), else None: whole pixels, or the nearest for a fraction of one.

        Such a file is shifted, not resampled: Landsat Collection 2 pixels lie half a pixel (15 m) off a
        30 m grid snapped to multiples of 30, and a bilinear read would blend four pixels into each, mixing
        cloud edges into clear pixels that the QA (read by nearest) calls clear. The shift is GDAL's nearest
        neighbour (an exact half goes to the next pixel, as its warper does).
        """
        t, g = ds.transform, self.transform
        if ds.crs != self.crs or t.b or t.d or g.b or g.d:
            return None
        if not (math.isclose(t.a, g.a) and math.isclose(t.e, g.e)):
            return None
        col, row = (g.c - t.c) / t.a, (g.f - t.f) / t.e
        return math.floor(col + 0.5 + 1e-6), math.floor(row + 0.5 + 1e-6)

    def windows(self, rows: int = WINDOW_ROWS, cols: int = WINDOW_COLS) -> Iterator[Window]:
        """Windows of at most rows x cols, row by row from the top left (aligned to source and temp tiles)."""
        for row in range(0, self.height, rows):
            for col in range(0, self.width, cols):
                yield Window(col, row, min(cols, self.width - col), min(rows, self.height - row))


class OnGrid:
    """One band of a file read window by window on a grid; outside the file: `nodata`.

    A translation of the grid (`Grid.lattice_shift`: the grid itself, or Landsat's half-pixel offset) is read
    directly, shifted by whole pixels: GDAL's nearest neighbour, without a warper. Anything else goes
    through a WarpedVRT with `resampling`. Either way the file's nodata (`src_nodata`) reads as `nodata`.
    """

    def __init__(
        self,
        ds: Any,
        grid: Grid,
        stack: ExitStack,
        *,
        resampling: Resampling,
        src_nodata: float | None,
        nodata: float,
    ) -> None:
        self.ds, self.src_nodata, self.nodata = ds, src_nodata, nodata
        self.offset = grid.lattice_shift(ds)
        self.vrt: Any = None
        if self.offset is None:
            self.vrt = stack.enter_context(
                WarpedVRT(
                    ds,
                    crs=grid.crs,
                    transform=grid.transform,
                    width=grid.width,
                    height=grid.height,
                    resampling=resampling,
                    src_nodata=src_nodata,
                    nodata=nodata,
                )
            )

    def read(self, window: Window, out: np.ndarray | None = None) -> np.ndarray:
        """The window's values in the file's data type (into `out` when given)."""
        if self.offset is None:
            data = np.asarray(self.vrt.read(1, window=window))
        else:
            data = self._shifted(self.offset, window, out)
        if out is None or data is out:
            return data
        out[...] = data
        return out

    def _shifted(self, offset: tuple[int, int], window: Window, out: np.ndarray | None) -> np.ndarray:
        """The window read straight from the file, shifted (into `out` when it has the file's data type)."""
        dc, dr = offset
        h, w = int(window.height), int(window.width)
        c0, r0 = int(window.col_off) + dc, int(window.row_off) + dr
        cs, rs = max(c0, 0), max(r0, 0)
        ce, re = min(c0 + w, self.ds.width), min(r0 + h, self.ds.height)
        dtype = self.ds.dtypes[0]
        into = out if out is not None and out.dtype == dtype else np.empty((h, w), dtype=dtype)
        if (cs, rs, ce, re) != (c0, r0, c0 + w, r0 + h):
            into.fill(self.nodata)  # the window reaches outside the file
        if ce > cs and re > rs:
            inside = into[rs - r0 : re - r0, cs - c0 : ce - c0]
            self.ds.read(1, window=Window(cs, rs, ce - cs, re - rs), out=inside)  # no second copy
            if self.src_nodata is not None and self.src_nodata != self.nodata:
                nan = isinstance(self.src_nodata, float) and math.isnan(self.src_nodata)
                inside[np.isnan(inside) if nan else inside == self.src_nodata] = self.nodata
        return into


class BandReader:
    """Reads one band file window by window on the target grid, with nodata (declared or 0) as DN 0."""

    def __init__(self, scene_id: str, band: str, path: str, dataset: Any) -> None:
        self.scene_id = scene_id
        self.band = band
        self.path = path
        self.dataset = dataset
        self.nodata = dataset.nodata
        self.on_grid: OnGrid | None = None  # set by align(), before any read

    def align(self, grid: Grid, stack: ExitStack) -> None:
        """Read on `grid` (OnGrid: shifted when the file is a translation of it, else resampled)."""
        ds = self.dataset
        # 0 is fill for these sensors; a declared nodata wins. The warper leaves nodata out of the kernel.
        src_nodata = self.nodata if self.nodata is not None else 0
        self.on_grid = OnGrid(ds, grid, stack, resampling=RESAMPLING, src_nodata=src_nodata, nodata=0)
        if self.on_grid.vrt is not None:
            logger.debug(
                "scene %s: band %s resampled (%s) from %dx%d onto %dx%d",
                self.scene_id,
                self.band,
                RESAMPLING.name,
                ds.width,
                ds.height,
                grid.width,
                grid.height,
            )

    def read(self, window: Window) -> np.ndarray:
        """uint16 DN of a window, nodata pixels set to 0."""
        assert self.on_grid is not None, "align() first"  # noqa: S101 - open_bands' callers align every band
        try:
            data = self.on_grid.read(window)  # nodata already 0
        except RasterioError as exc:
            raise cannot_read(self.scene_id, f"band {self.band}", self.path, exc) from exc
        if data.dtype == np.int16:
            data = np.where(data < 0, 0, data).astype(np.uint16)
        elif data.dtype != np.uint16:
            data = data.astype(np.uint16)
        return data


def open_bands(
    scene_id: str, bands: dict[str, BandFile], stack: ExitStack, sensor: Sensor | None = None
) -> dict[str, BandReader]:
    """Open every band file once (band_files.open_band checks it); other data types are UnreadableRaster."""
    readers: dict[str, BandReader] = {}
    for name, bf in bands.items():
        limit = sensor.max_pixels if sensor else MAX_SCENE_PIXELS
        ds = stack.enter_context(
            open_band(scene_id, name, bf.path, limit, sensor.constellation if sensor else "")
        )
        if ds.dtypes[0] not in ALLOWED_DTYPES:
            raise UnreadableRaster(
                scene_id,
                f"band {name} file {bf.path} has data type {ds.dtypes[0]}; "
                f"allowed: {', '.join(ALLOWED_DTYPES)}",
            )
        readers[name] = BandReader(scene_id, name, bf.path, ds)
    return readers


def target_grid(scene_id: str, readers: dict[str, BandReader]) -> Grid:
    """The finest band's grid; every band must share its CRS and overlap its extent (else GridMismatch)."""
    finest = min(readers.values(), key=lambda r: abs(r.dataset.res[0] * r.dataset.res[1]))
    ds = finest.dataset
    left, bottom, right, top = ds.bounds
    for r in readers.values():
        other = r.dataset
        if other.crs != ds.crs:
            raise GridMismatch(
                scene_id,
                f"band {r.band} file {r.path} has CRS {_crs_name(other.crs)} but "
                f"band {finest.band} file {finest.path} has {_crs_name(ds.crs)}; "
                "all bands must share one CRS",
            )
        ol, ob, orr, ot = other.bounds
        if min(right, orr) <= max(left, ol) or min(top, ot) <= max(bottom, ob):
            raise GridMismatch(
                scene_id,
                f"band {r.band} file {r.path} (bounds {_fmt_bounds(other.bounds)}) "
                f"does not overlap band {finest.band} file {finest.path} "
                f"(bounds {_fmt_bounds(ds.bounds)})",
            )
    return _union_grid(finest, list(readers.values()))


def _union_grid(finest: BandReader, readers: list[BandReader]) -> Grid:
    """The finest band's pixel grid grown to cover every band, so no band's extent decides the output size.

    The grid only grows by whole pixels where another band reaches out by more than half a pixel (bands of
    one scene differ by a fraction of a coarse pixel at their edges); what a band does not cover is nodata.
    """
    ds = finest.dataset
    t = ds.transform
    px_w, px_h = t.a, -t.e
    left, bottom, right, top = ds.bounds
    grow_left = grow_right = grow_top = grow_bottom = 0
    for r in readers:
        ol, ob, orr, ot = r.dataset.bounds
        grow_left = max(grow_left, round((left - ol) / px_w))
        grow_right = max(grow_right, round((orr - right) / px_w))
        grow_top = max(grow_top, round((ot - top) / px_h))
        grow_bottom = max(grow_bottom, round((bottom - ob) / px_h))
    transform = Affine(t.a, t.b, t.c - grow_left * px_w, t.d, t.e, t.f + grow_top * px_h)
    width, height = ds.width + grow_left + grow_right, ds.height + grow_top + grow_bottom
    if (width, height) != (ds.width, ds.height):
        logger.info(
            "scene %s: band %s covers %dx%d px of the %dx%d px all bands cover; the rest is nodata",
            finest.scene_id,
            finest.band,
            ds.width,
            ds.height,
            width,
            height,
        )
    return Grid(ds.crs, transform, width, height)


def missed_aoi(scene: Grid, aoi: Grid) -> str | None:
    """The note of a scene whose grid does not overlap the AOI's (its products hold no data), else None."""
    if scene.overlaps(aoi):
        return None
    where = f"the scene {scene.describe()} does not overlap the AOI {aoi.describe()}"
    return f"{where}: its products hold no data"


def _crs_name(crs: CRS) -> str:
    return crs.to_string() if crs.to_epsg() else (crs.to_wkt()[:60] + "...")


def _fmt_bounds(b: Any) -> str:
    return "(" + ", ".join(f"{v:.1f}" for v in b) + ")"


def temp_profile(grid: Grid, count: int, dtype: str, nodata: float | None) -> dict[str, Any]:
    """Profile of an uncompressed tiled GTiff on the grid (fast scratch space before COG conversion)."""
    return {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": count,
        "dtype": dtype,
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": TEMP_TILE,
        "blockysize": TEMP_TILE,
        "compress": "none",
        "interleave": "band",
        "BIGTIFF": "IF_SAFER",
    }
