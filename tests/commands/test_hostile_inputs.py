"""Hostile scene lists and band files through the real CLI: one line, the right exit code, nothing read or
written that should not be (issue 9, items 1-4, 9-11)."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from scoresby.demo.gradient import SCENE_ID, write_landsat_l2_scene
from tests.commands.test_process_errors import REPO, SCOREBY, assert_no_output, band_path, run_process

pytestmark = pytest.mark.slow

CANARY = "aws_secret_access_key = TOPSECRET-do-not-copy"


@pytest.fixture
def scene_dir(tmp_path: Path) -> Path:
    return write_landsat_l2_scene(tmp_path / "src" / SCENE_ID, width=300, height=260)


def run_list(doc_text: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    scenes = tmp_path / "scenes.json"
    scenes.write_text(doc_text, encoding="utf-8")
    return subprocess.run(
        [*SCOREBY, "run", str(scenes), "--output", str(tmp_path / "out"), *extra],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"},
        timeout=300,
    )


HOSTILE_JSON = {
    "huge integer": ('{"source": "/x", "stretch": {"true_color": {"gamma": 1%s}}}' % ("0" * 5000), "gamma"),
    "float beyond double": ('{"source": "/x", "stretch": {"true_color": {"gamma": 1e999}}}', "gamma"),
    "NaN": ('{"source": "/x", "stretch": {"true_color": {"gamma": NaN}}}', "gamma"),
    "deep nesting": ("[" * 50_000 + "]" * 50_000, "nested"),
    "deep but parseable": ('{"source": "/x", "stretch": ' + "[" * 60 + "]" * 60 + "}", "nested"),
    "lone surrogate": ('{"source": "/data/\\udc80x"}', "source"),
    "NUL in a path": ('{"source": "/data/a\\u0000b"}', "source"),
    "NUL in an id": ('{"source": "/data/a", "scene_id": "a\\u0000"}', "scene_id"),
}


@pytest.mark.parametrize("case", list(HOSTILE_JSON))
def test_hostile_json_is_one_line_exit_2_naming_the_field(case: str, tmp_path: Path) -> None:
    text, field = HOSTILE_JSON[case]
    scene_file = tmp_path / "scene.json"
    scene_file.write_text(text, encoding="utf-8")
    rc, line, _ = run_process(str(scene_file), tmp_path / "out")
    assert rc == 2 and field in line, line
    wrapped = text if text.startswith("[") else f"[{text}]"
    proc = run_list(wrapped, tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert field in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/absolute", "..", ".hidden", "a/b", "summary.json"])
def test_run_names_outside_the_output_are_refused_everywhere(
    name: str, scene_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "deep" / "out"
    rc, line, _ = run_process({"source": str(scene_dir), "products": ["ndvi"]}, out, "--run-name", name)
    assert rc == 2 and "--run-name" in line and "is not allowed" in line, line
    # The Batch shell: the run id comes from the job's environment.
    env = {**os.environ, "SCORESBY_RUN_ID": name, "SCORESBY_TASK_TABLE": "", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [*SCOREBY, "process", json.dumps({"source": str(scene_dir)}), "--output", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 2 and "SCORESBY_RUN_ID" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_list(json.dumps([{"source": str(scene_dir)}]), tmp_path, "--run-name", name)
    assert proc.returncode == 2 and "run_name" in proc.stderr
    assert not any(p.is_file() for p in tmp_path.rglob("*") if "src" not in p.parts and p.suffix != ".json")


@pytest.mark.parametrize(
    "scene_id", ["summary.json", "report.html", "scoresby-tasklog.sqlite", "SCORESBY-TASKLOG.SQLITE-wal"]
)
def test_scene_ids_that_collide_with_run_files_are_refused_up_front(
    scene_id: str, scene_dir: Path, tmp_path: Path
) -> None:
    proc = run_list(json.dumps([{"source": str(scene_dir), "scene_id": scene_id}]), tmp_path)
    assert proc.returncode == 2 and "collides with Scoresby's own file" in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()
    # and a later, good run on the same output is not broken by it
    proc = run_list(json.dumps([{"source": str(scene_dir), "products": ["ndvi"]}]), tmp_path)
    assert proc.returncode == 0, proc.stderr


def _vrt(source: str, width: int = 300, height: int = 260) -> str:
    return (
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}"><SRS>EPSG:32622</SRS>'
        "<GeoTransform>399000, 30, 0, 8000000, 0, -30</GeoTransform>"
        '<VRTRasterBand dataType="UInt16" band="1"><SimpleSource>'
        f'<SourceFilename relativeToVRT="0">{source}</SourceFilename><SourceBand>1</SourceBand>'
        "</SimpleSource></VRTRasterBand></VRTDataset>"
    )


def test_vrt_band_copying_a_local_file_is_refused(scene_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "credentials"
    secret.write_text(CANARY)
    band_path(scene_dir, "B4").write_text(_vrt(str(secret)))
    out = tmp_path / "out"
    rc, line, lines = run_process({"source": str(scene_dir), "products": ["true_color"]}, out)
    assert rc == 1
    assert f"band B4 file {band_path(scene_dir, 'B4')} is not a readable raster: it is a GDAL VRT" in line
    assert "TOPSECRET" not in "\n".join(lines)
    assert_no_output(out)


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    do_HEAD = do_GET  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_canary() -> Iterator[tuple[str, list[str]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    _CountingHandler.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _CountingHandler.hits
    finally:
        server.shutdown()


def test_vrt_band_fetching_plain_http_makes_no_request(
    scene_dir: Path, tmp_path: Path, http_canary: tuple[str, list[str]]
) -> None:
    url, hits = http_canary
    band_path(scene_dir, "B3").write_text(_vrt(f"/vsicurl/{url}/latest/meta-data/iam"))
    tif = scene_dir / "LC08_L2SP_226010_20140820_20200911_02_T1_SR_B2.TIF"
    tif.unlink()
    (scene_dir / tif.name).write_text(_vrt(f"{url}/x.tif"))
    out = tmp_path / "out"
    rc, line, _ = run_process({"source": str(scene_dir), "products": ["true_color"]}, out)
    assert rc == 1 and "it is a GDAL VRT" in line
    assert hits == []
    assert_no_output(out)


def test_band_declaring_a_huge_raster_is_refused_before_any_work(scene_dir: Path, tmp_path: Path) -> None:
    huge = band_path(scene_dir, "B4")
    profile = {"driver": "GTiff", "width": 30_000, "height": 30_000, "count": 1, "dtype": "uint16"}
    profile |= {"crs": "EPSG:32622", "transform": Affine(30, 0, 399_000, 0, -30, 8_000_000)}
    profile |= {"tiled": True, "compress": "deflate", "sparse_ok": True}
    with rasterio.open(huge, "w", **profile):
        pass  # nothing written: a few-KB file
    assert huge.stat().st_size < 10 * 1024 * 1024
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env_tmp = {"TMPDIR": str(tmp)}
    proc = subprocess.run(
        [*SCOREBY, "process", json.dumps({"source": str(scene_dir)}), "--output", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **env_tmp, "MPLBACKEND": "Agg"},
        timeout=120,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "declares 30000 x 30000 px, more than a full landsat scene" in proc.stderr
    assert list(tmp.iterdir()) == []
    assert_no_output(tmp_path / "out")


def test_symlinked_mtl_does_not_leak_the_file_it_points_to(scene_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(CANARY + "\n")
    (scene_dir / f"{SCENE_ID}_MTL.txt").symlink_to(secret)
    rc, line, lines = run_process({"source": str(scene_dir), "products": ["ndvi"]}, tmp_path / "out")
    assert "TOPSECRET" not in "\n".join(lines)
    assert rc == 1 and "MTL" in line and "outside the scene folder" in line


def test_folder_listing_is_not_copied_whole(tmp_path: Path) -> None:
    folder = tmp_path / "src" / "notascene"
    folder.mkdir(parents=True)
    for i in range(40):
        (folder / f"private-name-{i:02d}.txt").write_text("x")
    rc, line, _ = run_process({"source": str(folder)}, tmp_path / "out")
    assert rc == 1 and "40 files" in line
    assert sum(f"private-name-{i:02d}" in line for i in range(40)) <= 5


@pytest.mark.parametrize("cropped", ["B4", "B5"])
def test_a_band_covering_part_of_the_scene_gives_the_full_grid(
    cropped: str, scene_dir: Path, tmp_path: Path
) -> None:
    path = band_path(scene_dir, cropped)
    with rasterio.open(path) as src:
        profile, data = src.profile, src.read(1)
    profile.update(width=150, height=130)
    path.unlink()
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data[:130, :150], 1)
    out = tmp_path / "out"
    rc = subprocess.run(
        [
            *SCOREBY,
            "process",
            json.dumps({"source": str(scene_dir), "products": ["ndvi"]}),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=300,
    )
    assert rc.returncode == 0, rc.stderr
    cog = next(out.rglob("*_ndvi.tif"))
    with rasterio.open(cog) as ds:
        assert (ds.width, ds.height) == (300, 260)
        values = ds.read(1)
    assert np.isnan(values[200:, 200:]).all()  # outside the cropped band: nodata
    assert np.isfinite(values[:120, :140]).mean() > 0.5


def test_report_files_have_the_products_permissions(scene_dir: Path, tmp_path: Path) -> None:
    proc = run_list(
        json.dumps({"run_name": "perm", "scenes": [{"source": str(scene_dir), "products": ["ndvi"]}]}),
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    run_dir = tmp_path / "out" / "perm"
    cog_mode = next(run_dir.rglob("*_ndvi.tif")).stat().st_mode & 0o777
    assert (run_dir / "report.html").stat().st_mode & 0o777 == cog_mode
    assert (run_dir / "summary.json").stat().st_mode & 0o777 == cog_mode


def test_scene_argument_with_nul_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from scoresby.cli import main; sys.exit(main(sys.argv[1:]))",
            "process",
            "scene\udc80.json",
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
