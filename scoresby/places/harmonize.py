"""Cross-sensor harmonisation: TM/ETM+ surface reflectance onto OLI, OLI = a + b * x per band role.

The coefficients come from the sensor (Roy et al. 2016, Table 2, OLS ETM+ -> OLI; sensor_view.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def harmonize(
    refl: np.ndarray, roles: Sequence[str], coefficients: Mapping[str, tuple[float, float]] | None
) -> np.ndarray:
    """(bands, h, w) reflectance in `roles` order mapped with a + b * x; unchanged without coefficients."""
    if not coefficients:
        return refl
    return harmonize_in_place(refl.astype(np.float32, copy=True), roles, coefficients)


def harmonize_in_place(
    refl: np.ndarray, roles: Sequence[str], coefficients: Mapping[str, tuple[float, float]] | None
) -> np.ndarray:
    """`harmonize` writing into float32 `refl` itself (which may be a view); returns it."""
    for i, role in enumerate(roles):
        if coefficients and role in coefficients:
            a, b = coefficients[role]
            refl[i] *= np.float32(b)
            refl[i] += np.float32(a)
    return refl


def unharmonize(
    oli: np.ndarray, roles: Sequence[str], coefficients: Mapping[str, tuple[float, float]]
) -> np.ndarray:
    """The inverse, (y - a) / b: what a TM/ETM+ sensor sees where OLI sees `oli` (for synthetic truth)."""
    out = oli.astype(np.float64, copy=True)
    for i, role in enumerate(roles):
        if role in coefficients:
            a, b = coefficients[role]
            out[i] = (out[i] - a) / b
    return out
