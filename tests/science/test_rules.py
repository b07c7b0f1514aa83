"""Masks, statistics, options, places and the time series on arrays and rows small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from scoresby.core.errors import InvalidInput
from scoresby.core.places import place_of
from scoresby.core.scene_list import parse_scene, parse_scene_list
from scoresby.core.stretch import parse_stretch
from scoresby.core.timeseries import CSV_FIELDS, by_place, is_cloudy, row_from_item, to_csv
from scoresby.raster import masks
from scoresby.raster.ops import resolve_stretch
from scoresby.raster.stats import SceneStats, _land_ndvi_sum, window_counts
from scoresby.sensors.landsat import QA_PIXEL
from scoresby.sensors.sentinel2 import SCL


def test_qa_pixel_bits() -> None:
    # fill, clear land, cloud (high confidence), shadow, cirrus, dilated cloud
    qa = np.array([[1, 21824, 22280], [23888, 1 << 2, 1 << 1]], dtype=np.uint16)
    q = masks.quality_of(QA_PIXEL, qa)
    assert q.valid.tolist() == [[False, True, True], [True, True, True]]
    assert q.cloud.tolist() == [[False, False, True], [False, False, False]]
    assert q.shadow.tolist() == [[False, False, False], [True, False, False]]
    assert q.cirrus.tolist() == [[False, False, False], [False, True, False]]
    assert q.not_clear.tolist() == [[False, False, True], [True, True, True]]
    assert masks.masked(q, ["shadow"]).tolist() == [[False, False, False], [True, False, False]]
    assert masks.masked(q, ()) is None


def test_scl_classes() -> None:
    scl = np.array([[0, 1, 3, 4], [8, 9, 10, 11]], dtype=np.uint16)
    q = masks.quality_of(SCL, scl)
    assert q.valid.tolist() == [[False, False, True, True], [True, True, True, True]]
    assert q.cloud.tolist() == [[False, False, False, False], [True, True, False, False]]
    assert q.shadow[0, 2] and q.cirrus[1, 2] and not q.not_clear[1, 3]  # snow (11) is clear


SCALE = {k: (1e-4, 0.0) for k in ("green", "red", "nir", "swir1")}


def _refl(green: float, red: float, nir: float, swir1: float, n: int = 4) -> dict[str, np.ndarray]:
    """DN of constant reflectance windows at DN * 1e-4 (Sentinel-2 before baseline 04.00)."""
    values = (green, red, nir, swir1)
    return {k: np.full((1, n), round(v * 1e4), dtype=np.uint16) for k, v in zip(SCALE, values, strict=True)}


def test_the_water_trap_is_water_not_ice() -> None:
    # Turbid water: NDSI 0.82 like ice, but NIR 0.06 < 0.11.
    trap = window_counts(_refl(0.12, 0.10, 0.06, 0.012), SCALE, (1, 4), None)
    ice = window_counts(_refl(0.80, 0.76, 0.62, 0.07), SCALE, (1, 4), None)
    names = ("pixels", "valid", "cloud", "shadow", "clear", "snow_ice", "water", "land")
    assert dict(zip(names, trap.counts.tolist(), strict=True))["snow_ice"] == 0
    assert dict(zip(names, trap.counts.tolist(), strict=True))["water"] == 4
    assert dict(zip(names, ice.counts.tolist(), strict=True))["snow_ice"] == 4
    assert dict(zip(names, ice.counts.tolist(), strict=True))["water"] == 0  # ice's NDWI is > 0 too


def test_no_quality_band_means_unknown_cloud_never_zero() -> None:
    stats = SceneStats(pixel_area_m2=900.0, quality_band=None, reflectance=True)
    stats.add(window_counts(_refl(0.045, 0.025, 0.012, 0.006), SCALE, (1, 4), None))
    result = stats.result()
    assert result["cloud_percent"] is None and result["clear_percent"] is None and result["cloud_km2"] is None
    assert result["water_percent"] == 100.0 and result["water_km2"] == pytest.approx(4 * 900 / 1e6)


def test_cloud_over_valid_and_snow_over_clear() -> None:
    refl = {k: np.concatenate([v, v], axis=1) for k, v in _refl(0.80, 0.76, 0.62, 0.07).items()}
    refl["green"][0, 0] = 0  # one nodata pixel
    qa = np.array([[21824, 22280, 22280, 21824, 21824, 21824, 21824, 1]], dtype=np.uint16)
    stats = SceneStats(900.0, "QA_PIXEL", True)
    stats.add(window_counts(refl, SCALE, (1, 8), masks.quality_of(QA_PIXEL, qa)))
    r = stats.result()
    assert r["valid_percent"] == 75.0  # 6 of 8: one nodata, one fill
    assert r["cloud_percent"] == round(100 * 2 / 6, 3)
    assert r["snow_ice_percent"] == 100.0 and r["snow_ice_km2"] == pytest.approx(4 * 900 / 1e6)


def test_land_ndvi_sum_counts_land_only_and_no_nan_or_inf_from_off_land_pixels() -> None:
    nir = np.array([[0.30, 0.0, -0.05, 0.20, 0.40]], dtype=np.float32)
    red = np.array([[0.10, 0.0, 0.05, -0.20, 0.40]], dtype=np.float32)
    # off land: 0/0 (NaN), -0.05/0 and 0.4/0 (inf) NDVI; on land the first and the last pixel
    land = np.array([[True, False, False, False, True]])
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = (nir - red) / (nir + red)  # float32, as the masked sum had it on land
    expected = float(np.float64(ndvi[0, 0]) + np.float64(ndvi[0, 4]))
    assert _land_ndvi_sum(nir, red, land) == expected
    assert _land_ndvi_sum(nir, red, np.zeros_like(land)) == 0.0


def test_reflectance_stretch_means_the_same_for_landsat_and_sentinel2() -> None:
    spec = parse_stretch({"mode": "reflectance", "ranges": [[0, 0.3], [0, 0.3], [0, 0.3]], "gamma": 1.0})
    hists = [np.zeros(65536, dtype=np.int64)] * 3
    landsat = resolve_stretch(spec, hists, [(2.75e-05, -0.2)] * 3)
    sentinel2 = resolve_stretch(spec, hists, [(1e-4, -0.1)] * 3)  # baseline 04.00 offset
    dn_l8 = round((0.15 + 0.2) / 2.75e-05)
    dn_s2 = round((0.15 + 0.1) / 1e-4)
    assert abs(int(landsat.luts[0][dn_l8]) - int(sentinel2.luts[0][dn_s2])) <= 1  # 0.15 is mid-grey in both
    assert landsat.record["ranges"] == [[0.0, 0.3]] * 3
    assert landsat.record["cutoffs"][0] == [pytest.approx(0.2 / 2.75e-05), pytest.approx(0.5 / 2.75e-05)]


def test_bad_options_are_each_named() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_scene_list(
            {
                "mask": ["cloud", "haze"],
                "aoi": {"bbox": [10, 5, 0, 6]},
                "timelapse": {"max_cloud": 140},
                "stretch": {"true_color": {"mode": "reflectance", "ranges": [[0, 3], [0, 0.3]]}},
                "scenes": [{"source": "/data/LC08_L2SP_226010_20140820_20200911_02_T1"}],
            }
        )
    text = "\n".join(exc.value.problems)
    assert "'haze' is not a mask class" in text
    assert "aoi.bbox: [10, 5, 0, 6] is not allowed" in text
    assert "timelapse.max_cloud: 140" in text
    assert "stretch.true_color.ranges" in text


def test_aoi_and_mask_travel_with_the_scene() -> None:
    plan = parse_scene_list(
        {
            "aoi": {"bbox": [-25.0, 70.0, -24.0, 70.5], "name": "sund"},
            "mask": ["cloud", "shadow"],
            "scenes": [{"source": "/data/LC08_L2SP_226010_20140820_20200911_02_T1"}],
        }
    )
    scene = plan.scenes[0]
    assert scene.aoi == {
        "bbox": [-25.0, 70.0, -24.0, 70.5],
        "crs": "EPSG:32626",  # UTM zone of the centre, -24.5°
        "resolution": 30.0,
        "name": "sund",
    }
    assert scene.mask == ("cloud", "shadow")
    assert parse_scene(scene.to_dict()) == scene  # as the Batch job and `scoresby process` receive it


@pytest.mark.parametrize(
    ("scene_id", "place"),
    [
        ("LC08_L2SP_226010_20140820_20200911_02_T1", "wrs2-226010"),
        ("LC80200392015216LGN00", "wrs2-020039"),
        ("LM01_L1GS_001010_19720908_20200909_02_T2", "wrs1-001010"),  # Landsat 1-3: WRS-1
        ("LM30270281982200AAA03", "wrs1-027028"),
        ("LM05_L1TP_190017_19850527_20210902_02_T2", "wrs2-190017"),  # Landsat 4-5 MSS: WRS-2
        ("LT05_L2SP_090084_19980308_20200909_02_T1", "wrs2-090084"),
        ("S2A_29RKH_20200219_0_L2A", "mgrs-29RKH"),
        ("S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703", "mgrs-01UBT"),
        ("S2_48RXT_20200801", "mgrs-48RXT"),
        ("my-scene", "my-scene"),
    ],
)
def test_place_keys(scene_id: str, place: str) -> None:
    assert place_of(scene_id) == place
    assert place_of(scene_id, {"name": "sund"}) == "aoi-sund"


def test_time_series_rows_sorted_by_place_and_date_with_unknowns_empty() -> None:
    items = [
        {
            "id": "b",
            "properties": {
                "datetime": "2020-08-01T00:00:00Z",
                "platform": "landsat-8",
                "scoresby:place": "p",
                "scoresby:stats": {"cloud_percent": 55.0},
            },
        },
        {
            "id": "a",
            "properties": {
                "datetime": "2019-08-01T00:00:00Z",
                "platform": "sentinel-2",
                "scoresby:place": "p",
                "scoresby:stats": {"cloud_percent": None},
            },
        },
    ]
    rows = [row_from_item(i) for i in items]
    assert [r["scene_id"] for r in by_place(rows)["p"]] == ["a", "b"]
    lines = to_csv(rows).splitlines()
    assert lines[0] == ",".join(CSV_FIELDS)
    assert lines[1].startswith("p,a,sentinel-2,2019-08-01T00:00:00Z,,")  # unknown cloud: empty, not 0
    assert is_cloudy(rows[0]) and not is_cloudy(rows[1]) and not is_cloudy(rows[0], max_cloud=60)
