"""Per-pixel trend over a place's periods: Theil-Sen slope and Mann-Kendall two-sided p (pure numpy).

Theil-Sen (Sen 1968): the median of the slopes (y_j - y_i) / (t_j - t_i) over all pairs i < j of valid
periods. Mann-Kendall: S = sum of sign(y_j - y_i), Var(S) = [n(n-1)(2n+5) - sum over tie groups of
t(t-1)(2t+5)] / 18, Z = (S - sign(S)) / sqrt(Var S), p = erfc(|Z| / sqrt 2). A pixel needs MIN_VALID
valid periods; else both are NaN. Pixels are done in chunks, so memory is bounded by PAIR_BUDGET.
"""

from __future__ import annotations

import warnings

import numpy as np

MIN_VALID = 3
PAIR_BUDGET = 2_000_000
"""Pair values held at once (pairs x pixels of a chunk, float64): about 16 MB per array."""


def theil_sen_mann_kendall(values: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(slope per time unit, p) for each pixel of `values` (periods, ...) over distinct `times` (periods,)."""
    n = values.shape[0]
    shape = values.shape[1:]
    flat = values.reshape(n, -1)
    slope = np.full(flat.shape[1], np.nan, dtype=np.float32)
    p = np.full(flat.shape[1], np.nan, dtype=np.float32)
    pairs = n * (n - 1) // 2
    if pairs == 0:
        return slope.reshape(shape), p.reshape(shape)
    chunk = max(1, PAIR_BUDGET // pairs)
    for start in range(0, flat.shape[1], chunk):
        part = slice(start, min(start + chunk, flat.shape[1]))
        slope[part], p[part] = _chunk(flat[:, part].astype(np.float64), np.asarray(times, dtype=np.float64))
    return slope.reshape(shape), p.reshape(shape)


def _chunk(y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, m = y.shape
    i, j = np.triu_indices(n, k=1)
    diff = y[j] - y[i]  # (pairs, m); NaN where either period is missing
    slopes = diff / (t[j] - t[i])[:, None]
    valid = np.isfinite(y)
    count = valid.sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        slope = np.nanmedian(slopes, axis=0)
    s = np.nansum(np.sign(diff), axis=0)
    # Tie correction: sum over tie groups of t(t-1)(2t+5) = sum over values of (c-1)(2c+5), c = group size.
    equal = np.zeros((n, m), dtype=np.float64)
    tied = diff == 0
    np.add.at(equal, i, tied)
    np.add.at(equal, j, tied)
    c = equal + 1.0
    ties = np.where(valid, (c - 1.0) * (2.0 * c + 5.0), 0.0).sum(axis=0)
    var = (count * (count - 1.0) * (2.0 * count + 5.0) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(var), 0.0)
    p = erfc(np.abs(z) / np.sqrt(2.0))
    enough = count >= MIN_VALID
    return np.where(enough, slope, np.nan), np.where(enough, np.minimum(p, 1.0), np.nan)


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
