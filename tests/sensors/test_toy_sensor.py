"""A sensor defined in this file alone runs end to end through `process`: no other module knows it.

"Toysat" writes one GeoTIFF per band named by its role; DN / 1000 is its reflectance. Registering the sensor
is the whole change: discovery, products, statistics, place key and the STAC Item all come from it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS

import scoresby
from scoresby.commands.scene import process_scene
from scoresby.core.errors import MissingRole
from scoresby.core.scene_list import parse_scene
from scoresby.sensors import QaBits, Sensor, register, sensor_names, unregister

TOYSAT = Sensor(
    key="toysat",
    title="Toysat imager",
    names=("toysat-1",),
    constellation="toysat",
    instruments=("toycam",),
    roles={"blue": "blue", "green": "green", "red": "red", "nir": "nir"},
    max_pixels=1000 * 1000,
    full_scene_px=1000 * 1000,
    # Quality as classes: 0 fill, 2 cloud.
    qa=QaBits(band="QA", kind="classes", nodata=0, fill=(0,), cloud=(2,)),
    id_name=lambda scene_id: "toysat-1" if scene_id.startswith("TOY_") else None,
    place_key=lambda scene_id: f"toy-{m[1]}" if (m := re.match(r"^TOY_(\d{3})_", scene_id)) else None,
    band_file=re.compile(r"^toy_(?P<band>blue|green|red|nir|QA)\.tif$"),
    rescaling=(0.001, 0.0),
)
SCENE_ID = "TOY_042_20240601"
SIZE = 24


@pytest.fixture
def toysat() -> Iterator[Sensor]:
    """Toysat registered for one test."""
    register(TOYSAT)
    yield TOYSAT
    unregister(TOYSAT.key)


def write_toy_scene(folder: Path) -> dict[str, np.ndarray]:
    """Four uint16 bands (DN 0 is fill) on a small UTM grid; returns the DN by role."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(7)
    profile = {
        "driver": "GTiff",
        "width": SIZE,
        "height": SIZE,
        "count": 1,
        "dtype": "uint16",
        "crs": CRS.from_epsg(32633),
        "transform": Affine(10.0, 0, 500_000, 0, -10.0, 6_000_000),
    }
    qa = np.ones((SIZE, SIZE), dtype=np.uint16)  # class 1: clear
    qa[0, 0] = 0  # fill
    qa[10:13, 10:14] = 2  # cloud: 12 pixels
    with rasterio.open(folder / "toy_QA.tif", "w", **profile) as ds:
        ds.write(qa, 1)
    dn = {}
    for role in ("blue", "green", "red", "nir"):
        data = rng.integers(20, 900, size=(SIZE, SIZE), dtype=np.uint16)
        data[0, 0] = 0
        dn[role] = data
        with rasterio.open(folder / f"toy_{role}.tif", "w", **profile) as ds:
            ds.write(data, 1)
    return dn


def test_toy_sensor_runs_end_to_end(toysat: Sensor, tmp_path: Path) -> None:
    assert "toysat-1" in sensor_names()
    dn = write_toy_scene(tmp_path / SCENE_ID)
    scene = parse_scene(
        {"source": str(tmp_path / SCENE_ID), "products": ["true_color", "ndvi", "evi", "savi", "band_merge"]}
    )
    result = process_scene(scene, str(tmp_path / "out"), run_name="toy")
    n, r, b = (dn[k].astype(np.float64) / 1000 for k in ("nir", "red", "blue"))
    fill = dn["red"] == 0
    with np.errstate(invalid="ignore", divide="ignore"):  # the fill pixel: 0 / 0
        expected = {
            "ndvi": (n - r) / (n + r),
            "evi": 2.5 * (n - r) / (n + 6 * r - 7.5 * b + 1),
            "savi": 1.5 * (n - r) / (n + r + 0.5),
        }
    for product, values in expected.items():
        values[fill] = np.nan
        with rasterio.open(result.outputs[product]) as ds:
            np.testing.assert_allclose(
                ds.read(1), values.astype(np.float32), rtol=1e-4, atol=1e-5, equal_nan=True
            )
    with rasterio.open(result.outputs["band_merge"]) as ds:
        assert list(ds.descriptions) == ["red", "green", "blue"]
        np.testing.assert_array_equal(ds.read(1)[~fill], dn["red"][~fill])
    item = json.loads(Path(result.stac_item).read_text())["properties"]
    assert item["platform"] == "toysat-1" and item["constellation"] == "toysat"
    assert item["instruments"] == ["toycam"] and item["scoresby:place"] == "toy-042"
    assert item["scoresby:stats"]["ndvi_mean"] is None  # no SWIR1 role: no reflectance statistics
    # Its quality band, decoded by its QaBits (classes): 12 cloud pixels of the valid ones.
    assert item["scoresby:stats"]["quality_band"] == "QA"
    assert item["scoresby:stats"]["cloud_percent"] == pytest.approx(100 * 12 / (SIZE * SIZE - 1), abs=1e-3)


def test_toy_sensor_through_the_public_api(toysat: Sensor, tmp_path: Path) -> None:
    write_toy_scene(tmp_path / SCENE_ID)
    result = scoresby.process(str(tmp_path / SCENE_ID), str(tmp_path / "out"), products=["ndvi"])
    assert Path(result.outputs["ndvi"]).is_file()


def test_toy_sensor_refuses_a_product_naming_the_role(toysat: Sensor, tmp_path: Path) -> None:
    write_toy_scene(tmp_path / SCENE_ID)
    scene = parse_scene({"source": str(tmp_path / SCENE_ID), "products": ["nbr"]})
    with pytest.raises(MissingRole, match=r"product 'nbr' needs role 'swir2', which Toysat imager"):
        process_scene(scene, str(tmp_path / "out"), run_name="toy")
