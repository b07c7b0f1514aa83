"""S3 in and out: a scene read through /vsis3/ and published to s3:// on a moto server subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from scoresby.commands.scene import process_scene
from scoresby.core.errors import OutputError, UnreadableRaster
from scoresby.core.scene_list import Scene, parse_scene
from scoresby.demo.gradient import SCENE_ID, write_landsat_l2_scene
from scoresby.raster import builder as scene_products

pytestmark = pytest.mark.slow

PRODUCTS = ["true_color", "ndvi"]


def _keys(client: object, bucket: str, prefix: str) -> set[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)  # type: ignore[attr-defined]
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


@pytest.fixture
def s3_scene(moto_server_env: str, tmp_path: Path) -> str:
    """A small synthetic Landsat C2 L2 scene uploaded to s3://scoresby-in/scenes/<id>/; returns its prefix."""
    folder = write_landsat_l2_scene(tmp_path / "src" / SCENE_ID, width=700, height=600)
    client = boto3.client("s3")
    for bucket in ("scoresby-in", "scoresby-out"):
        client.create_bucket(Bucket=bucket)
    for path in folder.iterdir():
        client.upload_file(str(path), "scoresby-in", f"scenes/{SCENE_ID}/{path.name}")
    return f"s3://scoresby-in/scenes/{SCENE_ID}/"


def test_vsis3_input_and_s3_output(s3_scene: str, tmp_path: Path) -> None:
    scene = parse_scene({"scene_id": SCENE_ID, "source": s3_scene, "products": PRODUCTS})
    result = process_scene(scene, "s3://scoresby-out/products", run_name="r1")

    base = f"products/r1/{SCENE_ID}/{SCENE_ID}"
    expected = {f"{base}.json"} | {
        f"{base}_{p}{suffix}" for p in PRODUCTS for suffix in (".tif", ".png", "_hist.png")
    }
    client = boto3.client("s3")
    assert _keys(client, "scoresby-out", "products/r1/") == expected
    assert result.outputs == {p: f"s3://scoresby-out/{base}_{p}.tif" for p in PRODUCTS}
    assert sorted(result.files) == sorted(f"s3://scoresby-out/{k}" for k in expected)
    assert result.stac_item == f"s3://scoresby-out/{base}.json"
    assert not result.skipped

    local = tmp_path / "tc.tif"
    client.download_file("scoresby-out", f"{base}_true_color.tif", str(local))
    valid, errors, _ = cog_validate(str(local))
    assert valid, errors
    with rasterio.open(local) as ds:
        assert (ds.count, ds.dtypes[0], ds.nodata, (ds.width, ds.height)) == (3, "uint8", 0, (700, 600))
        assert ds.overviews(1)
    # The published COG is readable in place through GDAL's /vsis3/ as well.
    with rasterio.Env(), rasterio.open(f"/vsis3/scoresby-out/{base}_ndvi.tif") as ds:
        ndvi = ds.read(1)
        assert ds.dtypes[0] == "float32"
    finite = ndvi[~(ndvi != ndvi)]
    assert finite.size > 0.4 * ndvi.size and finite.min() >= -1 and finite.max() <= 1

    item = json.loads(client.get_object(Bucket="scoresby-out", Key=f"{base}.json")["Body"].read())
    assert item["id"] == SCENE_ID
    assert set(item["assets"]) == {f"{p}{s}" for p in PRODUCTS for s in ("", "_quicklook", "_histogram")}

    again = process_scene(scene, "s3://scoresby-out/products", run_name="r1")
    assert again.skipped and again.outputs == result.outputs


def test_failure_mid_scene_publishes_nothing_to_s3(s3_scene: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write_cog = scene_products.cog.write_cog

    def failing_write_cog(src: Path, dst: Path) -> None:
        if dst.name.endswith("_ndvi.tif"):
            raise OSError("disk full (simulated)")
        real_write_cog(src, dst)

    monkeypatch.setattr(scene_products.cog, "write_cog", failing_write_cog)
    scene = parse_scene({"scene_id": SCENE_ID, "source": s3_scene, "products": PRODUCTS})
    with pytest.raises(OSError, match="simulated"):
        process_scene(scene, "s3://scoresby-out/products", run_name="r2")
    assert _keys(boto3.client("s3"), "scoresby-out", "products/r2/") == set()


def test_unwritable_bucket_is_an_output_error(s3_scene: str) -> None:
    scene = parse_scene({"scene_id": SCENE_ID, "source": s3_scene, "products": ["true_color"]})
    with pytest.raises(OutputError, match=f"scene {SCENE_ID}: cannot write s3://no-such-bucket/"):
        process_scene(scene, "s3://no-such-bucket/out", run_name="r3")


def test_plain_http_band_files_are_never_opened(static_http_server: tuple[str, Path], tmp_path: Path) -> None:
    """http:// (built directly, past the scene-list check) never reaches GDAL: https only."""
    base_url, root = static_http_server
    write_landsat_l2_scene(root / SCENE_ID, width=300, height=280, bands=("B4", "B5"))
    scene = Scene(scene_id=SCENE_ID, source=f"{base_url}/{SCENE_ID}/", products=("ndvi",))
    with pytest.raises(UnreadableRaster, match="is a GDAL virtual path or connection string"):
        process_scene(scene, str(tmp_path / "out"), run_name="h")
    assert not (tmp_path / "out").exists()
