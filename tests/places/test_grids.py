"""Scenes off the AOI's lattice are warped onto it (another UTM zone) or shifted (half a pixel off); outside a
polygon AOI is empty."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.enums import Resampling
from rasterio.transform import from_origin
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform, transform_bounds

from scoresby.core.errors import InvalidInput
from scoresby.core.products import LANDSAT_C2_L2_OFFSET, LANDSAT_C2_L2_SCALE
from scoresby.core.scene_list import parse_scene
from scoresby.places.build import PlaceResult, build_place_products
from scoresby.raster.quality import aoi_grid
from tests.places import synth

LAND_NDVI = (synth.LAND[3] - synth.LAND[2]) / (synth.LAND[3] + synth.LAND[2])


def _uniform_scene(root: Path, day: date, crs: str, bounds: tuple[float, float, float, float]) -> Path:
    """A cloud-free OLI scene of uniform land reflectance over `bounds` (in `crs`), 30 m, its own lattice."""
    sid = synth.scene_id("landsat-8", 912, 910, day)
    folder = root / sid
    folder.mkdir(parents=True)
    west, south, east, north = bounds
    width, height = int((east - west) // 30), int((north - south) // 30)
    profile = {"driver": "GTiff", "dtype": "uint16", "count": 1, "width": width, "height": height, "crs": crs}
    profile["transform"] = from_origin(west + 7.0, north - 11.0, 30.0, 30.0)  # not on the AOI's lattice
    for band, value in zip(synth.PREFIX["landsat-8"][1], synth.LAND, strict=True):
        dn = np.full((height, width), round((value - LANDSAT_C2_L2_OFFSET) / LANDSAT_C2_L2_SCALE), np.uint16)
        with rasterio.open(folder / f"{sid}_SR_{band}.TIF", "w", nodata=0, **profile) as dst:
            dst.write(dn, 1)
    with rasterio.open(folder / f"{sid}_QA_PIXEL.TIF", "w", nodata=1, **profile) as dst:
        dst.write(np.full((height, width), synth.QA_CLEAR, np.uint16), 1)
    return folder


def _one_scene_composite(
    folder: Path, aoi: dict[str, Any], run: Path, year: int
) -> tuple[PlaceResult, np.ndarray, np.ndarray]:
    """The July composite of one scene: the result, its clear count and its NDVI."""
    scene = parse_scene({"source": str(folder), "aoi": aoi, "products": ["ndvi"]})
    result = build_place_products([scene], {"months": [7]}, run)
    item_id = f"aoi-synth_composite_{year}"
    out = run / "places" / "aoi-synth" / item_id
    with rasterio.open(out / f"{item_id}_clear_count.tif") as ds:
        count = ds.read(1)
    with rasterio.open(out / f"{item_id}_ndvi.tif") as ds:
        ndvi = ds.read(1)
    return result, count, ndvi


def test_scene_in_another_zone_is_warped(tmp_path: Path) -> None:
    """A UTM 25N scene lands on the 24N AOI grid: counted where it covers, with its reflectance."""
    aoi = synth.place_aoi()
    west, south, east, north = aoi["bbox"]
    bounds = transform_bounds(
        "EPSG:4326", "EPSG:32625", west, south, (west + east) / 2, north, densify_pts=21
    )
    folder = _uniform_scene(tmp_path / "scenes", date(2005, 7, 20), "EPSG:32625", bounds)
    result, count, ndvi = _one_scene_composite(folder, aoi, tmp_path / "run", 2005)
    h, w = count.shape
    assert (count[5 : h - 5, 5 : int(0.45 * w)] == 1).all()  # the western half, away from the warped edges
    assert (count[:, int(0.55 * w) :] == 0).all()
    np.testing.assert_allclose(ndvi[count == 1], LAND_NDVI, atol=1e-3)
    assert result.items["aoi-synth_composite_2005"]["properties"]["scoresby:observations"] == 1


def test_polygon_aoi_outside_is_nodata(tmp_path: Path) -> None:
    """Pixels outside a polygon AOI (a triangle) have no clear observation, whatever the scenes hold there."""
    aoi = synth.place_aoi()
    west, south, east, north = aoi["bbox"]
    mid = (west + east) / 2
    triangle = [[west, south], [mid, south], [west, north], [west, south]]
    aoi["geometry"] = {"type": "Polygon", "coordinates": [triangle]}
    _, made = synth.write_place(tmp_path / "scenes", years=(2002,))
    scenes = [parse_scene({"scene_id": s.scene_id, "source": str(s.folder), "aoi": aoi}) for s in made]
    build_place_products(scenes, {"months": [7, 8, 9], "change": False}, tmp_path / "run")
    item_id = "aoi-synth_composite_2002"
    with rasterio.open(
        tmp_path / "run" / "places" / "aoi-synth" / item_id / f"{item_id}_clear_count.tif"
    ) as ds:
        count = ds.read(1)
        rows, cols = np.mgrid[0 : ds.height, 0 : ds.width]
        xs, ys = rasterio.transform.xy(ds.transform, rows.ravel(), cols.ravel())  # pixel centres
        lon, lat = (np.array(v).reshape(count.shape) for v in transform(ds.crs, "EPSG:4326", xs, ys))
    # Where a pixel centre lies in the lon/lat triangle (a margin for edges drawn straight in UTM).
    t = (lon - west) / (mid - west) + (lat - south) / (north - south)
    assert (count[t > 1.03] == 0).all() and (t > 1.03).sum() > 10000
    assert (count[(t < 0.97) & (lon > west) & (lat > south)] > 0).mean() > 0.9


def test_bad_option_from_python_is_invalid_input(tmp_path: Path) -> None:
    """build_place_products checks a raw option like the scene list does."""
    aoi = synth.place_aoi()
    scene = parse_scene({"source": str(tmp_path), "scene_id": "x", "aoi": aoi})
    with pytest.raises(InvalidInput, match="composites.method: 'average' is not a method"):
        build_place_products([scene], {"method": "average"}, tmp_path / "run")


def test_landsat_half_pixel_offset_is_shifted_not_blended(tmp_path: Path) -> None:
    """A scene 15 m off the AOI's 30 m lattice (as Landsat Collection 2 is): each composite pixel is one
    source pixel, GDAL's nearest neighbour, and a cloudy source pixel leaves out exactly its own pixel."""
    aoi = synth.place_aoi()
    grid = aoi_grid(aoi)
    sid = synth.scene_id("landsat-8", 912, 911, date(2006, 7, 20))
    folder = tmp_path / "scenes" / sid
    folder.mkdir(parents=True)
    height, width = grid.height + 2, grid.width + 2
    t = grid.transform
    profile = {"driver": "GTiff", "dtype": "uint16", "count": 1, "width": width, "height": height}
    profile |= {"crs": grid.crs, "transform": from_origin(t.c - 45.0, t.f + 15.0, 30.0, 30.0)}
    rng = np.random.default_rng(6)
    dn = {}
    for band, value in zip(synth.PREFIX["landsat-8"][1], synth.LAND, strict=True):
        base = round((value - LANDSAT_C2_L2_OFFSET) / LANDSAT_C2_L2_SCALE)
        dn[band] = (base + rng.integers(-900, 900, (height, width))).astype(np.uint16)  # every pixel its own
        with rasterio.open(folder / f"{sid}_SR_{band}.TIF", "w", nodata=0, **profile) as dst:
            dst.write(dn[band], 1)
    qa = np.full((height, width), synth.QA_CLEAR, np.uint16)
    qa[100, 200] = synth.QA_CLOUD
    with rasterio.open(folder / f"{sid}_QA_PIXEL.TIF", "w", nodata=1, **profile) as dst:
        dst.write(qa, 1)
    _, count, ndvi = _one_scene_composite(folder, aoi, tmp_path / "run", 2006)

    def nearest(band: str) -> np.ndarray:  # GDAL's own nearest-neighbour read onto the AOI grid
        with (
            rasterio.open(folder / f"{sid}_SR_{band}.TIF") as src,
            WarpedVRT(
                src,
                crs=grid.crs,
                transform=grid.transform,
                width=grid.width,
                height=grid.height,
                resampling=Resampling.nearest,
            ) as vrt,
        ):
            return vrt.read(1).astype(np.float64) * LANDSAT_C2_L2_SCALE + LANDSAT_C2_L2_OFFSET

    red, nir = nearest("B4"), nearest("B5")
    # Offset (1.5, 0.5) pixels: GDAL's nearest takes source pixel (row + 1, col + 2) for AOI pixel (row, col).
    assert np.array_equal(
        nearest("B4"),
        dn["B4"][1 : grid.height + 1, 2 : grid.width + 2] * LANDSAT_C2_L2_SCALE + LANDSAT_C2_L2_OFFSET,
    )
    clear = count == 1
    assert not clear[99, 198] and clear.sum() == clear.size - 1  # the cloudy pixel alone, not its neighbours
    np.testing.assert_allclose(ndvi[clear], ((nir - red) / (nir + red))[clear], atol=2e-6)
