"""The report and summary at 10,000 scenes (sizes; render times are measured in `make bench`), footprints."""

from __future__ import annotations

import json
import math
from pathlib import Path

from scoresby.core.summary import build_summary
from scoresby.core.task_log import FAILED, SUCCEEDED, TaskRecord
from scoresby.core.timeseries import STAT_FIELDS
from scoresby.report.footprints import simplify_footprint, simplify_ring
from scoresby.report.page import render_report
from scoresby.stores.run_files import summary_json


def densified(lon: float, lat: float) -> list[list[float]]:
    corners = [(lon, lat), (lon + 2.6, lat + 0.5), (lon + 2.2, lat - 1.6), (lon - 0.4, lat - 2.1)]
    ring = []
    for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1], strict=True):
        ring += [[round(x0 + k / 80 * (x1 - x0), 6), round(y0 + k / 80 * (y1 - y0), 6)] for k in range(80)]
    return [*ring, ring[0]]


def test_a_densified_outline_simplifies_to_its_corners_within_a_pixel() -> None:
    ring = densified(-27.0, 71.0)
    item = {
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"proj:transform": [30, 0, 0]},
    }
    geom = simplify_footprint(item)
    assert geom is not None
    simple = geom["coordinates"][0]
    assert len(simple) == 5 and simple[0] == simple[-1]  # the four corners, closed
    tolerance = 30 / 111_320
    for x, y in ring:  # every dropped point lies within a pixel of the simplified outline
        dist = min(
            abs((y1 - y0) * x - (x1 - x0) * y + x1 * y0 - y1 * x0) / math.hypot(x1 - x0, y1 - y0)
            for (x0, y0), (x1, y1) in zip(simple, simple[1:], strict=False)
        )
        assert dist <= tolerance + 1e-4
    assert simplify_ring([(0, 0), (1, 0), (0, 1), (0, 0)], 1.0) == [(0, 0), (1, 0), (0, 1), (0, 0)]


def test_ten_thousand_scenes_fit_the_size_limits(tmp_path: Path) -> None:
    run_dir = str(tmp_path / "big")
    records, rows, footprints = [], [], {}
    for i in range(10_000):
        sid = f"LC08_L2SP_{226 + i % 6:03d}{8 + i % 4:03d}_2013{i % 12 + 1:02d}01_20130601_02_T1_{i:05d}"
        failed = i % 40 == 0
        records.append(
            TaskRecord(
                run_id="big",
                scene_id=sid,
                status=FAILED if failed else SUCCEEDED,
                attempts=1,
                duration_s=9.5,
                started_at="2026-12-06T10:00:00Z",
                finished_at="2026-12-06T10:00:10Z",
                products=["true_color", "false_color_ice", "ndvi"],
                outputs={}
                if failed
                else {p: f"{run_dir}/{sid}/{sid}_{p}.tif" for p in ("true_color", "ndvi")},
                error={"type": "UnreadableRaster", "message": "B4 truncated"} if failed else None,
                source=f"s3://usgs-landsat/collection02/level-2/{sid}/",
            )
        )
        rows.append(
            {
                "scene_id": sid,
                "place": sid[10:16],
                "datetime": "2013-06-01T13:00:00Z",
                **{k: 12.345678 for k in STAT_FIELDS},
            }
        )
        item = {
            "geometry": {"type": "Polygon", "coordinates": [densified(-27 + i % 6, 71)]},
            "properties": {},
        }
        footprints[sid] = simplify_footprint(item)
    science = {
        "csv": "timeseries.csv",
        "chart": "timeseries.png",
        "timelapses": {},
        "max_cloud": 40,
        "notes": [],
        "rows": rows,
        "footprints": footprints,
    }
    summary = build_summary("big", records, science=science)
    page = render_report(summary, run_dir)
    text = summary_json(summary, run_dir)
    assert len(page.encode()) <= 2_000_000, len(page)
    assert len(text.encode()) <= 5_000_000, len(text)
    doc = json.loads(text)
    assert len(doc["scenes"]) == 10_000 and len(doc["timeseries"]["footprints"]) == 10_000
    assert "outputs" not in doc["scenes"][1]  # at the layout's place: in the task log and the Item
    assert doc["scenes"][0]["error"]["type"] == "UnreadableRaster"
    assert page.count("<polygon") == 12  # the map: the latest scene of each place, not 10,000 outlines
