"""What a place's products are, one definition for the local build and the AWS place stage.

From the inventory (inventory.py) and the normalised `composites` option: each composite (one per period),
change pair and trend, with its Item id, fingerprint (manifest.fingerprint of everything it is made from),
time span and properties. A product whose fingerprint is the one recorded is current and not made again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from scoresby.core.place_options import MIN_TREND_PERIODS
from scoresby.places import manifest, periods
from scoresby.places.inventory import Inventory, Period, span_of
from scoresby.places.observations import group
from scoresby.raster.bands import Grid


@dataclass
class Product:
    """One place product to have: kind, Item id, fingerprint, span, Item properties and inputs."""

    kind: str  # composite | change | trend
    item_id: str
    fingerprint: str
    span: tuple[str, str]
    props: dict[str, Any]
    scenes: list[str] = field(default_factory=list)  # composite: its scene ids
    inputs: list[str] = field(default_factory=list)  # change: [from, to]; trend: the periods' composites
    times: list[float] = field(default_factory=list)  # trend: the periods' mid-times (decimal years)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the AWS plan document)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Product:
        """Back from `to_dict`."""
        return cls(**{**doc, "span": tuple(doc["span"])})


def common_of(
    options: dict[str, Any], names: list[str], stretch: dict[str, Any], aoi: dict[str, Any], grid: Grid
) -> dict[str, Any]:
    """What every composite of the place is made with (part of each composite's fingerprint)."""
    return {
        "method": options["method"],
        "harmonize": options["harmonize"],
        "products": names,
        "stretch": stretch,
        "aoi": aoi,
        "grid": [grid.width, grid.height, list(grid.transform)[:6], grid.crs.to_string()],
    }


def composite_of(
    place: str,
    p: Period,
    inv: Inventory,
    man: dict[str, Any],
    options: dict[str, Any],
    common: dict[str, Any],
) -> Product:
    """The composite of one period (sets the period's item_id and fingerprint too)."""
    p.item_id = f"{place}_composite_{p.label}"
    keys = sorted((s, man["scenes"][s]["key"]) for s in p.scenes)
    p.fingerprint = manifest.fingerprint(common, keys)
    lon = (common["aoi"]["bbox"][0] + common["aoi"]["bbox"][2]) / 2
    obs = group([inv.dates[s] for s in p.scenes], lon)
    props = {
        "scoresby:period": p.label,
        "scoresby:scenes": sorted(p.scenes),
        "scoresby:observations": len(obs),
        "scoresby:method": options["method"],
        "scoresby:harmonized": options["harmonize"],
    }
    span = span_of(p, options["period"], inv.dates)
    return Product("composite", p.item_id, p.fingerprint, span, props, scenes=sorted(p.scenes))


def _no_trend(period: str, periods: int, has_indices: bool) -> str | None:
    """Why a trend map asked for cannot be made, None when it can."""
    if period == "all":
        return "period 'all' makes one composite"
    if periods < 3:
        return "fewer than 3 periods with a composite"
    return None if has_indices else "no index product"


def derived_of(
    place: str, made: Sequence[Product], options: dict[str, Any], has_indices: bool
) -> tuple[list[Product], list[str]]:
    """The change Items and the trend Item over the composites `made` (in period order), and notes."""
    out: list[Product] = []
    notes: list[str] = []
    done = {c.props["scoresby:period"]: c for c in made}
    labels = list(done)
    change = options["change"]
    pairs: list[tuple[str, str]] = []
    props: dict[str, Any]
    if change == "first-last":
        pairs = [(labels[0], labels[-1])] if len(labels) >= 2 else []
    elif change == "consecutive":
        pairs = list(zip(labels, labels[1:], strict=False))
    elif change is not None:
        for a, b in change:
            missing = [x for x in (a, b) if x not in done]
            if missing:
                notes.append(f"change {a} -> {b}: period {missing[0]} has no scenes; no change map")
            else:
                pairs.append((a, b))
    if change in ("first-last", "consecutive") and len(labels) == 1 and options["period"] != "all":
        notes.append(f"place {place}: no change map (one period with a composite)")
    for a, b in pairs:
        pa, pb = done[a], done[b]
        props = {
            "scoresby:from": a,
            "scoresby:to": b,
            "scoresby:from_item": pa.item_id,
            "scoresby:to_item": pb.item_id,
        }
        fp = manifest.fingerprint("change", pa.fingerprint, pb.fingerprint)
        span = (pa.span[0], pb.span[1])
        out.append(
            Product("change", f"{place}_change_{a}_{b}", fp, span, props, inputs=[pa.item_id, pb.item_id])
        )
    trend, n = options["trend"], len(made)
    if trend is False or (trend is None and (options["period"] == "all" or n < MIN_TREND_PERIODS)):
        return out, notes
    why = _no_trend(options["period"], n, has_indices)
    if why:
        notes.append(f"place {place}: no trend map ({why})")
        return out, notes
    props = {"scoresby:periods": labels, "scoresby:period_items": [p.item_id for p in made]}
    fp = manifest.fingerprint("trend", [p.fingerprint for p in made])
    span = (made[0].span[0], made[-1].span[1])
    times = [_midpoint(p.span) for p in made]
    out.append(
        Product("trend", f"{place}_trend", fp, span, props, inputs=[p.item_id for p in made], times=times)
    )
    return out, notes


def _midpoint(span: tuple[str, str]) -> float:
    a, b = (datetime.fromisoformat(s.replace("Z", "+00:00")) for s in span)
    return periods.decimal_year(a + (b - a) / 2)
