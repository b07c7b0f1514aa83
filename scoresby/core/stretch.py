"""Stretch specs: the one validator of a scene list's stretch entries and the typed spec it returns."""

from __future__ import annotations

from typing import Any, Literal, TypedDict, cast

from scoresby.core.checks import check_fields, is_number, is_pair, show, suggest
from scoresby.core.errors import InvalidInput
from scoresby.core.products import DEFAULT_PERCENTILES, PRODUCTS, STRETCH_MODES


class StretchSpec(TypedDict, total=False):
    """A validated stretch: `mode` and `gamma` always; `percentiles` or `ranges` (DN or reflectance) by mode.

    A TypedDict, so the spec stays the JSON form scene lists and the task log carry, with mypy checking it.
    """

    mode: Literal["percentile", "fixed", "equalize", "reflectance"]
    gamma: float
    percentiles: list[float]
    ranges: list[list[float]]


def parse_stretch(spec: Any, name: str = "stretch", channels: int = 3) -> StretchSpec:
    """Validate one stretch spec; InvalidInput lists every problem (the single entry point besides maps)."""
    problems: list[str] = []
    checked = check_stretch(spec, name, channels, problems)
    if checked is None:
        raise InvalidInput(problems)
    return checked


# Fields a stretch spec may carry, per mode.
STRETCH_FIELDS = {
    "percentile": ("gamma", "mode", "percentiles"),
    "fixed": ("gamma", "mode", "ranges"),
    "equalize": ("gamma", "mode"),
    "reflectance": ("gamma", "mode", "ranges"),
}


DEFAULT_GAMMA = 1.0


def check_stretch_map(value: Any, name: str, problems: list[str]) -> dict[str, StretchSpec]:
    """A mapping visual product -> stretch spec, each spec normalised (invalid entries are left out)."""
    visual = sorted(n for n, p in PRODUCTS.items() if p.kind == "visual")
    if not isinstance(value, dict):
        problems.append(
            f"{name}: {show(value)} is not allowed; "
            f"allowed: an object mapping {', '.join(visual)} to a stretch"
        )
        return {}
    out: dict[str, StretchSpec] = {}
    for product, spec in value.items():
        if product not in visual:
            problems.append(
                f"{name}: {show(product)} does not take a stretch{suggest(product, visual)}; "
                f"allowed: {', '.join(visual)}"
            )
            continue
        channels = len(PRODUCTS[product].roles)
        normalised = check_stretch(spec, f"{name}.{product}", channels, problems)
        if normalised is not None:
            out[product] = normalised
    return out


def check_stretch(spec: Any, name: str, channels: int, problems: list[str]) -> StretchSpec | None:
    """One stretch spec normalised to ARCHITECTURE.md's form; `mode` defaults to percentile."""
    if not isinstance(spec, dict):
        problems.append(f'{name}: {show(spec)} is not allowed; allowed: an object with "mode"')
        return None
    before = len(problems)
    mode = spec.get("mode", "percentile")
    if mode not in STRETCH_MODES:
        allowed = ", ".join(STRETCH_MODES)
        problems.append(f"{name}.mode: {show(mode)} is not a stretch mode; allowed: {allowed}")
        return None
    check_fields(spec, STRETCH_FIELDS[mode], f"{name}: ", f"field of a {mode} stretch", problems)
    gamma = spec.get("gamma", DEFAULT_GAMMA)
    if not is_number(gamma) or gamma <= 0:
        problems.append(f"{name}.gamma: {show(gamma)} is not allowed; allowed: a number > 0 (default 1.0)")
    out: dict[str, Any] = {"mode": mode}
    if mode == "percentile":
        pct = spec.get("percentiles", list(DEFAULT_PERCENTILES))
        if not (is_pair(pct) and 0 <= pct[0] < pct[1] <= 100):
            problems.append(
                f"{name}.percentiles: {show(pct)} is not allowed; "
                "allowed: [lo, hi] with 0 <= lo < hi <= 100 (default [2, 98])"
            )
        else:
            out["percentiles"] = [float(pct[0]), float(pct[1])]
    elif mode == "fixed":
        out["ranges"] = check_ranges(spec.get("ranges"), f"{name}.ranges", channels, problems)
    elif mode == "reflectance":
        out["ranges"] = check_reflectance_ranges(spec.get("ranges"), f"{name}.ranges", channels, problems)
    if len(problems) > before:
        return None
    out["gamma"] = float(gamma)
    return cast(StretchSpec, out)


# Largest raw value of the worker's inputs (uint16); fixed stretch ranges beyond it cannot be applied.
MAX_DN = 65535


def check_ranges(value: Any, name: str, channels: int, problems: list[str]) -> list[list[float]]:
    """One [lo, hi] per channel, 0 <= lo < hi <= 65535 (raw DN of the uint16 input bands)."""
    return _check_pairs(
        value,
        name,
        channels,
        problems,
        limits=(0, MAX_DN),
        what="",
        bound="",
        example="[[5900, 11000], [6200, 11000], [7600, 11000]]",
    )


# Reflectance a stretch may span: surface reflectance dips below 0 (over-correction) and bright snow tops 1.
REFLECTANCE_LIMITS = (-0.2, 1.6)


def check_reflectance_ranges(value: Any, name: str, channels: int, problems: list[str]) -> list[list[float]]:
    """One [lo, hi] per channel in reflectance units (the same for Landsat and Sentinel-2), lo < hi."""
    return _check_pairs(
        value,
        name,
        channels,
        problems,
        limits=REFLECTANCE_LIMITS,
        what=" of reflectance",
        bound=" reflectance",
        example="[[0, 0.3], [0, 0.3], [0, 0.3]]",
    )


def _check_pairs(
    value: Any,
    name: str,
    channels: int,
    problems: list[str],
    *,
    limits: tuple[float, float],
    what: str,
    bound: str,
    example: str,
) -> list[list[float]]:
    """One [lo, hi] pair per channel within `limits`; every bad pair is reported with its index."""
    lo_limit, hi_limit = limits
    if not isinstance(value, list) or len(value) != channels:
        problems.append(
            f"{name}: {show(value)} is not allowed; "
            f"allowed: {channels} pairs [lo, hi]{what}, one per channel, e.g. {example}"
        )
        return []
    ranges = []
    for i, pair in enumerate(value):
        if not (is_pair(pair) and lo_limit <= pair[0] < pair[1] <= hi_limit):
            problems.append(
                f"{name}[{i}]: {show(pair)} is not allowed; "
                f"allowed: [lo, hi]{bound} with {lo_limit} <= lo < hi <= {hi_limit}"
            )
        else:
            ranges.append([float(pair[0]), float(pair[1])])
    return ranges
