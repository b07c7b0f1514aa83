"""Per-block composites over clear observations: the reduction, classes, frequencies (pure numpy).

Classes follow the per-scene rules of raster/stats.py, tested without dividing as there: snow/ice when
NDSI > 0.4 and NIR > 0.11; water when NDWI > 0 and not snow/ice; other land when the three inputs are
known; unknown (0) where a composite has no clear observation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from scoresby.raster.stats import snow_and_water

UNKNOWN, SNOW_ICE, WATER, LAND = 0, 1, 2, 3
CLASS_NAMES = {UNKNOWN: "unknown", SNOW_ICE: "snow/ice", WATER: "water", LAND: "other land"}


def reduce(stack: np.ndarray, count: np.ndarray, method: str, percentile: float | None) -> np.ndarray:
    """Reduce (..., obs) float32, NaN where not clear, over its last axis; `count`: clear obs per pixel.

    Sorts in place (NaN sort last), then takes the order statistics: min, max, or a percentile with
    numpy's linear interpolation (the median of an even count is the mean of the two middle values).
    Pixels without a clear observation give NaN. Sorting along the contiguous last axis is 10x faster
    than np.nanmedian.
    """
    if stack.shape[-1] == 0:
        return np.full(stack.shape[:-1], np.nan, dtype=np.float32)
    stack.sort(axis=-1)
    lo_v, hi_v, frac = _order_statistics(stack, count, method, percentile)
    return _interpolate(lo_v, hi_v, frac, count)


def reduce_dn(
    dn: np.ndarray,
    count: np.ndarray,
    method: str,
    percentile: float | None,
    to_reflectance: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """`reduce` of (roles, h, w, obs) uint16 DN (DN_MISSING where not clear) whose reflectance is one map.

    `to_reflectance` (roles, h, w) DN -> float32 must be the same non-decreasing map for every observation
    (DN x scale + offset, then a + b x; scale, b > 0): the order of the DN is then the order of the
    reflectance, so sorting the DN and mapping only the two picked values gives `reduce`'s floats bit for
    bit, without making (or sorting) the float32 stack. A clear DN_MISSING ties with the missing ones, and
    equal DN map to equal floats, so the picked values are the same.
    """
    if dn.shape[-1] == 0:
        return np.full(dn.shape[:-1], np.nan, dtype=np.float32)
    dn.sort(axis=-1)
    lo, hi, frac = _order_statistics(dn, count, method, percentile)
    return _interpolate(to_reflectance(lo), to_reflectance(hi), frac, count)


DN_MISSING = np.iinfo(np.uint16).max
"""The DN a not-clear observation holds in `reduce_dn`'s stack: it sorts after every clear one."""


def _order_statistics(
    ordered: np.ndarray, count: np.ndarray, method: str, percentile: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The values below and above the method's position among each pixel's sorted clear values; weight."""
    last = np.maximum(count.astype(np.int64) - 1, 0)
    if method == "min":
        pos = np.zeros(count.shape, dtype=np.float64)
    elif method == "max":
        pos = last.astype(np.float64)
    else:
        q = 50.0 if percentile is None else percentile
        pos = last * (q / 100.0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, last)
    frac = (pos - lo).astype(np.float32)
    shape = (1,) * (ordered.ndim - 1 - count.ndim)
    lo_v = np.take_along_axis(ordered, lo.reshape(*shape, *count.shape, 1), axis=-1)[..., 0]
    hi_v = np.take_along_axis(ordered, hi.reshape(*shape, *count.shape, 1), axis=-1)[..., 0]
    return lo_v, hi_v, frac


def _interpolate(lo_v: np.ndarray, hi_v: np.ndarray, frac: np.ndarray, count: np.ndarray) -> np.ndarray:
    """numpy's linear interpolation between the two order statistics; NaN where nothing was clear."""
    with np.errstate(invalid="ignore"):
        out = lo_v + (hi_v - lo_v) * frac
    out = np.where(count > 0, np.where(frac == 0, lo_v, out), np.float32(np.nan))
    return np.asarray(out, dtype=np.float32)


def classify(green: np.ndarray, nir: np.ndarray, swir1: np.ndarray) -> np.ndarray:
    """uint8 classes (1 snow/ice, 2 water, 3 other land, 0 unknown) from reflectance (NaN = unknown)."""
    known = np.isfinite(green) & np.isfinite(nir) & np.isfinite(swir1)
    snow, water = snow_and_water(green, nir, swir1, known)  # the per-scene rules (raster/stats)
    out = np.where(known, LAND, UNKNOWN).astype(np.uint8)
    out[water] = WATER
    out[snow] = SNOW_ICE
    return out


def frequencies(classes: np.ndarray, clear_count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Snow/ice and water frequency (float32 0-1) from per-observation classes (h, w, obs); NaN: no clear."""
    snow = np.count_nonzero(classes == SNOW_ICE, axis=-1).astype(np.float32)
    water = np.count_nonzero(classes == WATER, axis=-1).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        n = clear_count.astype(np.float32)
        snow_f = np.where(clear_count > 0, snow / n, np.float32(np.nan)).astype(np.float32)
        water_f = np.where(clear_count > 0, water / n, np.float32(np.nan)).astype(np.float32)
    return snow_f, water_f
