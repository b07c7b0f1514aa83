"""A small run folder for the server tests, and the glacier series run for the browser tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from scoresby.commands.run import run_plan
from scoresby.core.scene_list import load_scene_list
from scoresby.demo import glacier
from scoresby.stores.run_collection import write_collection


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """<out>/r: one Item with a tiny float COG, collection.json; beside it <out>/secret.txt."""
    out = tmp_path_factory.mktemp("view-out")
    (out / "secret.txt").write_text("SECRET outside the run")
    run = out / "r"
    scene = run / "s1"
    scene.mkdir(parents=True)
    data = np.arange(64 * 64, dtype=np.float32).reshape(64, 64) / 4096
    profile = {
        "driver": "GTiff",
        "width": 64,
        "height": 64,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:32624",
        "transform": from_origin(500000, 7900000, 30, 30),
        "nodata": float("nan"),
    }
    with rasterio.open(scene / "s1_ndsi.tif", "w", **profile) as ds:
        ds.write(data, 1)
    item = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": [],
        "id": "s1",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[-21, 71.2], [-20.9, 71.2], [-20.9, 71.25], [-21, 71.25], [-21, 71.2]]],
        },
        "bbox": [-21, 71.2, -20.9, 71.25],
        "properties": {
            "datetime": "2020-08-15T13:00:00Z",
            "proj:code": "EPSG:32624",
            "proj:shape": [64, 64],
            "proj:transform": [30, 0, 500000, 0, -30, 7900000],
            "proj:bbox": [500000, 7898080, 501920, 7900000],
        },
        "links": [],
        "assets": {
            "ndsi": {
                "href": "./s1_ndsi.tif",
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "roles": ["data"],
                "raster:bands": [{"data_type": "float32", "nodata": "nan"}],
            },
        },
    }
    (scene / "s1.json").write_text(json.dumps(item))
    write_collection("r", str(run))
    (run / ".scoresby-hidden.json").write_text("{}")
    (scene / "escape.txt").symlink_to(out / "secret.txt")
    (scene / "inside.json").symlink_to(scene / "s1.json")
    return run


@pytest.fixture(scope="session")
def glacier_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo glacier series (six dates, one grid), run with true_color and ndsi; the run folder."""
    root = tmp_path_factory.mktemp("view-glacier")
    scenes_json, _ = glacier.write_series(root)
    doc = json.loads(scenes_json.read_text())
    doc["products"] = ["true_color", "ndsi"]
    scenes_json.write_text(json.dumps(doc))
    summary = run_plan(load_scene_list(str(scenes_json)), str(root), workers=2, progress=False)
    assert summary.exit_code == 0, summary.failed
    return Path(summary.run_dir)
