"""`make demo`: generate six summers of a retreating glacier, run them, say where the report and maps are."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from scoresby.demo.glacier import write_series
from scoresby.demo.landscape import DEMO_DIR


def place_maps(run_dir: Path) -> list[tuple[str, Path]]:
    """The place products' quicklooks the story is told with: last composite, change map, trend map."""
    wanted = (
        ("the last summer's composite", "*_composite_*/*_true_color.png"),
        ("where the ice went (change map)", "*_change_*/*_transitions.png"),
        ("where it keeps going (trend map, NDSI slope)", "*_trend/*_ndsi_slope.png"),
    )
    found = []
    for label, pattern in wanted:
        paths = sorted((run_dir / "places").glob(f"*/{pattern}"))
        if paths:
            found.append((label, paths[-1].resolve()))
    return found


def main(argv: list[str] | None = None) -> int:
    """Generate the demo series in ./demo-output, run it, and say where the report and the maps are."""
    from scoresby.commands.run import format_summary, run_plan
    from scoresby.core.scene_list import load_scene_list

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = Path(argv[0]) if argv else DEMO_DIR
    t0 = time.monotonic()
    scenes_json, scenes = write_series(root)
    generated = time.monotonic() - t0
    plan = load_scene_list(str(scenes_json))
    # --overwrite: the demo always shows a fresh run, even when demo-output/ is left from an earlier one.
    summary = run_plan(plan, str(root.resolve()), workers=2, overwrite=True, progress=True)
    report = Path(summary.report_html).resolve()
    maps = "".join(f"  {label}: {path}\n" for label, path in place_maps(Path(summary.run_dir)))
    sys.stdout.write(
        f"demo: {len(scenes)} summers of a retreating glacier generated in {generated:.1f} s: "
        f"{scenes_json.resolve()}\n"
        + format_summary(summary)
        + "\n"
        + (f"Place maps:\n{maps}" if maps else "")
        + f"Open the report: {report}\n"
        f"  in a browser: file://{report}\n"
        f"  or: xdg-open {report}   (macOS: open {report})\n"
        f"See it on a map (full-resolution COGs, a date slider): .venv/bin/scoresby view {summary.run_dir}\n"
    )
    return summary.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
