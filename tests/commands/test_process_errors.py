"""Bad input through `scoresby process`: exit code, one error line naming scene/file/value, and no output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS

from scoresby.commands.scene import process_scene
from scoresby.core.scene_list import parse_scene
from scoresby.demo.gradient import SCENE_ID, write_landsat_l2_scene
from scoresby.raster import builder as scene_products
from scoresby.raster.quality import aoi_grid
from tests.places import synth

pytestmark = pytest.mark.slow

SCOREBY = [sys.executable, "-m", "scoresby.cli"]
REPO = Path(__file__).resolve().parents[2]


def run_process(scene: dict | str, out: Path, *extra: str) -> tuple[int, str, list[str]]:
    """Run `scoresby process` in a subprocess; returns (exit code, the error line, all stderr lines)."""
    arg = scene if isinstance(scene, str) else json.dumps(scene)
    proc = subprocess.run(
        [*SCOREBY, "process", arg, "--output", str(out), *extra],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=300,
    )
    lines = proc.stderr.splitlines()
    errors = [line for line in lines if line.startswith("scoresby: error:")]
    assert "Traceback" not in proc.stderr
    assert len(errors) == 1, proc.stderr
    assert lines[-1] == errors[0]  # the error is the last word, on one line
    return proc.returncode, errors[0], lines


def assert_no_output(out: Path) -> None:
    files = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert files == [], files


@pytest.fixture
def scene_dir(tmp_path: Path) -> Path:
    """A small synthetic Landsat C2 L2 scene (B2-B7, 600 x 500 px)."""
    return write_landsat_l2_scene(tmp_path / "src" / SCENE_ID, width=600, height=500)


def band_path(folder: Path, band: str) -> Path:
    return folder / f"{SCENE_ID}_SR_{band}.TIF"


def test_missing_band_names_product_band_and_available(tmp_path: Path) -> None:
    folder = write_landsat_l2_scene(
        tmp_path / "src" / SCENE_ID, width=64, height=64, bands=("B2", "B3", "B4")
    )
    out = tmp_path / "out"
    rc, line, _ = run_process({"source": str(folder), "products": ["true_color", "ndvi"]}, out)
    assert rc == 1
    assert line == (
        f"scoresby: error: scene {SCENE_ID}: product 'ndvi' needs band 'B5' not in scene; "
        "available: B2, B3, B4"
    )
    assert_no_output(out)


def test_text_file_named_like_a_band(scene_dir: Path, tmp_path: Path) -> None:
    bad = band_path(scene_dir, "B4")
    bad.write_text("this is not a raster\n")
    out = tmp_path / "out"
    rc, line, _ = run_process({"source": str(scene_dir), "products": ["true_color"]}, out)
    assert rc == 1
    assert f"scene {SCENE_ID}: band B4 file {bad} is not a readable raster" in line
    assert "it is a file of unknown format; allowed: a GeoTIFF/COG or JPEG 2000 band file" in line
    assert_no_output(out)


def test_truncated_band_file(scene_dir: Path, tmp_path: Path) -> None:
    bad = band_path(scene_dir, "B5")
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) * 2 // 5])
    out = tmp_path / "out"
    rc, line, _ = run_process({"source": str(scene_dir), "products": ["true_color", "ndvi"]}, out)
    assert rc == 1
    assert f"scene {SCENE_ID}: band B5 file {bad}" in line
    assert "cannot be read" in line or "is not a readable raster" in line
    assert_no_output(out)


def _scene_with_qa(root: Path) -> tuple[str, Path]:
    """A synthetic Landsat 8 C2 L2 scene with a QA_PIXEL band: its id and that band's file."""
    grid = aoi_grid(synth.place_aoi())
    shape = (grid.height, grid.width)
    everywhere, clear = np.ones(shape, dtype=bool), np.zeros(shape, dtype=bool)
    day = date(2002, 7, 10)
    sid = synth.scene_id("landsat-8", 910, 910, day)
    oli = synth.surface(2002, 0, shape)
    scene = synth.write_scene(root, grid, sid, "landsat-8", day, everywhere, clear, oli)
    return sid, scene.folder / f"{sid}_QA_PIXEL.TIF"


def test_truncated_quality_band_says_what_gdal_says(tmp_path: Path) -> None:
    """A QA_PIXEL cut short: one line naming the scene, the quality band, its file and GDAL's own reason."""
    sid, qa = _scene_with_qa(tmp_path / "src")
    qa.write_bytes(qa.read_bytes()[:3000])
    out = tmp_path / "out"
    rc, line, _ = run_process({"source": str(qa.parent), "products": ["ndvi"]}, out)
    assert rc == 1
    assert (
        f"scene {sid}: quality band QA_PIXEL file {qa} cannot be read (truncated or corrupt?): GDAL says"
        in line
    )
    assert "See previous exception" not in line and "TIFF" in line  # GDAL's own words, not rasterio's wrapper
    assert_no_output(out)


def test_quality_band_that_is_a_vrt_of_another_file_is_not_read(tmp_path: Path) -> None:
    """A QA_PIXEL.TIF that is a VRT of a file outside the scene folder: refused as every band file is, the
    other file never read."""
    sid, qa = _scene_with_qa(tmp_path / "src")
    secret = tmp_path / "elsewhere" / "secret.tif"
    secret.parent.mkdir()
    with rasterio.open(qa) as ds:
        profile, data = ds.profile, ds.read()
    with rasterio.open(secret, "w", **profile) as dst:
        dst.write(data)
    qa.write_text(
        f'<VRTDataset rasterXSize="{profile["width"]}" rasterYSize="{profile["height"]}">'
        '<VRTRasterBand dataType="UInt16" band="1"><SimpleSource>'
        f'<SourceFilename relativeToVRT="0">{secret}</SourceFilename><SourceBand>1</SourceBand>'
        "</SimpleSource></VRTRasterBand></VRTDataset>"
    )
    out = tmp_path / "out"
    rc, line, _ = run_process({"source": str(qa.parent), "products": ["ndvi"]}, out)
    assert rc == 1
    assert f"scene {sid}: band QA_PIXEL file {qa} is not a readable raster" in line
    assert "allowed: a GeoTIFF/COG or JPEG 2000 band file" in line
    assert_no_output(out)


def _rewrite(path: Path, *, crs: CRS | None = None, transform: Affine | None = None) -> None:
    with rasterio.open(path) as src:
        profile, data = src.profile, src.read()
    profile.update(crs=crs or profile["crs"], transform=transform or profile["transform"])
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)


def test_band_in_another_crs_is_a_grid_mismatch(scene_dir: Path, tmp_path: Path) -> None:
    _rewrite(band_path(scene_dir, "B5"), crs=CRS.from_epsg(32623))
    out = tmp_path / "out"
    rc, line, _ = run_process({"source": str(scene_dir), "products": ["ndvi"]}, out)
    assert rc == 1
    assert f"scene {SCENE_ID}: band B4 file {band_path(scene_dir, 'B4')} has CRS EPSG:32622" in line or (
        f"band B5 file {band_path(scene_dir, 'B5')} has CRS EPSG:32623" in line
    )
    assert "all bands must share one CRS" in line
    assert_no_output(out)


def test_band_that_does_not_overlap_is_a_grid_mismatch(scene_dir: Path, tmp_path: Path) -> None:
    _rewrite(band_path(scene_dir, "B5"), transform=Affine(30, 0, 900_000, 0, -30, 8_000_000))
    out = tmp_path / "out"
    rc, line, _ = run_process({"source": str(scene_dir), "products": ["ndvi"]}, out)
    assert rc == 1
    assert "does not overlap" in line
    assert str(band_path(scene_dir, "B5")) in line and str(band_path(scene_dir, "B4")) in line
    assert_no_output(out)


def test_unknown_product_is_invalid_input(scene_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    rc, line, _ = run_process({"source": str(scene_dir)}, out, "--products", "ndvi,sharpened")
    assert rc == 2
    assert "'sharpened'" in line and "allowed:" in line and "true_color" in line
    assert_no_output(out)


def test_unknown_stretch_mode_is_invalid_input(scene_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    scene = {"source": str(scene_dir), "stretch": {"true_color": {"mode": "sigmoid"}}}
    rc, line, _ = run_process(scene, out)
    assert rc == 2
    assert "stretch.true_color" in line and "'sigmoid'" in line and "percentile, fixed, equalize" in line
    assert_no_output(out)


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    rc, line, _ = run_process({"source": str(tmp_path / "empty")}, out)
    assert rc == 1
    assert f"source '{tmp_path / 'empty'}' holds no files" in line
    assert_no_output(out)


def test_nonexistent_source(tmp_path: Path) -> None:
    out = tmp_path / "out"
    rc, line, _ = run_process({"source": str(tmp_path / "nowhere")}, out)
    assert rc == 1
    assert f"'{tmp_path / 'nowhere'}' does not exist" in line
    assert_no_output(out)


def test_output_that_cannot_be_written(scene_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be")
    rc, line, _ = run_process({"source": str(scene_dir), "products": ["ndvi"]}, blocker)
    assert rc == 1
    assert f"scene {SCENE_ID}: cannot write {blocker / 'adhoc' / SCENE_ID}: Not a directory" in line
    assert blocker.read_text() == "a file where the output folder should be"


def test_scene_argument_that_is_neither_json_nor_a_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    rc, line, _ = run_process(str(tmp_path / "scene.json"), out)
    assert rc == 2
    assert f"SCENE: '{tmp_path / 'scene.json'}' is neither inline JSON nor an existing file" in line
    rc, line, _ = run_process('{"source": ', out)
    assert rc == 2 and "SCENE: line 1, column 12: not valid JSON" in line
    assert_no_output(out)


def test_scene_file_argument_and_success_prints_result(scene_dir: Path, tmp_path: Path) -> None:
    scene_file = tmp_path / "scene.json"
    scene_file.write_text(json.dumps({"source": str(scene_dir), "products": ["ndvi"]}))
    out = tmp_path / "out"
    proc = subprocess.run(
        [*SCOREBY, "process", str(scene_file), "--output", str(out), "--run-name", "r1"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["outputs"] == {"ndvi": str(out / "r1" / SCENE_ID / f"{SCENE_ID}_ndvi.tif")}
    assert Path(result["stac_item"]).is_file() and not result["skipped"]


def test_product_failing_mid_scene_leaves_nothing(
    scene_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """true_color is finished when ndvi fails: still nothing appears at the destination."""
    real_write_cog = scene_products.cog.write_cog

    def failing_write_cog(src: Path, dst: Path) -> None:
        if dst.name.endswith("_ndvi.tif"):
            raise OSError("simulated failure while writing the NDVI COG")
        real_write_cog(src, dst)

    monkeypatch.setattr(scene_products.cog, "write_cog", failing_write_cog)
    scene = parse_scene({"source": str(scene_dir), "products": ["true_color", "band_merge", "ndvi"]})
    out = tmp_path / "out"
    with pytest.raises(OSError, match="simulated failure"):
        process_scene(scene, str(out), run_name="r1")
    assert_no_output(out)


def test_publish_failure_leaves_no_partial_file(
    scene_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy that dies half-way leaves nothing of the scene at the destination, not even its first file."""
    import shutil as shutil_module

    from scoresby.core.errors import OutputError
    from scoresby.stores import publish as publish_module

    real_copyfile = shutil_module.copyfile
    calls = {"n": 0}

    def dying_copyfile(src: str | Path, dst: str | Path) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            Path(dst).write_bytes(Path(src).read_bytes()[:100])  # half-written, then the disk fails
            raise OSError("No space left on device (simulated)")
        real_copyfile(src, dst)

    monkeypatch.setattr(publish_module.shutil, "copyfile", dying_copyfile)
    scene = parse_scene({"source": str(scene_dir), "products": ["ndvi"]})
    out = tmp_path / "out"
    with pytest.raises(OutputError, match="No space left on device"):
        process_scene(scene, str(out), run_name="r1")
    # The scene is published whole or not at all: no scene folder, no staging folder left behind.
    assert list((out / "r1").iterdir()) == []


@pytest.mark.parametrize(
    ("products", "stretch", "fragment"),
    [
        (("ndvi", "pansharpened"), {}, "products: 'pansharpened' is not a product; allowed: band_merge"),
        (
            ("true_color",),
            {"true_color": {"mode": "clahe"}},
            "stretch.true_color.mode: 'clahe' is not a stretch mode",
        ),
        (("true_color",), {"true_color": {"mode": "fixed", "ranges": [[1, 2]]}}, "allowed: 3 pairs [lo, hi]"),
    ],
)
def test_process_scene_rejects_unvalidated_scene_objects(
    scene_dir: Path, tmp_path: Path, products: tuple[str, ...], stretch: dict, fragment: str
) -> None:
    """A Scene built without parse_scene still gets a clear InvalidInput and no output."""
    from scoresby.core.errors import InvalidInput
    from scoresby.core.scene_list import Scene

    scene = Scene(scene_id=SCENE_ID, source=str(scene_dir), products=products, stretch=stretch)
    out = tmp_path / "out"
    with pytest.raises(InvalidInput) as info:
        process_scene(scene, str(out), run_name="r1")
    assert f"scene {SCENE_ID}: " in str(info.value) and fragment in str(info.value)
    assert_no_output(out)
