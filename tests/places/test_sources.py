"""Place composites from STAC Items (a real Earth Search Item's shape, hrefs made local) equal those made
from the same scenes' folders, value for value."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import rasterio

from scoresby.core.scene_list import parse_scene
from scoresby.places.build import build_place_products
from tests.places import synth
from tests.stac_server import REAL_ITEMS

# Earth Search's landsat-c2-l2 asset keys and the Collection 2 file each names.
ASSETS = {"blue": "SR_B2", "green": "SR_B3", "red": "SR_B4", "nir08": "SR_B5", "swir16": "SR_B6"}
ASSETS |= {"swir22": "SR_B7", "qa_pixel": "QA_PIXEL"}


def _item(template: dict, made: synth.Synth, folder: Path) -> Path:
    """The template Item with this scene's id, date and local band files (scale/offset from raster:bands)."""
    item = copy.deepcopy(template)
    item["id"] = made.scene_id
    item["properties"]["datetime"] = f"{made.day.isoformat()}T13:00:00Z"
    item["assets"] = {
        key: {**template["assets"][key], "href": str(made.folder / f"{made.scene_id}_{name}.TIF")}
        for key, name in ASSETS.items()
    }
    path = folder / f"{made.scene_id}.json"
    path.write_text(json.dumps(item), encoding="utf-8")
    return path


def test_stac_items_make_the_same_composites_as_folders(tmp_path: Path) -> None:
    aoi, made = synth.write_place(tmp_path / "scenes", years=(2002, 2003))
    made = [s for s in made if s.sensor == "landsat-8"]
    template = json.loads((REAL_ITEMS / "landsat-c2-l2__LC08_L2SP_033032_20231008_02_T1.json").read_text())
    (tmp_path / "items").mkdir()
    items = [_item(template, s, tmp_path / "items") for s in made]
    options = {"period": "year", "months": [7, 8, 9]}
    products = ["ndvi", "ndsi"]
    from_items = [parse_scene({"source": str(p), "aoi": aoi, "products": products}) for p in items]
    from_folders = [
        parse_scene({"scene_id": s.scene_id, "source": str(s.folder), "aoi": aoi, "products": products})
        for s in made
    ]
    a = build_place_products(from_items, options, tmp_path / "a")
    b = build_place_products(from_folders, options, tmp_path / "b")
    expected = ["aoi-synth_change_2002_2003", "aoi-synth_composite_2002", "aoi-synth_composite_2003"]
    assert sorted(a.made) == sorted(b.made) == expected
    for item_id in expected:
        props = a.items[item_id]["properties"]
        assert props.get("scoresby:scenes") == b.items[item_id]["properties"].get("scoresby:scenes")
        cogs = {k: v for k, v in a.items[item_id]["assets"].items() if v["href"].endswith(".tif")}
        assert len(cogs) >= 3
        for key, asset in cogs.items():
            with (
                rasterio.open(tmp_path / "a" / "places" / "aoi-synth" / item_id / asset["href"]) as x,
                rasterio.open(tmp_path / "b" / "places" / "aoi-synth" / item_id / asset["href"]) as y,
            ):
                assert np.array_equal(x.read(), y.read(), equal_nan=True), (item_id, key)
