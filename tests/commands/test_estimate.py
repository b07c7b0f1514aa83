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
    expected = cost.estimate({"landsat": 6, "sentinel-2": 4}, spot_price=0.04)
    assert "10 scenes (landsat 6, sentinel-2 4)" in out
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
