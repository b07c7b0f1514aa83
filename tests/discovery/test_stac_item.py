"""STAC Items as scene sources: real Earth Search items pointed at real band files, end to end."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
import rasterio

from scoresby.commands.scene import process_scene
from scoresby.core.scene_list import parse_scene
from scoresby.discovery import sources, stac_item
from scoresby.discovery.discover import discover_scene
from tests.stac_server import REAL_ITEMS, StacServer

L8_ID = "LC08_L2SP_001062_20201031_20201106_02_T2"
S2_ID = "S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703"
L8_ITEM = REAL_ITEMS / "landsat-c2-l2__LC08_L2SP_033032_20231008_02_T1.json"
S2_ITEM = REAL_ITEMS / "sentinel-2-l2a__S2B_24MUV_20250731_0_L2A.json"
L8_BANDS = {
    "coastal": "B1",
    "blue": "B2",
    "green": "B3",
    "red": "B4",
    "nir08": "B5",
    "swir16": "B6",
    "swir22": "B7",
}
S2_BANDS = {
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "nir": "B08",
    "nir08": "B8A",
    "swir16": "B11",
    "swir22": "B12",
    "scl": "SCL",
}


def landsat_item(real_data_dir: Path, folder: Path, *, item_id: str = L8_ID) -> dict[str, Any]:
    """The real Earth Search Landsat item, its band assets pointed at the real L8 sample by relative hrefs."""
    item = copy.deepcopy(json.loads(L8_ITEM.read_text()))
    src = real_data_dir / "landsat8" / L8_ID
    folder.mkdir(parents=True, exist_ok=True)
    item["id"] = item_id
    item["links"] = []
    for key, band in L8_BANDS.items():
        name = f"{L8_ID}_SR_{band}.TIF"
        shutil.copy(src / name, folder / name)
        item["assets"][key]["href"] = f"./{name}"
    shutil.copy(src / f"{L8_ID}_QA_PIXEL.TIF", folder / "qa.tif")
    item["assets"]["qa_pixel"]["href"] = "./qa.tif"
    item["assets"] = {k: v for k, v in item["assets"].items() if k in {*L8_BANDS, "qa_pixel"}}
    return item


def sentinel2_item(real_data_dir: Path) -> dict[str, Any]:
    """The real Earth Search S2 L2A item (baseline 05.11, offset -0.1) pointed at the real N0400 sample."""
    item = copy.deepcopy(json.loads(S2_ITEM.read_text()))
    src = real_data_dir / "sentinel2" / S2_ID
    item["id"] = "S2B_01UBT_20230122_0_L2A"
    item["links"] = []
    for key, band in S2_BANDS.items():
        res = "10m" if band in ("B02", "B03", "B04", "B08") else "20m"
        item["assets"][key]["href"] = str(src / f"T01UBT_20230122T231849_{band}_{res}.tif")
    item["assets"] = {k: v for k, v in item["assets"].items() if k in S2_BANDS}
    return item


def read(path: str) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(1)


def test_static_catalog_item_with_relative_hrefs(real_data_dir: Path, tmp_path: Path) -> None:
    item_path = tmp_path / "catalog" / "item.json"
    item = landsat_item(real_data_dir, item_path.parent)
    item_path.write_text(json.dumps(item))
    files = discover_scene(parse_scene({"source": str(item_path)}))
    assert files.sensor == "landsat-8" and files.level == "L2"
    assert set(files.bands) == set(L8_BANDS.values())
    assert files.quality is not None and files.quality.band == "QA_PIXEL"
    assert files.quality.path == str(item_path.parent / "qa.tif")
    assert files.bands["B4"].path == str(item_path.parent / f"{L8_ID}_SR_B4.TIF")
    assert (files.bands["B4"].scale, files.bands["B4"].offset) == (2.75e-05, -0.2)  # from raster:bands

    result = process_scene(
        parse_scene({"scene_id": L8_ID, "source": str(item_path), "products": ["ndvi"]}),
        str(tmp_path / "out"),
        run_name="r",
    )
    red = read(str(real_data_dir / "landsat8" / L8_ID / f"{L8_ID}_SR_B4.TIF")).astype(np.float64)
    nir = read(str(real_data_dir / "landsat8" / L8_ID / f"{L8_ID}_SR_B5.TIF")).astype(np.float64)
    r, n = red * 2.75e-05 - 0.2, nir * 2.75e-05 - 0.2
    valid = (red > 0) & (nir > 0) & (r >= 0) & (n >= 0)
    ndvi = read(result.outputs["ndvi"])
    assert np.isnan(ndvi[~valid]).all()
    np.testing.assert_allclose(ndvi[valid], ((n - r) / (n + r))[valid], atol=1e-5)
    stac = json.loads(Path(result.stac_item).read_text())
    assert {"rel": "derived_from", "href": str(item_path), "type": "application/geo+json"} in stac["links"]


def test_local_files_are_read_without_looking_for_aws_credentials(
    real_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local folder or an Item naming local files asks for no AWS credentials: looking builds a boto3
    session and, off EC2, waits out instance-metadata timeouts on every run. An S3 file still asks."""

    def looked() -> bool:
        raise AssertionError("looked for AWS credentials")

    monkeypatch.delenv("AWS_NO_SIGN_REQUEST", raising=False)
    monkeypatch.setattr(sources, "aws_credentials_available", looked)
    monkeypatch.setattr(stac_item, "aws_credentials_available", looked)
    item_path = tmp_path / "catalog" / "item.json"
    item_path.write_text(json.dumps(landsat_item(real_data_dir, item_path.parent)))
    for source in (str(item_path), str(real_data_dir / "landsat8" / L8_ID)):
        files = discover_scene(parse_scene({"scene_id": L8_ID, "source": source}))
        assert files.bands["B4"].path.startswith("/") and "AWS_NO_SIGN_REQUEST" not in files.gdal_env
        assert files.gdal_env["AWS_REQUEST_PAYER"] == "requester"  # the other options as for any scene
    monkeypatch.setattr(sources, "aws_credentials_available", lambda: False)
    assert sources.gdal_env_options(["/tmp/a.tif", "/vsis3/bucket/a.tif"])["AWS_NO_SIGN_REQUEST"] == "YES"
    assert sources.gdal_env_options()["AWS_NO_SIGN_REQUEST"] == "YES"  # files not named: any may be on S3


def test_sentinel2_offset_from_raster_bands_is_applied_once(real_data_dir: Path, tmp_path: Path) -> None:
    item = sentinel2_item(real_data_dir)
    scene = parse_scene({"item": item, "products": ["ndvi"]})
    assert scene.scene_id == item["id"] and scene.source == f"item:{item['id']}"
    result = process_scene(scene, str(tmp_path / "out"), run_name="r")
    src = real_data_dir / "sentinel2" / S2_ID
    red = read(str(src / "T01UBT_20230122T231849_B04_10m.tif")).astype(np.float64)
    nir = read(str(src / "T01UBT_20230122T231849_B08_10m.tif")).astype(np.float64)
    # Earth Search: reflectance = DN * 0.0001 - 0.1 (the baseline-04.00 shift of +1000 DN, removed once).
    r, n = red * 1e-4 - 0.1, nir * 1e-4 - 0.1
    valid = (red > 0) & (nir > 0) & (r >= 0) & (n >= 0)
    ndvi = read(result.outputs["ndvi"])
    assert valid.sum() > 1000
    np.testing.assert_allclose(ndvi[valid], ((n - r) / (n + r))[valid], atol=1e-5)
    twice = ((n - 0.1) - (r - 0.1)) / ((n - 0.1) + (r - 0.1))
    assert not np.allclose(ndvi[valid], twice[valid], atol=1e-3)  # an offset applied twice would show


def test_s3_hrefs_read_through_vsis3_requester_pays(
    real_data_dir: Path, tmp_path: Path, moto_server_env: str
) -> None:
    item = landsat_item(real_data_dir, tmp_path / "files", item_id="LC08_L2SP_001062_20201031_20201106_02_T2")
    client = boto3.client("s3")
    client.create_bucket(Bucket="usgs-landsat-test")
    client.put_bucket_request_payment(
        Bucket="usgs-landsat-test", RequestPaymentConfiguration={"Payer": "Requester"}
    )
    for asset in item["assets"].values():
        name = asset["href"].removeprefix("./")
        client.upload_file(str(tmp_path / "files" / name), "usgs-landsat-test", f"c2/{name}")
        # Earth Search's shape: an https href, the s3:// one as `alternate` (preferred by Scoresby).
        asset["href"] = f"https://usgs-landsat-test.s3.us-west-2.amazonaws.com/c2/{name}"
        asset["alternate"] = {"s3": {"href": f"s3://usgs-landsat-test/c2/{name}"}}
    client.put_object(Bucket="usgs-landsat-test", Key="c2/item.json", Body=json.dumps(item).encode())
    scene = parse_scene({"source": "s3://usgs-landsat-test/c2/item.json", "products": ["ndvi", "true_color"]})
    files = discover_scene(scene)
    assert files.bands["B4"].path == f"/vsis3/usgs-landsat-test/c2/{L8_ID}_SR_B4.TIF"
    result = process_scene(scene, str(tmp_path / "out"), run_name="r")
    assert np.isfinite(read(result.outputs["ndvi"])).any()


def test_bad_asset_hrefs_are_refused(tmp_path: Path, real_data_dir: Path) -> None:
    from scoresby.core.errors import UnreadableRaster

    item = landsat_item(real_data_dir, tmp_path / "f")
    for asset in item["assets"].values():
        asset["href"] = str(tmp_path / "f" / asset["href"].removeprefix("./"))
    item["assets"]["red"]["href"] = "http://169.254.169.254/latest/meta-data/x.tif"
    with pytest.raises(UnreadableRaster, match="has scheme 'http'; allowed: s3://, https:// or a file"):
        discover_scene(parse_scene({"item": item}))
    item["assets"]["red"]["href"] = "/vsicurl/http://example.com/b4.tif"
    with pytest.raises(UnreadableRaster, match="is a GDAL path"):
        discover_scene(parse_scene({"item": item}))


@pytest.mark.slow
def test_search_then_run_end_to_end(
    stac_api: StacServer, real_data_dir: Path, tmp_path: Path, moto_server_env: str
) -> None:
    """Items in the STAC API whose assets are real band files in S3: `scoresby search` -> `scoresby run`."""
    import boto3

    item = landsat_item(real_data_dir, tmp_path / "files", item_id="LC08_L2SP_001062_20201031_02_T2")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="scoresby-e2e-bands")
    # s3:// hrefs: an Item from a STAC API may name only remote assets (core/href_policy.py)
    for asset in item["assets"].values():
        name = asset["href"].removeprefix("./")
        s3.upload_file(str(tmp_path / "files" / name), "scoresby-e2e-bands", f"{item['id']}/{name}")
        asset["href"] = f"s3://scoresby-e2e-bands/{item['id']}/{name}"
    item["collection"] = "scoresby-e2e"
    item["properties"]["datetime"] = "2020-10-31T14:00:00Z"
    stac_api.add([item])
    scenes = tmp_path / "scenes.json"
    cli = [sys.executable, "-m", "scoresby.cli"]
    found = subprocess.run(
        [
            *cli,
            "search",
            "--stac",
            stac_api.url,
            "--collection",
            "scoresby-e2e",
            "--bbox",
            "-180,-90,180,90",
            "--datetime",
            "2020-01-01/2020-12-31",
            "--products",
            "ndvi",
            "-o",
            str(scenes),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert found.returncode == 0, found.stderr
    ran = subprocess.run(
        [*cli, "run", str(scenes), "--output", str(tmp_path / "out"), "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    out = tmp_path / "out" / json.loads(scenes.read_text()).get("run_name", "")
    cogs = list((tmp_path / "out").rglob(f"{item['id']}_ndvi.tif"))
    assert len(cogs) == 1 and np.isfinite(read(str(cogs[0]))).any(), out

    # The same search as a `search` block in a scene list, expanded when the run is planned.
    block = {
        "run_name": "watch-like",
        "products": ["ndvi"],
        "search": {
            "stac": stac_api.url,
            "collections": ["scoresby-e2e"],
            "bbox": [-180, -90, 180, 90],
            "datetime": "2020-01-01/..",
        },
    }
    (tmp_path / "block.json").write_text(json.dumps(block))
    ran = subprocess.run(
        [*cli, "run", str(tmp_path / "block.json"), "--output", str(tmp_path / "out2")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "out2" / "watch-like" / item["id"] / f"{item['id']}_ndvi.tif").is_file()


def test_cog_assets_win_over_their_jp2_copies(real_data_dir: Path) -> None:
    item = sentinel2_item(real_data_dir)
    cog = item["assets"]["red"]["href"]
    item["assets"] = {
        "red-jp2": {**item["assets"]["red"], "href": "s3://sentinel-s2-l2a/tiles/B04.jp2"},
        **item["assets"],
    }
    files = discover_scene(parse_scene({"item": item}))
    assert files.bands["B04"].path == cog
