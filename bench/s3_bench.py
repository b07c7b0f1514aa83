"""`make bench` part (b) of issue 14: one full scene read from moto's S3, with and without added latency.

The scene's band files are uploaded to an in-process moto server; `scoresby process` (a subprocess, as on
Batch) reads them through bench/s3_proxy.py, which counts GET requests and body bytes per object and adds
a fixed delay per request. Outputs go to a local folder so that only the reads are counted. Targets (issue
14): bytes read <= 1.1x the band files' bytes, <= 1 GET per MiB of band files, and 20 ms per request costing
<= 1.5x the no-latency wall time. The no-latency run is the baseline of the same run (same proxy, same
machine load), interleaved with the latency runs.

    .venv/bin/python bench/s3_bench.py [--runs N] [--delay-ms 20] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.s3_proxy import CountingProxy, Traffic  # noqa: E402
from scoresby.demo import fullsize as make_scene  # noqa: E402

BUCKET = "scoresby-bench-sources"
PRODUCTS = ("true_color", "false_color_ice", "ndvi")
MiB = 2**20
TARGET_BYTES = 1.1
TARGET_GETS_PER_MIB = 1.0
TARGET_LATENCY = 1.5
DELAY_MS = 20.0
NOTE = (
    "S3 rows: the scene's bands in moto's S3 (in-process server), `scoresby process` reading them through a "
    "counting proxy on loopback (bench/s3_proxy.py) that adds the delay before each request; the no-latency "
    "runs through the same proxy are the baseline (interleaved); outputs to a local folder"
)
FAKE_KEYS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class S3Run:
    """One `scoresby process` of the scene from S3: wall seconds, band GETs, band bytes read, exit code."""

    delay_ms: float
    wall: float
    band_gets: int
    band_bytes_read: int
    other_requests: int
    rc: int
    stderr: str = ""


def upload(scene: make_scene.GeneratedScene, endpoint: str) -> tuple[str, int]:
    """The scene's files into the bucket; returns its s3:// source and the band files' total bytes."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=f"http://{endpoint}", **_boto_keys())
    s3.create_bucket(Bucket=BUCKET)
    prefix = f"{scene.scene_id}/"
    for p in sorted(scene.folder.iterdir()):
        s3.upload_file(str(p), BUCKET, prefix + p.name)
    return f"s3://{BUCKET}/{prefix}", sum(p.stat().st_size for p in scene.bands.values())


def _boto_keys() -> dict[str, str]:
    return {
        "aws_access_key_id": FAKE_KEYS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": FAKE_KEYS["AWS_SECRET_ACCESS_KEY"],
        "region_name": FAKE_KEYS["AWS_DEFAULT_REGION"],
    }


def run_once(proxy: CountingProxy, source: str, scene_id: str, out: Path, delay_s: float) -> S3Run:
    """`scoresby process` of the S3 scene through the proxy with `delay_s` per request."""
    shutil.rmtree(out, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(FAKE_KEYS)
    env["AWS_ENDPOINT_URL"] = f"http://{proxy.endpoint}"  # boto3 listing; GDAL follows (gdal_env_options)
    exe = REPO / ".venv" / "bin" / "scoresby"
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "scoresby.cli"]
    argv += [
        "process",
        json.dumps({"scene_id": scene_id, "source": source}),
        "--output",
        str(out),
        "--products",
        ",".join(PRODUCTS),
        "--run-name",
        "s3bench",
        "--overwrite",
    ]
    proxy.delay_s = delay_s
    proxy.reset()
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    traffic: Traffic = proxy.reset()
    shutil.rmtree(out, ignore_errors=True)
    band_gets, band_bytes = traffic.gets(".tif"), traffic.bytes_of(".tif")
    others = sum(traffic.requests.values()) - band_gets
    return S3Run(delay_s * 1000, wall, band_gets, band_bytes, others, proc.returncode, proc.stderr[-800:])


def measure(scene: make_scene.GeneratedScene, *, runs: int, delay_ms: float, log=print) -> dict:
    """Interleaved no-latency / latency runs of the scene from moto; the medians and ratios as a dict."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per range request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        source, band_bytes = upload(scene, f"{host}:{port}")
        out = REPO / "bench-output" / "s3-scoresby"
        results: dict[float, list[S3Run]] = {0.0: [], delay_ms: []}
        with CountingProxy(host, port) as proxy:
            for i in range(runs):
                for d in (0.0, delay_ms):
                    r = run_once(proxy, source, scene.scene_id, out, d / 1000)
                    results[d].append(r)
                    log(
                        f"s3 run {i + 1}/{runs} +{d:g} ms: {r.wall:6.1f} s, {r.band_gets} band GETs, "
                        f"{r.band_bytes_read / MiB:.1f} MiB read, {r.other_requests} other requests"
                        + (f"  ERROR rc={r.rc}: {r.stderr}" if r.rc else "")
                    )
    finally:
        server.stop()
    return summarize(results, band_bytes, delay_ms)


def summarize(results: dict[float, list[S3Run]], band_bytes: int, delay_ms: float) -> dict:
    """Medians of the runs that succeeded, and the three ratios against their targets."""
    ok = {d: [r for r in rs if r.rc == 0] for d, rs in results.items()}
    if not ok[0.0] or not ok[delay_ms]:
        errors = [r.stderr for rs in results.values() for r in rs if r.rc]
        return {"error": errors[0] if errors else "no runs"}
    base, slow = ok[0.0], ok[delay_ms]
    gets = statistics.median(r.band_gets for r in base)
    read = statistics.median(r.band_bytes_read for r in base)
    wall0 = statistics.median(r.wall for r in base)
    wall1 = statistics.median(r.wall for r in slow)
    return {
        "band_mib": band_bytes / MiB,
        "read_mib": read / MiB,
        "gets": gets,
        "other_requests": statistics.median(r.other_requests for r in base),
        "wall_s": wall0,
        "wall_delay_s": wall1,
        "walls": [r.wall for r in base],
        "walls_delay": [r.wall for r in slow],
        "delay_ms": delay_ms,
        "bytes_ratio": read / band_bytes,
        "gets_per_mib": gets / (band_bytes / MiB),
        "latency_ratio": wall1 / wall0,
    }


def report_lines(fig: dict) -> list[str]:
    """Markdown rows (ratio / figure | measured | target | verdict) for the results table."""
    if "error" in fig:
        return [f"| S3 read of the full scene | failed: {fig['error'][:200]} | | n/a |"]

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    return [
        f"| S3: bytes read / band bytes ({fig['read_mib']:.1f} / {fig['band_mib']:.1f} MiB) "
        f"| {fig['bytes_ratio']:.3f}x | <= {TARGET_BYTES}x | {verdict(fig['bytes_ratio'] <= TARGET_BYTES)} |",
        f"| S3: band GET requests per MiB ({fig['gets']:.0f} GETs; "
        f"{fig['other_requests']:.0f} other requests) "
        f"| {fig['gets_per_mib']:.2f} | <= {TARGET_GETS_PER_MIB} "
        f"| {verdict(fig['gets_per_mib'] <= TARGET_GETS_PER_MIB)} |",
        f"| S3: wall with +{fig['delay_ms']:g} ms per request / without ({fig['wall_delay_s']:.1f} s / "
        f"{fig['wall_s']:.1f} s) | {fig['latency_ratio']:.2f}x | <= {TARGET_LATENCY}x "
        f"| {verdict(fig['latency_ratio'] <= TARGET_LATENCY)} |",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--delay-ms", type=float, default=DELAY_MS)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args(argv)
    scene = make_scene.ensure_scene(make_scene.params_for(args.scale))
    fig = measure(scene, runs=args.runs, delay_ms=args.delay_ms)
    print("\n".join(report_lines(fig)))
    return 0 if "error" not in fig else 1


if __name__ == "__main__":
    sys.exit(main())
