"""`scoresby run` with `composites`: bad options exit 2 with one line each; a good list makes its places."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import rasterio

from tests.places import synth

REPO = Path(__file__).resolve().parents[2]
AOI = {"bbox": [-26.0, 70.0, -25.0, 70.5]}


def _run(doc: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "scenes.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "scoresby.cli", "run", str(path), "--output", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"},
    )


@pytest.mark.parametrize(
    ("composites", "aoi", "expected"),
    [
        ({"period": "year"}, None, 'composites: needs the run\'s "aoi"'),
        ({"period": "decade"}, AOI, "composites.period: 'decade' is not a period"),
        ({"method": "mean"}, AOI, "composites.method: 'mean' is not a method"),
        ({"method": "p101"}, AOI, "composites.method: 'p101' is not a method"),
        (
            {"months": [6, 13]},
            AOI,
            "composites.months: [6, 13] is not allowed; allowed: a non-empty list of 1-12",
        ),
        ({"months": [0]}, AOI, "composites.months: [0] is not allowed"),
        ({"change": [["2016", "summer"]]}, AOI, "composites.change[0]: 'summer' is not a year label"),
        ({"change": [[2016, 2016]]}, AOI, "composites.change[0]: [2016, 2016] is not allowed"),
        ({"change": "sometimes"}, AOI, "composites.change: 'sometimes' is not allowed"),
        ({"trend": "yes"}, AOI, "composites.trend: 'yes' is not allowed; allowed: true or false"),
        ({"sensors": ["avhrr"]}, AOI, "composites.sensors: ['avhrr'] is not allowed"),
        (
            {"periode": "year"},
            AOI,
            "composites: 'periode' is not a field of composites (did you mean 'period'?)",
        ),
    ],
)
def test_bad_composites_exit_2(tmp_path: Path, composites: Any, aoi: Any, expected: str) -> None:
    """Each bad option: exit 2, a line naming the field, the value and what is allowed; nothing written."""
    doc: dict[str, Any] = {"run_name": "bad", "composites": composites, "scenes": [{"source": str(tmp_path)}]}
    if aoi is not None:
        doc["aoi"] = aoi
    proc = _run(doc, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    problem_lines = [line for line in proc.stderr.splitlines() if line.startswith("  - ")]
    assert len(problem_lines) == 1 and expected in problem_lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


def _box(bbox: list[float]) -> dict[str, Any]:
    west, south, east, north = bbox
    return {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }


def test_run_makes_place_products_and_report_section(tmp_path: Path) -> None:
    """`scoresby run` with composites: the place Items, places.csv, and the report's place section."""
    aoi, made = synth.write_place(tmp_path / "scenes", years=(2002, 2003))
    summer = [s for s in made if s.day.month == 7 and "910910" in s.scene_id]
    doc = {
        "run_name": "place",
        "products": ["true_color", "ndsi"],
        "aoi": {**aoi, "geometry": _box(aoi["bbox"])},  # a polygon AOI: masked block by block
        "composites": {"period": "year", "months": [7, 8, 9]},
        "scenes": [{"scene_id": s.scene_id, "source": str(s.folder)} for s in summer],
    }
    proc = _run(doc, tmp_path)
    assert proc.returncode == 0, proc.stderr
    # The scenes have no MTL: the assumed radiometry is a note in each Item, not a Python warning with its
    # source line in the workers' stderr; nor does rasterio's spurious no-geotransform warning get through.
    assert "Warning" not in proc.stderr, proc.stderr
    run_dir = tmp_path / "out" / "place"
    item = run_dir / "places" / "aoi-synth" / "aoi-synth_composite_2003" / "aoi-synth_composite_2003.json"
    props = json.loads(item.read_text())["properties"]
    assert props["scoresby:scenes"] == [s.scene_id for s in summer if s.day.year == 2003]
    with rasterio.open(item.parent / "aoi-synth_composite_2003_ndsi.tif") as ds:
        assert ds.crs.to_epsg() == 32624 and ds.overviews(1) == [2]
    assert (run_dir / "places" / "places.csv").read_text().count("\n") == 3
    report = (run_dir / "report.html").read_text()
    assert "Place products" in report and "aoi-synth_change_2002_2003_transitions.png" in report
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["timeseries"]["places"]["place"] == "aoi-synth"
    assert len(summary["timeseries"]["places"]["made"]) == 3  # two composites and their change
    # The same list again: every scene skipped, every place product current, no file rewritten.
    mtime = item.stat().st_mtime_ns
    again = _run(doc, tmp_path)
    assert again.returncode == 0, again.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["timeseries"]["places"]["made"] == [] and item.stat().st_mtime_ns == mtime
