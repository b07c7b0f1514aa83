"""Every sensor in one place: one module per family, a registry the other layers ask (stdlib only).

`sensor_of(scene_files)` gives a scene's `Sensor`; `Sensor.band_for(role)` its band for a role,
`Sensor.qa` its quality-band decoding and `Sensor.to_oli` its harmonisation coefficients.
"""

from __future__ import annotations

from scoresby.sensors.base import ROLES, QaBits, Sensor
from scoresby.sensors.registry import (
    metadata_text,
    name_for_id,
    name_for_metadata,
    names_text,
    place_for_id,
    register,
    sensor_named,
    sensor_names,
    sensor_of,
    sensors,
    unregister,
)

__all__ = [
    "ROLES",
    "QaBits",
    "Sensor",
    "name_for_id",
    "metadata_text",
    "name_for_metadata",
    "names_text",
    "place_for_id",
    "register",
    "sensor_named",
    "sensor_names",
    "sensor_of",
    "sensors",
    "unregister",
]
