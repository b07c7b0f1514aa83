"""The science part of report.html: time-series chart, timelapses, per-scene statistics, footprint map.

Everything is inline or relative to the run folder (an inline SVG map, CSS colour legends), so the report
works offline. Scene ids and places come from users: everything is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from scoresby.core.timeseries import is_cloudy

# Five stops of matplotlib's colormaps the quicklooks use (raster/plots.py INDEX_CMAPS) over -1 .. 1.
INDEX_LEGENDS = {
    "ndvi": ("RdYlGn", ("#a50026", "#f98e52", "#feffbe", "#84ca66", "#006837"), "bare / water", "vegetation"),
    "ndsi": ("RdBu", ("#67001f", "#e58368", "#f6f7f7", "#68abd0", "#053061"), "no snow", "snow / ice"),
    "ndwi": ("BrBG", ("#543005", "#cfa256", "#f4f5f5", "#58b0a7", "#003c30"), "dry land", "water"),
}

SCIENCE_CSS = """
.science { display: flex; flex-wrap: wrap; gap: 16px; margin: 12px 0 20px; align-items: flex-start; }
.science figure { margin: 0; }
.science img.chart { height: 330px; width: auto; }
.science img.timelapse { height: 330px; width: auto; }
.science figure img { height: auto; max-width: none; }
.stats { width: auto; margin-bottom: 20px; font-variant-numeric: tabular-nums; }
.stats td, .stats th { padding: 4px 8px; text-align: right; }
.stats td:first-child, .stats th:first-child, .stats td.id { text-align: left; }
.stats td { white-space: nowrap; }
.stats td.id { min-width: 0; word-break: normal; }
.stats tr.cloudy td { color: #8a6d00; background: #fff8e1; }
.legend { width: 150px; height: 9px; margin: 3px auto 0; border: 1px solid #dde2ea; }
.legend-labels { display: flex; justify-content: space-between; width: 150px; margin: 0 auto;
  font-size: 10px; color: #5b6475; }
svg.map { border: 1px solid #dde2ea; background: #f4f8fb; }
svg.map polygon { fill: rgba(26, 86, 196, 0.12); stroke: #1a56c4; stroke-width: 1; }
svg.map polygon.cloudy { stroke: #b08400; stroke-dasharray: 3 2; }
svg.map line { stroke: #c9d2de; stroke-width: 0.5; }
svg.map text { font-size: 9px; fill: #5b6475; }
#lightbox { display: none; position: fixed; inset: 0; background: rgba(10, 12, 16, 0.86); z-index: 10;
  align-items: center; justify-content: center; cursor: zoom-out; }
#lightbox.open { display: flex; }
#lightbox img { max-width: 96vw; max-height: 92vh; height: auto; width: auto; border: 0; background: #fff; }
"""

# Quicklooks open full size in an overlay (a plain link to the PNG without JavaScript); Esc or a click closes.
LIGHTBOX_SCRIPT = """
document.addEventListener("click", function (ev) {
  var a = ev.target.closest && ev.target.closest("a.full");
  var box = document.getElementById("lightbox");
  if (a) {
    ev.preventDefault();
    var img = box.querySelector("img") || box.appendChild(document.createElement("img"));
    img.alt = "full size"; img.src = a.getAttribute("href"); box.classList.add("open"); return;
  }
  if (ev.target.closest && ev.target.closest("#lightbox")) { box.classList.remove("open"); }
});
document.addEventListener("keydown", function (ev) {
  if (ev.key === "Escape") { document.getElementById("lightbox").classList.remove("open"); }
});
"""

# The overlay's <img> is made on the first click: an empty one would count as a broken image.
LIGHTBOX_HTML = '<div id="lightbox" role="dialog" aria-label="full size"></div>'

MAP_MAX_FOOTPRINTS = 300
"""Above this many scenes the map draws one footprint per place."""


def legend_html(product: str) -> str:
    """A colour bar with -1 / 0 / 1 and what the ends mean, for an index quicklook ('' for other products)."""
    if product not in INDEX_LEGENDS:
        return ""
    name, stops, low, high = INDEX_LEGENDS[product]
    gradient = ", ".join(stops)
    return (
        f'<div class="legend" title="{html.escape(name)}, -1 to 1" '
        f'style="background: linear-gradient(to right, {gradient})"></div>'
        f'<div class="legend-labels"><span>-1 {html.escape(low)}</span><span>0</span>'
        f"<span>{html.escape(high)} 1</span></div>"
    )


def _rings(geometry: dict[str, Any] | None) -> list[list[tuple[float, float]]]:
    if not geometry or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return []
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    return [[(float(p[0]), float(p[1])) for p in polygon[0]] for polygon in polygons if polygon]


def footprint_map(
    footprints: dict[str, Any], cloudy: set[str] | None = None, width: int = 360, height: int = 240
) -> str:
    """Inline SVG: every scene's footprint on a lon/lat graticule (equirectangular, x scaled by cos(lat))."""
    rings = {scene_id: _rings(geom) for scene_id, geom in footprints.items()}
    points = [p for parts in rings.values() for ring in parts for p in ring]
    if not points:
        return ""
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    pad_x, pad_y = max((east - west) * 0.15, 0.05), max((north - south) * 0.15, 0.05)
    west, east, south, north = west - pad_x, east + pad_x, south - pad_y, north + pad_y
    kx = math.cos(math.radians((south + north) / 2))
    scale = min((width - 20) / ((east - west) * kx), (height - 20) / (north - south))

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return 10 + (lon - west) * kx * scale, 10 + (north - lat) * scale

    parts = [f'<svg class="map" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    parts.append("<title>scene footprints (lon/lat)</title>")
    step = _nice_step(max(east - west, north - south))
    lon = math.ceil(west / step) * step
    while lon <= east:
        x0, _ = xy(lon, north)
        parts.append(f'<line x1="{x0:.1f}" y1="0" x2="{x0:.1f}" y2="{height}"/>')
        parts.append(f'<text x="{x0 + 2:.1f}" y="{height - 3}">{lon:g}°</text>')
        lon += step
    lat = math.ceil(south / step) * step
    while lat <= north:
        _, y0 = xy(west, lat)
        parts.append(f'<line x1="0" y1="{y0:.1f}" x2="{width}" y2="{y0:.1f}"/>')
        parts.append(f'<text x="2" y="{y0 - 2:.1f}">{lat:g}°</text>')
        lat += step
    for scene_id, scene_rings in rings.items():
        css = ' class="cloudy"' if cloudy and scene_id in cloudy else ""
        for ring in scene_rings:
            pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(*p) for p in ring))
            parts.append(f'<polygon{css} points="{pts}"><title>{html.escape(scene_id)}</title></polygon>')
    parts.append("</svg>")
    return "".join(parts)


def _nice_step(span: float) -> float:
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30):
        if span / step <= 6:
            return step
    return 45


def _latest_per_place(footprints: dict[str, Any], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One footprint per place, its latest scene's (a map of 10,000 overlapping outlines says no more)."""
    latest: dict[str, tuple[str, str]] = {}
    for s in rows:
        place, when = str(s["stats"].get("place")), str(s["stats"].get("datetime") or "")
        if s["scene_id"] in footprints and (place not in latest or when >= latest[place][0]):
            latest[place] = (when, s["scene_id"])
    return {scene_id: footprints[scene_id] for _, scene_id in latest.values()}


def render_science(timeseries: dict[str, Any] | None, scenes: Sequence[dict[str, Any]]) -> str:
    """The top of the report: chart, timelapses and footprint map (statistics: in the scene table)."""
    if not timeseries:
        return ""
    e = html.escape
    max_cloud = timeseries.get("max_cloud")
    rows = [s for s in scenes if s.get("stats")]
    cloudy = {s["scene_id"] for s in rows if is_cloudy(s["stats"], max_cloud)}
    figures = []
    chart = timeseries.get("chart")
    if chart:
        img = f'<img class="chart" src="{quote(chart)}" alt="time series chart">'
        figures.append(
            f'<figure><a class="full" href="{quote(chart)}">{img}</a>'
            "<figcaption>snow/ice, water and cloud over time</figcaption></figure>"
        )
    for place, names in sorted((timeseries.get("timelapses") or {}).items()):
        gif = next((n for n in names if n.endswith(".gif")), None)
        if gif is None:
            continue
        extra = "".join(f' · <a href="{quote(n)}">{e(n.rsplit(".", 1)[-1])}</a>' for n in names if n != gif)
        figures.append(
            f'<figure><a class="full" href="{quote(gif)}"><img class="timelapse" src="{quote(gif)}" '
            f'alt="{e(place)} timelapse"></a><figcaption>{e(place)} timelapse{extra}</figcaption></figure>'
        )
    footprints = timeseries.get("footprints") or {}
    caption = "footprints (dashed: cloudy)"
    if len(footprints) > MAP_MAX_FOOTPRINTS:
        footprints = _latest_per_place(footprints, rows)
        caption = f"footprints: the latest scene of each of {len(footprints)} places"
    svg = footprint_map(footprints, cloudy)
    if svg:
        figures.append(f"<figure>{svg}<figcaption>{e(caption)}</figcaption></figure>")
    csv_link = f' · <a href="{quote(timeseries["csv"])}">timeseries.csv</a>' if timeseries.get("csv") else ""
    return (
        f'<h2>What changed</h2><div class="science">{"".join(figures)}</div>'
        f'<div class="meta">statistics (in the scene table) over clear pixels (cloud, shadow and clear over '
        f"valid pixels); – = unknown (no QA band){csv_link}</div>"
        + "".join(f'<div class="meta">{e(note)}</div>' for note in timeseries.get("notes") or [])
    )
