"""summary.json and report.html: escaping, relative links, and real rendering in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from bench.cdp import HEADLESS_FLAGS
from scoresby.commands.run import run_plan
from scoresby.core.scene_list import parse_scene_list
from scoresby.core.summary import build_summary
from scoresby.core.task_log import FAILED, SKIPPED, SUCCEEDED, TaskRecord
from scoresby.report.page import COG, HISTOGRAM, QUICKLOOK, render_report, scene_rows
from scoresby.stores.run_files import write_report

L8_A = "landsat8/LC08_L2SP_001062_20201031_20201106_02_T2"
S2_TINY = "sentinel2/S2B_MSIL2A_20230122T231849_N0400_R087_T01UBT_20230124T042703"
SCREENSHOT_COPY = Path("/tmp/scoresby-report-screenshot.png")  # noqa: S108 - for a human to look at


class _Images(HTMLParser):
    """Collects the attributes of every <img> and of <body>."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.body: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag == "body":
            self.body = dict(attrs)


def parse_images(page: str) -> _Images:
    parser = _Images()
    parser.feed(page)
    return parser


def record(scene_id: str, status: str, **kw: object) -> TaskRecord:
    return TaskRecord(run_id="r", scene_id=scene_id, status=status, **kw)  # type: ignore[arg-type]


def test_user_text_is_escaped_everywhere(tmp_path: Path) -> None:
    evil_id = '<script>alert("id")</script>'
    evil_error = {"type": "UnreadableRaster", "message": '<img src=x onerror="alert(1)"> & "quotes"'}
    records = [
        record(
            evil_id,
            FAILED,
            attempts=1,
            error=evil_error,
            source='"><b>src</b>',
            products=["ndvi"],
            duration_s=0.5,
        )
    ]
    page = render_report(build_summary('run <&> "x"', records), str(tmp_path))
    assert "<script>alert" not in page and "<img src=x" not in page and '"><b>src' not in page
    assert "run &lt;&amp;&gt; &quot;x&quot;" in page
    # the scene table's data: JSON with every "<" escaped; the page's script inserts it as text
    data = json.loads(re.search(r'<script id="scene-data" type="application/json">(.*?)</script>', page)[1])
    assert data["rows"][0][0] == evil_id and evil_error["message"] in data["rows"][0][12]
    assert len(parse_images(page).images) == 0


def test_user_text_stays_text_in_chromium(chromium: str, tmp_path: Path) -> None:
    evil_id = '<img src=x onerror="document.body.dataset.pwned=1">'
    error = {"type": "E", "message": "<b>bold</b>"}
    rec = record(evil_id, FAILED, attempts=1, error=error, products=["ndvi"])
    report = tmp_path / "report.html"
    report.write_text(render_report(build_summary("r", [rec]), str(tmp_path)))
    dom = browse(chromium, report, tmp_path, "--dump-dom").stdout
    assert "pwned" not in dom.split("<body", 1)[1].split(">", 1)[0]  # the onerror never ran
    assert "&lt;img src=x onerror=" in dom and "&lt;b&gt;bold&lt;/b&gt;" in dom
    assert '<th class="error-head">error</th>' in dom


def test_summary_totals_and_atomic_files(tmp_path: Path) -> None:
    records = [
        record("a", SUCCEEDED, attempts=1, duration_s=2.0, products=["ndvi"], outputs={"ndvi": "/o/a.tif"}),
        record("b", SKIPPED, attempts=1, duration_s=7.0, products=["ndvi"], outputs={"ndvi": "/o/b.tif"}),
        record("c", FAILED, attempts=2, duration_s=0.5, error={"type": "MissingBands", "message": "m"}),
    ]
    summary_path, report_path = write_report(
        "r", str(tmp_path / "r"), records, duration_s=3.25, task_log="/x.db"
    )
    summary = json.loads(Path(summary_path).read_text())
    assert summary["totals"] == {
        "scenes": 3,
        "PENDING": 0,
        "RUNNING": 0,
        "SUCCEEDED": 1,
        "FAILED": 1,
        "SKIPPED": 1,
        "processing_s": 2.5,
    }  # skipped scenes cost nothing this run
    assert summary["wall_clock_s"] == 3.25 and summary["task_log"] == "/x.db"
    assert [s["scene_id"] for s in summary["scenes"]] == ["a", "b", "c"]
    assert summary["scenes"][2]["error"] == {"type": "MissingBands", "message": "m"}
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["report.html", "summary.json"]
    assert Path(report_path).read_text().startswith("<!DOCTYPE html>")


def test_s3_report_links_are_relative(tmp_path: Path) -> None:
    run_dir = "s3://bucket/products/r/"
    rec = record(
        "a",
        SUCCEEDED,
        products=["true_color", "ndvi"],
        outputs={"true_color": run_dir + "a/a_true_color.tif", "ndvi": run_dir + "a/a_ndvi.tif"},
    )
    rows = scene_rows(build_summary("r", [rec]), run_dir)
    assert rows["products"] == ["true_color", "ndvi"]
    # both products at the layout's own place ("<id>/<id>_<product>", relative: null), every file linked
    every = QUICKLOOK | HISTOGRAM | COG
    assert rows["rows"][0][13] == [[0, None, every], [1, None, every]]
    moved = record("b", SUCCEEDED, products=["ndvi"], outputs={"ndvi": run_dir + "x/b ndvi.tif"})
    assert scene_rows(build_summary("r", [moved]), run_dir)["rows"][0][13] == [[0, "x/b%20ndvi", 7]]


# --- in a real browser ----------------------------------------------------------------------------


def browse(chromium: str, page: Path, tmp_path: Path, *mode: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"chrome-profile-{len(list(tmp_path.glob('chrome-profile-*')))}"
    return subprocess.run(
        [
            chromium,
            *HEADLESS_FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=5000",
            "--window-size=1400,1100",
            *mode,
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.fixture(scope="module")
def real_run(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real local run: two real scenes and one that fails; returns the run folder."""
    out = tmp_path_factory.mktemp("report-run")
    plan = parse_scene_list(
        {
            "run_name": "report",
            "scenes": [
                {"source": str(real_data_dir / L8_A)},
                {"source": str(real_data_dir / S2_TINY), "products": ["true_color", "ndvi", "band_merge"]},
                {"scene_id": "missing_source", "source": str(out / "nope"), "sensor": "landsat-8"},
            ],
        }
    )
    summary = run_plan(plan, str(out), workers=2, progress=False)
    assert summary.counts[SUCCEEDED] == 2 and summary.counts[FAILED] == 1
    return Path(summary.run_dir)


def test_report_images_render_in_chromium(chromium: str, real_run: Path, tmp_path: Path) -> None:
    report = real_run / "report.html"
    page = browse(chromium, report, tmp_path, "--dump-dom").stdout  # the scene table is drawn by its script
    written = parse_images(page).images
    pngs = sorted(real_run.rglob("*.png"))
    # every quicklook and histogram, and the time-series chart, is shown once, linked relative to the report
    assert sorted(img["src"] for img in written) == sorted(str(p.relative_to(real_run)) for p in pngs)
    assert len(pngs) == 2 * (3 + 3) + 1  # a quicklook and a histogram per product, 3 per scene; the chart
    assert re.search(r"\bmissing_source\b.*SourceNotFound", page, re.S)
    hrefs = re.findall(r'<a (?:class="full" )?href="([^"]+)"', page)
    hrefs = [h for h in hrefs if not h.startswith("#")]
    assert len([h for h in hrefs if h.endswith(".tif")]) == 6  # each product names its COG
    for href in hrefs:  # every link (images, COGs, summary.json, csv) is relative and resolves on disk
        assert not href.startswith(("/", "file:", "http")) and (real_run / href).is_file(), href

    dom = parse_images(page)
    assert dom.body.get("data-images") == str(len(pngs)) and dom.body.get("data-images-broken") == "0"
    for img in dom.images:
        with Image.open(real_run / img["src"]) as png:
            assert (int(img["data-natural-width"]), int(img["data-natural-height"])) == png.size, img

    shot = tmp_path / "report.png"
    browse(chromium, report, tmp_path, f"--screenshot={shot}")
    with Image.open(shot) as im:
        assert im.size == (1400, 1100)
        colours = im.convert("RGB").resize((140, 110)).getcolors(maxcolors=100_000)
        assert colours is not None and len(colours) > 200  # thumbnails, not a blank page
    shutil.copyfile(shot, SCREENSHOT_COPY)


def test_report_still_renders_after_moving_the_folder(chromium: str, real_run: Path, tmp_path: Path) -> None:
    moved = tmp_path / "somewhere" / "else"
    shutil.copytree(real_run, moved)
    dom = parse_images(browse(chromium, moved / "report.html", tmp_path, "--dump-dom").stdout)
    assert dom.body.get("data-images-broken") == "0" and len(dom.images) == 13  # 12 + the chart


def test_broken_image_path_is_detected(chromium: str, real_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(real_run, copy)
    victim = next(copy.rglob("*_true_color.png"))
    victim.unlink()
    dom = parse_images(browse(chromium, copy / "report.html", tmp_path, "--dump-dom").stdout)
    assert dom.body.get("data-images-broken") == "1"
    broken = [img for img in dom.images if img["data-natural-width"] == "0"]
    assert [img["src"] for img in broken] == [str(victim.relative_to(copy))]
    assert "broken" in (broken[0].get("class") or "")
