"""Cloud and quality masks from a sensor's quality band, decoded by its `QaBits` (scoresby/sensors)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scoresby.sensors import QaBits


@dataclass(frozen=True)
class Quality:
    """Per-pixel quality of one window: where the band has data, and where it says cloud, shadow, cirrus.

    `cloud` is the cloud bit / the SCL cloud classes (what USGS CLOUD_COVER counts); `dilated` is the
    cloud's dilated margin (Landsat only), which is not clear either.
    """

    valid: np.ndarray
    cloud: np.ndarray
    dilated: np.ndarray
    shadow: np.ndarray
    cirrus: np.ndarray

    def rows(self, rows: slice) -> Quality:
        """The same flags for some rows of the window."""
        return Quality(
            self.valid[rows], self.cloud[rows], self.dilated[rows], self.shadow[rows], self.cirrus[rows]
        )

    @property
    def not_clear(self) -> np.ndarray:
        """Cloud, its dilated margin, shadow or cirrus."""
        return self.cloud | self.dilated | self.shadow | self.cirrus


def qa_flags(qa: QaBits, values: np.ndarray, codes: tuple[int, ...]) -> np.ndarray:
    """Where any of `codes` is set: bit numbers for a bit-flag band, class values for a class band."""
    if not codes:
        return np.zeros(values.shape, dtype=bool)
    if qa.kind == "bits":
        mask = 0
        for bit in codes:
            mask |= 1 << bit
        return (values & mask) != 0
    return np.isin(values, codes)


def quality_of(qa: QaBits, values: np.ndarray) -> Quality:
    """Quality of a window of the quality band `qa` describes (QA_PIXEL bits, SCL classes ...)."""
    return Quality(
        valid=~qa_flags(qa, values, qa.fill),
        cloud=qa_flags(qa, values, qa.cloud),
        dilated=qa_flags(qa, values, qa.dilated),
        shadow=qa_flags(qa, values, qa.shadow),
        cirrus=qa_flags(qa, values, qa.cirrus),
    )


def masked(quality: Quality, classes: Sequence[str]) -> np.ndarray | None:
    """Pixels a scene list's `mask` classes take out of the products ("cloud" includes its dilated margin)."""
    if not classes:
        return None
    out = np.zeros(quality.cloud.shape, dtype=bool)
    if "cloud" in classes:
        out |= quality.cloud | quality.dilated
    if "shadow" in classes:
        out |= quality.shadow
    if "cirrus" in classes:
        out |= quality.cirrus
    return out
