"""The run summary: `summary.json` and a self-contained `report.html` in `<output>/<run_name>/`.

The report links every image relative to its own folder, so the run folder can be moved, zipped or opened
straight from disk. Scene ids, sources and error messages come from users: everything is escaped.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from scoresby.core.report_places import PLACES_CSS, render_places
from scoresby.core.report_science import (
    LIGHTBOX_HTML,
    LIGHTBOX_SCRIPT,
    SCIENCE_CSS,
    legend_html,
    render_science,
)
from scoresby.core.summary import SUMMARY_NAME
from scoresby.core.task_log import FAILED, PENDING, RUNNING, SKIPPED, SUCCEEDED

# --- HTML -----------------------------------------------------------------------------------------


def _images(scene: dict[str, Any], run_dir: str) -> list[tuple[str, str | None, str | None, str | None]]:
    """(product, quicklook, histogram, COG) hrefs per output, relative to the run folder."""
    local = not run_dir.startswith("s3://")
    result = []
    for product in scene["products"]:
        cog = scene["outputs"].get(product)
        if not cog:
            continue
        stem = cog[: -len(".tif")] if cog.endswith(".tif") else cog
        quicklook, hist = stem + ".png", stem + "_hist.png"
        if local:
            hrefs = (_local_href(quicklook, run_dir), _local_href(hist, run_dir), _local_href(cog, run_dir))
            result.append((product, *hrefs))
        else:  # listing S3 would cost a request per image: trust the worker's layout (both, every product)
            result.append(
                (product, _s3_href(quicklook, run_dir), _s3_href(hist, run_dir), _s3_href(cog, run_dir))
            )
    return result


def _local_href(path: str, run_dir: str) -> str | None:
    if not Path(path).is_file():
        return None  # never link an image that is not there (e.g. a scene skipped from an older layout)
    return quote(os.path.relpath(path, run_dir).replace(os.sep, "/"))


def _s3_href(uri: str, run_dir: str) -> str:
    return quote(uri[len(run_dir) :]) if uri.startswith(run_dir) else uri


def _fmt_seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 120:
        return f"{value:.1f} s"
    return f"{int(value // 60)} min {int(value % 60):02d} s"


def _fmt_time(value: str | None) -> str:
    return value.replace("T", " ").replace("Z", " UTC") if value else "–"


_CSS = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1d2430; }
h1 { font-size: 22px; margin: 0 0 4px; }
.meta { color: #5b6475; margin-bottom: 16px; }
.totals span { display: inline-block; padding: 4px 10px; margin: 0 6px 6px 0; border-radius: 12px;
  background: #eef1f5; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 8px; border-bottom: 1px solid #dde2ea; }
th { background: #f6f8fa; position: sticky; top: 0; }
.status { font-weight: 600; white-space: nowrap; }
.SUCCEEDED { color: #137333; } .SKIPPED { color: #5b6475; } .FAILED { color: #b3261e; }
.RUNNING { color: #1a56c4; } .PENDING { color: #8a6d00; }
.id { font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; min-width: 15em; }
td.error-cell { min-width: 14em; max-width: 28em; }
.error { color: #b3261e; word-break: break-word; }
td.products-cell { min-width: 440px; width: 62%; }
figure { display: inline-block; vertical-align: top; margin: 0 12px 12px 0; text-align: center; }
figure img { height: 110px; width: auto; max-width: 220px; object-fit: contain; border: 1px solid #dde2ea;
  background: #f6f8fa; display: block; }
figure img.hist { height: 64px; margin-top: 4px; }
figure img.broken { outline: 2px dashed #b3261e; min-width: 80px; }
figcaption { font-size: 12px; color: #5b6475; }
"""

# Marks every image with its natural size once loaded, and flags the ones that did not load, so a broken
# link is visible to a reader (and checkable by a headless browser).
_SCRIPT = """
window.addEventListener("load", function () {
  var images = document.querySelectorAll("img"), broken = 0;
  images.forEach(function (img) {
    img.setAttribute("data-natural-width", img.naturalWidth);
    img.setAttribute("data-natural-height", img.naturalHeight);
    if (!img.complete || img.naturalWidth === 0) { img.classList.add("broken"); broken += 1; }
  });
  document.body.setAttribute("data-images", images.length);
  document.body.setAttribute("data-images-broken", broken);
});
"""


def render_report(summary: dict[str, Any], run_dir: str) -> str:
    """The report page of a summary: totals, then one row per scene with thumbnails and errors."""
    e = html.escape
    totals = summary["totals"]
    badges = [f"<span>{totals['scenes']} scenes</span>"]
    badges += [
        f'<span class="{s}">{totals[s]} {s.lower()}</span>'
        for s in (SUCCEEDED, SKIPPED, FAILED, RUNNING, PENDING)
        if totals[s]
    ]
    badges.append(f"<span>processing {_fmt_seconds(totals['processing_s'])}</span>")
    if summary.get("wall_clock_s") is not None:
        badges.append(f"<span>wall clock {_fmt_seconds(summary['wall_clock_s'])}</span>")
    # The error column only takes room when some scene has an error.
    with_errors = any(scene.get("error") for scene in summary["scenes"])
    rows = [_render_row(scene, run_dir, with_errors) for scene in summary["scenes"]]
    error_th = "<th>error</th>" if with_errors else ""
    title = f"Scoresby run {summary['run_name']}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<style>{_CSS}{SCIENCE_CSS}{PLACES_CSS}</style>
</head>
<body>
<h1>{e(title)}</h1>
<div class="meta">generated {e(_fmt_time(summary["generated_at"]))} ·
<a href="{SUMMARY_NAME}">summary.json</a></div>
<div class="totals">{"".join(badges)}</div>
{render_science(summary.get("timeseries"), summary["scenes"])}
{render_places(summary.get("timeseries"), summary["scenes"])}
<table>
<thead><tr><th>scene</th><th>status</th><th>attempts</th><th>started</th><th>finished</th><th>duration</th>
<th>products</th>{error_th}</tr></thead>
<tbody>
{"".join(rows)}
</tbody>
</table>
{LIGHTBOX_HTML}
<script>{_SCRIPT}{LIGHTBOX_SCRIPT}</script>
</body>
</html>
"""


def _render_row(scene: dict[str, Any], run_dir: str, with_errors: bool) -> str:
    e = html.escape
    figures = []
    for product, quicklook, hist, cog in _images(scene, run_dir):
        parts = []
        if quicklook:
            img = f'<img src="{e(quicklook)}" alt="{e(product)} quicklook">'
            parts.append(f'<a class="full" href="{e(quicklook)}">{img}</a>{legend_html(product)}')
        if hist:
            img = f'<img class="hist" src="{e(hist)}" alt="{e(product)} histogram">'
            parts.append(f'<a class="full" href="{e(hist)}">{img}</a>')
        caption = (
            f'<a href="{e(cog)}" title="Cloud-Optimized GeoTIFF">{e(product)}</a>' if cog else e(product)
        )
        figures.append(f"<figure>{''.join(parts)}<figcaption>{caption}</figcaption></figure>")
    if not figures and scene["products"]:
        figures.append(f'<span class="meta">{e(", ".join(scene["products"]))}</span>')
    error = scene.get("error") or {}
    error_html = ""
    if error:
        error_type, message = e(str(error.get("type", ""))), e(str(error.get("message", "")))
        error_html = f'<span class="error"><b>{error_type}</b>: {message}</span>'

    return (
        f'<tr id="scene-{e(scene["scene_id"])}">'
        f'<td class="id" title="{e(scene.get("source") or "")}">{e(scene["scene_id"])}</td>'
        f'<td class="status {e(scene["status"])}">{e(scene["status"])}</td>'
        f"<td>{scene['attempts']}</td>"
        f"<td>{e(_fmt_time(scene['started_at']))}</td>"
        f"<td>{e(_fmt_time(scene['finished_at']))}</td>"
        f"<td>{e(_fmt_seconds(scene['duration_s']))}</td>"
        f'<td class="products-cell"><div class="products">{"".join(figures)}</div></td>'
        + (f'<td class="error-cell">{error_html}</td>' if with_errors else "")
        + "</tr>\n"
    )
