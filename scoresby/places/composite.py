"""Per-block composites over clear observations: the reduction, classes, frequencies (pure numpy).

Classes follow the per-scene rules of raster/stats.py, tested without dividing as there: snow/ice when
NDSI > 0.4 and NIR > 0.11; water when NDWI > 0 and not snow/ice; other land when the three inputs are
known; unknown (0) where a composite has no clear observation.
"""

from __future__ import annotations

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
    n = stack.shape[-1]
    if n == 0:
        return np.full(stack.shape[:-1], np.nan, dtype=np.float32)
    stack.sort(axis=-1)
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
    shape = (1,) * (stack.ndim - 1 - count.ndim)
    lo_v = np.take_along_axis(stack, lo.reshape(*shape, *count.shape, 1), axis=-1)[..., 0]
    hi_v = np.take_along_axis(stack, hi.reshape(*shape, *count.shape, 1), axis=-1)[..., 0]
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
