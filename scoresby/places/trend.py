"""Per-pixel trend over a place's periods: Theil-Sen slope and Mann-Kendall two-sided p (pure numpy).

Theil-Sen (Sen 1968): the median of the slopes (y_j - y_i) / (t_j - t_i) over all pairs i < j of valid
periods. Mann-Kendall: S = sum of sign(y_j - y_i), Var(S) = [n(n-1)(2n+5) - sum over tie groups of
t(t-1)(2t+5)] / 18, Z = (S - sign(S)) / sqrt(Var S), p = erfc(|Z| / sqrt 2). A pixel needs MIN_VALID
valid periods; else both are NaN. Pixels are done in chunks, so memory is bounded by PAIR_BUDGET.
"""

from __future__ import annotations

import numpy as np

MIN_VALID = 3
PAIR_BUDGET = 2_000_000
"""Pair values held at once (pixels x pairs of a chunk, float32): about 8 MB per array."""


def theil_sen_mann_kendall(values: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(slope per time unit, p) for each pixel of `values` (periods, ...) over distinct `times` (periods,)."""
    n = values.shape[0]
    shape = values.shape[1:]
    flat = values.reshape(n, -1).T  # (pixels, periods)
    slope = np.full(flat.shape[0], np.nan, dtype=np.float32)
    p = np.full(flat.shape[0], np.nan, dtype=np.float32)
    pairs = n * (n - 1) // 2
    if pairs == 0:
        return slope.reshape(shape), p.reshape(shape)
    chunk = max(1, PAIR_BUDGET // max(pairs, n * n))
    t = np.asarray(times, dtype=np.float64)
    for start in range(0, flat.shape[0], chunk):
        part = slice(start, min(start + chunk, flat.shape[0]))
        slope[part], p[part] = _chunk(np.ascontiguousarray(flat[part], dtype=np.float32), t)
    return slope.reshape(shape), p.reshape(shape)


def _chunk(y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope and p of (pixels, periods) values; pairs lie along the contiguous last axis."""
    m, n = y.shape
    pairs = n * (n - 1) // 2
    diff = np.empty((m, pairs), dtype=np.float32)  # (pixels, pairs); NaN where either period is missing
    dt = np.empty(pairs, dtype=np.float32)
    col = 0
    for lag in range(1, n):  # pairs by lag: plain slices, no gathers
        width = n - lag
        np.subtract(y[:, lag:], y[:, :-lag], out=diff[:, col : col + width])
        dt[col : col + width] = t[lag:] - t[:-lag]
        col += width
    valid = np.isfinite(y)
    count = valid.sum(axis=1)
    npairs = count * (count - 1) // 2
    # S: comparisons with NaN are false, so missing pairs count for neither sign.
    s = (np.count_nonzero(diff > 0, axis=1) - np.count_nonzero(diff < 0, axis=1)).astype(np.float64)
    tied = np.count_nonzero(diff == 0, axis=1) > 0
    # Median of the valid pairs' slopes: NaN sorts last (numpy's SIMD sort of short float32 rows beats a
    # partition 5x), and a pixel with k valid periods has k(k-1)/2 valid pairs.
    slopes = np.divide(diff, dt, out=diff)
    slopes.sort(axis=1)
    lo = np.maximum((npairs - 1) // 2, 0)[:, None]
    hi = np.maximum(npairs // 2, 0)[:, None]
    slope = 0.5 * (np.take_along_axis(slopes, lo, 1)[:, 0] + np.take_along_axis(slopes, hi, 1)[:, 0])
    slope[count < MIN_VALID] = np.nan
    del slopes, diff
    # Tie correction: sum over tie groups of t(t-1)(2t+5) = 12 C(t,3) + 18 C(t,2). In sorted values an
    # element with r equal ones before it adds r tied pairs and C(r,2) tied triples (NaN never ties).
    ties = np.zeros(m, dtype=np.float64)
    if tied.any():
        ys = np.sort(y[tied], axis=1)
        run = np.zeros(ys.shape[0], dtype=np.float64)
        pairs2 = np.zeros(ys.shape[0], dtype=np.float64)
        triples = np.zeros(ys.shape[0], dtype=np.float64)
        for k in range(1, n):
            run = np.where(ys[:, k] == ys[:, k - 1], run + 1.0, 0.0)
            pairs2 += run
            triples += run * (run - 1.0) / 2.0
        ties[tied] = 12.0 * triples + 18.0 * pairs2
    var = (count * (count - 1.0) * (2.0 * count + 5.0) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(var), 0.0)
    p = erfc(np.abs(z) / np.sqrt(2.0))
    enough = count >= MIN_VALID
    return slope, np.where(enough, np.minimum(p, 1.0), np.nan)


def erfc(x: np.ndarray) -> np.ndarray:
    """Complementary error function, fractional error < 1.2e-7 (Numerical Recipes' erfcc, Chebyshev fit)."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = (
        -z * z
        - 1.26551223
        + t
        * (
            1.00002368
            + t
            * (
                0.37409196
                + t
                * (
                    0.09678418
                    + t
                    * (
                        -0.18628806
                        + t
                        * (
                            0.27886807
                            + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))
                        )
                    )
                )
            )
        )
    )
    ans = t * np.exp(poly)
    return np.where(x >= 0, ans, 2.0 - ans)
