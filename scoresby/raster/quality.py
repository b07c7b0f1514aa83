"""A scene's quality band (QA_PIXEL / SCL) on the target grid; a run's AOI grid and its polygon mask."""

from __future__ import annotations

import math
import warnings
from contextlib import ExitStack
from typing import Any

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.features import geometry_mask
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from scoresby.core.scene_files import BandFile
from scoresby.raster.band_files import cannot_read, open_band
from scoresby.raster.bands import Grid, OnGrid
from scoresby.sensors import Sensor

# rasterize's in-memory raster now and then warns that it has no geotransform although the mask is right
# (rasterio's MEM dataset; odc-geo issue 131): on a console the line would only alarm. Warning filters are
# process-wide, so this is set once here, narrowly, not around each (threaded) call.
warnings.filterwarnings("ignore", category=NotGeoreferencedWarning, module="rasterio.features")

# Flags and classes are categories: a bilinear mean of two bit patterns is a third, meaningless one.
QUALITY_RESAMPLING = Resampling.nearest


class QualityReader:
    """Reads a QA_PIXEL or SCL file window by window on the target grid, by nearest neighbour, raw values."""

    def __init__(self, scene_id: str, band: BandFile, grid: Grid, stack: ExitStack, sensor: Sensor) -> None:
        self.scene_id = scene_id
        self.band = band.band
        self.path = band.path
        self.nodata = sensor.qa.nodata if sensor.qa else 0  # what the band holds outside its footprint
        # Checked as every band file is (allowed drivers, no file read outside the band's folder, size).
        ds = stack.enter_context(
            open_band(scene_id, band.band, band.path, sensor.max_pixels, sensor.constellation)
        )
        # Outside the band's footprint: fill / no data.
        self.on_grid = OnGrid(
            ds, grid, stack, resampling=QUALITY_RESAMPLING, src_nodata=ds.nodata, nodata=self.nodata
        )

    def read(self, window: Window) -> np.ndarray:
        """Raw QA bits / SCL classes of a window (uint16)."""
        try:
            return np.asarray(self.on_grid.read(window), dtype=np.uint16)
        except RasterioError as exc:
            raise cannot_read(self.scene_id, f"quality band {self.band}", self.path, exc) from exc


def aoi_grid(aoi: dict[str, Any]) -> Grid:
    """The grid of an AOI: its lon/lat bbox in the AOI's CRS, snapped outwards to whole pixels.

    Snapping to multiples of the resolution puts every scene of the run (any sensor, any date) on the same
    pixels, so their products stack.
    """
    crs = rasterio.crs.CRS.from_user_input(aoi["crs"])
    res = float(aoi["resolution"])
    west, south, east, north = transform_bounds("EPSG:4326", crs, *aoi["bbox"], densify_pts=21)
    left, top = math.floor(west / res) * res, math.ceil(north / res) * res
    width = max(1, math.ceil((east - left) / res))
    height = max(1, math.ceil((top - south) / res))
    return Grid(crs, from_origin(left, top, res, res), width, height)


def outside_mask(outside: list[dict[str, Any]], window: Window, grid: Grid) -> np.ndarray:
    """True where a window's pixels lie outside the AOI's polygon (`outside_geometry`)."""
    shape = (int(window.height), int(window.width))
    return geometry_mask(outside, shape, window_transform(window, grid.transform))


def outside_geometry(aoi: dict[str, Any] | None, grid: Grid) -> list[dict[str, Any]] | None:
    """The AOI's polygon in the grid's CRS (pixels outside it are nodata), or None for a bbox AOI."""
    if not aoi or "geometry" not in aoi:
        return None
    from rasterio.warp import transform_geom

    return [transform_geom("EPSG:4326", grid.crs, aoi["geometry"])]
