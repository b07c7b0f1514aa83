"""bench/place_bench.py runs end to end on a tiny workload: tile jobs, the choice, reads, estimates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import place_bench as pb
from bench import run_bench


def test_the_place_bench_runs_on_a_tiny_workload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(pb, "OUT", tmp_path / "place")
    monkeypatch.setattr(run_bench, "OUT", tmp_path)
    assert pb.main(["--size", "256", "--dates", "1", "--tiles", "128,256"]) == 0
    out = capsys.readouterr().out
    assert "tile 128 px: 2 observations" in out and "tile 256 px: 2 observations" in out
    assert "ERROR" not in out
    assert "chosen: " in out
    reads = json.loads((tmp_path / "place" / "reads.json").read_text())
    # both sides read the same tile: every scene's 7 bands, GETs and bytes counted by the proxy
    assert reads["source"]["rc"] == 0 and reads["ard"]["rc"] == 0
    assert reads["source"]["gets"] > 0 and reads["ard"]["gets"] > 0
    assert reads["ard"]["bytes"] > 0 and reads["ard_file_bytes"] > 0
    assert "estimate, backfill:" in out and "estimate, round:" in out
    assert (tmp_path / "place" / "results.txt").read_text().count("\n") > 10


def test_overlap_counts_the_tile_columns_a_footprint_covers() -> None:
    from bench.composite_workload import BenchScene

    scene = BenchScene("s", "/f", "/i", "2020-07-01", 0, col_off=100, width=200)
    assert pb.overlap(scene, 0, 128) == 28
    assert pb.overlap(scene, 128, 128) == 128
    assert pb.overlap(scene, 300, 128) == 0
