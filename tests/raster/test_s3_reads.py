"""S3 reads that suit object storage: bytes and GETs of a scene read from moto through a counting proxy.

The counts are deterministic (no timing): every band tile is fetched once, in few large requests. The
benchmark (bench/s3_bench.py) measures the same on the full-size scene, and the time under added latency.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from bench.s3_proxy import CountingProxy, Traffic
from scoresby.commands.scene import process_scene
from scoresby.core.scene_list import parse_scene
from scoresby.demo import fullsize

pytestmark = pytest.mark.slow


BUCKET = "scoresby-s3-reads"
MiB = 2**20
WIDTH, HEIGHT = 6144, 2048
"""Six uint16 bands of ~6.5 MiB; a row of 1024 tiles of all six (72 MiB decoded) exceeds the block cache."""


def _retile(folder: Path, out: Path, **layout: object) -> Path:
    """A copy of the scene whose band files have another block layout (GTiff creation options)."""
    import rasterio.shutil

    out.mkdir(parents=True, exist_ok=True)
    for p in folder.iterdir():
        if p.suffix == ".TIF":
            rasterio.shutil.copy(p, out / p.name, driver="GTiff", **layout)
        else:
            (out / p.name).write_bytes(p.read_bytes())
    return out


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The benchmark scene's generator at WIDTH x HEIGHT: 512 tiles (as USGS's Landsat COGs), retiled to
    1024 (Sentinel-2 COGs), and in 8-row uncompressed strips (as the real Landsat fixtures here are)."""
    root = tmp_path_factory.mktemp("scenes")
    params = fullsize.params_for(width=WIDTH, height=HEIGHT)
    scene = fullsize.ensure_scene(params, root, log=lambda *_: None)
    tiles_1024 = {
        "tiled": True,
        "blockxsize": 1024,
        "blockysize": 1024,
        "compress": "deflate",
        "predictor": 2,
    }
    return {
        "tiles-512": scene.folder,
        "tiles-1024": _retile(scene.folder, root / "t1024" / scene.scene_id, **tiles_1024),
        "strips-8": _retile(scene.folder, root / "s8" / scene.scene_id, tiled=False, blockysize=8),
    }


def read_through_proxy(folder: Path, prefix: str, tmp_path: Path) -> tuple[Traffic, int]:
    """Upload the scene, process it from s3:// through the proxy; (traffic, bytes of the band files)."""
    import os

    endpoint = os.environ["AWS_ENDPOINT_URL"].removeprefix("http://")
    host, port = endpoint.split(":")
    s3 = boto3.client("s3")
    try:
        s3.create_bucket(Bucket=BUCKET)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    for p in folder.iterdir():
        s3.upload_file(str(p), BUCKET, f"{prefix}/{p.name}")
    band_bytes = sum(p.stat().st_size for p in folder.iterdir() if p.suffix == ".TIF")
    scene = parse_scene({"scene_id": folder.name, "source": f"s3://{BUCKET}/{prefix}/"})
    with CountingProxy(host, int(port)) as proxy, pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ENDPOINT_URL", f"http://{proxy.endpoint}")
        mp.setenv("AWS_S3_ENDPOINT", proxy.endpoint)
        process_scene(scene, str(tmp_path / "out"), run_name="s3reads")
        return proxy.reset(), band_bytes


@pytest.mark.parametrize("layout", ["tiles-512", "tiles-1024", "strips-8"])
def test_a_scene_from_s3_is_read_once_in_few_large_requests(scenes, layout, moto_server_env, tmp_path):
    traffic, band_bytes = read_through_proxy(scenes[layout], layout, tmp_path)
    read, gets = traffic.bytes_of(".tif"), traffic.gets(".tif")
    assert read <= 1.1 * band_bytes, f"{read / MiB:.1f} MiB read of {band_bytes / MiB:.1f} MiB of bands"
    assert gets <= band_bytes / MiB, f"{gets} GETs for {band_bytes / MiB:.1f} MiB of bands"
    # One listing (discovery's); GDAL lists nothing on open (GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR).
    listings = [k for (m, k) in traffic.requests if m == "GET" and k.rstrip("/") == f"/{BUCKET}"]
    assert sum(traffic.requests[("GET", k)] for k in listings) == 1, sorted(traffic.requests.items())
