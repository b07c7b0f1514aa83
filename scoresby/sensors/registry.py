"""The registered sensors and the lookups the other layers use: by name, by scene, by id, by metadata."""

from __future__ import annotations

from typing import Protocol

from scoresby.sensors.base import Sensor
from scoresby.sensors.landsat import ETM, OLI, TM
from scoresby.sensors.landsat_mss import MSS
from scoresby.sensors.sentinel2 import SENTINEL2

_SENSORS: dict[str, Sensor] = {}
_BY_NAME: dict[str, Sensor] = {}


class HasSensor(Protocol):
    """Anything naming its sensor (a `SceneFiles`)."""

    @property
    def sensor(self) -> str:
        """The scene's sensor name."""


def register(sensor: Sensor) -> Sensor:
    """Add a sensor (a new module calls this once); its names must not be taken by another sensor."""
    taken = [n for n in sensor.names if n in _BY_NAME and _BY_NAME[n].key != sensor.key]
    if taken:
        raise ValueError(f"sensor {sensor.key}: names {', '.join(taken)} belong to another sensor")
    _SENSORS[sensor.key] = sensor
    for name in sensor.names:
        _BY_NAME[name] = sensor
    return sensor


def unregister(key: str) -> None:
    """Remove a sensor (tests that register a toy one)."""
    sensor = _SENSORS.pop(key, None)
    if sensor is not None:
        for name in sensor.names:
            _BY_NAME.pop(name, None)


def sensors() -> tuple[Sensor, ...]:
    """Every registered sensor, in registration order."""
    return tuple(_SENSORS.values())


def sensor_names() -> tuple[str, ...]:
    """Every sensor name a scene's `sensor` field may hold."""
    return tuple(_BY_NAME)


def names_text() -> str:
    """The sensor names for an error's "allowed:" part, a run of more than two written "first to last"."""
    parts = []
    for sensor in _SENSORS.values():
        names = sensor.names
        parts.append(f"{names[0]} to {names[-1]}" if len(names) > 2 else ", ".join(names))
    return ", ".join(parts)


def metadata_text() -> str:
    """The SPACECRAFT_ID/SENSOR_ID pairs metadata may say, for an error's "allowed:" part."""
    return ", ".join(k for s in _SENSORS.values() for k in s.metadata_ids if not k.endswith("/"))


def sensor_named(name: str) -> Sensor:
    """The sensor owning a name such as "landsat-5" or "landsat-1-mss"; KeyError naming the allowed ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown sensor {name!r}; allowed: {names_text()}") from None


def sensor_of(files: HasSensor) -> Sensor:
    """The sensor of a discovered scene (`SceneFiles`)."""
    return sensor_named(files.sensor)


def name_for_id(scene_id: str) -> str | None:
    """The sensor name a scene id says (LM05_... is landsat-5-mss, LT05_... landsat-5), None if none does."""
    for sensor in _SENSORS.values():
        name = sensor.name_for_id(scene_id)
        if name:
            return name
    return None


def name_for_metadata(spacecraft: str, instrument: str | None) -> str | None:
    """The sensor name metadata says (MTL SPACECRAFT_ID and SENSOR_ID), None when no sensor claims them."""
    key = f"{spacecraft.upper()}/{(instrument or '').upper()}"
    for sensor in _SENSORS.values():
        if key in sensor.metadata_ids:
            return sensor.metadata_ids[key]
    return None


def place_for_id(scene_id: str) -> str | None:
    """The place key a registered sensor gives a scene id, None when none recognises it."""
    for sensor in _SENSORS.values():
        place = sensor.place(scene_id)
        if place:
            return place
    return None


for _sensor in (TM, ETM, OLI, SENTINEL2, MSS):
    register(_sensor)
