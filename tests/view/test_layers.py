"""layers.json: a layer per COG asset of any Item (scene or place product), only files inside the run."""

from __future__ import annotations

from typing import Any

from scoresby.view.layers import COG_TYPE, item_layers


def place_item(**assets: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": "sund-composite-2020",
        "bbox": [-27.0, 70.2, -24.5, 71.2],
        "geometry": None,
        "properties": {
            "datetime": None,
            "start_datetime": "2020-06-01T00:00:00Z",
            "end_datetime": "2020-08-31T23:59:59Z",
            "scoresby:kind": "composite",
            "scoresby:place": "aoi-sund",
            "proj:code": "EPSG:32626",
            "proj:shape": [100, 200],
            "proj:transform": [30.0, 0.0, 500000.0, 0.0, -30.0, 7800000.0],
        },
        "links": [],
        "assets": {
            key: {"href": href, "type": COG_TYPE, "raster:bands": [{"data_type": "float32", "nodata": "nan"}]}
            for key, href in assets.items()
        },
    }


def test_a_place_products_cogs_are_layers_of_its_kind_and_date() -> None:
    item = place_item(
        ndsi="./sund-composite-2020_ndsi.tif",
        outside="../../../etc/x.tif",
        remote="https://example.com/x.tif",
        rooted="/etc/x.tif",
    )
    item["assets"]["quicklook"] = {"href": "./q.png", "type": "image/png"}
    (layer,) = item_layers("places/sund/sund-composite-2020.json", item)
    assert layer["href"] == "places/sund/sund-composite-2020_ndsi.tif"
    assert layer["kind"] == "composite" and layer["date"] == "2020-08-31" and layer["place"] == "aoi-sund"
    assert layer["crs"] == "EPSG:32626" and "+zone=26" in layer["proj4"]
    assert layer["extent"] == [500000.0, 7797000.0, 506000.0, 7800000.0]
    assert layer["legend"]["type"] == "ramp" and layer["legend"]["name"] == "RdBu"


def test_an_item_without_a_grid_or_crs_draws_nothing() -> None:
    item = place_item(ndsi="./a.tif")
    del item["properties"]["proj:transform"]
    assert item_layers("x/a.json", item) == []
    item = place_item(ndsi="./a.tif")
    item["properties"]["proj:code"] = "EPSG:999999"
    assert item_layers("x/a.json", item) == []
