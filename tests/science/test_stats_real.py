"""Statistics of real scenes against an independent whole-array computation and the MTL's CLOUD_COVER.

The independent side reads each band whole with rasterio (no windows, no builder code), resamples the
coarser Sentinel-2 bands with rasterio.warp.reproject (bilinear for reflectance, nearest for SCL) and
applies the rules of DESIGN.md directly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.enums import Resampling
from rasterio.warp import reproject

from scoresby.commands.scene import process_scene
from scoresby.core.scene_list import parse_scene
from scoresby.discovery.discover import discover_scene

LANDSAT_L2 = (
    "landsat8/LC08_L2SP_001062_20201031_20201106_02_T2",
    "landsat8/LC08_L2SP_017036_20130419_20200913_02_T2",
    "landsat8/LC08_L2SR_099120_20191129_20201016_02_T2",
)
SENTINEL2 = (
    "sentinel2/S2A_29RKH_20200219_0_L2A",
    "sentinel2/S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU_20221005T164454",
    "sentinel2/S2B_MSIL2A_20210122T133229_N0214_R081_T22HBD_20210122T155500",
    "sentinel2/S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703",
)


def _stats_of(folder: Path, out: Path) -> dict[str, Any]:
    scene = parse_scene({"source": str(folder), "products": ["ndsi"]})
    result = process_scene(scene, str(out), run_name="stats", overwrite=True)
    item = json.loads(Path(result.stac_item).read_text())
    assert item["properties"]["scoresby:stats"] == result.stats
    return item["properties"]


def _independent(
    refl: dict[str, np.ndarray], valid: np.ndarray, cloud: np.ndarray, not_clear: np.ndarray
) -> dict[str, float]:
    for v in refl.values():
        valid &= np.isfinite(v) & (v > -1)
    clear = valid & ~not_clear
    with np.errstate(divide="ignore", invalid="ignore"):
        ndsi = (refl["green"] - refl["swir1"]) / (refl["green"] + refl["swir1"])
        ndwi = (refl["green"] - refl["nir"]) / (refl["green"] + refl["nir"])
    positive = (refl["green"] >= 0) & (refl["swir1"] >= 0) & (refl["nir"] >= 0)
    snow = clear & positive & (ndsi > 0.4) & (refl["nir"] > 0.11)
    water = clear & positive & (ndwi > 0) & ~snow
    n_clear = clear.sum()
    return {
        "cloud_percent": 100 * (cloud & valid).sum() / valid.sum(),
        "clear_percent": 100 * n_clear / valid.sum(),
        "snow_ice_percent": 100 * snow.sum() / n_clear if n_clear else None,
        "water_percent": 100 * water.sum() / n_clear if n_clear else None,
    }


def _close(found: dict[str, Any], expected: dict[str, Any], tolerance: float) -> None:
    for key, value in expected.items():
        if value is None:
            assert found[key] is None, key
        else:
            assert found[key] == pytest.approx(value, abs=tolerance), key


@pytest.mark.parametrize("name", LANDSAT_L2)
def test_landsat_statistics_and_cloud_cover_of_the_mtl(
    real_data_dir: Path, tmp_path: Path, name: str
) -> None:
    folder = real_data_dir / name
    props = _stats_of(folder, tmp_path)
    stats = props["scoresby:stats"]
    scene_id = folder.name

    def band(n: str) -> np.ndarray:
        with rasterio.open(folder / f"{scene_id}_SR_{n}.TIF") as ds:
            dn = ds.read(1).astype(np.float64)
        return np.where(dn == 0, np.nan, dn * 2.75e-05 - 0.2)

    with rasterio.open(folder / f"{scene_id}_QA_PIXEL.TIF") as ds:
        qa = ds.read(1)
    refl = {"green": band("B3"), "red": band("B4"), "nir": band("B5"), "swir1": band("B6")}
    valid = (qa & 1) == 0
    cloud = (qa & 8) != 0
    not_clear = (qa & (2 | 4 | 8 | 16)) != 0
    _close(stats, _independent(refl, valid, cloud, not_clear), tolerance=0.01)
    # USGS CLOUD_COVER counts the cloud bit over the scene's valid pixels: the same figure.
    mtl = (folder / f"{scene_id}_MTL.txt").read_text()
    cloud_cover = float(re.search(r"^\s*CLOUD_COVER = ([\d.]+)", mtl, re.M)[1])  # type: ignore[index]
    assert stats["cloud_percent"] == pytest.approx(cloud_cover, abs=0.1)
    assert props["eo:cloud_cover"] == stats["cloud_percent"]
    assert props["scoresby:place"].startswith("wrs2-")


@pytest.mark.parametrize("name", SENTINEL2)
def test_sentinel2_statistics_with_scl_resampled_by_nearest(
    real_data_dir: Path, tmp_path: Path, name: str
) -> None:
    folder = real_data_dir / name
    stats = _stats_of(folder, tmp_path)["scoresby:stats"]
    files = discover_scene(parse_scene({"source": str(folder)}))
    assert files.quality is not None and files.quality.band == "SCL"
    roles = {"green": "B03", "red": "B04", "nir": "B08" if "B08" in files.bands else "B8A", "swir1": "B11"}
    finest = min((files.bands[b] for b in roles.values()), key=lambda b: rasterio.open(b.path).res[0])
    with rasterio.open(finest.path) as ref:
        shape, transform, crs = (ref.height, ref.width), ref.transform, ref.crs

    def onto_grid(path: str, resampling: Resampling, nodata: float) -> np.ndarray:
        out = np.zeros(shape, dtype=np.float64)
        with rasterio.open(path) as ds:
            reproject(
                rasterio.band(ds, 1),
                out,
                dst_transform=transform,
                dst_crs=crs,
                resampling=resampling,
                src_nodata=nodata,
                dst_nodata=nodata,
            )
        return out

    refl = {}
    for role, b in roles.items():
        bf = files.bands[b]
        dn = onto_grid(bf.path, Resampling.bilinear, 0)
        refl[role] = np.where(dn == 0, np.nan, dn * bf.scale + bf.offset)
    scl = onto_grid(files.quality.path, Resampling.nearest, 0).astype(np.uint8)
    valid = ~np.isin(scl, (0, 1))
    cloud = np.isin(scl, (8, 9))
    not_clear = np.isin(scl, (3, 8, 9, 10))
    # GDAL's warper (the builder) and reproject (here) agree to within a pixel or two of a million.
    _close(stats, _independent(refl, valid, cloud, not_clear), tolerance=0.01)


def test_without_a_quality_band_the_cloud_figures_are_unknown(real_data_dir: Path, tmp_path: Path) -> None:
    stats = _stats_of(real_data_dir / "landsat8/LC80200392015216LGN00", tmp_path)["scoresby:stats"]
    assert stats["quality_band"] is None
    assert (
        stats["cloud_percent"] is None and stats["clear_percent"] is None and stats["shadow_percent"] is None
    )
    assert stats["snow_ice_percent"] is not None and stats["water_percent"] is not None
    assert stats["ndvi_mean"] is not None and 0 < stats["ndvi_mean"] < 1
