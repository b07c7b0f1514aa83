"""Cloud and quality masks from Landsat Collection 2 QA_PIXEL bits and Sentinel-2 L2A SCL classes (numpy).

QA_PIXEL (USGS C2 L2 product guide): bit 0 fill, 1 dilated cloud, 2 cirrus, 3 cloud, 4 cloud shadow, 5 snow,
6 clear, 7 water, 8-9 cloud confidence. SCL: 0 no data, 1 saturated/defective, 3 cloud shadow, 8 cloud
medium probability, 9 cloud high probability, 10 thin cirrus, 11 snow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

QA_FILL = 1 << 0
QA_DILATED_CLOUD = 1 << 1
QA_CIRRUS = 1 << 2
QA_CLOUD = 1 << 3
QA_SHADOW = 1 << 4

SCL_NO_DATA = (0, 1)
SCL_SHADOW = (3,)
SCL_CLOUD = (8, 9)
SCL_CIRRUS = (10,)

QA_NODATA = {"QA_PIXEL": QA_FILL, "SCL": 0}
"""What a quality band holds outside its footprint (also what the warper fills in there)."""


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


def landsat_quality(qa: np.ndarray) -> Quality:
    """Quality from a QA_PIXEL window (uint16 bit flags)."""
    return Quality(
        valid=(qa & QA_FILL) == 0,
        cloud=(qa & QA_CLOUD) != 0,
        dilated=(qa & QA_DILATED_CLOUD) != 0,
        shadow=(qa & QA_SHADOW) != 0,
        cirrus=(qa & QA_CIRRUS) != 0,
    )


def scl_quality(scl: np.ndarray) -> Quality:
    """Quality from a Sentinel-2 SCL window (class numbers)."""
    return Quality(
        valid=~np.isin(scl, SCL_NO_DATA),
        cloud=np.isin(scl, SCL_CLOUD),
        dilated=np.zeros(scl.shape, dtype=bool),
        shadow=np.isin(scl, SCL_SHADOW),
        cirrus=np.isin(scl, SCL_CIRRUS),
    )


def quality_of(band: str, values: np.ndarray) -> Quality:
    """Quality of a "QA_PIXEL" or "SCL" window."""
    return landsat_quality(values) if band == "QA_PIXEL" else scl_quality(values)


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
