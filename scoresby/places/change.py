"""Change between two periods' composites: index differences and class transitions (pure numpy)."""

from __future__ import annotations

import numpy as np

from scoresby.places.composite import CLASS_NAMES

TRANSITIONS_NODATA = 0
"""Code 0 is unknown -> unknown: no clear observation in either period."""


def difference(to: np.ndarray, from_: np.ndarray) -> np.ndarray:
    """to - from as float32, NaN where either is NaN."""
    return np.subtract(to, from_, dtype=np.float32)


def transitions(from_classes: np.ndarray, to_classes: np.ndarray) -> np.ndarray:
    """uint8 10 x from-class + to-class (classes 0-3: unknown, snow/ice, water, other land)."""
    return (from_classes.astype(np.uint8) * np.uint8(10) + to_classes.astype(np.uint8)).astype(np.uint8)


def legend() -> dict[str, str]:
    """Every transition code and its meaning, e.g. {"12": "snow/ice -> water"}."""
    return {
        str(10 * a + b): f"{CLASS_NAMES[a]} -> {CLASS_NAMES[b]}" for a in CLASS_NAMES for b in CLASS_NAMES
    }


def transition_counts(codes: np.ndarray) -> np.ndarray:
    """Pixel count of each code 0..33 (int64, 34 bins)."""
    return np.bincount(codes.ravel(), minlength=34)[:34].astype(np.int64)
