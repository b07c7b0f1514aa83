"""Landsat 1-5 MSS: real Collection 2 MTL metadata (../shared/data/more-real/mss) with synthetic uint8 pixels.

The pixels lie on the grid each MTL describes (its UTM zone and upper-left corner, 60 m), cut small. NDVI is
checked against REFLECTANCE_MULT/ADD_BAND_n read here from the XML with ElementTree, independently of
Scoresby's MTL reader.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS

from scoresby.commands.scene import process_scene
from scoresby.core.errors import MissingBands, UnknownSensor
from scoresby.core.scene_list import parse_scene
from scoresby.core.search import PRESET_COLLECTIONS, check_search
from scoresby.discovery.discover import discover_scene
from scoresby.sensors import sensor_named, sensor_of
from scoresby.warnings import PlainDNWarning, ScoresbyWarning
from tests import prerequisites

MSS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "more-real" / "mss"
MTLS = sorted(MSS_DIR.glob("*_MTL.xml")) if MSS_DIR.is_dir() else []
WIDTH, HEIGHT = 40, 30


def need_data() -> None:
    if not MTLS:
        prerequisites.missing(f"MSS metadata not found at {MSS_DIR} (see ../shared/data/more-real/README.md)")


def mtl_values(mtl: Path) -> dict[str, str]:
    """Every leaf of the MTL XML, by tag (the tags are unique across its groups)."""
    return {leaf.tag: (leaf.text or "").strip() for leaf in ET.parse(mtl).getroot().iter() if not len(leaf)}  # noqa: S314 - our data


def file_bands(values: dict[str, str]) -> list[int]:
    """The band numbers the MTL lists files for (4-7 on Landsat 1-3, 1-4 on Landsat 4-5)."""
    return sorted(int(m[1]) for k in values if (m := re.fullmatch(r"FILE_NAME_BAND_(\d)", k)))


def write_scene(mtl: Path, folder: Path, *, prefix: str | None = None, odl: bool = False) -> dict[str, Any]:
    """Synthetic uint8 bands (and a QA_PIXEL) on the MTL's grid beside a copy of the MTL; returns the DN."""
    values = mtl_values(mtl)
    product_id = values["LANDSAT_PRODUCT_ID"]
    prefix = prefix or product_id
    folder.mkdir(parents=True, exist_ok=True)
    zone = int(values["UTM_ZONE"])
    crs = CRS.from_epsg(32600 + zone if float(values["CORNER_UL_LAT_PRODUCT"]) >= 0 else 32700 + zone)
    transform = Affine(
        60.0,
        0,
        float(values["CORNER_UL_PROJECTION_X_PRODUCT"]),
        0,
        -60.0,
        float(values["CORNER_UL_PROJECTION_Y_PRODUCT"]),
    )
    rng = np.random.default_rng(int(values["WRS_PATH"]) * 1000 + int(values["WRS_ROW"]))
    dn: dict[int, np.ndarray] = {}
    profile = {
        "driver": "GTiff",
        "width": WIDTH,
        "height": HEIGHT,
        "count": 1,
        "crs": crs,
        "transform": transform,
    }
    for n in file_bands(values):
        data = rng.integers(1, 256, size=(HEIGHT, WIDTH), dtype=np.uint8)
        data[0, :5] = 0  # a fill corner: nodata in every product
        dn[n] = data
        with rasterio.open(folder / f"{prefix}_B{n}.TIF", "w", dtype="uint8", **profile) as ds:
            ds.write(data, 1)
    qa = np.zeros((HEIGHT, WIDTH), dtype=np.uint16)
    qa[5:8, 5:8] = 1 << 3  # cloud
    qa[0, :5] = 1  # fill
    with rasterio.open(folder / f"{prefix}_QA_PIXEL.TIF", "w", dtype="uint16", **profile) as ds:
        ds.write(qa, 1)
    if odl:
        (folder / f"{prefix}_MTL.txt").write_text(to_odl(mtl))
    else:
        shutil.copy(mtl, folder / f"{prefix}_MTL.xml")
    return {"values": values, "dn": dn, "qa": qa, "id": product_id}


def to_odl(mtl: Path) -> str:
    """The MTL's text (ODL) form: what USGS ships beside the XML as <id>_MTL.txt."""
    root = ET.parse(mtl).getroot()  # noqa: S314 - the shared, read-only sample
    lines = [f"GROUP = {root.tag}"]
    for group in root:
        lines.append(f"  GROUP = {group.tag}")
        for leaf in group:
            text = (leaf.text or "").strip()
            quoted = text if re.fullmatch(r"-?[\d.E+-]+|\d{4}-\d\d-\d\d", text) else f'"{text}"'
            lines.append(f"    {leaf.tag} = {quoted}")
        lines.append(f"  END_GROUP = {group.tag}")
    lines += [f"END_GROUP = {root.tag}", "END"]
    return "\n".join(lines) + "\n"


def reflectance(scene: dict[str, Any], n: int) -> np.ndarray:
    """TOA reflectance of file band n from the MTL's REFLECTANCE_MULT/ADD_BAND_n, NaN at DN 0."""
    mult = float(scene["values"][f"REFLECTANCE_MULT_BAND_{n}"])
    add = float(scene["values"][f"REFLECTANCE_ADD_BAND_{n}"])
    dn = scene["dn"][n]
    r = dn.astype(np.float64) * mult + add
    r[dn == 0] = np.nan
    return r


@pytest.mark.parametrize("odl", [False, True], ids=["MTL.xml", "MTL.txt"])
@pytest.mark.parametrize("mtl", MTLS or [Path("<absent>")], ids=lambda p: p.name[:4])
def test_mss_scene_makes_ndvi_from_the_mtl_coefficients(mtl: Path, odl: bool, tmp_path: Path) -> None:
    need_data()
    scene_data = write_scene(mtl, tmp_path / "src" / mtl.name.removesuffix("_MTL.xml"), odl=odl)
    values = scene_data["values"]
    spacecraft = int(values["SPACECRAFT_ID"].removeprefix("LANDSAT_"))
    folder = tmp_path / "src" / scene_data["id"]
    files = discover_scene(parse_scene({"source": str(folder)}))
    assert files.sensor == f"landsat-{spacecraft}-mss"
    assert files.level == "L1"
    assert sorted(files.bands) == ["B4", "B5", "B6", "B7"]
    assert files.quality is not None and files.quality.band == "QA_PIXEL"
    # Red is the second file band and NDVI's NIR the fourth (0.8-1.1 um), whatever the numbering.
    red_n, nir_n = file_bands(values)[1], file_bands(values)[3]
    assert files.bands["B5"].scale == float(values[f"REFLECTANCE_MULT_BAND_{red_n}"])
    assert files.bands["B7"].offset == float(values[f"REFLECTANCE_ADD_BAND_{nir_n}"])

    scene = parse_scene(
        {"source": str(folder), "products": ["ndvi", "false_color_vegetation", "savi", "ndwi"]}
    )
    result = process_scene(scene, str(tmp_path / "out"), run_name="mss")
    nir, red = reflectance(scene_data, nir_n), reflectance(scene_data, red_n)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = (nir - red) / (nir + red)
    expected[(nir < 0) | (red < 0) | ~np.isfinite(expected)] = np.nan
    with rasterio.open(result.outputs["ndvi"]) as ds:
        ndvi = ds.read(1)
        assert ds.tags()["SCORESBY_FORMULA"] == "(B7-B5)/(B7+B5) of reflectance"
    np.testing.assert_allclose(ndvi, expected.astype(np.float32), rtol=1e-5, atol=1e-6, equal_nan=True)
    # Every other product of its roles too: SAVI (NIR, red) and NDWI (green B4, NIR).
    green = reflectance(scene_data, file_bands(values)[0])
    others = {
        "savi": ((nir, red), lambda n, r: 1.5 * (n - r) / (n + r + 0.5)),
        "ndwi": ((green, nir), lambda g, n: (g - n) / (g + n)),
    }
    for product, (inputs, formula) in others.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            want = formula(*inputs)
        want[np.logical_or.reduce([~(x >= 0) for x in inputs]) | ~np.isfinite(want)] = np.nan
        with rasterio.open(result.outputs[product]) as ds:
            np.testing.assert_allclose(
                ds.read(1), want.astype(np.float32), rtol=1e-5, atol=1e-6, equal_nan=True
            )
    assert np.isnan(ndvi[0, :5]).all() and np.isfinite(ndvi).mean() > 0.9
    with rasterio.open(result.outputs["false_color_vegetation"]) as ds:
        assert (ds.count, ds.dtypes[0]) == (3, "uint8")
        assert list(ds.descriptions) == ["B7", "B5", "B4"]
        assert (ds.read()[:, 0, :5] == 0).all() and ds.read()[:, 10:, 10:].std() > 0

    item = json.loads(Path(result.stac_item).read_text())
    props = item["properties"]
    assert props["platform"] == f"landsat-{spacecraft}"
    assert props["instruments"] == ["mss"] and props["constellation"] == "landsat"
    wrs = "wrs1" if values["WRS_TYPE"] == "1" else "wrs2"
    assert wrs == ("wrs1" if spacecraft <= 3 else "wrs2")
    assert props["scoresby:place"] == f"{wrs}-{values['WRS_PATH']}{values['WRS_ROW']}"
    assert props["scoresby:stats"]["cloud_percent"] == pytest.approx(100 * 9 / (WIDTH * HEIGHT - 5), abs=1e-3)
    assert props["scoresby:stats"]["snow_ice_percent"] is None  # no SWIR: no snow statistics
    assert props["datetime"].startswith(values["DATE_ACQUIRED"])


def test_landsat1_over_east_greenland_is_wrs1(tmp_path: Path) -> None:
    need_data()
    mtl = MSS_DIR / "LM01_L1GS_001010_19720908_20200909_02_T2_MTL.xml"
    scene_data = write_scene(mtl, tmp_path / mtl.name.removesuffix("_MTL.xml"))
    files = discover_scene(parse_scene({"source": str(tmp_path / scene_data["id"])}))
    assert files.sensor == "landsat-1-mss" and files.datetime and files.datetime.startswith("1972-09-08")
    assert sensor_of(files).place(scene_data["id"]) == "wrs1-001010"  # never read as WRS-2 path 1 row 10


@pytest.mark.parametrize("product", ["true_color", "evi", "ndsi", "false_color_ice", "nbr"])
def test_products_needing_blue_or_swir_are_refused_naming_the_role(product: str, tmp_path: Path) -> None:
    need_data()
    scene_data = write_scene(MTLS[0], tmp_path / "src" / MTLS[0].name.removesuffix("_MTL.xml"))
    scene = parse_scene({"source": str(tmp_path / "src" / scene_data["id"]), "products": [product]})
    with pytest.raises(MissingBands) as err:
        process_scene(scene, str(tmp_path / "out"), run_name="mss")
    message = str(err.value)
    assert "\n" not in message and f"product {product!r} needs role" in message
    assert re.search(r"'(blue|swir1|swir2)'", message) and "Landsat 1-5 MSS" in message
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.tif"))


def test_cli_refuses_true_color_on_mss_with_exit_2(tmp_path: Path) -> None:
    need_data()
    scene_data = write_scene(MTLS[0], tmp_path / "src" / MTLS[0].name.removesuffix("_MTL.xml"))
    scene = {"source": str(tmp_path / "src" / scene_data["id"]), "products": ["true_color"]}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scoresby.cli",
            "process",
            json.dumps(scene),
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=300,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("scoresby: error: scene ")
    assert "product 'true_color' needs role 'blue'" in proc.stderr.splitlines()[-1]


def test_tm_shaped_names_with_an_mss_mtl_are_mss(tmp_path: Path) -> None:
    """Files `scene_B1.TIF`-`B4.TIF` look like TM; the MTL (SENSOR_ID MSS) says what they are."""
    need_data()
    mtl = MSS_DIR / "LM04_L1GS_001001_19830527_20210902_02_T2_MTL.xml"
    write_scene(mtl, tmp_path / "scene", prefix="scene")
    files = discover_scene(parse_scene({"source": str(tmp_path / "scene")}))
    assert files.sensor == "landsat-4-mss"
    assert files.bands["B7"].path.endswith("scene_B4.TIF")  # Landsat 4 B4 is the 0.8-1.1 um NIR


def test_landsat5_mss_id_without_mtl_is_mss_not_tm(tmp_path: Path) -> None:
    """The bug this fixes: LM05_..._B1-B4 were processed as Landsat 5 TM (true colour of green/red/NIR)."""
    need_data()
    mtl = MSS_DIR / "LM04_L1GS_001001_19830527_20210902_02_T2_MTL.xml"
    product_id = "LM05_L1GS_001001_19850527_20210902_02_T2"
    write_scene(mtl, tmp_path / product_id, prefix=product_id)
    (tmp_path / product_id / f"{product_id}_MTL.xml").unlink()
    files = discover_scene(parse_scene({"source": str(tmp_path / product_id)}))
    assert files.sensor == "landsat-5-mss"
    assert files.bands["B5"].path.endswith("_B2.TIF") and files.bands["B7"].path.endswith("_B4.TIF")
    assert any("plain DN" in n for n in files.notes)


def test_mtl_contradicting_the_id_is_one_line_error(tmp_path: Path) -> None:
    need_data()
    mtl = MSS_DIR / "LM04_L1GS_001001_19830527_20210902_02_T2_MTL.xml"
    product_id = "LT04_L1GS_001001_19830527_20210902_02_T2"  # says TM; its MTL says MSS
    write_scene(mtl, tmp_path / product_id, prefix=product_id)
    with pytest.raises(UnknownSensor) as err:
        discover_scene(parse_scene({"source": str(tmp_path / product_id)}))
    message = str(err.value)
    assert "\n" not in message
    assert "says landsat-4 but the MTL's SPACECRAFT_ID says landsat-4-mss" in message


def test_search_preset_for_mss_items() -> None:
    assert "landsat-c2-l1" in PRESET_COLLECTIONS["planetary-computer"]
    assert sensor_named("landsat-3-mss").search == {"planetary-computer": ("landsat-c2-l1",)}
    problems: list[str] = []
    spec = check_search(
        {
            "stac": "planetary-computer",
            "collections": ["landsat-c2-l1"],
            "bbox": [-37, 69, -29, 72],
            "datetime": "1972-09-01/1972-09-30",
        },
        "search",
        problems,
    )
    assert problems == [] and spec is not None
    assert spec.stac == "https://planetarycomputer.microsoft.com/api/stac/v1"


def test_plain_dn_is_a_typed_warning_one_can_filter(tmp_path: Path) -> None:
    need_data()
    product_id = "LM05_L1GS_001001_19850527_20210902_02_T2"
    write_scene(MTLS[-1], tmp_path / product_id, prefix=product_id)
    (tmp_path / product_id / f"{product_id}_MTL.xml").unlink()
    scene = parse_scene({"source": str(tmp_path / product_id)})
    with pytest.warns(PlainDNWarning, match="plain DN") as caught:
        files = discover_scene(scene)
    assert all(issubclass(w.category, ScoresbyWarning) for w in caught)
    assert "reflectance: plain DN (no MTL found)" in files.notes  # the note is still there
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any other warning would raise
        warnings.simplefilter("ignore", ScoresbyWarning)
        assert discover_scene(scene).sensor == "landsat-5-mss"
