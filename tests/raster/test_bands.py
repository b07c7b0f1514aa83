"""scene_io and the product builder on tiny synthetic rasters made in tmp_path (factory fixtures)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.warp
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import from_origin
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window
from rio_cogeo.cogeo import cog_validate

from scoresby.core import layout
from scoresby.core.errors import GridMismatch, MissingBands, UnreadableRaster
from scoresby.core.scene_files import BandFile, SceneFiles
from scoresby.raster import bands as scene_io
from scoresby.raster import cog
from scoresby.raster.builder import build_products
from scoresby.stores import publish

UTM = CRS.from_epsg(32629)
MakeBand = Callable[..., Path]


@pytest.fixture
def make_band(tmp_path: Path) -> MakeBand:
    """Factory: write a one-band GeoTIFF from an array at (x0, y0) with a pixel size; returns its path."""

    def make(
        name: str,
        data: np.ndarray,
        *,
        res: float = 10.0,
        x0: float = 500_000.0,
        y0: float = 4_000_000.0,
        crs: CRS | None = UTM,
        nodata: float | None = None,
    ) -> Path:
        path = tmp_path / f"{name}.tif"
        profile = {
            "driver": "GTiff",
            "width": data.shape[1],
            "height": data.shape[0],
            "count": 1,
            "dtype": data.dtype.name,
            "transform": from_origin(x0, y0, res, res),
            "nodata": nodata,
        }
        if crs is not None:
            profile["crs"] = crs
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data, 1)
        return path

    return make


def open_and_read(bands: dict[str, Path]) -> tuple[scene_io.Grid, dict[str, np.ndarray]]:
    files = {b: BandFile(b, str(p)) for b, p in bands.items()}
    with ExitStack() as stack:
        readers = scene_io.open_bands("S", files, stack)
        grid = scene_io.target_grid("S", readers)
        for r in readers.values():
            r.align(grid, stack)
        window = Window(0, 0, grid.width, grid.height)
        return grid, {b: r.read(window) for b, r in readers.items()}


def test_coarse_band_resampled_onto_finest_grid_without_smearing_nodata(make_band: MakeBand) -> None:
    fine = np.full((40, 40), 500, dtype=np.uint16)
    coarse = np.full((20, 20), 1000, dtype=np.uint16)
    coarse[:, 10:] = 3000
    coarse[:, 0] = 0  # zero-fill border column
    grid, data = open_and_read({"B03": make_band("B03", fine), "B12": make_band("B12", coarse, res=20.0)})
    assert (grid.width, grid.height) == (40, 40) and grid.transform.a == 10.0
    b12 = data["B12"]
    assert b12.shape == (40, 40) and b12.dtype == np.uint16
    assert (b12[:, :2] == 0).all()  # the 20 m nodata column covers two 10 m columns
    # Bilinear keeps constant areas exact and never blends the 0 fill into valid values.
    assert (b12[:, 2:18] == 1000).all() and (b12[:, 22:] == 3000).all()
    assert ((b12[:, 18:22] >= 1000) & (b12[:, 18:22] <= 3000)).all()
    np.testing.assert_array_equal(data["B03"], fine)


def test_declared_nonzero_nodata_and_negative_int16_become_zero(make_band: MakeBand) -> None:
    a = np.array([[65535, 7], [8, 9]], dtype=np.uint16)
    b = np.array([[-5, 7], [8, 9]], dtype=np.int16)
    _, data = open_and_read({"B1": make_band("B1", a, nodata=65535), "B2": make_band("B2", b)})
    np.testing.assert_array_equal(data["B1"], [[0, 7], [8, 9]])
    np.testing.assert_array_equal(data["B2"], [[0, 7], [8, 9]])
    assert data["B2"].dtype == np.uint16


def test_float_band_is_rejected_with_its_type(make_band: MakeBand) -> None:
    path = make_band("B4", np.ones((4, 4), dtype=np.float32))
    with pytest.raises(
        UnreadableRaster, match=r"band B4 file .*B4\.tif has data type float32; allowed: uint8"
    ):
        open_and_read({"B4": path})


def test_band_without_crs_is_a_grid_mismatch(make_band: MakeBand) -> None:
    path = make_band("B4", np.ones((4, 4), dtype=np.uint16), crs=None)
    with pytest.raises(GridMismatch, match=r"band B4 file .*B4\.tif has no CRS"):
        open_and_read({"B4": path})


def test_overview_factors_match_cog_auto() -> None:
    assert cog.overview_factors(512, 300) == []
    assert cog.overview_factors(1098, 1098) == [2, 4]
    assert cog.overview_factors(7801, 7911) == [2, 4, 8, 16]


def test_join_uri_local_and_s3(tmp_path: Path) -> None:
    assert layout.join_uri("s3://b/p/", "run", "x.tif") == "s3://b/p/run/x.tif"
    assert layout.join_uri(str(tmp_path), "run", "x.tif") == str(tmp_path / "run" / "x.tif")


def test_publish_local_replaces_atomically_and_leaves_no_temp(tmp_path: Path) -> None:
    src = tmp_path / "build"
    src.mkdir()
    (src / "a.txt").write_text("new")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "a.txt").write_text("old")
    uris = publish.publish("S", [src / "a.txt"], str(dest))
    assert uris == [str(dest / "a.txt")]
    assert (dest / "a.txt").read_text() == "new"
    assert [p.name for p in dest.iterdir()] == ["a.txt"]


def s2_files(bands: dict[str, Path], scene_id: str = "S2X") -> SceneFiles:
    return SceneFiles(
        scene_id=scene_id,
        sensor="sentinel-2",
        level="L2A",
        bands={b: BandFile(b, str(p), scale=1e-4, offset=-0.1) for b, p in bands.items()},
        datetime="2023-01-22T23:18:49Z",
    )


def test_mixed_resolution_false_color_ice_and_b8a_substitution(make_band: MakeBand, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    ten = {b: make_band(b, rng.integers(1500, 9000, (600, 600), dtype=np.uint16)) for b in ("B03", "B04")}
    twenty = {
        b: make_band(b, rng.integers(1500, 9000, (300, 300), dtype=np.uint16), res=20.0)
        for b in ("B8A", "B12")
    }
    files = s2_files({**ten, **twenty})
    built = build_products(files, ["false_color_ice", "ndvi"], {}, tmp_path / "work")
    by_name = {p.plan.name: p for p in built.products}
    assert by_name["false_color_ice"].plan.bands == ("B12", "B8A", "B03")
    assert by_name["ndvi"].plan.bands == ("B8A", "B04")  # no B08 in this set: B8A stands in
    for p in built.products:
        assert cog_validate(str(p.cog))[0]
        with rasterio.open(p.cog) as ds:
            assert (ds.width, ds.height, ds.res) == (600, 600, (10.0, 10.0))
    with rasterio.open(by_name["ndvi"].cog) as ds:
        ndvi = ds.read(1)
    # DN 1500..9000 with the -1000 DN offset: all reflectances positive, so every pixel is valid.
    assert np.isfinite(ndvi).all() and ndvi.min() >= -1 and ndvi.max() <= 1


def test_missing_bands_lists_every_product_and_what_is_available(make_band: MakeBand, tmp_path: Path) -> None:
    files = s2_files({b: make_band(b, np.ones((4, 4), dtype=np.uint16)) for b in ("B02", "B03", "B04")})
    with pytest.raises(MissingBands) as info:
        build_products(files, ["true_color", "ndvi", "false_color_ice"], {}, tmp_path / "work")
    assert str(info.value) == (
        "scene S2X: product 'ndvi' needs band 'B08' not in scene; "
        "product 'false_color_ice' needs bands 'B12', 'B8A' not in scene; available: B02, B03, B04"
    )


def test_a_translation_of_the_grid_is_shifted_to_the_nearest_pixel(make_band: MakeBand) -> None:
    """Landsat's 15 m offset from a 30 m grid: each output pixel is one source pixel, not a blend of four."""
    data = np.arange(1, 401, dtype=np.uint16).reshape(20, 20)
    path = make_band("B4", data, res=30.0, x0=500_015.0, y0=4_000_015.0)
    grid = scene_io.Grid(UTM, from_origin(500_040.0, 3_999_970.0, 30.0, 30.0), 10, 10)
    with rasterio.open(path) as ds:
        assert grid.lattice_shift(ds) == (1, 2)  # offsets (0.83, 1.5): the nearest, an exact half upwards
        other = scene_io.Grid(UTM, from_origin(500_040.0, 3_999_970.0, 20.0, 20.0), 10, 10)
        assert other.lattice_shift(ds) is None  # another pixel size: resampled
        assert scene_io.Grid(CRS.from_epsg(32630), grid.transform, 10, 10).lattice_shift(ds) is None
    with ExitStack() as stack:
        reader = scene_io.open_bands("S", {"B4": BandFile("B4", str(path))}, stack)["B4"]
        reader.align(grid, stack)
        np.testing.assert_array_equal(reader.read(Window(0, 0, 10, 10)), data[2:12, 1:11])


@pytest.mark.parametrize("dtype", ["uint16", "int16"])
def test_shifted_reads_equal_gdal_nearest_inside_and_outside_the_file(
    make_band: MakeBand, dtype: str
) -> None:
    """OnGrid's direct, shifted reads give what GDAL's nearest-neighbour warper gives: on the file, where a
    window reaches past its edges (nodata), and where the file says nodata (a declared 65535 / -9999)."""
    rng = np.random.default_rng(8)
    data = rng.integers(1, 30000, (37, 41)).astype(dtype)
    declared = 65535 if dtype == "uint16" else -9999
    data[5:9, 3:20] = declared
    path = make_band("B4", data, res=30.0, x0=500_015.0, y0=4_000_015.0, nodata=declared)
    # The grid starts 3.5 px west and 2.5 px north of the file and reaches past its other edges.
    grid = scene_io.Grid(UTM, from_origin(499_910.0, 4_000_090.0, 30.0, 30.0), 50, 45)
    windows = [Window(0, 0, 50, 45), Window(0, 0, 16, 16), Window(16, 16, 16, 16), Window(40, 30, 10, 15)]
    with ExitStack() as stack:
        ds = stack.enter_context(rasterio.open(path))
        on_grid = scene_io.OnGrid(
            ds, grid, stack, resampling=Resampling.bilinear, src_nodata=declared, nodata=0
        )
        assert on_grid.vrt is None and on_grid.offset == (-3, -2)  # shifted, not warped
        vrt = stack.enter_context(
            WarpedVRT(
                ds,
                crs=grid.crs,
                transform=grid.transform,
                width=grid.width,
                height=grid.height,
                resampling=Resampling.nearest,
                src_nodata=declared,
                nodata=0,
            )
        )
        for window in windows:
            want = vrt.read(1, window=window)
            np.testing.assert_array_equal(on_grid.read(window), want)
            out = np.full((int(window.height), int(window.width)), 7, dtype=dtype)
            assert on_grid.read(window, out) is out
            np.testing.assert_array_equal(out, want)
        whole = vrt.read(1)
        assert (whole == 0).sum() > 17 * 4 and (whole == declared).sum() == 0  # edges and nodata both 0


def test_grids_overlap_only_where_they_share_area_across_crs() -> None:
    """A UTM grid against lon/lat grids: one over part of it, one a degree east of it."""
    utm = scene_io.Grid(CRS.from_epsg(32624), from_origin(500000.0, 7800000.0, 30.0, 30.0), 1000, 1000)
    left, bottom, right, top = rasterio.warp.transform_bounds(utm.crs, "EPSG:4326", *utm.bounds)

    def lonlat(west: float) -> scene_io.Grid:
        return scene_io.Grid(CRS.from_epsg(4326), from_origin(west, top, 0.001, 0.001), 200, 200)

    assert utm.overlaps(lonlat(left + 0.1)) and lonlat(left + 0.1).overlaps(utm)
    assert not utm.overlaps(lonlat(right + 1.0)) and not lonlat(right + 1.0).overlaps(utm)
    assert utm.describe() == "(500000.0, 7770000.0, 530000.0, 7800000.0) in EPSG:32624"
