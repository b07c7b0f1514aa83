"""A place's scene inventory: every scene it has (this call's and earlier calls'), dated and put in periods.

Sensor and time of a scene come from discovery once and are kept in the manifest under the scene's key (a
fingerprint of its scene object): a later run re-discovers only new or changed scenes.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from scoresby.core.errors import PipelineError, one_line
from scoresby.core.scene_files import SceneFiles
from scoresby.core.scene_list import Scene, parse_scene
from scoresby.core.warnings import ScoresbyWarning
from scoresby.places import manifest, periods
from scoresby.places.observations import SceneDate, solar_day
from scoresby.places.sensor_view import instrument_group


@dataclass
class Period:
    """One period of the place: its label, scene ids, and (once planned) its Item id and fingerprint."""

    label: str
    scenes: list[str]
    item_id: str = ""
    fingerprint: str = ""


@dataclass
class Inventory:
    """The scenes by id, their dates, the periods in time order, the discovered files so far, notes."""

    scenes: dict[str, Scene] = field(default_factory=dict)
    dates: dict[str, SceneDate] = field(default_factory=dict)
    periods: list[Period] = field(default_factory=list)
    files: dict[str, SceneFiles] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def files_of(self, scene_id: str) -> SceneFiles:
        """The scene's files (discovered on first use)."""
        if scene_id not in self.files:
            from scoresby.discovery.discover import discover_scene

            with warnings.catch_warnings():
                # The scene's own Item records these notes already; here they would only repeat them.
                warnings.simplefilter("ignore", ScoresbyWarning)
                self.files[scene_id] = discover_scene(self.scenes[scene_id])
        return self.files[scene_id]


def take_stock(
    scenes: Sequence[Scene],
    man: dict[str, Any],
    options: dict[str, Any],
    exclude: Collection[str],
    lon: float,
) -> Inventory:
    """Date every scene (manifest, else discovery); put those of the sensors and months in periods.

    A scene's day is its local solar day at longitude `lon`, as for observations (observations.py).
    """
    inv = Inventory()
    for sid, entry in man["scenes"].items():
        if isinstance(entry, dict) and isinstance(entry.get("scene"), dict):
            try:
                inv.scenes[sid] = parse_scene(entry["scene"])
            except PipelineError:
                continue  # an entry that no longer validates is forgotten
    inv.scenes.update({s.scene_id: s for s in scenes})
    failed = sorted(set(inv.scenes) & set(exclude))
    if failed:
        named = ", ".join(failed[:3]) + (f" and {len(failed) - 3} more" if len(failed) > 3 else "")
        inv.notes.append(f"{len(failed)} scenes failed in the task log, not used in composites: {named}")
    for sid in sorted(inv.scenes):
        if sid in exclude:
            continue
        scene = inv.scenes[sid]
        key = manifest.fingerprint(scene.to_dict())
        entry = man["scenes"].get(sid)
        if not entry or entry.get("key") != key:
            try:
                found = inv.files_of(sid)
            except PipelineError as exc:
                inv.notes.append(f"scene {sid}: not used in composites: {one_line(exc)}")
                continue
            entry = {"key": key, "sensor": found.sensor, "datetime": found.datetime, "scene": scene.to_dict()}
            man["scenes"][sid] = entry
        acquired = parse_time(entry.get("datetime"))
        if acquired is None:
            inv.notes.append(f"scene {sid}: no acquisition time; not used in composites")
            continue
        inv.dates[sid] = SceneDate(sid, str(entry["sensor"]), acquired)
    by_label: dict[str, Period] = {}
    skipped = {"sensor": 0, "months": 0}
    for sd in inv.dates.values():
        if instrument_group(sd.sensor) not in options["sensors"]:
            skipped["sensor"] += 1
            continue
        day = solar_day(sd.acquired, lon)
        if not periods.in_months(day, options["months"]):
            skipped["months"] += 1
            continue
        label = periods.period_label(day, options["period"])
        by_label.setdefault(label, Period(label, [])).scenes.append(sd.scene_id)
    if skipped["sensor"]:
        inv.notes.append(f"{skipped['sensor']} scenes of sensors outside composites.sensors not used")
    if skipped["months"]:
        inv.notes.append(f"{skipped['months']} scenes outside composites.months not used")
    order = sorted(by_label, key=lambda lb: (periods.period_start(lb, options["period"]), lb))
    inv.periods = [by_label[lb] for lb in order]
    return inv


def span_of(p: Period, period: str, dates: dict[str, SceneDate]) -> tuple[str, str]:
    """start_datetime and end_datetime of a period (`all`: its first and last scene's days)."""
    if period == "all":
        days = sorted(dates[s].acquired.date() for s in p.scenes)  # UTC days: the Item's times are UTC
        return iso(days[0]), iso(days[-1], end=True)
    return iso(periods.period_start(p.label, period)), iso(periods.period_end(p.label, period), end=True)


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time (UTC when no zone is given; a bare date is taken at noon), None when unusable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(value[:10]), time(12))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(day: date, *, end: bool = False) -> str:
    """The day's first (or last) second as UTC ISO 8601."""
    return datetime.combine(day, time(23, 59, 59) if end else time(0)).strftime("%Y-%m-%dT%H:%M:%SZ")
