"""The place stage in `scoresby status`: per place, items made and claimed, the last round's failed jobs.

An AWS run's facts come from its place ledger (stores/place_ledger.py, partition `places:<run>` of the task
table); a local run's from `<output>/<run>/places/<place>/manifest.json` (places/manifest.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scoresby.core.errors import one_line
from scoresby.core.layout import run_dir_of

MAX_FAILED = 20
"""Failed jobs listed (the rest are counted)."""


def format_place_overview(view: dict[str, Any], where: str) -> list[str]:
    """Lines of a ledger overview (DynamoPlaceLedger.overview); none when the run has no place records."""
    if not view["places"] and not view["failed"]:
        return []
    lines = [f"place stage ({where}):"]
    for place, facts in sorted(view["places"].items()):
        line = f"  {place}: {facts['made']} item(s) made, {facts['scenes']} scene(s)"
        claimed = facts["claimed"]
        if claimed:
            line += "; being made: " + ", ".join(f"{n} by round {r}" for r, n in sorted(claimed.items()))
        lines.append(line)
    failed = view["failed"]
    if failed:
        lines.append(f"  last round {view['last_round']}: {len(failed)} failed job(s)")
        for f in failed[:MAX_FAILED]:
            cause = one_line(f.get("cause") or "no cause given")
            lines.append(f"    FAILED {f['job_name']}  {f.get('error') or 'Error'}: {cause[:300]}")
        if len(failed) > MAX_FAILED:
            lines.append(f"    ... and {len(failed) - MAX_FAILED} more")
    elif view["last_round"]:
        lines.append(f"  last round {view['last_round']}: no failed job")
    return lines


def aws_place_lines(table: str, run: str, client: Any) -> list[str]:
    """The place stage of an AWS run from its ledger in the task table."""
    from scoresby.core.place_stage import ledger_partition
    from scoresby.stores.place_ledger import DynamoPlaceLedger

    view = DynamoPlaceLedger(table, run, client=client).overview()
    return format_place_overview(view, f"DynamoDB {table}, {ledger_partition(run)}")


def local_place_lines(output: str, run: str) -> list[str]:
    """The place products of a local run from each place's manifest.json; none without a places folder."""
    from scoresby.places.build import PLACES_DIR  # here: the status of a run without places skips rasterio

    folder = Path(run_dir_of(output, run)) / PLACES_DIR
    manifests = sorted(folder.glob("*/manifest.json")) if folder.is_dir() else []
    if not manifests:
        return []
    lines = [f"place products ({folder.resolve()}):"]
    for path in manifests:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            made, scenes = len(doc.get("products") or {}), len(doc.get("scenes") or {})
        except (OSError, ValueError, AttributeError) as exc:
            why = f"manifest.json unreadable ({one_line(exc)}); the next run makes everything again"
            lines.append(f"  {path.parent.name}: {why}")
            continue
        lines.append(f"  {path.parent.name}: {made} item(s) made, {scenes} scene(s)")
    return lines
