"""The run's self-contained `report.html`: totals, the science section, and a paged, searchable scene table.

The scene table is drawn by the page's script from a compact JSON block (a row per scene), one page at a
time, so a 10,000-scene run stays a small page that renders fast. Every link is relative to the run folder,
so the folder can be moved, zipped or opened straight from disk. Scene ids, sources and error messages come
from users: the JSON block escapes "<", and the script inserts them as text, never as HTML.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from scoresby.core.layout import (
    COG_SUFFIX,
    HISTOGRAM_SUFFIX,
    QUICKLOOK_SUFFIX,
    SUMMARY_NAME,
    cog_name,
    histogram_of,
    quicklook_of,
)
from scoresby.core.task_log import FAILED, PENDING, RUNNING, SKIPPED, STATUSES, SUCCEEDED
from scoresby.core.timeseries import is_cloudy
from scoresby.report.places import PLACES_CSS, render_places
from scoresby.report.science import INDEX_LEGENDS, LIGHTBOX_HTML, LIGHTBOX_SCRIPT, SCIENCE_CSS, render_science
from scoresby.report.table import TABLE_CSS, TABLE_HTML, TABLE_SCRIPT

PAGE_SIZE = 50
"""Scenes per page of the table (each with up to three products' thumbnails)."""

# A product's three files by the layout (quicklook_of, histogram_of; flags: which exist).
QUICKLOOK, HISTOGRAM, COG = 1, 2, 4


def _stem_and_flags(cog: str, run_dir: str) -> tuple[str, int]:
    """The product's path stem relative to the run folder and which of its three files are there."""
    stem = cog.removesuffix(COG_SUFFIX)
    if run_dir.startswith("s3://"):  # listing S3 would cost a request per image: trust the worker's layout
        rel = stem[len(run_dir) :] if stem.startswith(run_dir) else stem
        return rel, QUICKLOOK | HISTOGRAM | COG
    flags = 0
    for flag, path in ((QUICKLOOK, quicklook_of(cog)), (HISTOGRAM, histogram_of(cog)), (COG, cog)):
        if Path(path).is_file():  # never link a file that is not there (e.g. a scene from an older layout)
            flags |= flag
    return os.path.relpath(stem, run_dir).replace(os.sep, "/"), flags


def scene_rows(summary: dict[str, Any], run_dir: str) -> dict[str, Any]:
    """The table's data: products and statuses by index, then one compact row per scene (see TABLE_SCRIPT)."""
    max_cloud = (summary.get("timeseries") or {}).get("max_cloud")
    products: list[str] = []
    rows = []
    for s in summary["scenes"]:
        stats = s.get("stats") or {}
        figures = []
        for product in s["products"]:
            cog = s["outputs"].get(product)
            if not cog:
                continue
            if product not in products:
                products.append(product)
            stem, flags = _stem_and_flags(cog, run_dir)
            default = f"{s['scene_id']}/{cog_name(s['scene_id'], product).removesuffix(COG_SUFFIX)}"
            figures.append([products.index(product), None if stem == default else quote(stem), flags])
        error = s.get("error") or {}
        rows.append(
            [
                s["scene_id"],
                STATUSES.index(s["status"]),
                s["attempts"],
                (s.get("started_at") or "")[:19].replace("T", " "),
                None if s.get("duration_s") is None else round(s["duration_s"], 1),
                stats.get("place"),
                (stats.get("datetime") or "")[:10] or None,
                *(_round(stats.get(k)) for k in ("cloud_percent", "snow_ice_percent", "water_percent")),
                None if stats.get("ndvi_mean") is None else round(stats["ndvi_mean"], 3),
                1 if stats and is_cloudy(stats, max_cloud) else 0,
                f"{error.get('type', '')}: {error.get('message', '')}" if error else None,
                figures or [p for p in s["products"]],
            ]
        )
    return {
        "statuses": list(STATUSES),
        "products": products,
        "legends": {p: INDEX_LEGENDS[p][1:] for p in products if p in INDEX_LEGENDS},
        "page_size": PAGE_SIZE,
        "suffixes": [QUICKLOOK_SUFFIX, HISTOGRAM_SUFFIX, COG_SUFFIX],
        "rows": rows,
    }


def _round(value: Any) -> Any:
    return None if value is None else round(value, 1)


def _fmt_seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 120:
        return f"{value:.1f} s"
    return f"{int(value // 60)} min {int(value % 60):02d} s"


def _fmt_time(value: str | None) -> str:
    return value.replace("T", " ").replace("Z", " UTC") if value else "–"


def _json_block(data: Any) -> str:
    """JSON that cannot end its <script> element early (every "<" escaped)."""
    return json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")


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
"""

# Marks every image with its natural size once loaded, and flags the ones that did not load, so a broken
# link is visible to a reader (and checkable by a headless browser). Lazy thumbnails not yet scrolled to
# are counted apart ("pending"), not as broken.
_SCRIPT = """
function scoresbyCheckImages() {
  var images = document.querySelectorAll("img"), broken = 0, pending = 0;
  images.forEach(function (img) {
    img.setAttribute("data-natural-width", img.naturalWidth);
    img.setAttribute("data-natural-height", img.naturalHeight);
    if (!img.complete) { pending += 1; }
    else if (img.naturalWidth === 0) { img.classList.add("broken"); broken += 1; }
  });
  document.body.setAttribute("data-images", images.length);
  document.body.setAttribute("data-images-broken", broken);
  document.body.setAttribute("data-images-pending", pending);
}
window.addEventListener("load", scoresbyCheckImages);
"""


def render_report(summary: dict[str, Any], run_dir: str) -> str:
    """The report page of a summary: totals, the science section, then the scene table's data and script."""
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
    title = f"Scoresby run {summary['run_name']}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<style>{_CSS}{SCIENCE_CSS}{PLACES_CSS}{TABLE_CSS}</style>
</head>
<body>
<h1>{e(title)}</h1>
<div class="meta">generated {e(_fmt_time(summary["generated_at"]))} ·
<a href="{SUMMARY_NAME}">summary.json</a></div>
<div class="totals">{"".join(badges)}</div>
{render_science(summary.get("timeseries"), summary["scenes"])}
{render_places(summary.get("timeseries"), summary["scenes"])}
{TABLE_HTML}
<script id="scene-data" type="application/json">{_json_block(scene_rows(summary, run_dir))}</script>
{LIGHTBOX_HTML}
<script>{_SCRIPT}{TABLE_SCRIPT}{LIGHTBOX_SCRIPT}</script>
</body>
</html>
"""
