"""Per-pixel trend over a place's periods: Theil-Sen slope and Mann-Kendall two-sided p (pure numpy).

Theil-Sen (Sen 1968): the median of the slopes (y_j - y_i) / (t_j - t_i) over all pairs i < j of valid
periods. Mann-Kendall: S = sum of sign(y_j - y_i), Var(S) = [n(n-1)(2n+5) - sum over tie groups of
t(t-1)(2t+5)] / 18, Z = (S - sign(S)) / sqrt(Var S), p = erfc(|Z| / sqrt 2). A pixel needs MIN_VALID
valid (finite) periods; else both are NaN. Pixels are done in chunks, so memory is bounded by PAIR_BUDGET.
"""

from __future__ import annotations

import numpy as np

MIN_VALID = 3
PAIR_BUDGET = 2_000_000
"""Pair values held at once (pixels x pairs of a chunk, float32): about 8 MB per array."""


def theil_sen_mann_kendall(values: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(slope per time unit, p) for each pixel of `values` (periods, ...) over increasing `times`."""
    n = values.shape[0]
    shape = values.shape[1:]
    flat = values.reshape(n, -1)  # (periods, pixels): each period's pixels contiguous, as read
    slope = np.full(flat.shape[1], np.nan, dtype=np.float32)
    p = np.full(flat.shape[1], np.nan, dtype=np.float32)
    pairs = n * (n - 1) // 2
    if pairs == 0:
        return slope.reshape(shape), p.reshape(shape)
    chunk = max(1, PAIR_BUDGET // max(pairs, n * n))
    t = np.asarray(times, dtype=np.float64)
    for start in range(0, flat.shape[1], chunk):
        part = slice(start, min(start + chunk, flat.shape[1]))
        y = np.array(flat[:, part], dtype=np.float32)  # a copy: non-finite values become NaN in it
        y[~np.isfinite(y)] = np.nan
        slope[part], p[part] = _chunk(y, t)
    return slope.reshape(shape), p.reshape(shape)


def _chunk(y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope and p of (periods, pixels) values (NaN: missing)."""
    n, m = y.shape
    pairs = n * (n - 1) // 2
    # (pairs, pixels), made by lag: whole contiguous rows per subtraction; NaN where a period is missing.
    diff = np.empty((pairs, m), dtype=np.float32)
    dt = np.empty(pairs, dtype=np.float32)
    row = 0
    for lag in range(1, n):
        width = n - lag
        np.subtract(y[lag:], y[:-lag], out=diff[row : row + width])
        dt[row : row + width] = t[lag:] - t[:-lag]
        row += width
    count = np.count_nonzero(np.isfinite(y), axis=0)
    npairs = count * (count - 1) // 2
    # S: comparisons with NaN are false, so missing pairs count for neither sign; a valid pair that is
    # neither up nor down is a tie. Summing bytes down the rows is 15x faster than count_nonzero(axis=0),
    # and into the narrowest integer that holds the pair count 3x faster than into int64.
    acc = np.int16 if pairs <= np.iinfo(np.int16).max else np.int32
    up = (diff > 0).view(np.uint8).sum(axis=0, dtype=acc).astype(np.int64)
    down = (diff < 0).view(np.uint8).sum(axis=0, dtype=acc).astype(np.int64)
    s = (up - down).astype(np.float64)
    tied = up + down < npairs
    # Median of the valid pairs' slopes: rows of pixels, NaN sorts last, and a pixel with k valid periods
    # has k(k-1)/2 valid pairs (numpy's SIMD sort of short float32 rows is as fast as a partition at one
    # kth and 9x faster than at two; a kth per pixel would need a Python loop).
    np.divide(diff, dt[:, None], out=diff)
    slopes = np.ascontiguousarray(diff.T)
    del diff
    slopes.sort(axis=1)
    at = np.arange(m, dtype=np.int64) * pairs
    values = slopes.reshape(-1)
    lo = values[at + np.maximum((npairs - 1) // 2, 0)]
    hi = values[at + np.maximum(npairs // 2, 0)]
    del slopes, values
    slope = 0.5 * (lo + hi)
    slope[count < MIN_VALID] = np.nan
    # Tie correction: sum over tie groups of t(t-1)(2t+5) = 12 C(t,3) + 18 C(t,2). In sorted values an
    # element with r equal ones before it adds r tied pairs and C(r,2) tied triples (NaN never ties).
    ties = np.zeros(m, dtype=np.float64)
    if tied.any():
        ys = np.sort(y[:, tied].T, axis=1)
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
