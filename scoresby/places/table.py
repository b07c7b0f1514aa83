"""`places/places.csv`: a row per place and period, with every figure of the composite's `scoresby:stats`."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PLACES_CSV = "places.csv"
_FIRST = ("place", "period", "start_datetime", "end_datetime", "scenes", "observations")


def rows_of(place: str, items: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows of one place's composite Items, in period order."""
    rows = []
    for doc in items.values():
        props = doc.get("properties", {})
        if props.get("scoresby:kind") != "composite":
            continue
        row: dict[str, Any] = {
            "place": place,
            "period": props.get("scoresby:period"),
            "start_datetime": props.get("start_datetime"),
            "end_datetime": props.get("end_datetime"),
            "scenes": len(props.get("scoresby:scenes", [])),
            "observations": props.get("scoresby:observations"),
        }
        row.update(props.get("scoresby:stats", {}))
        rows.append(row)
    return sorted(rows, key=lambda r: (r["start_datetime"] or "", r["period"] or ""))


def table_text(
    existing: str | None, place: str, items: Mapping[str, Mapping[str, Any]]
) -> tuple[str, list[dict[str, Any]]]:
    """places.csv's new text from its old one (other places' rows kept) and this place's rows."""
    rows = rows_of(place, items)
    others = [r for r in csv.DictReader(io.StringIO(existing or "")) if r.get("place") != place]
    everything = [*others, *rows]
    columns = list(_FIRST)
    for r in everything:
        columns += [k for k in r if k not in columns]
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, lineterminator="\n")
    writer.writeheader()
    for r in everything:
        writer.writerow({k: "" if r.get(k) is None else r.get(k) for k in columns})
    return text.getvalue(), rows


def write_table(folder: Path, place: str, items: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rewrite places.csv with this place's rows (other places' rows kept); return this place's rows."""
    path = folder / PLACES_CSV
    existing = path.read_text(encoding="utf-8") if path.is_file() else None
    text, rows = table_text(existing, place, items)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".places.", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    Path(tmp).replace(path)
    return rows
