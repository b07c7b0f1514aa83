"""One measured build for bench/science_bench.py: `python _science_child.py with|reads|without FOLDER OUT`.

`without` switches the statistics off by replacing their two hooks in raster/read_pass.py (no statistics
bands, no counting) and drops the QA band: what the builder cost before issue 12. `reads` reads the
statistics' bands and the QA band but does not count: the split between reading and counting.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scoresby.core.scene_list import parse_scene  # noqa: E402
from scoresby.discovery.discover import discover_scene  # noqa: E402
from scoresby.raster import builder, read_pass  # noqa: E402
from scoresby.raster.stats import WindowCounts  # noqa: E402

PRODUCTS = ("true_color", "false_color_ice", "ndvi")


def main(variant: str, folder: str, out: str) -> int:
    files = discover_scene(parse_scene({"source": folder}))
    if variant == "without":
        files = dataclasses.replace(files, quality=None)
        builder.stats_bands_of = lambda files: None  # type: ignore[assignment]
        read_pass.stats_bands_of = lambda files: None  # type: ignore[assignment]
        read_pass.window_counts = lambda *args: WindowCounts(np.zeros(8, np.int64), 0.0)  # type: ignore[assignment]
    elif variant == "reads":  # the statistics' extra band reads, without the counting
        read_pass.window_counts = lambda *args: WindowCounts(np.zeros(8, np.int64), 0.0)  # type: ignore[assignment]
    elif files.quality is None:
        raise SystemExit("the scene has no QA_PIXEL band")
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        built = builder.build_products(files, PRODUCTS, {}, Path(tmp))
        print(built.stats.get("cloud_percent"))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
