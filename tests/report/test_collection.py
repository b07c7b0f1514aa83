"""collection.json: pystac and odc-stac read it and every Item; a rewrite replaces it whole."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pystac
import pytest
import rasterio

from scoresby.commands.run import run_plan
from scoresby.core.scene_list import parse_scene_list
from scoresby.core.task_log import SUCCEEDED
from scoresby.report.collection import COLLECTION_NAME, build_collection, spatial_extent
from scoresby.stores.run_collection import write_collection
from tests import prerequisites

REPO = Path(__file__).resolve().parents[2]
PEER_PYTHON = REPO / ".venv-peer" / "bin" / "python"
S2_TINY = "sentinel2/S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703"
L8_A = "landsat8/LC08_L2SP_001062_20201031_20201106_02_T2"

PLACE_ITEM: dict[str, Any] = {
    "type": "Feature",
    "stac_version": "1.1.0",
    "id": "composite-2020",
    "geometry": {"type": "Polygon", "coordinates": [[[10, 60], [11, 60], [11, 61], [10, 61], [10, 60]]]},
    "bbox": [10, 60, 11, 61],
    "properties": {
        "datetime": None,
        "start_datetime": "2019-06-01T00:00:00Z",
        "end_datetime": "2019-08-31T23:59:59Z",
        "scoresby:kind": "composite",
    },
    "links": [],
    "assets": {},
}


@pytest.fixture(scope="module")
def run(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real local run of two scenes, with a place product's Item added under places/; the run folder."""
    out = tmp_path_factory.mktemp("collection-run")
    doc = {
        "run_name": "coll",
        "scenes": [
            {"source": str(real_data_dir / S2_TINY), "products": ["true_color", "ndvi"]},
            {"source": str(real_data_dir / L8_A), "products": ["ndvi"]},
        ],
    }
    summary = run_plan(parse_scene_list(doc), str(out), workers=2, progress=False)
    assert summary.counts[SUCCEEDED] == 2
    return Path(summary.run_dir)


def test_pystac_reads_the_collection_and_every_item(run: Path) -> None:
    collection = pystac.Collection.from_file(str(run / COLLECTION_NAME))
    items = list(collection.get_items(recursive=True))
    assert sorted(i.id for i in items) == sorted(p.name for p in run.iterdir() if p.is_dir())
    bbox = collection.extent.spatial.bboxes[0]
    for item in items:
        w, s, e, n = item.bbox
        assert bbox[0] <= w and bbox[1] <= s and bbox[2] >= e and bbox[3] >= n
        assert "proj:code" in item.properties or "proj:wkt2" in item.properties
        for key in ("proj:shape", "proj:transform", "proj:bbox"):
            assert key in item.properties, (item.id, key)
        cogs = {k: a for k, a in item.assets.items() if a.media_type == pystac.MediaType.COG}
        assert cogs, item.id
        for key, asset in cogs.items():
            assert "data" in (asset.roles or [])
            href = asset.get_absolute_href()
            assert href and Path(href).is_file(), (item.id, key)
            with rasterio.open(href) as ds:
                bands = asset.extra_fields["raster:bands"]
                assert [b["data_type"] for b in bands] == list(ds.dtypes)
                assert list(ds.shape) == item.properties["proj:shape"]
        assert any("raster" in ext for ext in item.stac_extensions)
    interval = collection.extent.temporal.intervals[0]
    dates = sorted(i.datetime for i in items if i.datetime)
    assert interval[0] == dates[0] and interval[1] == dates[-1]
    # every link is relative: the folder can be moved or served as it is
    raw = json.loads((run / COLLECTION_NAME).read_text())
    assert all(link["href"].startswith("./") for link in raw["links"])


def test_place_items_are_linked_and_a_rerun_replaces_the_collection_whole(run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "coll"
    shutil.copytree(run, copy)
    place = copy / "places" / "sund" / "composite-2020.json"
    place.parent.mkdir(parents=True)
    place.write_text(json.dumps(PLACE_ITEM))
    (copy / "places" / "sund" / "notes.json").write_text('{"not": "an item"}')
    before = (copy / COLLECTION_NAME).read_text()
    _, items = write_collection("coll", str(copy))
    after = json.loads((copy / COLLECTION_NAME).read_text())
    hrefs = [link["href"] for link in after["links"] if link["rel"] == "item"]
    assert "./places/sund/composite-2020.json" in hrefs and len(hrefs) == len(items) == 3
    assert after["extent"]["temporal"]["interval"][0][0] == "2019-06-01T00:00:00Z"
    assert pystac.Collection.from_file(str(copy / COLLECTION_NAME)).get_item("composite-2020", recursive=True)
    assert before != json.dumps(after)
    assert not list(copy.glob(".*.tmp"))


def test_a_failed_write_leaves_the_previous_collection(run: Path, tmp_path: Path, monkeypatch: Any) -> None:
    copy = tmp_path / "coll"
    shutil.copytree(run, copy)
    before = (copy / COLLECTION_NAME).read_bytes()

    def fail(self: Path, target: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_collection("coll", str(copy))
    assert (copy / COLLECTION_NAME).read_bytes() == before
    assert not list(copy.glob(".*.tmp"))


def test_extents_across_the_antimeridian_and_without_items() -> None:
    assert spatial_extent([[170.0, -20.0, -170.0, -10.0], [10.0, 0.0, 11.0, 1.0]]) == [
        -180.0,
        -20.0,
        180.0,
        1.0,
    ]
    empty = build_collection("r", [])
    assert empty["extent"]["temporal"]["interval"] == [[None, None]]
    assert pystac.Collection.from_dict(empty).id == "r"


def test_odc_stac_loads_the_same_pixels_as_the_cogs(run: Path) -> None:
    if not PEER_PYTHON.is_file():
        prerequisites.missing("the peer environment .venv-peer is missing (`make peer-env` creates it)")
    proc = subprocess.run(
        [str(PEER_PYTHON), str(REPO / "bench" / "peer_load.py"), str(run / COLLECTION_NAME)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == 3  # true_color and ndvi of the Sentinel-2 scene, ndvi of the Landsat one
    assert all(line["same"] for line in lines), lines
