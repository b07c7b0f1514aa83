"""The sensor registry's answers: what other modules (and the place-products work) ask a sensor."""

from __future__ import annotations

import numpy as np
import pytest

from scoresby.core.scene_files import SceneFiles
from scoresby.raster.masks import qa_flags, quality_of
from scoresby.sensors import name_for_id, name_for_metadata, sensor_named, sensor_of

ROY_2016 = {  # Roy et al. (2016) Table 2, OLS ETM+ -> OLI (written out again here, from the paper)
    "blue": (0.0003, 0.8474),
    "green": (0.0088, 0.8483),
    "red": (0.0061, 0.9047),
    "nir": (0.0412, 0.8462),
    "swir1": (0.0254, 0.8937),
    "swir2": (0.0172, 0.9071),
}


def files_of(sensor: str) -> SceneFiles:
    return SceneFiles(scene_id="x", sensor=sensor, level="L2", bands={}, datetime=None)


@pytest.mark.parametrize("name", ["landsat-4", "landsat-5", "landsat-7"])
def test_tm_and_etm_carry_roy_2016_coefficients(name: str) -> None:
    assert sensor_of(files_of(name)).to_oli == ROY_2016


@pytest.mark.parametrize("name", ["landsat-8", "landsat-9", "sentinel-2", "landsat-1-mss", "landsat-5-mss"])
def test_other_sensors_have_no_harmonisation(name: str) -> None:
    assert sensor_named(name).to_oli is None


@pytest.mark.parametrize(
    ("name", "role", "band"),
    [
        ("landsat-5", "red", "B4"),  # TM file B3, catalogued under OLI's number
        ("landsat-8", "swir2", "B7"),
        ("sentinel-2", "nir", "B08"),
        ("sentinel-2", "nir_narrow", "B8A"),
        ("landsat-8", "nir_narrow", "B5"),  # no narrow NIR of its own: its NIR stands in
        ("landsat-2-mss", "nir", "B7"),
        ("landsat-2-mss", "nir1", "B6"),
        ("landsat-2-mss", "blue", None),
    ],
)
def test_band_for_role(name: str, role: str, band: str | None) -> None:
    assert sensor_named(name).band_for(role) == band


def test_substitute_only_when_the_band_is_absent() -> None:
    s2 = sensor_named("sentinel-2")
    assert s2.band_for("nir", ("B04", "B08", "B8A")) == "B08"
    assert s2.band_for("nir", ("B04", "B8A")) == "B8A"


def test_qa_bits_decode_snow_and_water_as_data() -> None:
    qa = sensor_named("landsat-8").qa
    assert qa is not None
    values = np.array([1, 1 << 5, 1 << 7, 1 << 3], dtype=np.uint16)
    assert qa_flags(qa, values, qa.snow).tolist() == [False, True, False, False]
    assert qa_flags(qa, values, qa.water).tolist() == [False, False, True, False]
    assert quality_of(qa, values).valid.tolist() == [False, True, True, True]
    scl = sensor_named("sentinel-2").qa
    assert scl is not None
    assert qa_flags(scl, np.array([6, 11, 9]), scl.water).tolist() == [True, False, False]
    mss = sensor_named("landsat-1-mss").qa
    assert mss is not None and mss.cloud == (3,) and mss.shadow == ()


@pytest.mark.parametrize(
    ("scene_id", "name"),
    [
        ("LM05_L1GS_001001_19850527_20210902_02_T2", "landsat-5-mss"),
        ("LT05_L2SP_090084_19980308_20200909_02_T1", "landsat-5"),
        ("LM10010101972252XXX01", "landsat-1-mss"),
        ("LE07_L1TP_001001_20000527_20210902_02_T1", "landsat-7"),
        ("LC09_L1TP_112081_20220209_20220209_02_T1", "landsat-9"),
        ("LT08_L1TP_112081_20220209_20220209_02_T1", None),  # TIRS only: nothing Scoresby reads
        ("S2A_29RKH_20200219_0_L2A", "sentinel-2"),
        ("my-scene", None),
    ],
)
def test_name_for_id(scene_id: str, name: str | None) -> None:
    assert name_for_id(scene_id) == name


def test_metadata_decides_between_tm_and_mss() -> None:
    assert name_for_metadata("LANDSAT_5", "MSS") == "landsat-5-mss"
    assert name_for_metadata("LANDSAT_5", "TM") == "landsat-5"
    assert name_for_metadata("landsat_2", None) == "landsat-2-mss"
    assert name_for_metadata("LANDSAT_6", "ETM") is None
