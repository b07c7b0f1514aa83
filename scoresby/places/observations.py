"""Observations: one sensor's scenes of one solar day are one observation of a pixel.

Adjacent rows of a Landsat path are acquired seconds apart and overlap by about 10 %: a pixel in the overlap
is seen once, not twice. Within an observation the first scene (by scene id) with a clear value wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np


@dataclass(frozen=True)
class SceneDate:
    """What grouping needs of a scene: its id, sensor (e.g. landsat-8) and acquisition time (UTC)."""

    scene_id: str
    sensor: str
    acquired: datetime


@dataclass(frozen=True)
class Observation:
    """The scenes of one sensor on one solar day, in scene-id order."""

    sensor: str
    day: date
    scene_ids: tuple[str, ...]


def solar_day(acquired: datetime, lon: float) -> date:
    """The local solar date at longitude `lon` (UTC shifted by lon / 15 hours).

    A time of exactly 00:00:00 is a date without a time (a scene id carries only the date): that date.
    """
    if acquired.time() == time(0):
        return acquired.date()
    return (acquired + timedelta(hours=lon / 15.0)).date()


def group(scenes: Sequence[SceneDate], lon: float) -> list[Observation]:
    """The observations of some scenes at a place of longitude `lon`, in (day, sensor) order."""
    groups: dict[tuple[date, str], list[str]] = {}
    for s in scenes:
        groups.setdefault((solar_day(s.acquired, lon), s.sensor), []).append(s.scene_id)
    return [Observation(sensor, day, tuple(sorted(ids))) for (day, sensor), ids in sorted(groups.items())]


def merge(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """One observation of a block from its scenes' (reflectance (bands, h, w), clear (h, w)) parts.

    A pixel takes the first part that is clear there; where none is, it is not clear (reflectance NaN).
    """
    refl, clear = parts[0]
    refl = np.where(clear[None], refl, np.float32(np.nan)).astype(np.float32, copy=False)
    clear = clear.copy()
    for other, other_clear in parts[1:]:
        take = other_clear & ~clear
        if take.any():
            refl[:, take] = other[:, take]
            clear |= take
    return refl, clear
