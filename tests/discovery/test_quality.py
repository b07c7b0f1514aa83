"""The quality band beside the bands: QA_PIXEL for Landsat Collection 2, the finest SCL for Sentinel-2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scoresby.core.scene_files import BandFile, SceneFiles
from scoresby.core.scene_list import parse_scene
from scoresby.discovery.discover import discover_scene
from scoresby.discovery.quality import with_quality


class _Names:
    def gdal_path(self, name: str) -> str:
        return f"/src/{name}"


def _found(sensor: str, level: str, band_names: list[str]) -> SceneFiles:
    bands = {f"B{i}": BandFile(f"B{i}", f"/src/{n}") for i, n in enumerate(band_names)}
    return SceneFiles("s", sensor, level, bands, None)


def _quality(found: SceneFiles, names: list[str]) -> Any:
    q = with_quality(found, _Names(), names)  # type: ignore[arg-type]
    return q.quality.path if q.quality else None


def test_landsat_qa_pixel_of_the_same_product() -> None:
    found = _found("landsat-8", "L2", ["A_SR_B4.TIF", "A_SR_B5.TIF"])
    assert _quality(found, ["A_SR_B4.TIF", "B_QA_PIXEL.TIF", "A_QA_PIXEL.TIF"]) == "/src/A_QA_PIXEL.TIF"
    assert _quality(found, ["A_SR_B4.TIF"]) is None
    pre = _found("landsat-8", "L1-precollection", ["l8_B4.tif"])
    assert _quality(pre, ["l8_B4.tif", "l8_BQA.tif"]) is None  # BQA has another bit layout


def test_sentinel2_finest_scl_of_the_granule_outside_qi_folders() -> None:
    safe = _found("sentinel-2", "L2A", ["T29UNU_20221005T115411_B04_10m.jp2"])
    names = [
        "QI_DATA/T29UNU_20221005T115411_SCL_20m.jp2",
        "T29UNU_20221005T115411_SCL_60m.jp2",
        "T29UNU_20221005T115411_SCL_20m.jp2",
        "T30XXX_20221005T115411_SCL_20m.jp2",
    ]
    assert _quality(safe, names) == "/src/T29UNU_20221005T115411_SCL_20m.jp2"
    cog = _found("sentinel-2", "L2A", ["B04.tif"])
    assert _quality(cog, ["B04.tif", "SCL.tif"]) == "/src/SCL.tif"
    tile = _found("sentinel-2", "L2A", ["R10m/B04.jp2"])
    assert _quality(tile, ["R10m/B04.jp2", "R60m/SCL.jp2", "R20m/SCL.jp2"]) == "/src/R20m/SCL.jp2"


@pytest.mark.parametrize(
    ("name", "band"),
    [
        ("landsat8/LC08_L2SP_001062_20201031_20201106_02_T2", "QA_PIXEL"),
        ("landsat8/LC80200392015216LGN00", None),
        ("sentinel2/S2A_29RKH_20200219_0_L2A", "SCL"),
        ("sentinel2/S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU_20221005T164454", "SCL"),
        ("sentinel2/S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703", "SCL"),
    ],
)
def test_real_scenes(real_data_dir: Path, name: str, band: str | None) -> None:
    found = discover_scene(parse_scene({"source": str(real_data_dir / name)}))
    assert (found.quality.band if found.quality else None) == band
    if found.quality:
        assert Path(found.quality.path).is_file()
