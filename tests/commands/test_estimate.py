"""`scoresby submit --estimate`: prints time and cost from the list alone, with no AWS credentials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scoresby.cli import main as scoresby
from scoresby.pricing import cost


def _list(tmp_path: Path, n_landsat: int, n_s2: int) -> Path:
    scenes = [
        {"source": f"s3://usgs-landsat/collection02/level-2/x/LC08_L2SP_{i:03d}010_20140820_20200911_02_T1/"}
        for i in range(n_landsat)
    ] + [
        {"source": f"s3://sentinel-cogs/sentinel-s2-l2a-cogs/36/Q/WD/2020/7/S2A_36QWD_2020{i:05d}_0_L2A/"}
        for i in range(n_s2)
    ]
    path = tmp_path / "scenes.json"
    path.write_text(json.dumps({"run_name": "backfill", "scenes": scenes}))
    return path


@pytest.mark.parametrize("flag_first", [True, False])
def test_estimate_prints_counts_time_and_cost_and_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, flag_first: bool
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    path = str(_list(tmp_path, 6, 4))
    argv = ["submit", "--estimate", path] if flag_first else ["submit", path, "--estimate"]
    assert scoresby([*argv, "--spot-price", "0.04"]) == 0
    out = capsys.readouterr().out
    expected = cost.estimate({"landsat-8": 6, "sentinel-2": 4}, spot_price=0.04)
    assert "10 scenes (landsat-8 6, sentinel-2 4)" in out
    assert f"total{'':<1}" in out and f"${expected.total:,.2f}" in out
    assert f"${expected.costs['compute (Batch on Spot)']:,.4f}" in out
    assert "Spot $0.04 per r6i.large-hour" in out and out.rstrip().endswith("nothing was started")


def test_estimate_of_an_invalid_list_names_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"source": "s3://b/x/", "products": ["nvdi"]}]))
    assert scoresby(["submit", str(path), "--estimate"]) == 2
    assert "nvdi" in capsys.readouterr().err


def _place_list(tmp_path: Path, composites: object) -> Path:
    """Landsat scenes of three summers (two on one day: one observation) and one winter scene."""
    days = ["20140720", "20140805", "20140805", "20150712", "20160801", "20161220"]
    scenes = [
        {
            "source": f"s3://usgs-landsat/x/LC08_L2SP_{200 + i:03d}010_{d}_20200911_02_T1/",
            "products": ["ndvi"],
        }
        for i, d in enumerate(days)
    ]
    doc = {"run_name": "sund", "aoi": {"bbox": [-26.0, 70.0, -25.0, 70.5]}, "scenes": scenes}
    if composites is not None:
        doc["composites"] = composites
    path = tmp_path / "places.json"
    path.write_text(json.dumps(doc))
    return path


def test_estimate_prices_the_place_stage_on_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from scoresby.commands.estimate import PLACE_STAGE
    from scoresby.pricing import places as pc

    composites = {"period": "year", "months": [7, 8], "change": "consecutive"}
    assert scoresby(["submit", str(_place_list(tmp_path, composites)), "--estimate"]) == 0
    out = capsys.readouterr().out
    assert "place stage (composites): 3 period(s) with 4 observation(s)" in out
    line = next(x for x in out.splitlines() if x.strip().startswith(PLACE_STAGE))
    place_usd = float(line.split("$")[1].replace(",", ""))
    assert place_usd > 0
    # the same figure from the estimator: 3 periods, 4/3 observations each, 2 consecutive pairs, no trend
    from scoresby.core.scene_list import load_scene_list
    from scoresby.raster.quality import aoi_grid

    grid = aoi_grid(load_scene_list(str(tmp_path / "places.json")).scenes[0].aoi or {})
    est = pc.place_estimate(grid.width, grid.height, periods_made=3, observations=4 / 3, indices=1, changes=2,
                            trend=False)  # fmt: skip
    assert place_usd == pytest.approx(est.total, abs=1e-4)
    assert f"{est.tiles} tiles of {pc.TILE_PX} px" in out


def test_estimate_without_composites_has_no_place_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scoresby(["submit", str(_place_list(tmp_path, None)), "--estimate"]) == 0
    assert "place stage" not in capsys.readouterr().out
