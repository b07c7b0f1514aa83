"""Every real sample folder makes every product its bands allow; each output is opened and checked.

Values are checked against an independent computation straight from the source band files: NDVI from
reflectance, the 2-98 % stretch from np.percentile, band_merge from the raw DN.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib.image as mpimg
import numpy as np
import pystac
import pytest
import rasterio
from pystac.validation import validate_dict
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_geom
from rio_cogeo.cogeo import cog_validate

from scoresby.commands.scene import SceneResult, process_scene
from scoresby.core.products import PRODUCTS
from scoresby.core.scene_files import SceneFiles
from scoresby.core.scene_list import parse_scene
from scoresby.discovery.discover import discover_scene
from scoresby.sensors import sensor_of
from tests import prerequisites

pytestmark = pytest.mark.slow

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
REAL = SHARED / "real"
# Every real sample: ../real (Landsat 8, Sentinel-2 L2A) and ../more-real (Landsat 5 TM, Landsat 9, S2 L1C).
FOLDERS = (
    sorted(
        str(p.relative_to(SHARED))
        for d in ("real", "more-real")
        for p in (SHARED / d).glob("*/*")
        if p.is_dir()
    )
    if REAL.is_dir()
    else []
)
ALL_PRODUCTS = list(PRODUCTS)


def product_bands(files: SceneFiles, product: str) -> tuple[str, ...] | None:
    """The bands a product's roles take in this scene (with substitutes), None if it cannot be made."""
    bands, missing_roles = sensor_of(files).bands_for(PRODUCTS[product].roles, tuple(files.bands))
    if missing_roles or any(b not in files.bands for b in bands):
        return None
    return bands


@pytest.fixture(scope="module", params=FOLDERS or ["<absent>"])
def processed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real folder processed into a temp output with every product its bands allow."""
    if not FOLDERS:
        prerequisites.missing(f"real sample data not found at {REAL} (see ../shared/data/real/README.md)")
    folder = SHARED / request.param
    files = discover_scene(parse_scene({"source": str(folder)}))
    products = [p for p in ALL_PRODUCTS if product_bands(files, p)]
    scene = parse_scene({"source": str(folder), "products": products})
    out = tmp_path_factory.mktemp("out")
    result = process_scene(scene, str(out), run_name="real")
    return {"files": files, "products": products, "result": result, "out": out, "scene": scene}


def read_source(files: SceneFiles, band: str) -> np.ndarray:
    with rasterio.open(files.bands[band].path) as ds:
        return ds.read(1)


def test_every_allowed_product_was_made(processed: dict[str, Any]) -> None:
    files: SceneFiles = processed["files"]
    result: SceneResult = processed["result"]
    # The README says every sample can make RGB, NDVI and false colour, and has blue, NIR and both SWIRs:
    # so every product, the four newer indices included.
    assert processed["products"] == ALL_PRODUCTS
    assert set(result.outputs) == set(ALL_PRODUCTS)
    scene_dir = Path(processed["out"]) / "real" / files.scene_id
    expected = {f"{files.scene_id}.json"} | {
        f"{files.scene_id}_{p}{s}" for p in ALL_PRODUCTS for s in (".tif", ".png", "_hist.png")
    }
    assert {p.name for p in scene_dir.iterdir()} == expected  # nothing else (no temp or partial files)
    assert sorted(Path(f).name for f in result.files) == sorted(expected)
    assert not result.skipped and result.duration_s > 0


@pytest.mark.parametrize("product", ALL_PRODUCTS)
def test_cog_is_valid_with_expected_layout(processed: dict[str, Any], product: str) -> None:
    cog = processed["result"].outputs[product]
    valid, errors, warnings = cog_validate(cog)
    assert valid, errors
    kind = PRODUCTS[product].kind
    with rasterio.open(cog) as ds:
        count, dtype = {"visual": (3, "uint8"), "merge": (3, "uint16"), "index": (1, "float32")}[kind]
        assert (ds.count, ds.dtypes[0]) == (count, dtype)
        assert ds.compression.name == "deflate"
        assert ds.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == ("3" if kind == "index" else "2")
        if kind == "index":
            assert np.isnan(ds.nodata)
        else:
            assert ds.nodata == 0
        if max(ds.width, ds.height) > 512:
            assert ds.overviews(1), "an image larger than one 512 tile must carry overviews"
            assert ds.block_shapes[0] == (512, 512)
        for b in range(1, ds.count + 1):
            tags = ds.tags(b)
            assert {"STATISTICS_MINIMUM", "STATISTICS_MAXIMUM", "STATISTICS_MEAN"} <= set(tags)
        assert ds.tags()["SCORESBY_PRODUCT"] == product


def test_true_color_matches_independent_percentile_stretch(processed: dict[str, Any]) -> None:
    files: SceneFiles = processed["files"]
    bands = product_bands(files, "true_color")
    assert bands is not None
    with rasterio.open(processed["result"].outputs["true_color"]) as ds:
        out = ds.read()
        record = json.loads(ds.tags()["SCORESBY_STRETCH"])
        assert list(ds.descriptions) == list(bands)
    raw = np.stack([read_source(files, b) for b in bands])
    assert raw.shape == out.shape  # true colour bands share the finest grid in every sample
    assert record["mode"] == "percentile" and record["percentiles"] == [2.0, 98.0] and record["gamma"] == 1.0
    valid_all = (raw != 0).all(axis=0)
    for i in range(3):
        valid = raw[i][raw[i] != 0]
        lo, hi = (int(v) for v in np.percentile(valid, (2, 98), method="inverted_cdf"))
        assert record["cutoffs"][i] == [lo, hi]
        x = np.clip((raw[i].astype(np.float64) - lo) / max(hi - lo, 1), 0, 1)
        expected = (1 + np.rint(x * 254)).astype(np.uint8)
        np.testing.assert_array_equal(out[i][valid_all], expected[valid_all])
    assert (out[:, ~valid_all] == 0).all()
    assert (out[:, valid_all] >= 1).all()
    # About 2 % of valid pixels sit at each end of a 2-98 % stretch.
    share_low = (out[0][valid_all] == 1).mean()
    assert 0.005 < share_low < 0.05


def test_ndvi_matches_independent_reflectance_ratio(processed: dict[str, Any]) -> None:
    files: SceneFiles = processed["files"]
    nir_band, red_band = product_bands(files, "ndvi") or ()
    with rasterio.open(processed["result"].outputs["ndvi"]) as ds:
        ndvi = ds.read(1)
    refl = {}
    boundary = np.zeros(ndvi.shape, dtype=bool)
    for b in (nir_band, red_band):
        dn = read_source(files, b).astype(np.float64)
        r = dn * files.bands[b].scale + files.bands[b].offset
        # Reflectance within float32 rounding of 0 may land either side of "negative": not compared.
        boundary |= (np.abs(r) < 1e-6) & (dn != 0)
        r[(dn == 0) | (r < 0)] = np.nan
        refl[b] = r
    nir, red = refl[nir_band], refl[red_band]
    assert nir.shape == ndvi.shape
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = (nir - red) / (nir + red)
    expected[nir + red == 0] = np.nan
    np.testing.assert_allclose(
        ndvi[~boundary], expected[~boundary].astype(np.float32), rtol=1e-5, atol=1e-6, equal_nan=True
    )
    assert boundary.mean() < 0.01
    finite = ndvi[np.isfinite(ndvi)]
    assert finite.size > 0.05 * ndvi.size
    assert finite.min() >= -1 and finite.max() <= 1


# The newer indices, written out here from DESIGN.md (N NIR, R red, B blue, G green, S1/S2 SWIR1/2).
INDEX_FORMULAS = {
    "evi": lambda n, r, b: 2.5 * (n - r) / (n + 6 * r - 7.5 * b + 1),
    "savi": lambda n, r: 1.5 * (n - r) / (n + r + 0.5),
    "nbr": lambda n, s2: (n - s2) / (n + s2),
    "mndwi": lambda g, s1: (g - s1) / (g + s1),
}


def read_on_grid(files: SceneFiles, band: str, like: Any) -> tuple[np.ndarray, bool]:
    """A source band's DN on the product's grid (bilinear, as DESIGN.md says); True if it was resampled."""
    with rasterio.open(files.bands[band].path) as ds:
        if (ds.width, ds.height) == (like.width, like.height) and ds.transform == like.transform:
            return ds.read(1), False
        with WarpedVRT(
            ds,
            crs=like.crs,
            transform=like.transform,
            width=like.width,
            height=like.height,
            resampling=Resampling.bilinear,
            src_nodata=0,
            nodata=0,
        ) as vrt:
            return vrt.read(1), True


@pytest.mark.parametrize("product", sorted(INDEX_FORMULAS))
def test_new_indices_match_independent_formulas(processed: dict[str, Any], product: str) -> None:
    files: SceneFiles = processed["files"]
    bands = product_bands(files, product)
    assert bands is not None
    with rasterio.open(processed["result"].outputs[product]) as ds:
        values = ds.read(1)
        refl = []
        unsure = np.zeros(values.shape, dtype=bool)
        resampled = False
        for b in bands:
            dn, moved = read_on_grid(files, b, ds)
            resampled |= moved
            r = dn.astype(np.float64) * files.bands[b].scale + files.bands[b].offset
            unsure |= (np.abs(r) < 1e-6) & (dn != 0)  # float32 rounding either side of "negative"
            r[(dn == 0) | (r < 0)] = np.nan
            refl.append(r)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = INDEX_FORMULAS[product](*refl)
    expected[~np.isfinite(expected)] = np.nan
    # The pipeline works in float32: each reflectance is rounded to ~6e-8 relative before the formula. The
    # bound is how far that rounding moves the formula (EVI's denominator can near 0 on odd pixels, where a
    # tiny input change moves the value a lot), and resampled inputs may differ by float32 DN rounding.
    bound = np.zeros(values.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        for i in range(len(refl)):
            nudged = [x + (4e-7 * np.maximum(np.abs(x), 1e-4) if j == i else 0) for j, x in enumerate(refl)]
            bound += np.abs(INDEX_FORMULAS[product](*nudged) - expected)
    # Ill-conditioned pixels (a zero or near-zero denominator) are NaN in one arithmetic and huge in the
    # other: counted, not compared. Every other pixel must agree on nodata.
    inputs_valid = np.logical_and.reduce([np.isfinite(r) for r in refl])
    unsure |= inputs_valid & ~(bound < 0.1)
    assert np.array_equal(np.isnan(values[~unsure]), np.isnan(expected[~unsure])), "nodata differs"
    finite = np.isfinite(expected) & ~unsure
    error = np.abs(values[finite].astype(np.float64) - expected[finite])
    allowed = 10 * bound[finite] + 1e-6 * np.abs(expected[finite]) + (2e-3 if resampled else 1e-6)
    assert (error <= allowed).all(), f"max error {error.max()} where allowed {allowed[error.argmax()]}"
    assert unsure.mean() < 0.01
    assert np.isfinite(values).mean() > 0.05


@pytest.mark.parametrize("product", ["ndsi", "ndwi"])
def test_other_indices_in_range_with_nan_nodata(processed: dict[str, Any], product: str) -> None:
    with rasterio.open(processed["result"].outputs[product]) as ds:
        values = ds.read(1)
    finite = values[np.isfinite(values)]
    assert finite.size > 0.05 * values.size
    assert finite.min() >= -1 and finite.max() <= 1 and finite.std() > 0


def test_band_merge_is_raw_dn(processed: dict[str, Any]) -> None:
    files: SceneFiles = processed["files"]
    bands = product_bands(files, "band_merge") or ()
    with rasterio.open(processed["result"].outputs["band_merge"]) as ds:
        out = ds.read()
        assert list(ds.descriptions) == list(bands)
    raw = np.stack([read_source(files, b) for b in bands])
    valid_all = (raw != 0).all(axis=0)
    np.testing.assert_array_equal(out[:, valid_all], raw[:, valid_all])
    assert (out[:, ~valid_all] == 0).all()


@pytest.mark.parametrize("product", ALL_PRODUCTS)
def test_quicklook_and_histogram_pngs_decode(processed: dict[str, Any], product: str) -> None:
    cog = Path(processed["result"].outputs[product])
    quicklook = mpimg.imread(cog.with_suffix(".png"))
    with rasterio.open(cog) as ds:
        longest = max(ds.width, ds.height)
    assert quicklook.ndim == 3 and quicklook.shape[2] == 4
    assert max(quicklook.shape[:2]) <= 1024
    assert max(quicklook.shape[:2]) >= min(longest, 1024) // 2  # decimated by the smallest factor that fits
    alpha = quicklook[..., 3]
    assert alpha.max() == 1.0  # some valid pixels are drawn
    assert quicklook[..., :3][alpha > 0].std() > 0  # and they are not one flat colour
    hist = mpimg.imread(cog.with_name(cog.stem + "_hist.png"))
    assert hist.shape[0] > 100 and hist.shape[1] > 100 and hist[..., :3].std() > 0


def test_stac_item_describes_every_file(processed: dict[str, Any]) -> None:
    files: SceneFiles = processed["files"]
    result: SceneResult = processed["result"]
    item_dict = json.loads(Path(result.stac_item).read_text())
    item = pystac.Item.from_dict(item_dict)
    # Core schema validation with pystac's bundled schemas (extension schemas would need the network).
    validate_dict({**item_dict, "stac_extensions": []})
    assert item.id == files.scene_id
    assert (
        item.datetime is not None and files.datetime and item.datetime.isoformat()[:10] == files.datetime[:10]
    )
    hrefs = {a.href.removeprefix("./") for a in item.assets.values()}
    assert hrefs == {Path(f).name for f in result.files if not f.endswith(".json")}
    for product in ALL_PRODUCTS:
        assert "data" in item.assets[product].roles
        assert item.assets[product].media_type == pystac.MediaType.COG
        assert item.assets[f"{product}_quicklook"].roles == ["overview"]
    assert item.assets["true_color"].extra_fields["scoresby:stretch"]["mode"] == "percentile"
    west, south, east, north = item.bbox
    assert -90 <= south < north <= 90 and -180 <= west <= 180 and -180 <= east <= 180
    if "_T01UBT_" in files.scene_id:  # UTM zone 1 tile across the antimeridian: cut in two, bbox wraps
        assert item.geometry["type"] == "MultiPolygon" and west > 170 and east < -170
    else:
        assert item.geometry["type"] == "Polygon" and west < east
    with rasterio.open(result.outputs["ndvi"]) as ds:
        epsg = ds.crs.to_epsg(confidence_threshold=100)
        assert item.properties["proj:shape"] == [ds.height, ds.width]
        assert item.properties["proj:transform"] == pytest.approx(list(ds.transform)[:6])
    if epsg:
        assert item.properties["proj:code"] == f"EPSG:{epsg}"
    else:  # the Antarctic sample: polar stereographic without an authority code
        assert item.properties.get("proj:code") is None
        assert (
            "Polar_Stereographic" in item.properties["proj:wkt2"]
            or "Polar Stereographic" in (item.properties["proj:wkt2"])
        )


def _ring_area(ring: list[list[float]]) -> float:
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False))) / 2


def test_footprint_follows_the_valid_data(processed: dict[str, Any]) -> None:
    """The geometry is the valid-data outline: smaller than the grid where a zero-fill border surrounds it.

    Areas are compared in the scene's own CRS, so a footprint cut in two at the antimeridian counts whole.
    """
    item = json.loads(Path(processed["result"].stac_item).read_text())
    with rasterio.open(processed["result"].outputs["band_merge"]) as ds:
        valid_share = (ds.read() != 0).all(axis=0).mean()
        grid_area = ds.width * ds.height * abs(ds.transform.a * ds.transform.e)
        native = transform_geom("EPSG:4326", ds.crs, item["geometry"])
    polygons = native["coordinates"] if native["type"] == "MultiPolygon" else [native["coordinates"]]
    area = sum(_ring_area(rings[0]) - sum(_ring_area(hole) for hole in rings[1:]) for rings in polygons)
    # The hull holds every valid pixel (give or take one decimated pixel) and little else.
    ratio = area / grid_area
    assert valid_share - 0.02 <= ratio <= min(1.0, valid_share + 0.15), (ratio, valid_share)


def test_second_run_skips_and_overwrite_redoes(processed: dict[str, Any]) -> None:
    out = processed["out"]
    scene = processed["scene"]
    first: SceneResult = processed["result"]
    cog = Path(first.outputs["ndvi"])
    mtime = cog.stat().st_mtime_ns
    again = process_scene(scene, str(out), run_name="real")
    assert again.skipped and again.outputs == first.outputs and cog.stat().st_mtime_ns == mtime
    assert sorted(again.files) == sorted(first.files) and again.stac_item == first.stac_item
