"""Scene discovery on the real sample folders, synthetic cases they lack, S3 (moto) and HTTP(S) sources."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from scoresby.core.errors import SceneError, SourceNotFound, UnknownSensor, UnreadableRaster
from scoresby.core.scene_files import BandFile, SceneFiles
from scoresby.core.scene_list import Scene
from scoresby.discovery.discover import discover_scene
from scoresby.discovery.landsat import LANDSAT_C2_L2_OFFSET, LANDSAT_C2_L2_SCALE
from scoresby.discovery.sources import gdal_env_options

L2_BANDS = {f"B{n}" for n in range(1, 8)}

# Facts from each folder's PROVENANCE.md / README.md: sensor, level, bands, acquisition date, S2 offset (DN).
REAL_SCENES = {
    "landsat8/LC08_L2SP_001062_20201031_20201106_02_T2": ("landsat-8", "L2", L2_BANDS, "2020-10-31", None),
    "landsat8/LC08_L2SP_017036_20130419_20200913_02_T2": ("landsat-8", "L2", L2_BANDS, "2013-04-19", None),
    "landsat8/LC08_L2SR_099120_20191129_20201016_02_T2": ("landsat-8", "L2", L2_BANDS, "2019-11-29", None),
    "landsat8/LC80200392015216LGN00": (
        "landsat-8",
        "L1-precollection",
        {f"B{n}" for n in range(1, 12)},
        "2015-08-04",
        None,
    ),
    "sentinel2/S2A_29RKH_20200219_0_L2A": (
        "sentinel-2",
        "L2A",
        {"B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"},
        "2020-02-19",
        0,
    ),
    "sentinel2/S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU_20221005T164454": (
        "sentinel-2",
        "L2A",
        {"B02", "B03", "B04", "B8A", "B11", "B12"},
        "2022-10-05",
        -1000,
    ),
    "sentinel2/S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703": (
        "sentinel-2",
        "L2A",
        {"B02", "B03", "B04", "B08", "B8A", "B11", "B12"},
        "2023-01-22",
        -1000,
    ),
    "sentinel2/S2B_MSIL2A_20210122T133229_N0214_R081_T22HBD_20210122T155500": (
        "sentinel-2",
        "L2A",
        {"B02", "B03", "B04", "B08", "B8A", "B11", "B12"},
        "2021-01-22",
        0,
    ),
}


def scene_for(source: Path | str, scene_id: str | None = None, sensor: str | None = None) -> Scene:
    scene_id = scene_id or str(source).rstrip("/").rsplit("/", 1)[-1]
    return Scene(scene_id=scene_id, source=str(source), products=("ndvi",), sensor=sensor)


# --- independent readers of the metadata files (regex / ElementTree / json, not the code under test) ---


def mtl_group(text: str, group: str) -> dict[str, str]:
    body = re.search(rf"GROUP = {group}\n(.*?)END_GROUP = {group}\n", text, re.S)
    assert body, f"group {group} not in MTL"
    return dict(re.findall(r"^\s*(\w+) = \"?([^\"\n]*)\"?$", body.group(1), re.M))


def mtd_offsets(mtd: Path) -> tuple[float, dict[int, float], str]:
    root = ET.parse(mtd).getroot()  # noqa: S314 - the test's own sample data
    quant = float(next(e.text for e in root.iter("BOA_QUANTIFICATION_VALUE") if e.text))
    offsets = {int(e.get("band_id", "-1")): float(e.text or 0) for e in root.iter("BOA_ADD_OFFSET")}
    baseline = next(e.text for e in root.iter("PROCESSING_BASELINE") if e.text)
    return quant, offsets, baseline


S2_BAND_ID = {
    b: i
    for i, b in enumerate(
        ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]
    )
}


def assert_opens(band: BandFile) -> np.ndarray:
    """Open the band through GDAL exactly as the worker will, and return a small window of it."""
    with rasterio.Env(**gdal_env_options()), rasterio.open(band.path) as ds:
        assert ds.count == 1
        assert ds.dtypes[0] == "uint16"
        return ds.read(1, window=((0, min(8, ds.height)), (0, min(8, ds.width))))


# --- real data -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", sorted(REAL_SCENES))
def test_real_folder_discovered(real_data_dir: Path, folder: str) -> None:
    sensor, level, bands, date, s2_offset_dn = REAL_SCENES[folder]
    path = real_data_dir / folder
    found = discover_scene(scene_for(path))

    assert isinstance(found, SceneFiles)
    assert (found.sensor, found.level) == (sensor, level)
    assert set(found.bands) == bands
    assert found.datetime is not None and found.datetime.startswith(date + "T")
    for name, band in found.bands.items():
        assert band.band == name
        assert Path(band.path).parent == path and Path(band.path).is_file()
        assert_opens(band)

    if folder.startswith("landsat8/LC08"):
        mtl_txt = next(path.glob("*_MTL.txt")).read_text()
        sr = mtl_group(mtl_txt, "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS")
        for name, band in found.bands.items():
            n = name[1:]
            assert Path(band.path).name.endswith(f"_SR_{name}.TIF")
            assert band.scale == pytest.approx(float(sr[f"REFLECTANCE_MULT_BAND_{n}"]))
            assert band.offset == pytest.approx(float(sr[f"REFLECTANCE_ADD_BAND_{n}"]))
            # PROVENANCE: 0.0000275*DN - 0.2, not the L1 group's 2e-05 / -0.1 in the same MTL
            assert (band.scale, band.offset) == pytest.approx((0.0000275, -0.2))
        assert found.metadata_files["mtl"].endswith(("_MTL.txt", "_MTL.json"))
        center = mtl_group(mtl_txt, "IMAGE_ATTRIBUTES")["SCENE_CENTER_TIME"]
        assert found.datetime.startswith(f"{date}T{center[:8]}")
    elif folder.startswith("landsat8/LC8"):
        mtl_txt = (path / "l8_MTL.txt").read_text()
        rescaling = mtl_group(mtl_txt, "RADIOMETRIC_RESCALING")
        for name, band in found.bands.items():
            n = name[1:]
            if f"REFLECTANCE_MULT_BAND_{n}" in rescaling:
                assert band.scale == pytest.approx(float(rescaling[f"REFLECTANCE_MULT_BAND_{n}"]))
                assert band.offset == pytest.approx(float(rescaling[f"REFLECTANCE_ADD_BAND_{n}"]))
            else:  # thermal B10/B11 have radiance rescaling only: left as DN, and said so
                assert name in ("B10", "B11") and (band.scale, band.offset) == (1.0, 0.0)
        assert any("B10, B11" in note for note in found.notes)
        assert found.datetime.startswith("2015-08-04T16:19:21")
    elif (path / "MTD_MSIL2A.xml").exists():
        quant, offsets, baseline = mtd_offsets(path / "MTD_MSIL2A.xml")
        assert found.metadata_files["mtd"] == str(path / "MTD_MSIL2A.xml")
        for name, band in found.bands.items():
            assert band.scale == pytest.approx(1 / quant)
            assert band.offset == pytest.approx(offsets.get(S2_BAND_ID[name], 0.0) / quant)
            assert band.offset == pytest.approx(s2_offset_dn / 10000)
        assert (baseline >= "04.00") == (s2_offset_dn == -1000)
    else:
        item = json.loads((path / f"{path.name}.json").read_text())
        by_file = {a["href"].rsplit("/", 1)[-1]: a for a in item["assets"].values()}
        for name, band in found.bands.items():
            raster = by_file[f"{name}.tif"]["raster:bands"][0]
            assert (band.scale, band.offset) == pytest.approx((raster["scale"], raster["offset"]))
            assert band.offset == s2_offset_dn
        assert found.metadata_files["stac"] == str(path / f"{path.name}.json")
        assert found.datetime == "2020-02-19T11:34:25.405Z"


def test_sentinel2_60m_set_reports_b8a_without_b08(real_data_dir: Path) -> None:
    path = real_data_dir / "sentinel2/S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU_20221005T164454"
    found = discover_scene(scene_for(path))
    assert "B8A" in found.bands and "B08" not in found.bands  # the worker substitutes, discovery does not


def test_given_sensor_that_matches_is_accepted(real_data_dir: Path) -> None:
    path = real_data_dir / "landsat8/LC08_L2SP_017036_20130419_20200913_02_T2"
    assert discover_scene(scene_for(path, sensor="landsat-8")).sensor == "landsat-8"


def test_given_sensor_that_contradicts_files_is_rejected(real_data_dir: Path) -> None:
    path = real_data_dir / "sentinel2/S2B_MSIL2A_20210122T133229_N0214_R081_T22HBD_20210122T155500"
    with pytest.raises(UnknownSensor) as info:
        discover_scene(scene_for(path, scene_id="my-scene", sensor="landsat-9"))
    message = str(info.value)
    assert message.startswith("scene my-scene: ")
    assert "'landsat-9'" in message and "sentinel-2" in message


def test_landsat8_files_declared_landsat9_are_rejected(real_data_dir: Path) -> None:
    path = real_data_dir / "landsat8/LC08_L2SR_099120_20191129_20201016_02_T2"
    with pytest.raises(UnknownSensor, match="landsat-9.*landsat-8"):
        discover_scene(scene_for(path, sensor="landsat-9"))


def test_scene_id_other_than_folder_name_still_recognised(real_data_dir: Path) -> None:
    # The pre-collection sample is named l8_B4.tif: sensor and level come from its MTL, not the names.
    path = real_data_dir / "landsat8/LC80200392015216LGN00"
    found = discover_scene(scene_for(path, scene_id="gulf-coast-2015"))
    assert (found.sensor, found.level, found.scene_id) == ("landsat-8", "L1-precollection", "gulf-coast-2015")


# --- synthetic scenes for cases the real data lacks ----------------------------------------------------


def write_band(path: Path, value: int = 1000, size: int = 4) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "uint16",
        "crs": "EPSG:32629",
        "transform": Affine(30, 0, 500000, 0, -30, 6000000),
        "nodata": 0,
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(np.full((1, size, size), value, dtype="uint16"))


def l1_rescaling(n: int) -> tuple[float, float]:
    """Distinct per-band values, so a band picking up another band's (or the wrong group's) values shows."""
    return 2.0e-05 + n * 1.0e-07, -0.1 - n * 0.001


C2_L1_ID = "LC09_L1TP_232009_20220314_20220314_02_T1"


def c2_l1_mtl_groups(product_id: str, spacecraft: str) -> dict[str, dict[str, str]]:
    rescaling: dict[str, str] = {}
    for n in range(1, 10):
        mult, add = l1_rescaling(n)
        rescaling[f"RADIANCE_MULT_BAND_{n}"] = "1.2E-02"
        rescaling[f"REFLECTANCE_MULT_BAND_{n}"] = f"{mult:.4E}"
        rescaling[f"REFLECTANCE_ADD_BAND_{n}"] = f"{add:.6f}"
    return {
        "PRODUCT_CONTENTS": {"LANDSAT_PRODUCT_ID": product_id, "PROCESSING_LEVEL": "L1TP"},
        "IMAGE_ATTRIBUTES": {
            "SPACECRAFT_ID": spacecraft,
            "DATE_ACQUIRED": "2022-03-14",
            "SCENE_CENTER_TIME": "15:50:23.1234567Z",
        },
        "LEVEL1_RADIOMETRIC_RESCALING": rescaling,
    }


def mtl_text(groups: dict[str, dict[str, str]], root: str = "LANDSAT_METADATA_FILE") -> str:
    lines = [f"GROUP = {root}"]
    for group, values in groups.items():
        lines.append(f"  GROUP = {group}")
        for key, value in values.items():
            quoted = value if re.fullmatch(r"[-+.\dE:]+|\d{4}-\d{2}-\d{2}", value) else f'"{value}"'
            lines.append(f"    {key} = {quoted}")
        lines.append(f"  END_GROUP = {group}")
    lines += [f"END_GROUP = {root}", "END", ""]
    return "\n".join(lines)


def make_c2_l1(
    folder: Path, *, product_id: str = C2_L1_ID, mtl: str | None = "txt", spacecraft: str = "LANDSAT_9"
) -> Path:
    for n in range(1, 12):
        write_band(folder / f"{product_id}_B{n}.TIF", value=100 * n)
    write_band(folder / f"{product_id}_QA_PIXEL.TIF")
    groups = c2_l1_mtl_groups(product_id, spacecraft)
    if mtl == "txt":
        (folder / f"{product_id}_MTL.txt").write_text(mtl_text(groups))
    elif mtl == "json":
        (folder / f"{product_id}_MTL.json").write_text(json.dumps({"LANDSAT_METADATA_FILE": groups}))
    return folder


@pytest.mark.parametrize("mtl", ["txt", "json"])
def test_collection2_level1_landsat9_with_mtl(tmp_path: Path, mtl: str) -> None:
    folder = make_c2_l1(tmp_path / C2_L1_ID, mtl=mtl)
    found = discover_scene(scene_for(folder))
    assert (found.sensor, found.level) == ("landsat-9", "L1")
    assert set(found.bands) == {f"B{n}" for n in range(1, 12)}  # QA_PIXEL is not a spectral band
    for n in range(1, 10):
        band = found.bands[f"B{n}"]
        assert band.path == str(folder / f"{C2_L1_ID}_B{n}.TIF")
        assert (band.scale, band.offset) == pytest.approx(l1_rescaling(n))
    assert (found.bands["B10"].scale, found.bands["B10"].offset) == (1.0, 0.0)
    assert found.datetime == "2022-03-14T15:50:23.123456Z"
    assert found.metadata_files == {"mtl": str(folder / f"{C2_L1_ID}_MTL.{mtl}")}


def test_level1_without_mtl_is_plain_dn_with_note(tmp_path: Path) -> None:
    folder = make_c2_l1(tmp_path / C2_L1_ID, mtl=None)
    found = discover_scene(scene_for(folder))
    assert (found.sensor, found.level) == ("landsat-9", "L1")  # from the LC09 id
    assert all((b.scale, b.offset) == (1.0, 0.0) for b in found.bands.values())
    assert "reflectance: plain DN (no MTL found)" in found.notes
    assert found.datetime == "2022-03-14T00:00:00Z"
    assert found.metadata_files == {}


def test_level2_without_mtl_uses_collection2_constants(tmp_path: Path) -> None:
    product_id = "LC09_L2SP_232009_20220314_20220316_02_T1"
    folder = tmp_path / product_id
    for n in range(1, 8):
        write_band(folder / f"{product_id}_SR_B{n}.TIF")
    write_band(folder / f"{product_id}_ST_B10.TIF")
    found = discover_scene(scene_for(folder))
    assert (found.sensor, found.level) == ("landsat-9", "L2")
    assert set(found.bands) == L2_BANDS  # surface temperature is not reflectance
    for band in found.bands.values():
        assert (band.scale, band.offset) == (LANDSAT_C2_L2_SCALE, LANDSAT_C2_L2_OFFSET)
        assert Path(band.path).name.startswith(product_id + "_SR_B")
    assert any("no MTL found" in note for note in found.notes)


def test_precollection_names_without_mtl(tmp_path: Path) -> None:
    scene_id = "LC80200392015216LGN00"
    for n in (2, 3, 4, 5):
        write_band(tmp_path / scene_id / f"{scene_id}_B{n}.TIF")
    found = discover_scene(scene_for(tmp_path / scene_id))
    assert (found.sensor, found.level) == ("landsat-8", "L1-precollection")
    assert found.datetime == "2015-08-04T00:00:00Z"  # day 216 of 2015


def test_mtl_spacecraft_contradicting_id_is_rejected(tmp_path: Path) -> None:
    folder = make_c2_l1(tmp_path / C2_L1_ID, spacecraft="LANDSAT_8")
    with pytest.raises(UnknownSensor, match="landsat-9.*SPACECRAFT_ID says landsat-8"):
        discover_scene(scene_for(folder))


def test_unsupported_spacecraft_is_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "scene"
    write_band(folder / "scene_B4.TIF")
    groups = c2_l1_mtl_groups("not-an-id", "LANDSAT_6")  # lost at launch: no sensor Scoresby reads
    (folder / "scene_MTL.txt").write_text(mtl_text(groups))
    with pytest.raises(
        UnknownSensor, match="'LANDSAT_6'.*LANDSAT_5/TM.*LANDSAT_7/ETM.*LANDSAT_9/OLI_TIRS.*LANDSAT_1/MSS"
    ):
        discover_scene(scene_for(folder))


def test_safe_tree_keeps_finest_resolution(tmp_path: Path, real_data_dir: Path) -> None:
    real = real_data_dir / "sentinel2/S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703"
    safe = tmp_path / f"{real.name}.SAFE"
    img = safe / "GRANULE/L2A_T01UBT_A030715_20230122T231921/IMG_DATA"
    stem = "T01UBT_20230122T231849"
    for res, bands in {
        10: ["B02", "B04"],
        20: ["B02", "B04", "B8A", "B11"],
        60: ["B01", "B04", "B8A"],
    }.items():
        for band in bands:
            write_band(img / f"R{res}m" / f"{stem}_{band}_{res}m.tif")
    write_band(img / "R20m" / f"{stem}_SCL_20m.tif")
    shutil.copy(real / "MTD_MSIL2A.xml", safe / "MTD_MSIL2A.xml")

    found = discover_scene(scene_for(safe, scene_id=real.name))
    resolution = {b: int(re.search(r"_(\d\d)m\.", f.path).group(1)) for b, f in found.bands.items()}
    assert resolution == {"B01": 60, "B02": 10, "B04": 10, "B8A": 20, "B11": 20}
    assert all(f.offset == pytest.approx(-0.1) for f in found.bands.values())


def test_tile_folder_layout_uses_date_when_no_metadata(tmp_path: Path) -> None:
    # Like s3://sentinel-s2-l2a/tiles/48/R/XT/2020/8/1/0/: R10m/B04.jp2 etc. and no MTD or STAC json.
    tile = tmp_path / "tiles/48/R/XT/2020/8/1/0"
    for res, bands in {10: ["B02", "B03", "B04", "B08"], 20: ["B04", "B8A", "B11", "B12"]}.items():
        for band in bands:
            write_band(tile / f"R{res}m" / f"{band}.tif")
    found = discover_scene(scene_for(tile, scene_id="S2B_48RXT_20200801"))
    assert (found.sensor, found.level) == ("sentinel-2", "L2A")
    assert found.bands["B04"].path == str(tile / "R10m" / "B04.tif")
    assert found.bands["B8A"].path == str(tile / "R20m" / "B8A.tif")
    assert all((f.scale, f.offset) == (0.0001, 0.0) for f in found.bands.values())
    assert found.datetime == "2020-08-01T00:00:00Z"
    assert any("2020-08-01, before baseline 04.00" in note for note in found.notes)

    later = discover_scene(scene_for(tile, scene_id="S2B_48RXT_20230801"))
    assert later.bands["B04"].offset == pytest.approx(-0.1)  # acquired after baseline 04.00 began


def test_blog_resolution_folder_as_source(tmp_path: Path) -> None:
    # The AWS blog points each cell at .../tiles/<zone>/<band>/<square>/<y>/<m>/<d>/0/R10m/ itself.
    r10m = tmp_path / "sentinel-s2-l2a/tiles/48/R/XT/2022/8/1/0/R10m"
    for band in ("B02", "B03", "B04", "B08"):
        write_band(r10m / f"{band}.tif")
    write_band(r10m.parent / "preview" / "B04.tif")  # a tile folder's preview is not a band
    found = discover_scene(scene_for(r10m, scene_id="S2_48RXT_20220801"))
    assert set(found.bands) == {"B02", "B03", "B04", "B08"}
    assert found.datetime == "2022-08-01T00:00:00Z"
    assert all(f.offset == pytest.approx(-0.1) for f in found.bands.values())  # after 2022-01-25
    tile = discover_scene(scene_for(r10m.parent, scene_id="tile"))  # id says nothing; the path says sentinel
    assert tile.bands["B04"].path == str(r10m / "B04.tif")
    assert tile.datetime == "2022-08-01T00:00:00Z"  # from the <y>/<m>/<d> in the path


def test_cog_names_with_nothing_saying_sentinel2_are_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "tile-a"
    for band in ("B02", "B03", "B04"):
        write_band(folder / f"{band}.tif")
    with pytest.raises(UnknownSensor, match='set "sensor": "sentinel-2"'):
        discover_scene(scene_for(folder))
    assert discover_scene(scene_for(folder, sensor="sentinel-2")).sensor == "sentinel-2"


def test_stac_item_with_baseline_4_offset(tmp_path: Path, real_data_dir: Path) -> None:
    real = real_data_dir / "sentinel2/S2A_29RKH_20200219_0_L2A"
    folder = tmp_path / "S2B_30UXC_20230402_0_L2A"
    for band in ("B02", "B04", "B08"):
        write_band(folder / f"{band}.tif")
    item = json.loads((real / f"{real.name}.json").read_text())
    item["properties"]["s2:processing_baseline"] = "05.09"
    for asset in item["assets"].values():
        for rb in asset.get("raster:bands", []):
            rb.pop("offset", None)
            rb.pop("scale", None)
    (folder / f"{folder.name}.json").write_text(json.dumps(item))
    found = discover_scene(scene_for(folder))
    assert {b: (f.scale, f.offset) for b, f in found.bands.items()} == {
        b: (pytest.approx(0.0001), pytest.approx(-0.1)) for b in ("B02", "B04", "B08")
    }


@pytest.mark.parametrize(("applied", "offset"), [(False, -0.1), (True, 0.0)])
def test_stac_item_boa_offset_applied_flag(
    tmp_path: Path, real_data_dir: Path, applied: bool, offset: float
) -> None:
    # Earth Search: raster:bands may say -0.1 although the COG values already had the offset removed;
    # earthsearch:boa_offset_applied is the authority (Element84/earth-search#9).
    real = real_data_dir / "sentinel2/S2A_29RKH_20200219_0_L2A"
    folder = tmp_path / "S2B_30UXC_20230402_0_L2A"
    for band in ("B03", "B8A"):
        write_band(folder / f"{band}.tif")
    item = json.loads((real / f"{real.name}.json").read_text())
    item["properties"].update({"s2:processing_baseline": "04.00", "earthsearch:boa_offset_applied": applied})
    for asset in item["assets"].values():
        for rb in asset.get("raster:bands", []):
            rb["offset"] = -0.1
    (folder / f"{folder.name}.json").write_text(json.dumps(item))
    found = discover_scene(scene_for(folder))
    assert [(f.scale, f.offset) for f in found.bands.values()] == [(0.0001, pytest.approx(offset))] * 2
    assert any(("boa_offset_applied" in n) == applied for n in found.notes)


def test_two_scenes_in_one_folder_need_the_scene_id(tmp_path: Path) -> None:
    other = "LC08_L1TP_232009_20220306_20220314_02_T1"
    make_c2_l1(tmp_path / "mixed")
    make_c2_l1(tmp_path / "mixed", product_id=other, spacecraft="LANDSAT_8")
    with pytest.raises(UnknownSensor, match="several Landsat products"):
        discover_scene(scene_for(tmp_path / "mixed"))
    found = discover_scene(scene_for(tmp_path / "mixed", scene_id=other))
    assert found.sensor == "landsat-8"
    assert all(other in f.path for f in found.bands.values())


def test_two_safe_tiles_in_one_folder_need_the_scene_id(tmp_path: Path) -> None:
    for stem in ("T29UNU_20221005T115411", "T29UPU_20221005T115411"):
        for band in ("B03", "B04"):
            write_band(tmp_path / "two" / f"{stem}_{band}_10m.tif")
    with pytest.raises(UnknownSensor, match="several Sentinel-2 tiles"):
        discover_scene(scene_for(tmp_path / "two", scene_id="S2A_two_tiles"))
    safe_id = "S2A_MSIL2A_20221005T115411_N0400_R023_T29UPU_20221005T164454"
    found = discover_scene(scene_for(tmp_path / "two", scene_id=safe_id))
    assert {Path(f.path).name[:6] for f in found.bands.values()} == {"T29UPU"}
    assert found.bands["B04"].offset == pytest.approx(-0.1)  # N0400 in the id, no MTD
    assert found.datetime == "2022-10-05T11:54:11Z"


def test_level1c_is_read_as_top_of_atmosphere(tmp_path: Path) -> None:
    """Level-1C was refused until every Sentinel-2 product was supported; now it is read, with its offset."""
    folder = tmp_path / "S2A_MSIL1C_20221005T115411_N0400_R023_T29UNU_20221005T134216.SAFE"
    write_band(folder / "T29UNU_20221005T115411_B04.tif")
    found = discover_scene(scene_for(folder, scene_id=folder.name.removesuffix(".SAFE")))
    assert found.level == "L1C" and found.bands["B04"].offset == -0.1  # baseline 04.00: RADIO_ADD_OFFSET


MTD_MSIL1C = """<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-1C_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-1C.xsd">
  <n1:General_Info><Product_Info>
    <PRODUCT_START_TIME>2022-10-05T11:54:11.024Z</PRODUCT_START_TIME>
    <PROCESSING_LEVEL>Level-1C</PROCESSING_LEVEL>
    <PROCESSING_BASELINE>04.00</PROCESSING_BASELINE>
  </Product_Info>
  <Product_Image_Characteristics>
    <QUANTIFICATION_VALUE unit="none">10000</QUANTIFICATION_VALUE>
    <Radiometric_Offset_List>
      <RADIO_ADD_OFFSET band_id="3">-1000</RADIO_ADD_OFFSET>
      <RADIO_ADD_OFFSET band_id="7">-1000</RADIO_ADD_OFFSET>
    </Radiometric_Offset_List>
    <Spectral_Information_List>
      <Spectral_Information bandId="3" physicalBand="B4"/>
      <Spectral_Information bandId="7" physicalBand="B8"/>
    </Spectral_Information_List>
  </Product_Image_Characteristics></n1:General_Info>
</n1:Level-1C_User_Product>
"""


def test_level1c_radio_add_offset_from_mtd_msil1c(tmp_path: Path) -> None:
    folder = tmp_path / "S2A_MSIL1C_20221005T115411_N0400_R023_T29UNU_20221005T134216.SAFE"
    write_band(folder / "T29UNU_20221005T115411_B04.tif")
    write_band(folder / "T29UNU_20221005T115411_B08.tif")
    (folder / "MTD_MSIL1C.xml").write_text(MTD_MSIL1C)
    found = discover_scene(scene_for(folder, scene_id=folder.name.removesuffix(".SAFE")))
    assert found.level == "L1C"
    for band in ("B04", "B08"):
        assert (found.bands[band].scale, found.bands[band].offset) == pytest.approx((1e-4, -0.1))


# --- errors ----------------------------------------------------------------------------------------------


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFound) as info:
        discover_scene(scene_for(tmp_path / "nope", scene_id="s1"))
    assert str(info.value) == f"scene s1: source folder '{tmp_path / 'nope'}' does not exist"
    assert isinstance(info.value, FileNotFoundError) and info.value.scene_id == "s1"


def test_source_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "x.TIF").write_bytes(b"")
    with pytest.raises(SourceNotFound, match="is a file"):
        discover_scene(scene_for(tmp_path / "x.TIF", scene_id="s1"))


def test_folder_far_too_big_for_a_scene(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scoresby.discovery.sources.MAX_LISTED_OBJECTS", 5)
    for i in range(6):
        (tmp_path / f"f{i}.txt").write_text("")
    with pytest.raises(SourceNotFound, match="holds more than 5 files; point source at one scene's folder"):
        discover_scene(scene_for(tmp_path, scene_id="s1"))


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFound, match=r"^scene s1: source '.*' holds no files$"):
        discover_scene(scene_for(tmp_path, scene_id="s1"))


def test_unrecognised_files_are_listed_with_allowed_patterns(tmp_path: Path) -> None:
    (tmp_path / "readme.md").write_text("hi")
    write_band(tmp_path / "red.tif")
    with pytest.raises(UnknownSensor) as info:
        discover_scene(scene_for(tmp_path, scene_id="s1"))
    message = str(info.value)
    assert "(2 files: 'readme.md', 'red.tif')" in message
    assert "_SR_B4.TIF" in message and "B04.tif" in message and "_B04_10m.jp2" in message


def test_unsupported_scheme(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFound, match="unsupported scheme 'ftp'"):
        discover_scene(scene_for("ftp://example.org/x/", scene_id="s1"))


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("_MTL.txt", "GROUP = LANDSAT_METADATA_FILE\n  this is not odl\n", "line 2"),
        ("_MTL.txt", "GROUP = LANDSAT_METADATA_FILE\n  GROUP = X\n    A = 1\n", "never closed"),
        ("_MTL.json", '{"LANDSAT_METADATA_FILE": {', "not valid JSON"),
    ],
)
def test_malformed_mtl(tmp_path: Path, name: str, content: str, reason: str) -> None:
    folder = make_c2_l1(tmp_path / C2_L1_ID, mtl=None)
    (folder / f"{C2_L1_ID}{name}").write_text(content)
    with pytest.raises(UnreadableRaster) as info:
        discover_scene(scene_for(folder))
    assert str(folder / f"{C2_L1_ID}{name}") in str(info.value)
    assert reason in str(info.value)


def test_malformed_mtl_number(tmp_path: Path) -> None:
    folder = make_c2_l1(tmp_path / C2_L1_ID)
    mtl = folder / f"{C2_L1_ID}_MTL.txt"
    mtl.write_text(mtl.read_text().replace("REFLECTANCE_MULT_BAND_4 = ", "REFLECTANCE_MULT_BAND_4 = x"))
    with pytest.raises(UnreadableRaster, match=f"{mtl}: REFLECTANCE_MULT/ADD_BAND_4 are not numbers"):
        discover_scene(scene_for(folder))


N0400_T01UBT = "sentinel2/S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703"
MTD_EDITS = {
    "truncated": (lambda text: text[:5000], "not well-formed XML"),
    "offset not a number": (
        lambda text: text.replace('band_id="3">-1000<', 'band_id="3">minus<'),
        "band_id=3 is not a number",
    ),
    "unknown band id": (lambda text: text.replace('band_id="3">', 'band_id="x">'), "unknown band_id 'x'"),
    "zero quantification": (
        lambda text: re.sub(r"(<BOA_QUANTIFICATION_VALUE[^>]*>)10000<", r"\g<1>0<", text),
        "must be positive",
    ),
}


@pytest.mark.parametrize("case", sorted(MTD_EDITS))
def test_malformed_mtd(tmp_path: Path, real_data_dir: Path, case: str) -> None:
    edit, reason = MTD_EDITS[case]
    real = real_data_dir / N0400_T01UBT
    folder = tmp_path / real.name
    shutil.copytree(real, folder)
    original = (real / "MTD_MSIL2A.xml").read_text()
    edited = edit(original)
    assert edited != original
    (folder / "MTD_MSIL2A.xml").write_text(edited)
    with pytest.raises(UnreadableRaster) as info:
        discover_scene(scene_for(folder))
    prefix = f"scene {real.name}: malformed metadata file {folder / 'MTD_MSIL2A.xml'}: "
    assert str(info.value).startswith(prefix)
    assert reason in str(info.value)


def test_mtd_without_offset_list_uses_baseline(tmp_path: Path, real_data_dir: Path) -> None:
    real = real_data_dir / N0400_T01UBT
    folder = tmp_path / real.name
    shutil.copytree(real, folder)
    text = (real / "MTD_MSIL2A.xml").read_text()
    text = re.sub(r"<BOA_ADD_OFFSET_VALUES_LIST>.*?</BOA_ADD_OFFSET_VALUES_LIST>", "", text, flags=re.S)
    assert "BOA_ADD_OFFSET" not in text and "<PROCESSING_BASELINE>04.00<" in text
    (folder / "MTD_MSIL2A.xml").write_text(text)
    found = discover_scene(scene_for(folder))
    assert all(f.offset == pytest.approx(-0.1) for f in found.bands.values())
    assert any("-1000 implied by the baseline" in note for note in found.notes)


def test_malformed_stac_item(tmp_path: Path) -> None:
    folder = tmp_path / "S2A_29RKH_20200219_0_L2A"
    write_band(folder / "B04.tif")
    (folder / f"{folder.name}.json").write_text("{ not json")
    with pytest.raises(UnreadableRaster, match=r"malformed STAC Item .*S2A_29RKH_20200219_0_L2A\.json"):
        discover_scene(scene_for(folder))


def test_every_error_is_a_scene_error() -> None:
    for error in (SourceNotFound, UnknownSensor, UnreadableRaster):
        assert issubclass(error, SceneError)


# --- GDAL environment ------------------------------------------------------------------------------------


def test_gdal_env_options_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_S3_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    options = gdal_env_options()
    assert options["AWS_REQUEST_PAYER"] == "requester"
    assert options["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"
    assert options["GDAL_HTTP_MERGE_CONSECUTIVE_RANGES"] == "YES"
    allowed = options["CPL_VSIL_CURL_ALLOWED_EXTENSIONS"].split(",")
    assert {".tif", ".TIF", ".jp2", ".xml", ".txt", ".json"} <= set(allowed)
    assert "AWS_S3_ENDPOINT" not in options
    with rasterio.Env(**options):  # every option is a valid GDAL config key/value for rasterio
        pass


def test_gdal_env_options_follow_aws_endpoint_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_S3_ENDPOINT", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5123")
    options = gdal_env_options()
    assert (options["AWS_S3_ENDPOINT"], options["AWS_HTTPS"], options["AWS_VIRTUAL_HOSTING"]) == (
        "127.0.0.1:5123",
        "NO",
        "FALSE",
    )
    monkeypatch.setenv("AWS_S3_ENDPOINT", "minio:9000")  # an explicit GDAL setting wins
    assert "AWS_S3_ENDPOINT" not in gdal_env_options()


# --- S3 (moto server on 127.0.0.1) -----------------------------------------------------------------------


@pytest.fixture
def s3_client(s3_endpoint: str):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client("s3")


@pytest.fixture
def request_payer_headers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    """(operation URL, x-amz-request-payer header) of every S3 request discovery's boto3 clients send."""
    import boto3

    seen: list[tuple[str, str | None]] = []
    real_client = boto3.client

    def recording_client(*args, **kwargs):  # type: ignore[no-untyped-def]
        client = real_client(*args, **kwargs)
        client.meta.events.register(
            "before-send.s3",
            lambda request, **_: seen.append((request.url, request.headers.get("x-amz-request-payer"))),
        )
        return client

    monkeypatch.setattr(boto3, "client", recording_client)
    return seen


def new_bucket(client, name: str) -> str:  # type: ignore[no-untyped-def]
    import uuid

    bucket = f"{name}-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    client.put_bucket_request_payment(Bucket=bucket, RequestPaymentConfiguration={"Payer": "Requester"})
    return bucket


def upload(client, folder: Path, bucket: str, prefix: str, layout=lambda name: name, **extra) -> None:  # type: ignore[no-untyped-def]
    for path in sorted(folder.iterdir()):
        if path.is_file():
            client.upload_file(str(path), bucket, prefix + layout(path.name), ExtraArgs=extra or None)


def read_window(path: str) -> np.ndarray:
    with rasterio.Env(**gdal_env_options()), rasterio.open(path) as ds:
        return ds.read(1, window=((100, 140), (100, 140)))


def test_s3_landsat_level2(s3_client, request_payer_headers, real_data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    local = real_data_dir / "landsat8/LC08_L2SP_001062_20201031_20201106_02_T2"
    bucket = new_bucket(s3_client, "usgs-landsat")
    prefix = f"collection02/level-2/standard/oli-tirs/2020/001/062/{local.name}/"
    upload(s3_client, local, bucket, prefix)
    # A sibling whose name starts with the same characters must not leak into the scene.
    s3_client.put_object(
        Bucket=bucket, Key=prefix.rstrip("/") + "_copy/" + f"{local.name}_SR_B8.TIF", Body=b"x"
    )

    found = discover_scene(scene_for(f"s3://{bucket}/{prefix.rstrip('/')}", scene_id=local.name))

    assert (found.sensor, found.level, set(found.bands)) == ("landsat-8", "L2", L2_BANDS)
    for name, band in found.bands.items():
        assert band.path == f"/vsis3/{bucket}/{prefix}{local.name}_SR_{name}.TIF"
        assert (band.scale, band.offset) == pytest.approx((2.75e-05, -0.2))
    assert found.metadata_files["mtl"] == f"/vsis3/{bucket}/{prefix}{local.name}_MTL.json"
    assert found.datetime == "2020-10-31T14:31:47.808399Z"  # read from the MTL through boto3
    # Every request (the listing and the MTL read) went out as requester pays.
    assert {url.rsplit("?", 1)[0].rsplit("/", 1)[-1] for url, _ in request_payer_headers} >= {
        bucket,
        f"{local.name}_MTL.json",
    }
    assert all(payer in ("requester", b"requester") for _, payer in request_payer_headers)

    # GDAL opens the /vsis3/ path at the moto endpoint (gdal_env_options follows AWS_ENDPOINT_URL) and
    # reads the same pixels as the local file.
    remote = read_window(found.bands["B4"].path)
    np.testing.assert_array_equal(remote, read_window(str(local / f"{local.name}_SR_B4.TIF")))
    assert remote.any()


def test_s3_sentinel2_safe_tree(s3_client, real_data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    local = real_data_dir / "sentinel2/S2B_MSIL2A_20210122T133229_N0214_R081_T22HBD_20210122T155500"
    bucket = new_bucket(s3_client, "safe")
    prefix = f"products/{local.name}.SAFE/"
    granule = "GRANULE/L2A_T22HBD_A020270_20210122T133224/IMG_DATA"

    def safe_layout(name: str) -> str:
        res = re.search(r"_(\d\d)m\.jp2$", name)
        return f"{granule}/R{res.group(1)}m/{name}" if res else name

    upload(s3_client, local, bucket, prefix, safe_layout)
    found = discover_scene(scene_for(f"s3://{bucket}/{prefix}", scene_id=local.name))
    assert set(found.bands) == REAL_SCENES[f"sentinel2/{local.name}"][2]
    assert (
        found.bands["B8A"].path
        == f"/vsis3/{bucket}/{prefix}{granule}/R20m/T22HBD_20210122T133229_B8A_20m.jp2"
    )
    assert all((b.scale, b.offset) == (pytest.approx(0.0001), 0.0) for b in found.bands.values())
    assert found.metadata_files["mtd"] == f"/vsis3/{bucket}/{prefix}MTD_MSIL2A.xml"
    with rasterio.Env(**gdal_env_options()), rasterio.open(found.bands["B04"].path) as ds:
        assert (ds.driver, ds.width, ds.crs.to_epsg()) == ("JP2OpenJPEG", 100, 32722)


@pytest.mark.slow
def test_s3_listing_paginates(s3_client, real_data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    local = real_data_dir / "sentinel2/S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703"
    bucket = new_bucket(s3_client, "many")
    # 1,001 auxiliary objects sort before the bands, so the band files are only on the second page.
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda i: s3_client.put_object(Bucket=bucket, Key=f"t/AUX/{i:04d}.xml", Body=b""), range(1001)
            )
        )
    upload(s3_client, local, bucket, "t/")
    found = discover_scene(scene_for(f"s3://{bucket}/t/", scene_id=local.name))
    assert set(found.bands) == REAL_SCENES[f"sentinel2/{local.name}"][2]
    assert found.bands["B04"].offset == pytest.approx(-0.1)


def test_s3_public_bucket_without_credentials(  # type: ignore[no-untyped-def]
    s3_client, real_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = real_data_dir / "sentinel2/S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703"
    bucket = new_bucket(s3_client, "public")
    s3_client.put_bucket_acl(Bucket=bucket, ACL="public-read")
    upload(s3_client, local, bucket, "x/", ACL="public-read")
    assert "AWS_NO_SIGN_REQUEST" not in gdal_env_options()  # credentials present: signed requests
    # A laptop without any AWS credentials: listing and GDAL reads go out unsigned.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_NO_SIGN_REQUEST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    found = discover_scene(scene_for(f"s3://{bucket}/x/", scene_id=local.name))
    assert gdal_env_options()["AWS_NO_SIGN_REQUEST"] == "YES" == found.gdal_env["AWS_NO_SIGN_REQUEST"]
    assert set(found.bands) == REAL_SCENES[f"sentinel2/{local.name}"][2]
    with rasterio.Env(**gdal_env_options()), rasterio.open(found.bands["B8A"].path) as ds:
        assert (ds.width, ds.crs.to_epsg()) == (100, 32601)


def test_s3_missing_bucket_and_empty_prefix(s3_client) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(
        SourceNotFound, match=r"^scene s1: source 's3://no-such-bucket-x/a/': bucket 'no-such-"
    ):
        discover_scene(scene_for("s3://no-such-bucket-x/a/", scene_id="s1"))
    bucket = new_bucket(s3_client, "empty")
    s3_client.put_object(Bucket=bucket, Key="other/B04.tif", Body=b"x")
    with pytest.raises(SourceNotFound, match=r"^scene s1: source 's3://.*/scene/' holds no files$"):
        discover_scene(scene_for(f"s3://{bucket}/scene/", scene_id="s1"))


# --- HTTP(S) base URLs (local static server; the https:// code path is the same) ----------------------


def test_http_landsat_probed_from_scene_id(static_http_server, real_data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    base, root = static_http_server
    local = real_data_dir / "landsat8/LC08_L2SP_017036_20130419_20200913_02_T2"
    shutil.copytree(local, root / "c2" / local.name)
    source = f"{base}/c2/{local.name}/"

    found = discover_scene(scene_for(source))

    assert (found.sensor, found.level, set(found.bands)) == ("landsat-8", "L2", L2_BANDS)
    assert found.bands["B5"].path == f"/vsicurl/{source}{local.name}_SR_B5.TIF"
    assert found.metadata_files == {"mtl": f"/vsicurl/{source}{local.name}_MTL.txt"}
    assert found.datetime is not None and found.datetime.startswith("2013-04-19T16:01:51")
    remote = read_window(found.bands["B5"].path)
    np.testing.assert_array_equal(remote, read_window(str(local / f"{local.name}_SR_B5.TIF")))
    assert remote.any()


@pytest.mark.parametrize(
    "folder",
    [
        "sentinel2/S2A_29RKH_20200219_0_L2A",  # COG: B04.tif + <id>.json
        "sentinel2/S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703",  # SAFE names, GeoTIFF
        "sentinel2/S2B_MSIL2A_20210122T133229_N0214_R081_T22HBD_20210122T155500",  # SAFE names, JP2
    ],
)
def test_http_sentinel2(static_http_server, real_data_dir: Path, folder: str) -> None:  # type: ignore[no-untyped-def]
    base, root = static_http_server
    local = real_data_dir / folder
    shutil.copytree(local, root / local.name)
    found = discover_scene(scene_for(f"{base}/{local.name}"))  # no trailing slash
    _, level, bands, date, offset_dn = REAL_SCENES[folder]
    assert (found.sensor, found.level, set(found.bands)) == ("sentinel-2", level, bands)
    assert all(b.offset == pytest.approx(offset_dn / 10000) for b in found.bands.values())
    assert found.datetime is not None and found.datetime.startswith(date)
    for band in found.bands.values():
        assert band.path.startswith(f"/vsicurl/{base}/{local.name}/")
        assert Path(band.path.removeprefix(f"/vsicurl/{base}/")).name in {p.name for p in local.iterdir()}
    assert assert_opens(found.bands["B04"]).shape == (8, 8)


def test_http_nothing_found(static_http_server) -> None:  # type: ignore[no-untyped-def]
    base, root = static_http_server
    (root / "LC08_L2SP_017036_20130419_20200913_02_T2").mkdir()
    with pytest.raises(SourceNotFound, match=r"no band files found at .* probed \d+ names"):
        discover_scene(scene_for(f"{base}/LC08_L2SP_017036_20130419_20200913_02_T2/"))


def test_http_unreachable() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(
        SourceNotFound, match=r"^scene s1: source 'http://127.0.0.1:\d+/x/' cannot be reached"
    ):
        discover_scene(scene_for(f"http://127.0.0.1:{port}/x/", scene_id="s1"))
