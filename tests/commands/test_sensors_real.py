"""Each sensor's band mapping and radiometry, checked against NDVI computed here from the raw band files.

The coefficients are read independently of scoresby/discovery (a regex over the MTL text, the id's processing
baseline), so a wrong band table or a wrong MULT/ADD pair shows up as a value mismatch, not just a shape.
Landsat 7 ETM+ has no real pixel sample: its MTL carries the rescaling of a real ETM+ L1TP MTL
(LE07_L1TP_038035_20190618_20190618_01_RT, values verbatim) over synthetic uint8 pixels.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from scoresby.commands.scene import process_scene
from scoresby.core.scene_list import parse_scene
from tests import prerequisites

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
L5 = DATA / "more-real" / "landsat5" / "LT05_L2SP_090084_19980308_20200909_02_T1"
L9 = DATA / "more-real" / "landsat9" / "LC09_L1TP_112081_20220209_20220209_02_T1"
S2_L1C = DATA / "more-real" / "sentinel2" / "S2B_MSIL1C_20201011T000249_N0209_R030_T55HFA_20201011T011446"


def mtl_coefficients(text: str, group: str, band: int) -> tuple[float, float]:
    """REFLECTANCE_MULT/ADD_BAND_n inside one ODL group, by regex (not the worker's parser)."""
    body = re.search(rf"GROUP = {group}\n(.*?)END_GROUP = {group}", text, re.S)
    assert body, group
    mult = re.search(rf"REFLECTANCE_MULT_BAND_{band} = (\S+)", body.group(1))
    add = re.search(rf"REFLECTANCE_ADD_BAND_{band} = (\S+)", body.group(1))
    assert mult and add
    return float(mult.group(1)), float(add.group(1))


def expected_ndvi(
    nir_path: Path, red_path: Path, nir_k: tuple[float, float], red_k: tuple[float, float]
) -> np.ndarray:
    """NDVI from raw DN: nodata where a DN is 0 or a reflectance is negative (DESIGN.md)."""
    with rasterio.open(nir_path) as a, rasterio.open(red_path) as b:
        nir_dn, red_dn = a.read(1).astype("float64"), b.read(1).astype("float64")
    nir, red = nir_dn * nir_k[0] + nir_k[1], red_dn * red_k[0] + red_k[1]
    valid = (nir_dn > 0) & (red_dn > 0) & (nir >= 0) & (red >= 0) & (nir + red > 0)
    return np.where(valid, (nir - red) / np.where(valid, nir + red, 1), np.nan)


def made_ndvi(source: Path, tmp_path: Path) -> tuple[np.ndarray, dict[str, object]]:
    """Process a folder into NDVI; the COG's values and the STAC Item's properties."""
    result = process_scene(
        parse_scene({"source": str(source), "products": ["ndvi"]}), str(tmp_path), run_name="s"
    )
    with rasterio.open(result.outputs["ndvi"]) as ds:
        values = ds.read(1).astype("float64")
    props = json.loads(Path(result.stac_item).read_text())["properties"]
    return values, props


def assert_same(made: np.ndarray, expected: np.ndarray) -> None:
    assert made.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(made), np.isnan(expected))
    assert np.isfinite(expected).sum() > 100  # enough valid pixels for the comparison to mean something
    np.testing.assert_allclose(made[np.isfinite(made)], expected[np.isfinite(expected)], atol=1e-5)


def need(folder: Path) -> None:
    if not folder.is_dir():
        prerequisites.missing(f"real sample {folder} not found (see ../shared/data/more-real/README.md)")


def test_landsat5_tm_l2_uses_b4_b3_and_the_mtl_scale(tmp_path: Path) -> None:
    need(L5)
    text = (L5 / f"{L5.name}_MTL.txt").read_text()
    group = "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"
    nir_k, red_k = mtl_coefficients(text, group, 4), mtl_coefficients(text, group, 3)
    assert nir_k == pytest.approx((2.75e-05, -0.2))  # the C2 L2 constants
    made, props = made_ndvi(L5, tmp_path)
    assert_same(made, expected_ndvi(L5 / f"{L5.name}_SR_B4.TIF", L5 / f"{L5.name}_SR_B3.TIF", nir_k, red_k))
    assert (props["platform"], props["instruments"], props["scoresby:level"]) == ("landsat-5", ["tm"], "L2")
    assert props["datetime"].startswith("1998-03-08")


def test_landsat9_l1_uses_b5_b4_and_toa_rescaling(tmp_path: Path) -> None:
    need(L9)
    text = (L9 / f"{L9.name}_MTL.txt").read_text()
    group = "LEVEL1_RADIOMETRIC_RESCALING"
    nir_k, red_k = mtl_coefficients(text, group, 5), mtl_coefficients(text, group, 4)
    made, props = made_ndvi(L9, tmp_path)
    assert_same(made, expected_ndvi(L9 / f"{L9.name}_B5.TIF", L9 / f"{L9.name}_B4.TIF", nir_k, red_k))
    assert (props["platform"], props["instruments"], props["scoresby:level"]) == (
        "landsat-9",
        ["oli", "tirs"],
        "L1",
    )


def test_sentinel2_l1c_is_toa_dn_over_10000_before_baseline_0400(tmp_path: Path) -> None:
    need(S2_L1C)
    baseline = re.search(r"_N(\d{2})(\d{2})_", S2_L1C.name)
    assert baseline and (int(baseline.group(1)), int(baseline.group(2))) < (
        4,
        0,
    )  # N0209: no RADIO_ADD_OFFSET
    made, props = made_ndvi(S2_L1C, tmp_path)
    assert_same(made, expected_ndvi(S2_L1C / "B08.jp2", S2_L1C / "B04.jp2", (1e-4, 0.0), (1e-4, 0.0)))
    assert (props["platform"], props["instruments"], props["scoresby:level"]) == (
        "sentinel-2",
        ["msi"],
        "L1C",
    )


# The rescaling of a real ETM+ MTL, LE07_L1TP_038035_20190618_20190618_01_RT (USGS), verbatim.
ETM_RESCALING = {
    1: (1.8807e-03, -0.011757),
    2: (2.1140e-03, -0.013297),
    3: (2.0044e-03, -0.012637),
    4: (2.9351e-03, -0.018378),
    5: (2.7985e-03, -0.017433),
    7: (2.6506e-03, -0.016602),
}
ETM_ID = "LE07_L1TP_038035_20190618_20190618_01_RT"


def etm_mtl() -> str:
    rescaling = "".join(
        f"        REFLECTANCE_MULT_BAND_{n} = {m:.4E}\n        REFLECTANCE_ADD_BAND_{n} = {a:.6f}\n"
        for n, (m, a) in ETM_RESCALING.items()
    )
    return (
        "GROUP = L1_METADATA_FILE\n  GROUP = METADATA_FILE_INFO\n"
        f'    LANDSAT_SCENE_ID = "LE70380352019169EDC00"\n    LANDSAT_PRODUCT_ID = "{ETM_ID}"\n'
        '  END_GROUP = METADATA_FILE_INFO\n  GROUP = PRODUCT_METADATA\n    DATA_TYPE = "L1TP"\n'
        '    SPACECRAFT_ID = "LANDSAT_7"\n    SENSOR_ID = "ETM"\n    DATE_ACQUIRED = 2019-06-18\n'
        '    SCENE_CENTER_TIME = "17:58:52.6952310Z"\n  END_GROUP = PRODUCT_METADATA\n'
        f"  GROUP = RADIOMETRIC_RESCALING\n{rescaling}  END_GROUP = RADIOMETRIC_RESCALING\n"
        "END_GROUP = L1_METADATA_FILE\nEND\n"
    )


def test_landsat7_etm_uses_b4_b3_and_the_mtl_rescaling(tmp_path: Path) -> None:
    folder = tmp_path / ETM_ID
    folder.mkdir()
    rng = np.random.default_rng(7)
    profile = {
        "driver": "GTiff",
        "width": 64,
        "height": 48,
        "count": 1,
        "dtype": "uint8",
        "nodata": 0,
        "crs": "EPSG:32612",
        "transform": from_origin(165300, 4102200, 30, 30),
    }
    for n in ETM_RESCALING:
        pixels = rng.integers(1, 256, (48, 64), dtype=np.uint8)
        pixels[:4] = 0  # a nodata border, as in real scenes
        with rasterio.open(folder / f"{ETM_ID}_B{n}.TIF", "w", **profile) as ds:
            ds.write(pixels, 1)
    text = etm_mtl()
    (folder / f"{ETM_ID}_MTL.txt").write_text(text)
    nir_k, red_k = (
        mtl_coefficients(text, "RADIOMETRIC_RESCALING", 4),
        mtl_coefficients(text, "RADIOMETRIC_RESCALING", 3),
    )
    made, props = made_ndvi(folder, tmp_path / "out")
    assert_same(made, expected_ndvi(folder / f"{ETM_ID}_B4.TIF", folder / f"{ETM_ID}_B3.TIF", nir_k, red_k))
    assert (props["platform"], props["instruments"]) == ("landsat-7", ["etm+"])
