"""The place bench's read comparison (bench/place_bench.py, issue 22 item 2): source COGs against ARD copies.

One tile's observations from moto's S3 through the counting proxy (bench/s3_proxy.py): read by the tile job
itself from the source COGs through /vsis3/, and read from analysis-ready copies of every scene (6 bands +
QA as AOI-grid uint16 COGs, 512 px tiles, DEFLATE), written here. Bytes, GETs, wall, and the copies' size.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from bench import composite_workload as workload
from bench import place_bench as pb
from bench.run_bench import MiB
from bench.s3_proxy import CountingProxy

BUCKET = "scoresby-bench-places"
FAKE_KEYS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def write_ard(scene: workload.BenchScene, params: workload.Params, root: Path) -> list[Path]:
    """The scene's 6 bands and QA as AOI-grid uint16 COGs (512 px tiles, DEFLATE): the ARD copies."""
    folder = root / scene.scene_id
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for src in sorted(Path(scene.folder).glob("*.TIF")):
        dst = folder / src.name
        out.append(dst)
        if dst.exists():
            continue
        with rasterio.open(src) as ds:
            data, nodata, crs = ds.read(1), ds.nodata, ds.crs
        full = np.full((params.size, params.size), nodata or 0, dtype=np.uint16)
        full[:, scene.col_off : scene.col_off + scene.width] = data
        profile = {
            "driver": "COG",
            "width": params.size,
            "height": params.size,
            "count": 1,
            "dtype": "uint16",
            "crs": crs,
            "transform": rasterio.transform.from_origin(*workload.ORIGIN, 30.0, 30.0),
            "nodata": nodata,
            "blocksize": 512,
            "compress": "deflate",
        }
        with rasterio.open(dst, "w", **profile) as ds:
            ds.write(full, 1)
    return out


def reads(scenes: list[workload.BenchScene], params: workload.Params, size: int, log: Any) -> dict[str, Any]:
    """Source COGs through /vsis3/ (the tile job itself) against AOI-grid ARD COGs: bytes, GETs, storage."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    col = (params.size - size) // 2
    inside = [s for s in scenes if pb.overlap(s, col, size)]
    ard_files = {s.scene_id: write_ard(s, params, pb.OUT / "ard") for s in inside}
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://{host}:{port}",
            region_name=FAKE_KEYS["AWS_DEFAULT_REGION"],
            **{k.lower(): FAKE_KEYS[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")},
        )
        s3.create_bucket(Bucket=BUCKET)
        source_bytes = ard_bytes = 0
        for s in inside:
            for p in sorted(Path(s.folder).iterdir()):
                s3.upload_file(str(p), BUCKET, f"src/{s.scene_id}/{p.name}")
                source_bytes += p.stat().st_size if p.suffix == ".TIF" else 0
            for p in ard_files[s.scene_id]:
                s3.upload_file(str(p), BUCKET, f"ard/{s.scene_id}/{p.name}")
                ard_bytes += p.stat().st_size
        with CountingProxy(host, port) as proxy:
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | FAKE_KEYS
            env |= {"AWS_ENDPOINT_URL": f"http://{proxy.endpoint}", "PYTHONPATH": str(pb.REPO)}
            spec, mpx_obs = pb.tile_spec(
                scenes, params, col, size, lambda s: f"s3://{BUCKET}/src/{s.scene_id}/"
            )
            proxy.reset()
            m_src, info_src = pb.run_child("tile", spec, col, size, env)
            src = proxy.reset()
            ard_doc = {
                "scenes": {
                    sid: [f"s3://{BUCKET}/ard/{sid}/{p.name}" for p in files]
                    for sid, files in ard_files.items()
                }
            }
            m_ard, info_ard = pb.run_child("ard", ard_doc, col, size, env)
            ard = proxy.reset()
    finally:
        server.stop()
    aoi_mpx_obs = len(inside) * params.size * params.size / 1e6
    fig = {
        "size": size,
        "scenes": len(inside),
        "mpx_obs": mpx_obs,
        "source": {
            "gets": src.gets(".tif"),
            "bytes": src.bytes_of(".tif"),
            "other": sum(src.requests.values()) - src.gets(".tif"),
            "wall_s": m_src.wall,
            "compose_s": info_src.get("compose_s"),
            "rc": m_src.rc,
        },
        "ard": {
            "gets": ard.gets(".tif"),
            "bytes": ard.bytes_of(".tif"),
            "other": sum(ard.requests.values()) - ard.gets(".tif"),
            "wall_s": m_ard.wall,
            "read_s": info_ard.get("read_s"),
            "rc": m_ard.rc,
        },
        "source_file_bytes": source_bytes,
        "ard_file_bytes": ard_bytes,
        "ard_bytes_per_mpx_obs": ard_bytes / (sum(s.width for s in inside) * params.size / 1e6),
        "aoi_mpx_obs": aoi_mpx_obs,
    }
    for side in ("source", "ard"):
        f = fig[side]
        log(
            f"read {side}: {f['gets']} GETs, {f['bytes'] / MiB:.1f} MiB, {f['other']} other requests, "
            f"wall {f['wall_s']:.1f} s{'' if not f['rc'] else '  ERROR'}"
        )
    if m_src.rc or m_ard.rc:
        log((m_src.stderr or m_ard.stderr)[-600:])
    return fig
