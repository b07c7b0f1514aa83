"""The composite core the benchmark measures: the places package's (scoresby/places) when it is there.

Until the places package has landed on this branch, a stand-in with the same contract (documented in
DESIGN.md "Place products") is used and CORE says so: every figure printed names the core it measured.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

try:
    from scoresby.places.composite import reduce
    from scoresby.places.observations import SceneDate, group, merge

    CORE = "scoresby.places (composite.reduce, observations.group/merge)"
except ImportError:  # the places package has not landed on this branch yet
    CORE = "STAND-IN (bench/_composite_stub.py): the places package is not on this branch"

    @dataclass(frozen=True)
    class SceneDate:  # type: ignore[no-redef]
        """A scene's id, sensor and acquisition time."""

        scene_id: str
        sensor: str
        acquired: datetime

    @dataclass(frozen=True)
    class _Observation:
        sensor: str
        day: date
        scene_ids: tuple[str, ...]

    def group(scenes: Sequence[SceneDate], lon: float) -> list[Any]:  # type: ignore[misc]
        """One observation per sensor and solar day."""
        groups: dict[tuple[date, str], list[str]] = {}
        for s in scenes:
            day = (s.acquired + timedelta(hours=lon / 15.0)).date()
            groups.setdefault((day, s.sensor), []).append(s.scene_id)
        return [_Observation(s, day, tuple(sorted(ids))) for (day, s), ids in sorted(groups.items())]

    def merge(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[misc]
        """First clear part wins."""
        refl, clear = parts[0]
        refl = np.where(clear[None], refl, np.float32(np.nan)).astype(np.float32, copy=False)
        clear = clear.copy()
        for other, other_clear in parts[1:]:
            take = other_clear & ~clear
            refl[:, take] = other[:, take]
            clear |= take
        return refl, clear

    def reduce(stack: np.ndarray, method: str, percentile: float | None) -> np.ndarray:  # type: ignore[misc]
        """nanmedian over axis 0."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.asarray(np.nanmedian(stack, axis=0), dtype=np.float32)
