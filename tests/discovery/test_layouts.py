"""Discovery dispatches by the file layout each sensor names (`Sensor.layout`), not by sensor family."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scoresby.core.errors import UnknownSensor
from scoresby.core.scene_list import parse_scene
from scoresby.discovery.discover import LAYOUTS, discover_scene
from scoresby.sensors import register, sensor_named, sensors, unregister
from tests.sensors.test_toy_sensor import TOYSAT

L9 = "LC09_L1TP_001001_20240601_20240602_02_T1"


def test_every_sensor_names_a_known_layout_or_a_band_file_pattern() -> None:
    for sensor in sensors():
        assert sensor.layout in LAYOUTS or (sensor.layout is None and sensor.band_file is not None), (
            sensor.key
        )
    assert {sensor_named(n).layout for n in ("landsat-1-mss", "landsat-5", "landsat-7", "landsat-9")} == {
        "landsat"
    }
    assert sensor_named("sentinel-2").layout == "sentinel-2"


def _mixed(folder: Path) -> Path:
    """A folder of Landsat and Sentinel-2 band-file names (empty files: dispatch fails before reading)."""
    folder.mkdir()
    for name in (f"{L9}_B4.TIF", f"{L9}_B5.TIF", "B04.tif", "B08.tif"):
        (folder / name).write_bytes(b"")
    return folder


@pytest.fixture
def toysat() -> Iterator[None]:
    """Toysat (a band_file sensor, no layout) registered for one test."""
    register(TOYSAT)
    yield
    unregister(TOYSAT.key)


def test_two_layouts_in_one_folder_without_a_hint_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UnknownSensor) as err:
        discover_scene(parse_scene({"source": str(_mixed(tmp_path / "mixed"))}))
    message = str(err.value)
    assert "\n" not in message and "holds both Landsat and Sentinel-2 band files" in message


def test_a_sensor_without_a_layout_does_not_pick_one_of_two(tmp_path: Path, toysat: None) -> None:
    """Its sensor names no layout: the folder is refused, not read as Sentinel-2 (a family test once did)."""
    scene = parse_scene({"source": str(_mixed(tmp_path / "mixed")), "sensor": "toysat-1"})
    with pytest.raises(UnknownSensor, match="holds both Landsat and Sentinel-2 band files"):
        discover_scene(scene)


def test_only_the_layouts_of_registered_sensors_are_tried(tmp_path: Path) -> None:
    """With every Landsat sensor unregistered, Landsat band files are no longer recognised."""
    everyone = sensors()
    landsat = [s for s in everyone if s.layout == "landsat"]
    folder = tmp_path / L9
    folder.mkdir()
    for n in (4, 5):
        (folder / f"{L9}_B{n}.TIF").write_bytes(b"")
    for sensor in landsat:
        unregister(sensor.key)
    try:
        with pytest.raises(UnknownSensor, match="no band files recognised"):
            discover_scene(parse_scene({"source": str(folder)}))
    finally:  # back in the registration order other tests see
        for sensor in everyone:
            unregister(sensor.key)
        for sensor in everyone:
            register(sensor)
    assert sensors() == everyone
    assert sensor_named("landsat-9").layout == "landsat"
