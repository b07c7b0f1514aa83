"""One synthetic place, generated and built once for the place-product tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from scoresby.core.place_options import check_composites
from scoresby.core.scene_files import SceneFiles
from scoresby.core.scene_list import parse_scene
from scoresby.discovery.discover import discover_scene
from scoresby.places.build import PlaceResult, build_place_products
from scoresby.places.observations import SceneDate
from tests.places import synth

PRODUCTS = ["true_color", "ndsi", "ndvi", "evi"]


def options(**over: Any) -> dict[str, Any]:
    """The normalised composites option (July-September summers by default)."""
    problems: list[str] = []
    out = check_composites({"period": "year", "months": [7, 8, 9], **over}, "composites", problems)
    assert not problems and out is not None
    return out


def scenes_of(aoi: dict[str, Any], made: list[synth.Synth]) -> list[Any]:
    """Scene objects for the synthetic scenes."""
    return [
        parse_scene({"scene_id": s.scene_id, "source": str(s.folder), "aoi": aoi, "products": PRODUCTS})
        for s in made
    ]


def place_dates(
    aoi: dict[str, Any], made: list[synth.Synth]
) -> tuple[dict[str, SceneFiles], list[SceneDate], float]:
    """The synthetic scenes discovered (by id), their SceneDates and the place's centre longitude."""
    found = {f.scene_id: f for f in (discover_scene(s) for s in scenes_of(aoi, made))}
    dates = [
        SceneDate(f.scene_id, f.sensor, datetime.fromisoformat(str(f.datetime).replace("Z", "+00:00")))
        for f in found.values()
    ]
    return found, dates, (aoi["bbox"][0] + aoi["bbox"][2]) / 2


@pytest.fixture(scope="package")
def built(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, Any], list[synth.Synth], PlaceResult]:
    """The synthetic place's scenes and its place products, made once."""
    root = tmp_path_factory.mktemp("place")
    aoi, made = synth.write_place(root / "scenes")
    run_dir = root / "out" / "run"
    result = build_place_products(scenes_of(aoi, made), options(), run_dir)
    return run_dir, aoi, made, result
