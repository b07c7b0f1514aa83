"""The report at scale (issue 24): report.html, summary.json and collection.json at 1,000 and 10,000 scenes.

Synthetic task-log rows and STAC Items (footprints densified as the worker writes them, ~12 KB each) stand
in for a run; the bench writes collection.json, summary.json and report.html as a run's end does, times
that against the run's own processing time (cost.py's measured seconds per scene), and opens the report
in headless Chromium over the DevTools pipe: first contentful paint, load event, JS heap.
Limits: report.html <= 2 MB, first render <= 3 s, summary.json <= 5 MB, writing <= 5 % of the run.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.cdp import Browser  # noqa: E402
from scoresby.commands.run import _write_collection  # noqa: E402
from scoresby.core.task_log import FAILED, SKIPPED, SUCCEEDED, TaskRecord  # noqa: E402
from scoresby.core.timeseries import STAT_FIELDS  # noqa: E402
from scoresby.pricing.cost import SCENE_SECONDS  # noqa: E402
from scoresby.stores.run_files import write_report  # noqa: E402

PRODUCTS = ("true_color", "false_color_ice", "ndvi")
PLACES = [f"{path:03d}{row:03d}" for path in range(226, 232) for row in range(8, 12)]  # 24 WRS-2 cells
LIMITS = {"report_mb": 2.0, "render_s": 3.0, "summary_mb": 5.0, "share": 0.05}


def scene_id(i: int, place: str, day: int) -> str:
    """A Landsat Collection 2 Level-2 scene id."""
    date = time.strftime("%Y%m%d", time.gmtime(1_370_000_000 + day * 86_400))
    return f"LC08_L2SP_{place}_{date}_{date}_02_T1"


def ring(rng: random.Random, lon: float, lat: float) -> list[list[float]]:
    """A tilted 185 km scene outline densified 20 points per edge, ~6 decimals (as raster/stac.py writes)."""
    w, h, tilt = 2.6, 1.65, math.radians(12 + rng.uniform(-1, 1))
    corners = [(-w / 2, h / 2), (w / 2, h / 2), (w / 2, -h / 2), (-w / 2, -h / 2)]
    pts = [
        (lon + x * math.cos(tilt) - y * math.sin(tilt), lat + x * math.sin(tilt) + y * math.cos(tilt))
        for x, y in corners
    ]
    out = []
    for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True):
        for k in range(80):
            t = k / 80
            out.append([round(x0 + t * (x1 - x0), 6), round(y0 + t * (y1 - y0), 6)])
    return [*out, out[0]]


def make_run(root: Path, n: int) -> tuple[Path, list[TaskRecord], dict[str, Any]]:
    """A run folder with `n` scene Items, the task-log rows and the time-series rows of a finished run."""
    rng = random.Random(n)  # noqa: S311 - synthetic figures, not secrets
    run_dir = root / f"bench{n}"
    records, rows = [], []
    for i in range(n):
        place = PLACES[i % len(PLACES)]
        sid = scene_id(i, place, i // len(PLACES) * 8)
        lon, lat = -27 + (i % 6) * 1.2, 70 + ((i // 6) % 4) * 0.7
        status = FAILED if i % 37 == 0 else SKIPPED if i % 53 == 0 else SUCCEEDED
        folder = run_dir / sid
        folder.mkdir(parents=True, exist_ok=True)
        cloud = round(rng.uniform(0, 100), 2)
        stats = {
            "place": place,
            "datetime": f"{sid[17:21]}-{sid[21:23]}-{sid[23:25]}T13:00:00Z",
            **{k: round(rng.uniform(0, 100), 6) for k in STAT_FIELDS},
            "cloud_percent": cloud,
        }
        geometry = {"type": "Polygon", "coordinates": [ring(rng, lon, lat)]}
        item = {
            "type": "Feature",
            "stac_version": "1.1.0",
            "id": sid,
            "geometry": geometry,
            "bbox": [lon - 1.6, lat - 1.2, lon + 1.6, lat + 1.2],
            "properties": {
                "datetime": stats["datetime"],
                "proj:code": "EPSG:32624",
                "proj:shape": [7911, 7801],
                "proj:transform": [30, 0, 400000, 0, -30, 8000000],
                "scoresby:place": place,
                "scoresby:stats": stats,
            },
            "links": [],
            "assets": {p: {"href": f"./{sid}_{p}.tif", "roles": ["data"]} for p in PRODUCTS},
        }
        (folder / f"{sid}.json").write_text(json.dumps(item, indent=2))
        outputs = {p: str(folder / f"{sid}_{p}.tif") for p in PRODUCTS}
        error = {"type": "UnreadableRaster", "message": f"{sid}: B4 truncated"} if status == FAILED else None
        records.append(
            TaskRecord(
                run_id=run_dir.name,
                scene_id=sid,
                status=status,
                attempts=1,
                duration_s=9.5,
                started_at="2026-12-06T10:00:00Z",
                finished_at="2026-12-06T10:00:10Z",
                products=list(PRODUCTS),
                outputs=outputs if status != FAILED else {},
                error=error,
                source=f"s3://usgs-landsat/collection02/level-2/{sid}/",
            )
        )
        if status != FAILED:
            rows.append({"scene_id": sid, **stats})
    science = {
        "csv": "timeseries.csv",
        "chart": "timeseries.png",
        "timelapses": {},
        "max_cloud": 40,
        "notes": [],
        "rows": rows,
    }
    return run_dir, records, science


def write_outputs(run_dir: Path, records: list[TaskRecord], science: dict[str, Any]) -> float:
    """collection.json, summary.json and report.html as run_plan writes them; seconds taken."""
    t0 = time.perf_counter()
    science["footprints"] = _write_collection(run_dir.name, str(run_dir))
    write_report(run_dir.name, str(run_dir), records, duration_s=1.0, task_log="bench", science=science)
    return time.perf_counter() - t0


def render(report: Path, profile: Path) -> dict[str, float]:
    """First contentful paint and load event (s) and the JS heap (MB) of the report in headless Chromium."""
    browser = Browser(shutil.which("chromium") or "/usr/bin/chromium", profile)
    try:
        browser.send("Performance.enable", session=True)
        t0 = time.perf_counter()
        browser.navigate(report.as_uri())
        browser.wait_for("document.readyState === 'complete' && document.body.dataset.rowsShown", timeout=120)
        wall = time.perf_counter() - t0
        paint = browser.evaluate(
            "new Promise((done) => { new PerformanceObserver((list) => { const e = list.getEntries()"
            ".find((x) => x.name === 'first-contentful-paint'); if (e) done(e.startTime); })"
            ".observe({type: 'paint', buffered: true}); setTimeout(() => done(-1000), 5000); })"
        )
        load = browser.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        metrics = {
            m["name"]: m["value"] for m in browser.send("Performance.getMetrics", session=True)["metrics"]
        }
        return {
            "fcp_s": paint / 1000,
            "load_s": load / 1000,
            "wall_s": wall,
            "heap_mb": metrics.get("JSHeapUsedSize", 0) / 1e6,
        }
    finally:
        browser.close()


def main(argv: list[str] | None = None) -> int:
    """Measure at each scene count; print the table; exit 1 when a limit is exceeded."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenes", type=int, nargs="+", default=[1000, 10000])
    args = ap.parse_args(argv)
    per_scene_s = SCENE_SECONDS[0][1].value
    print(f"report bench: {', '.join(map(str, args.scenes))} scenes; run time = scenes x {per_scene_s} s")
    header = (
        "scenes",
        "report.html",
        "summary.json",
        "collection",
        "write",
        "of run",
        "first paint",
        "load",
        "JS heap",
    )
    print(" | ".join(header))
    failed = False
    with tempfile.TemporaryDirectory(prefix="scoresby-report-bench-") as tmp:
        for n in args.scenes:
            run_dir, records, science = make_run(Path(tmp), n)
            write_s = write_outputs(run_dir, records, science)
            sizes = {
                name: (run_dir / name).stat().st_size / 1e6
                for name in ("report.html", "summary.json", "collection.json")
            }
            shown = render(run_dir / "report.html", Path(tmp) / f"profile{n}")
            share = write_s / (n * per_scene_s)
            print(
                f"{n} | {sizes['report.html']:.2f} MB | {sizes['summary.json']:.2f} MB | "
                f"{sizes['collection.json']:.2f} MB | {write_s:.1f} s | {share:.2%} | "
                f"{shown['fcp_s']:.2f} s | {shown['load_s']:.2f} s | {shown['heap_mb']:.0f} MB"
            )
            over = [
                name
                for name, bad in (
                    ("report.html > 2 MB", sizes["report.html"] > LIMITS["report_mb"]),
                    ("first render > 3 s", max(shown["fcp_s"], shown["load_s"]) > LIMITS["render_s"]),
                    ("summary.json > 5 MB", sizes["summary.json"] > LIMITS["summary_mb"]),
                    ("writing > 5 % of the run", share > LIMITS["share"]),
                )
                if bad
            ]
            if over:
                failed = True
                print(f"  {n} scenes: OVER THE LIMIT: {', '.join(over)}")
            shutil.rmtree(run_dir)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
