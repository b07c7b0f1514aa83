"""MSS from a STAC Item: the Item's MTL asset gives TOA reflectance, as a scene folder's MTL does.

The Items are the real stactools MSS Items (../shared/data/more-real/mss) with their band and MTL hrefs
pointed at synthetic pixels and the real MTL beside them (a user's local Item may name local files). NDVI
is checked against REFLECTANCE_MULT/ADD_BAND_n read here from the XML with ElementTree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
import rasterio

from scoresby.commands.scene import process_scene
from scoresby.core.errors import UnreadableRaster
from scoresby.core.scene_list import parse_scene
from scoresby.discovery.item_mtl import MAX_MTL_BYTES
from scoresby.discovery.stac_item import discover_item
from scoresby.warnings import PlainDNWarning
from tests.sensors.test_mss import MSS_DIR, file_bands, need_data, reflectance, to_odl, write_scene

ITEMS = sorted(MSS_DIR.glob("*_stac.json")) if MSS_DIR.is_dir() else []
ROOT = Path(__file__).resolve().parents[2]


def item_scene(stac: Path, folder: Path, *, mtl_form: str = "xml") -> tuple[Path, dict[str, Any]]:
    """The real Item rewritten to name synthetic bands in `folder` and one MTL asset (xml or txt) there."""
    mtl = stac.parent / stac.name.replace("_stac.json", "_MTL.xml")
    scene = write_scene(mtl, folder)
    item = json.loads(stac.read_text())
    prefix = scene["id"]
    for key in [k for k in item["assets"] if k.startswith("MTL.")]:
        del item["assets"][key]
    for key, asset in list(item["assets"].items()):
        name = Path(asset["href"]).name
        if name.endswith(".TIF"):
            if not (folder / name).is_file():  # QA_RADSAT: no synthetic file
                del item["assets"][key]
                continue
            asset["href"] = f"./{name}"
            asset.pop("alternate", None)
    if mtl_form == "txt":
        (folder / f"{prefix}_MTL.txt").write_text(to_odl(mtl))
        (folder / f"{prefix}_MTL.xml").unlink()
    item["assets"][f"MTL.{mtl_form}"] = {"href": f"./{prefix}_MTL.{mtl_form}", "roles": ["metadata"]}
    path = folder / f"{prefix}_stac.json"
    path.write_text(json.dumps(item))
    return path, scene


@pytest.mark.parametrize("mtl_form", ["xml", "txt"])
@pytest.mark.parametrize("stac", ITEMS or [Path("<absent>")], ids=lambda p: p.name[:4])
def test_mss_item_makes_toa_ndvi_from_its_mtl_asset(stac: Path, mtl_form: str, tmp_path: Path) -> None:
    need_data()
    path, scene_data = item_scene(stac, tmp_path / "src", mtl_form=mtl_form)
    values = scene_data["values"]
    red_n, nir_n = file_bands(values)[1], file_bands(values)[3]
    files = discover_item(parse_scene({"source": str(path)}))
    assert files.sensor == f"landsat-{int(values['SPACECRAFT_ID'].removeprefix('LANDSAT_'))}-mss"
    assert files.level == "L1" and sorted(files.bands) == ["B4", "B5", "B6", "B7"]
    assert (files.bands["B5"].scale, files.bands["B5"].offset) == (
        float(values[f"REFLECTANCE_MULT_BAND_{red_n}"]),
        float(values[f"REFLECTANCE_ADD_BAND_{red_n}"]),
    )
    assert any("TOA, DN * REFLECTANCE_MULT_BAND_n" in n and f"MTL.{mtl_form}" in n for n in files.notes)
    assert not any("plain DN" in n for n in files.notes)

    scene = parse_scene({"source": str(path), "products": ["ndvi"]})
    result = process_scene(scene, str(tmp_path / "out"), run_name="mss")
    nir, red = reflectance(scene_data, nir_n), reflectance(scene_data, red_n)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = (nir - red) / (nir + red)
    expected[(nir < 0) | (red < 0) | ~np.isfinite(expected)] = np.nan
    with rasterio.open(result.outputs["ndvi"]) as ds:
        ndvi = ds.read(1)
    np.testing.assert_allclose(ndvi, expected.astype(np.float32), rtol=1e-5, atol=1e-6, equal_nan=True)
    assert np.isfinite(ndvi).mean() > 0.9
    item = json.loads(Path(result.stac_item).read_text())
    assert not any("plain DN" in n for n in item["properties"].get("scoresby:notes", []))


def test_an_item_without_an_mtl_asset_stays_plain_dn_with_the_note(tmp_path: Path) -> None:
    need_data()
    path, _ = item_scene(ITEMS[0], tmp_path / "src")
    item = json.loads(path.read_text())
    del item["assets"]["MTL.xml"]
    path.write_text(json.dumps(item))
    with pytest.warns(PlainDNWarning, match="no raster:bands scale, plain DN"):
        files = discover_item(parse_scene({"source": str(path)}))
    assert all((f.scale, f.offset) == (1.0, 0.0) for f in files.bands.values())


def _hostile(tmp_path: Path, href: str, content: bytes | None = None) -> str:
    """discover_item's one-line error for an Item whose MTL asset is `href` (a local file of `content`)."""
    path, scene_data = item_scene(ITEMS[0], tmp_path / "src")
    if content is not None:
        (path.parent / href).write_bytes(content)
    item = json.loads(path.read_text())
    item["assets"]["MTL.xml"]["href"] = href
    path.write_text(json.dumps(item))
    with pytest.raises(UnreadableRaster) as err:
        discover_item(parse_scene({"source": str(path)}))
    message = str(err.value)
    assert "\n" not in message
    return message


def test_an_mtl_asset_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    need_data()
    message = _hostile(tmp_path, "big_MTL.xml", b"<a>" + b" " * MAX_MTL_BYTES + b"</a>")
    assert "more than a metadata file can be" in message and "big_MTL.xml" in message


def s3_item(tmp_path: Path, bucket: str = "mss-test") -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The synthetic MSS Item, its bands and MTL uploaded to moto S3 (s3:// hrefs); the Item's s3:// URI."""
    path, scene_data = item_scene(ITEMS[0], tmp_path / "src")
    item = json.loads(path.read_text())
    client = boto3.client("s3")
    client.create_bucket(Bucket=bucket)
    for asset in item["assets"].values():
        if asset["href"].startswith("./"):
            name = asset["href"].removeprefix("./")
            client.upload_file(str(path.parent / name), bucket, f"mss/{name}")
            asset["href"] = f"s3://{bucket}/mss/{name}"
    return f"s3://{bucket}/mss/item.json", item, scene_data


def test_an_item_from_s3_reads_its_mtl_from_s3(tmp_path: Path, moto_server_env: str) -> None:
    """An Item fetched from S3 (remote provenance): the MTL asset is read from S3 and gives TOA NDVI."""
    need_data()
    uri, item, scene_data = s3_item(tmp_path)
    boto3.client("s3").put_object(Bucket="mss-test", Key="mss/item.json", Body=json.dumps(item).encode())
    values = scene_data["values"]
    red_n, nir_n = file_bands(values)[1], file_bands(values)[3]
    scene = parse_scene({"source": uri, "products": ["ndvi"]})
    result = process_scene(scene, str(tmp_path / "out"), run_name="mss")
    nir, red = reflectance(scene_data, nir_n), reflectance(scene_data, red_n)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = (nir - red) / (nir + red)
    expected[(nir < 0) | (red < 0) | ~np.isfinite(expected)] = np.nan
    with rasterio.open(result.outputs["ndvi"]) as ds:
        np.testing.assert_allclose(
            ds.read(1), expected.astype(np.float32), rtol=1e-5, atol=1e-6, equal_nan=True
        )


@pytest.mark.parametrize(
    "href", ["https://127.0.0.1/MTL.xml", "https://169.254.169.254/latest/MTL.xml", "/etc/MTL.xml"]
)
def test_a_remote_items_mtl_asset_outside_the_allowed_hosts_is_refused(
    href: str, tmp_path: Path, moto_server_env: str
) -> None:
    """An Item from S3 may name only public https:// and s3:// assets: its MTL asset too, before any read."""
    need_data()
    uri, item, _ = s3_item(tmp_path)
    item["assets"]["MTL.xml"]["href"] = href
    boto3.client("s3").put_object(Bucket="mss-test", Key="mss/item.json", Body=json.dumps(item).encode())
    with pytest.raises(UnreadableRaster) as err:
        discover_item(parse_scene({"source": uri}))
    message = str(err.value)
    assert "\n" not in message and "STAC Item asset MTL.xml: href" in message
    assert "cannot read" not in message  # refused by the policy, not by a failed connection


def test_a_file_that_is_not_an_mtl_is_refused_without_quoting_it(tmp_path: Path) -> None:
    need_data()
    message = _hostile(tmp_path, "secret.xml", b"<root>password=hunter2</root>")
    assert "is not an MTL file" in message and "hunter2" not in message
    message = _hostile(tmp_path, "notes_MTL.xml", b"\xff\xfe\x00binary")
    assert "not UTF-8" in message


def test_another_scenes_mtl_is_refused(tmp_path: Path) -> None:
    need_data()
    other = MSS_DIR / "LM02_L1GS_001004_19750411_20200908_02_T2_MTL.xml"
    message = _hostile(tmp_path, "other_MTL.xml", other.read_bytes())
    assert "is the MTL of 'LM02_L1GS_001004_19750411_20200908_02_T2'" in message


def test_cli_reports_a_hostile_mtl_asset_in_one_line(tmp_path: Path) -> None:
    need_data()
    path, _ = item_scene(ITEMS[0], tmp_path / "src")
    item = json.loads(path.read_text())
    (path.parent / "fake_MTL.xml").write_text("<LANDSAT_METADATA_FILE>no groups</LANDSAT_METADATA_FILE>")
    item["assets"]["MTL.xml"]["href"] = "./fake_MTL.xml"
    path.write_text(json.dumps(item))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scoresby.cli",
            "process",
            str(_scene_file(tmp_path, path)),
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=300,
    )
    assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr
    last = proc.stderr.splitlines()[-1]
    assert last.startswith("scoresby: error: ") and "STAC Item asset MTL.xml is not an MTL file" in last
    assert not any((tmp_path / "out").rglob("*.tif")) if (tmp_path / "out").exists() else True


def _scene_file(tmp_path: Path, item: Path) -> Path:
    scene = tmp_path / "scene.json"
    scene.write_text(json.dumps({"source": str(item), "products": ["ndvi"]}))
    return scene


def test_the_real_item_maps_common_names_to_bands(tmp_path: Path) -> None:
    """The real Item without its MTL assets (no network here): bands by common name, plain DN said."""
    need_data()
    item = json.loads(ITEMS[0].read_text())
    item["assets"] = {k: v for k, v in item["assets"].items() if not k.startswith("MTL.")}
    path = tmp_path / ITEMS[0].name
    path.write_text(json.dumps(item))
    with pytest.warns(PlainDNWarning, match="no raster:bands scale, plain DN"):
        files = discover_item(parse_scene({"source": str(path)}))
    assert files.sensor == "landsat-1-mss"
    assert all(f.scale == 1.0 and f.offset == 0.0 for f in files.bands.values())
    assert {b: Path(f.path).name[-6:] for b, f in files.bands.items()} == {
        "B4": "B4.TIF",
        "B5": "B5.TIF",
        "B6": "B6.TIF",
        "B7": "B7.TIF",
    }
