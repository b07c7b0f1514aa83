"""The place part of report.html (issue 21): latest composite, change map and legend, trend map, and the
"from composites" snow/ice series beside the per-scene one (an inline SVG chart). Stdlib only."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

PLACES_CSS = """
.places figure { display: inline-block; margin: 0 12px 12px 0; vertical-align: top; }
.places figure img { height: 300px; max-width: 420px; }
.places table.legend td { padding: 1px 8px; font-size: 13px; }
.places .swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid #999; }
"""
# Class colours of the change map: snow/ice light blue, water deep blue, other land brown.
_CLASS_RGB = {1: (90, 200, 240), 2: (20, 60, 200), 3: (170, 140, 90)}


def transition_rgb(code: int) -> tuple[int, int, int]:
    """Colour of a transition code in the change quicklook: to-class colour, pale when unchanged; 12 red."""
    a, b = divmod(code, 10)
    if code == 12:
        return (230, 40, 40)  # snow/ice -> water: where the ice went
    if b not in _CLASS_RGB or a not in _CLASS_RGB:
        return (255, 255, 255)  # unknown on either date: transparent in the quicklook
    r, g, bl = _CLASS_RGB[b]
    if a == b:
        return (int(r * 0.35 + 160), int(g * 0.35 + 160), int(bl * 0.35 + 160))
    return (r, g, bl)


def series_points(
    places: dict[str, Any], scenes: Sequence[dict[str, Any]]
) -> dict[str, list[tuple[str, float]]]:
    """The chart's data: snow/ice km2 per period "from composites" and per scene (date, km2)."""
    composites = [
        (str(r.get("start_datetime", ""))[:10], float(r["snow_ice_km2"]))
        for r in places.get("rows", [])
        if isinstance(r.get("snow_ice_km2"), int | float)
    ]
    per_scene = sorted(
        (str(s["stats"].get("datetime", ""))[:10], float(s["stats"]["snow_ice_km2"]))
        for s in scenes
        if isinstance((s.get("stats") or {}).get("snow_ice_km2"), int | float)
    )
    return {"from composites": composites, "per scene": per_scene}


def _chart(series: dict[str, list[tuple[str, float]]]) -> str:
    points = [p for values in series.values() for p in values if p[0]]
    if not points:
        return ""
    width, height, pad = 640, 220, 40

    def t(day: str) -> float:
        return int(day[:4]) + (int(day[5:7]) - 1) / 12 if len(day) >= 7 else int(day[:4])

    xs = [t(d) for d, _ in points]
    ys = [v for _, v in points]
    x0, x1 = min(xs), max(xs) + 1e-9
    y1 = max(ys) * 1.1 or 1.0

    def xy(day: str, v: float) -> str:
        x = pad + (t(day) - x0) / (x1 - x0) * (width - 2 * pad)
        y = height - pad - v / y1 * (height - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    colours = {"from composites": "#c0392b", "per scene": "#7f8c8d"}
    parts = []
    for name, values in series.items():
        pts = " ".join(xy(d, v) for d, v in values if d)
        dash = "" if name == "from composites" else ' stroke-dasharray="4 3"'
        parts.append(
            f'<polyline fill="none" stroke="{colours[name]}" stroke-width="2"{dash} points="{pts}"/>'
        )
        parts += [
            '<circle cx="{}" cy="{}" r="3" fill="{}"/>'.format(*xy(d, v).split(","), colours[name])
            for d, v in values
            if d
        ]
    legend = "".join(
        f'<text x="{pad + 170 * i}" y="16" fill="{c}" font-size="12">{html.escape(n)}</text>'
        for i, (n, c) in enumerate(colours.items())
    )
    axis = (
        f'<text x="{pad}" y="{height - 8}" font-size="11">{int(x0)}</text>'
        f'<text x="{width - pad}" y="{height - 8}" font-size="11" text-anchor="end">{int(x1)}</text>'
        f'<text x="4" y="{pad}" font-size="11">{y1:.0f} km²</text>'
    )
    return (
        f'<svg class="places-chart" width="{width}" height="{height}" role="img" '
        f'aria-label="snow/ice km2 from composites and per scene">{legend}{axis}{"".join(parts)}</svg>'
    )


def _figure(href: str | None, caption: str) -> str:
    if not href:
        return ""
    e = html.escape
    return (
        f'<figure><img src="{quote(href)}" alt="{e(caption)}"><figcaption>{e(caption)}</figcaption></figure>'
    )


def render_places(timeseries: dict[str, Any] | None, scenes: Sequence[dict[str, Any]]) -> str:
    """The place section, or "" for a run without composites."""
    places = (timeseries or {}).get("places")
    if not places:
        return ""
    e = html.escape
    items = places.get("items", [])
    composites = [i for i in items if i.get("kind") == "composite"]
    changes = [i for i in items if i.get("kind") == "change"]
    trends = [i for i in items if i.get("kind") == "trend"]
    out = [f'<section class="places"><h2>Place products: {e(str(places.get("place", "")))}</h2>']
    if composites:
        latest = composites[-1]
        looks = latest.get("quicklooks", {})
        key = next(iter(looks), None)
        out.append(
            _figure(looks.get(key) if key else None, f"latest composite {latest.get('period')}: {key}")
        )
    for c in changes:
        out.append(
            _figure(c.get("quicklooks", {}).get("transitions"), f"change {c.get('from')} -> {c.get('to')}")
        )
        legend, areas = c.get("legend") or {}, c.get("transition_km2") or {}
        rows = "".join(
            f'<tr><td><span class="swatch" style="background: rgb{transition_rgb(int(code))}"></span> '
            f"{e(code)}</td><td>{e(legend.get(code, ''))}</td><td>{km2:.3f} km²</td></tr>"
            for code, km2 in sorted(areas.items(), key=lambda kv: -kv[1])
        )
        out.append(
            f'<table class="legend"><tr><th>code</th><th>transition</th><th>area</th></tr>{rows}</table>'
        )
    for t in trends:
        for key, href in t.get("quicklooks", {}).items():
            out.append(_figure(href, f"trend: {key} (Theil-Sen, per year)"))
    if trends:  # the slope quicklooks' scale (places/outputs.slope_png)
        out.append(
            '<div class="meta">trend maps: '
            '<span class="swatch" style="background: #b2182b"></span> decreasing, '
            '<span class="swatch" style="background: #f7f7f7"></span> no change, '
            '<span class="swatch" style="background: #2166ac"></span> increasing; full colour at the 98th '
            "percentile of |slope|; the Item's <code>_p_value</code> assets give the Mann-Kendall p</div>"
        )
    out.append(_chart(series_points(places, scenes)))
    out.append('<div class="meta"><a href="places/places.csv">places.csv</a></div>')
    out += [f'<div class="meta">{e(n)}</div>' for n in places.get("notes", [])]
    out.append("</section>")
    return "\n".join(p for p in out if p)
