"""The scene-list option `composites` (place products, issue 21): validated once, here, with one-line errors.

Normalised form: {"period", "months" (sorted tuple), "method", "change" ("first-last" | "consecutive" |
[[from, to], ...] | None), "trend" (True | False | None = with >= 4 periods), "harmonize", "sensors"}.
"""

from __future__ import annotations

import re
from typing import Any

from scoresby.core.checks import check_fields, show, suggest

COMPOSITE_FIELDS = ("change", "harmonize", "method", "months", "period", "sensors", "trend")
PERIODS = ("year", "season", "month", "all")
METHODS = ("median", "min", "max", "pNN")
CHANGES = ("first-last", "consecutive")
SEASONS = ("DJF", "MAM", "JJA", "SON")
PLACE_SENSORS = ("tm", "etm+", "oli", "mss", "msi")
"""Instrument groups a composite may take scenes from: Landsat TM (4-5), ETM+ (7), OLI (8-9), MSS (1-5),
Sentinel-2 MSI. MSS and MSI differ in bands and footprint from Landsat TM/ETM+/OLI: only when listed."""
DEFAULT_SENSORS = ("tm", "etm+", "oli")
MIN_TREND_PERIODS = 4
"""`trend` left out: a trend is made from this many periods with scenes on (fewer say nothing)."""

_PERCENTILE = re.compile(r"^p(\d{1,2})$")
LABEL_PATTERNS = {
    "year": re.compile(r"^\d{4}$"),
    "season": re.compile(r"^\d{4}-(DJF|MAM|JJA|SON)$"),
    "month": re.compile(r"^\d{4}-(0[1-9]|1[0-2])$"),
    "all": re.compile(r"^all$"),
}
LABEL_EXAMPLES = {"year": "'2016'", "season": "'2016-JJA'", "month": "'2016-08'", "all": "'all'"}


def check_composites(value: Any, name: str, problems: list[str]) -> dict[str, Any] | None:
    """The normalised `composites` object (see the module docstring), or None after appending problems."""
    if not isinstance(value, dict):
        example = '{"period": "year", "months": [7, 8, 9]}'
        problems.append(f"{name}: {show(value)} is not allowed; allowed: an object such as {example}")
        return None
    before = len(problems)
    check_fields(value, COMPOSITE_FIELDS, f"{name}: ", "field of composites", problems)
    period = value.get("period", "year")
    if period not in PERIODS:
        problems.append(
            f"{name}.period: {show(period)} is not a period{suggest(period, PERIODS)}; "
            f"allowed: {', '.join(PERIODS)}"
        )
    months = value.get("months", list(range(1, 13)))
    if not (isinstance(months, list) and months and all(_is_month(m) for m in months)):
        problems.append(f"{name}.months: {show(months)} is not allowed; allowed: a non-empty list of 1-12")
    method = value.get("method", "median")
    if not (isinstance(method, str) and (method in METHODS[:3] or _percentile(method) is not None)):
        problems.append(
            f"{name}.method: {show(method)} is not a method{suggest(method, METHODS)}; "
            "allowed: median, min, max, pNN (a percentile 0-99, e.g. p25)"
        )
    change = _check_change(value.get("change", "first-last"), period, f"{name}.change", problems)
    trend = value.get("trend")
    if trend is not None and not isinstance(trend, bool):
        problems.append(f"{name}.trend: {show(trend)} is not allowed; allowed: true or false")
    harmonize = value.get("harmonize", True)
    if not isinstance(harmonize, bool):
        problems.append(f"{name}.harmonize: {show(harmonize)} is not allowed; allowed: true or false")
    sensors = value.get("sensors", list(DEFAULT_SENSORS))
    allowed = ", ".join(PLACE_SENSORS)
    if not (isinstance(sensors, list) and sensors and all(s in PLACE_SENSORS for s in sensors)):
        problems.append(
            f"{name}.sensors: {show(sensors)} is not allowed; allowed: a non-empty list of {allowed}"
        )
    if len(problems) > before:
        return None
    return {
        "period": period,
        "months": sorted(set(months)),
        "method": method,
        "change": change,
        "trend": trend,
        "harmonize": harmonize,
        "sensors": list(dict.fromkeys(sensors)),
    }


def check_place_aoi(composites: Any, aoi: Any, problems: list[str]) -> None:
    """`composites` needs the run's `aoi`: place products are made on its grid."""
    if composites is not None and aoi is None:
        problems.append(
            'composites: needs the run\'s "aoi" (place products are made on its grid); '
            'allowed: add "aoi": {"bbox": [west, south, east, north]} or remove composites'
        )


def percentile_of(method: str) -> float | None:
    """The percentile of a `pNN` method (median = 50), None for min and max."""
    if method == "median":
        return 50.0
    return _percentile(method)


def _percentile(method: Any) -> float | None:
    m = _PERCENTILE.match(method) if isinstance(method, str) else None
    return float(m[1]) if m else None


def _is_month(m: Any) -> bool:
    return isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12


def _label(value: Any, period: Any) -> Any:
    """A change pair's label as given, or a year given as a number (2016) as the year's label '2016'."""
    if period == "year" and isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 9999:
        return f"{value:04d}"
    return value


def _check_change(change: Any, period: Any, name: str, problems: list[str]) -> Any:
    """first-last, consecutive, None (false) or [[from, to], ...] of period labels (a year: or a number)."""
    if change is False:
        return None
    if change in CHANGES:
        return change
    if isinstance(change, list) and change:
        pattern = LABEL_PATTERNS.get(period) if isinstance(period, str) else None
        pairs = []
        for i, raw in enumerate(change):
            pair = [_label(p, period) for p in raw] if isinstance(raw, list) else raw
            ok = isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
            if not ok or pair[0] == pair[1]:
                example = LABEL_EXAMPLES.get(period, "'2016'") if isinstance(period, str) else "'2016'"
                problems.append(
                    f"{name}[{i}]: {show(raw)} is not allowed; "
                    f"allowed: [from, to], two different period labels such as {example}"
                )
                continue
            for label in pair:
                if pattern is not None and not pattern.match(label):
                    problems.append(
                        f"{name}[{i}]: {show(label)} is not a {period} label; "
                        f"allowed: labels such as {LABEL_EXAMPLES[period]}"
                    )
            pairs.append([pair[0], pair[1]])
        return pairs
    problems.append(
        f"{name}: {show(change)} is not allowed; allowed: first-last, consecutive, false, "
        "or a list of [from, to] period labels"
    )
    return None
