"""Pure numpy raster maths: reflectance, normalised differences, whole-scene histograms and 8-bit stretches.

Conventions shared with raster.bands, raster.builder and commands.scene:

* Input bands are unsigned integer DN; DN 0 is nodata for every supported sensor (zero-fill borders),
  so a pixel that is nodata in any way is stored as DN 0 before it reaches this module.
* 8-bit products reserve 0 for nodata: every lookup table maps DN 0 to 0 and valid DN to 1..255.
* Gamma follows the usual display convention: out = x ** (1 / gamma), so gamma > 1 brightens mid-tones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scoresby.core.products import DEFAULT_PERCENTILES
from scoresby.core.stretch import StretchSpec

N_DN = 65536
"""Number of histogram bins: one per possible uint16 DN."""

INDEX_BINS = 200
INDEX_RANGE = (-1.0, 1.0)
"""Value histogram bins of an index product (a normalised difference of positive numbers is in [-1, 1];
the few EVI or SAVI values beyond count in the end bins)."""


def valid_dn(dn: np.ndarray, nodata: float | None = None) -> np.ndarray:
    """Mask of valid pixels: not 0 (zero fill), not the declared nodata value."""
    valid = dn != 0
    if nodata is not None and not np.isnan(nodata) and nodata != 0:
        valid &= dn != nodata
    return valid


def reflectance(dn: np.ndarray, scale: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """Reflectance (float32) = DN * scale + offset, NaN where DN is 0 (nodata)."""
    out = dn.astype(np.float32)
    if scale:
        # Offset in DN units first: Sentinel-2's -1000 DN is exact in float32, so DN 1000 gives exactly 0.
        out += np.float32(offset / scale)
        out *= np.float32(scale)
    else:
        out[:] = np.float32(offset)
    out[dn == 0] = np.nan
    return out


def normalized_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a - b) / (a + b) as float32; NaN where an input is NaN or negative, or where a + b is 0."""
    return index_of(lambda x, y: (x - y) / (x + y), [a, b])


def index_of(formula: Callable[..., np.ndarray], inputs: Sequence[np.ndarray]) -> np.ndarray:
    """An index formula on reflectance arrays as float32; NaN where an input is NaN or negative, or where
    the formula is not finite (a zero denominator)."""
    arrays = [np.asarray(a, dtype=np.float32) for a in inputs]
    # Negative reflectance is over-correction (dark water in surface reflectance): not a measurement.
    bad = np.zeros(arrays[0].shape, dtype=bool)
    for a in arrays:
        bad |= ~(a >= 0)  # NaN (nodata) and negative
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.asarray(formula(*arrays), dtype=np.float32)
    bad |= ~np.isfinite(out)
    out[bad] = np.nan
    return out


def dn_histogram(dn: np.ndarray) -> np.ndarray:
    """Counts of every uint16 DN (65536 bins, int64) with bin 0 (nodata) cleared."""
    counts = np.bincount(dn.ravel(), minlength=N_DN).astype(np.int64, copy=False)
    counts[0] = 0
    return counts


def index_histogram(values: np.ndarray) -> np.ndarray:
    """Counts of finite index values in INDEX_BINS equal bins over INDEX_RANGE (top edge in the last bin)."""
    lo, hi = INDEX_RANGE
    finite = values[np.isfinite(values)].astype(np.float64)  # float64 bin edges, as np.histogram uses
    # bincount of the bin numbers: several times faster than np.histogram on millions of floats.
    bins = np.floor((finite - lo) * (INDEX_BINS / (hi - lo))).astype(np.intp)
    np.clip(bins, 0, INDEX_BINS - 1, out=bins)
    return np.bincount(bins, minlength=INDEX_BINS).astype(np.int64)


def percentile_cutoffs(hist: np.ndarray, lo_pct: float, hi_pct: float) -> tuple[int, int]:
    """DN at the lo and hi percentiles of a DN histogram (exact, from cumulative counts); (0, 0) if empty."""
    cdf = np.cumsum(hist)
    total = int(cdf[-1])
    if total == 0:
        return 0, 0
    lo = int(np.searchsorted(cdf, total * lo_pct / 100.0, side="left"))
    hi = int(np.searchsorted(cdf, total * hi_pct / 100.0, side="left"))
    # An empty lower tail (lo_pct == 0) lands on bin 0, which holds no valid pixel: use the first valid DN.
    lo = max(lo, int(np.argmax(hist > 0)))
    return lo, max(hi, lo)


def _to_lut(x: np.ndarray, gamma: float) -> np.ndarray:
    """Map x in [0, 1] per DN to 1..255 with gamma; DN 0 stays 0 (nodata)."""
    x = np.clip(x, 0.0, 1.0)
    if gamma != 1.0:
        x = x ** (1.0 / gamma)
    lut = (1.0 + np.rint(x * 254.0)).astype(np.uint8)
    lut[0] = 0
    return lut


def linear_lut(lo: float, hi: float, gamma: float = 1.0) -> np.ndarray:
    """uint16 -> uint8 lookup table of a linear stretch: DN <= lo -> 1, DN >= hi -> 255, DN 0 -> 0."""
    dn = np.arange(N_DN, dtype=np.float64)
    span = max(float(hi) - float(lo), 1.0)
    return _to_lut((dn - float(lo)) / span, gamma)


def equalize_lut(hist: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """uint16 -> uint8 lookup table of histogram equalisation over the valid pixels of `hist`."""
    cdf = np.cumsum(hist).astype(np.float64)
    total = cdf[-1]
    if total == 0:
        return _to_lut(np.zeros(N_DN), gamma)
    first = cdf[np.argmax(hist > 0)]
    # Classic equalisation: the darkest valid DN maps to the bottom, the brightest to the top.
    x = (cdf - first) / max(total - first, 1.0)
    return _to_lut(x, gamma)


@dataclass(frozen=True)
class Stretch:
    """A stretch resolved against a scene: one lookup table per channel plus what was applied (JSON-safe)."""

    luts: tuple[np.ndarray, ...]
    record: dict[str, Any] = field(default_factory=dict)


def resolve_stretch(
    spec: StretchSpec | None,
    hists: Sequence[np.ndarray],
    rescaling: Sequence[tuple[float, float]] | None = None,
) -> Stretch:
    """Turn a validated stretch spec (core.stretch) and whole-scene histograms into lookup tables.

    `rescaling` is each channel's (scale, offset) from DN to reflectance; a reflectance stretch needs it.
    """
    spec = spec or StretchSpec(mode="percentile")
    mode = spec.get("mode", "percentile")
    gamma = float(spec.get("gamma", 1.0))
    record: dict[str, Any] = {"mode": mode, "gamma": gamma}
    if mode == "percentile":
        lo_pct, hi_pct = spec.get("percentiles", list(DEFAULT_PERCENTILES))
        cuts = [percentile_cutoffs(h, lo_pct, hi_pct) for h in hists]
        record["percentiles"] = [float(lo_pct), float(hi_pct)]
        record["cutoffs"] = [list(c) for c in cuts]
        luts = tuple(linear_lut(lo, hi, gamma) for lo, hi in cuts)
    elif mode == "fixed":
        ranges = spec["ranges"]
        record["cutoffs"] = [[float(lo), float(hi)] for lo, hi in ranges]
        luts = tuple(linear_lut(lo, hi, gamma) for lo, hi in ranges)
    elif mode == "reflectance":
        # One reflectance is different DN for Landsat and Sentinel-2: convert by each channel's radiometry.
        channels = rescaling or [(1.0, 0.0)] * len(spec["ranges"])
        cuts_dn = [
            (reflectance_to_dn(lo, scale, offset), reflectance_to_dn(hi, scale, offset))
            for (lo, hi), (scale, offset) in zip(spec["ranges"], channels, strict=True)
        ]
        record["ranges"] = [[float(lo), float(hi)] for lo, hi in spec["ranges"]]
        record["cutoffs"] = [[float(lo), float(hi)] for lo, hi in cuts_dn]
        luts = tuple(linear_lut(lo, hi, gamma) for lo, hi in cuts_dn)
    else:
        # Record each channel's valid DN range so the histogram plot can mark where equalisation spans.
        record["cutoffs"] = [list(percentile_cutoffs(h, 0.0, 100.0)) for h in hists]
        luts = tuple(equalize_lut(h, gamma) for h in hists)
    return Stretch(luts=luts, record=record)


def reflectance_to_dn(value: float, scale: float, offset: float) -> float:
    """The DN whose reflectance (DN * scale + offset) is `value`, clipped to 0..65535."""
    dn = (value - offset) / scale if scale else 0.0
    return float(min(max(dn, 0.0), N_DN - 1))


def _all_valid(channels: Sequence[np.ndarray]) -> np.ndarray:
    valid = channels[0] != 0
    for ch in channels[1:]:
        valid &= ch != 0
    return valid


def apply_luts(channels: Sequence[np.ndarray], luts: Sequence[np.ndarray]) -> np.ndarray:
    """Stretch uint16 channels to an (n, rows, cols) uint8 stack; nodata (0) in any channel is 0 in all."""
    out = np.empty((len(channels), *channels[0].shape), dtype=np.uint8)
    for i, (ch, lut) in enumerate(zip(channels, luts, strict=True)):
        np.take(lut, ch, out=out[i])  # take is faster than fancy indexing for a table lookup
    out *= _all_valid(channels)  # multiplying by the bool mask beats boolean-index assignment
    return out


def mask_any_nodata(channels: Sequence[np.ndarray]) -> np.ndarray:
    """Stack uint16 channels to (n, rows, cols); a pixel that is 0 in any channel becomes 0 in all."""
    out = np.stack(list(channels))
    out *= _all_valid(channels)
    return out
