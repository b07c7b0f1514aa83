"""The benchmark scene generator at a tiny size: files, dtype, nodata, rotated footprint, MTL keys, cache."""

from __future__ import annotations

import re

import numpy as np
import pytest
import rasterio

from scoresby.demo import fullsize as make_scene

SID = "LC08_L2SP_999999_20200101_20200102_02_T1"


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    params = make_scene.params_for(width=600, height=600, scene_id=SID)
    return make_scene.ensure_scene(params, tmp_path_factory.mktemp("scenes"), log=lambda *_: None)


def test_band_files(scene):
    assert scene.folder.name == SID
    names = sorted(p.name for p in scene.folder.iterdir())
    assert names == sorted([f"{SID}_MTL.txt"] + [f"{SID}_SR_B{b}.TIF" for b in range(2, 8)])
    for path in scene.bands.values():
        with rasterio.open(path) as ds:
            assert (ds.count, ds.width, ds.height) == (1, 600, 600)
            assert ds.dtypes[0] == "uint16"
            assert ds.nodata == 0
            assert ds.crs.to_epsg() == make_scene.DEFAULT_EPSG
            assert ds.res == (30.0, 30.0)
            assert ds.profile["tiled"] and ds.block_shapes[0] == (512, 512)
            assert ds.compression.name.lower() == "deflate"


def test_rotated_footprint(scene):
    with rasterio.open(scene.bands[4]) as ds:
        a = ds.read(1)
    # corners are nodata, the centre is valid, and the valid area is a rotated rectangle, not the full grid
    for y, x in [(0, 0), (0, 599), (599, 0), (599, 599), (5, 5), (594, 594)]:
        assert a[y, x] == 0, (y, x)
    assert (a[250:350, 250:350] > 0).all()
    valid = a > 0
    assert 0.55 < valid.mean() < 0.9
    # rotation: the first valid column differs from row to row (a straight edge would not)
    first = [int(np.argmax(row)) for row in valid[100:500:100]]
    assert len(set(first)) > 1
    # every band has the same footprint
    for path in scene.bands.values():
        with rasterio.open(path) as ds:
            assert ((ds.read(1) > 0) == valid).all()


def test_plausible_reflectance(scene):
    refl = {}
    for b, path in scene.bands.items():
        with rasterio.open(path) as ds:
            dn = ds.read(1, masked=True).astype(np.float64)
        refl[b] = dn * 2.75e-05 - 0.2
        assert -0.2 < refl[b].min() and refl[b].max() < 1.61
    ndvi = (refl[5] - refl[4]) / (refl[5] + refl[4])
    assert np.ma.median(ndvi) > -1 and ndvi.std() > 0.01


def test_mtl_keys(scene):
    text = scene.mtl.read_text()
    l2 = text.split("GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS", 1)[1].split("END_GROUP", 1)[0]
    for b in range(2, 8):
        assert float(re.search(rf"REFLECTANCE_MULT_BAND_{b} = (\S+)", l2).group(1)) == pytest.approx(2.75e-05)
        assert float(re.search(rf"REFLECTANCE_ADD_BAND_{b} = (\S+)", l2).group(1)) == pytest.approx(-0.2)
        assert f'FILE_NAME_BAND_{b} = "{SID}_SR_B{b}.TIF"' in text
    assert 'PROCESSING_LEVEL = "L2SP"' in text
    assert 'SPACECRAFT_ID = "LANDSAT_8"' in text
    assert text.rstrip().endswith("END")


def test_mtl_parses_with_the_worker(scene):
    from scoresby.discovery.landsat_mtl import parse_mtl

    mtl = parse_mtl(scene.mtl.read_text(), is_json=False)
    assert mtl.reflectance_rescaling("L2", 4) == pytest.approx((2.75e-05, -0.2))
    assert mtl.reflectance_rescaling("L1", 4) == pytest.approx((2.0e-05, -0.1))


def test_deterministic_and_cached(scene, tmp_path):
    again = make_scene.ensure_scene(scene.params, scene.folder.parent.parent, log=lambda *_: None)
    assert again.reused
    other = make_scene.ensure_scene(scene.params, tmp_path, log=lambda *_: None)
    assert not other.reused
    for b in scene.bands:
        with rasterio.open(scene.bands[b]) as x, rasterio.open(other.bands[b]) as y:
            assert (x.read(1) == y.read(1)).all()


def test_windows_match_whole_grid():
    """Noise computed for a window equals the same rows of a bigger window (window-by-window generation)."""
    whole = make_scene.fbm(0, 0, 300, 200, 64, 4, 7)
    part = make_scene.fbm(100, 50, 120, 80, 64, 4, 7)
    assert np.allclose(whole[100:220, 50:130], part, atol=1e-6)
