"""Every Landsat and Sentinel-2 product a backfill meets: band mapping and radiometry checked independently.

Real files from ../shared/data/more-real (Landsat 5 TM C2 L2, Landsat 9 OLI-2 C2 L1, Sentinel-2 L1C in two
layouts). Landsat 7 ETM+ has no real sample: its test uses the real Landsat 5 MTL and pixels relabelled as
ETM+ (same band numbering and C2 L2 scaling), which checks recognition and mapping, not ETM+ radiometry.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio

from scoresby.commands.scene import process_scene
from scoresby.core.scene_list import parse_scene
from scoresby.discovery.discover import discover_scene
from tests import prerequisites

MORE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "more-real"
L5 = MORE / "landsat5" / "LT05_L2SP_090084_19980308_20200909_02_T1"
L9 = MORE / "landsat9" / "LC09_L1TP_112081_20220209_20220209_02_T1"
S2_TILE = MORE / "sentinel2" / "S2B_MSIL1C_20201011T000249_N0209_R030_T55HFA_20201011T011446"
S2_SAFE = MORE / "sentinel2" / "T33UUU_20170216T102101_L1C"


@pytest.fixture(autouse=True)
def more_real() -> None:
    if not MORE.is_dir():
        prerequisites.missing(f"real sample data not found at {MORE}")


def mtl_value(mtl: Path, key: str, group: str) -> float:
    """A number from one MTL group, read with a regex (independently of the worker's parser)."""
    text = mtl.read_text()
    block = re.search(rf"GROUP = {group}\n(.*?)END_GROUP = {group}", text, re.S)
    assert block, group
    return float(re.search(rf"^\s*{key} = (\S+)", block.group(1), re.M).group(1))  # type: ignore[union-attr]


def read(path: Path | str) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(1).astype(np.float64)


def expected_ndvi(nir_dn: np.ndarray, red_dn: np.ndarray, nir: tuple[float, float], red: tuple[float, float]):
    n, r = nir_dn * nir[0] + nir[1], red_dn * red[0] + red[1]
    valid = (nir_dn > 0) & (red_dn > 0) & (n >= 0) & (r >= 0) & (n + r > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (n - r) / (n + r), valid


def ndvi_of(source: Path, tmp_path: Path) -> np.ndarray:
    result = process_scene(
        parse_scene({"source": str(source), "products": ["ndvi"]}), str(tmp_path), run_name="r"
    )
    return read(result.outputs["ndvi"])


def test_landsat5_tm_maps_red_b3_and_nir_b4(tmp_path: Path) -> None:
    files = discover_scene(parse_scene({"source": str(L5)}))
    assert (files.sensor, files.level) == ("landsat-5", "L2")
    assert files.bands["B4"].path.endswith("_SR_B3.TIF") and files.bands["B5"].path.endswith("_SR_B4.TIF")
    mtl = L5 / f"{L5.name}_MTL.txt"
    group = "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"
    coef = {
        b: (
            mtl_value(mtl, f"REFLECTANCE_MULT_BAND_{b}", group),
            mtl_value(mtl, f"REFLECTANCE_ADD_BAND_{b}", group),
        )
        for b in (3, 4)
    }
    want, valid = expected_ndvi(
        read(L5 / f"{L5.name}_SR_B4.TIF"), read(L5 / f"{L5.name}_SR_B3.TIF"), coef[4], coef[3]
    )
    got = ndvi_of(L5, tmp_path)
    assert valid.sum() > 100
    np.testing.assert_allclose(got[valid], want[valid], atol=1e-5)


def test_landsat9_level1_toa_from_its_mtl(tmp_path: Path) -> None:
    files = discover_scene(parse_scene({"source": str(L9)}))
    assert (files.sensor, files.level) == ("landsat-9", "L1")
    mtl = L9 / f"{L9.name}_MTL.txt"
    group = "LEVEL1_RADIOMETRIC_RESCALING"
    coef = {
        b: (
            mtl_value(mtl, f"REFLECTANCE_MULT_BAND_{b}", group),
            mtl_value(mtl, f"REFLECTANCE_ADD_BAND_{b}", group),
        )
        for b in (4, 5)
    }
    want, valid = expected_ndvi(
        read(L9 / f"{L9.name}_B5.TIF"), read(L9 / f"{L9.name}_B4.TIF"), coef[5], coef[4]
    )
    got = ndvi_of(L9, tmp_path)
    assert valid.sum() > 100
    np.testing.assert_allclose(got[valid], want[valid], atol=1e-5)


def test_landsat7_etm_is_recognised_and_mapped_like_tm(tmp_path: Path) -> None:
    folder = tmp_path / "LE07_L2SP_090084_20000308_20200909_02_T1"
    folder.mkdir()
    for f in L5.iterdir():
        if f.name.endswith((".TIF", "_MTL.txt")):
            shutil.copy(f, folder / f.name.replace("LT05_L2SP_090084_19980308", "LE07_L2SP_090084_20000308"))
    mtl = folder / f"{folder.name}_MTL.txt"
    text = mtl.read_text().replace("LT05_", "LE07_").replace("19980308", "20000308")
    mtl.write_text(
        text.replace('"LANDSAT_5"', '"LANDSAT_7"').replace('SENSOR_ID = "TM"', 'SENSOR_ID = "ETM"')
    )
    files = discover_scene(parse_scene({"source": str(folder)}))
    assert (files.sensor, files.level) == ("landsat-7", "L2")
    assert files.bands["B4"].path.endswith("_SR_B3.TIF") and files.bands["B7"].path.endswith("_SR_B7.TIF")
    result = process_scene(
        parse_scene({"source": str(folder), "products": ["true_color"]}), str(tmp_path / "o"), run_name="r"
    )
    assert Path(result.stac_item).read_text().count('"platform": "landsat-7"') == 1


@pytest.mark.parametrize("folder", [S2_TILE, S2_SAFE], ids=["bucket-layout", "safe-names"])
def test_sentinel2_level1c_is_top_of_atmosphere_dn_over_10000(folder: Path, tmp_path: Path) -> None:
    files = discover_scene(parse_scene({"source": str(folder)}))
    assert (files.sensor, files.level) == ("sentinel-2", "L1C")
    red_path, nir_path = files.bands["B04"].path, files.bands["B08"].path
    assert Path(red_path).parent == folder and "B04" in Path(red_path).name and "B08" in Path(nir_path).name
    # Baselines 02.09 and 2017 (< 04.00): TOA reflectance = DN / 10000, no RADIO_ADD_OFFSET.
    want, valid = expected_ndvi(read(nir_path), read(red_path), (1e-4, 0.0), (1e-4, 0.0))
    got = ndvi_of(folder, tmp_path)
    assert valid.sum() > 100
    np.testing.assert_allclose(got[valid], want[valid], atol=1e-5)


def test_sentinel2_level1c_baseline_4_applies_radio_add_offset(tmp_path: Path) -> None:
    folder = tmp_path / "S2B_MSIL1C_20230122T231849_N0509_R087_T33UUU_20230124T042703"
    folder.mkdir()
    for band in ("B04", "B08"):
        shutil.copy(
            S2_SAFE / f"T33UUU_20170216T102101_{band}.jp2", folder / f"T33UUU_20230122T231849_{band}.jp2"
        )
    files = discover_scene(parse_scene({"source": str(folder), "products": ["ndvi"]}))
    assert files.level == "L1C"
    assert (files.bands["B04"].scale, files.bands["B04"].offset) == (
        1e-4,
        -0.1,
    )  # -1000 DN from baseline 04.00
