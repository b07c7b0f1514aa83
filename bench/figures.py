"""This run's headline figures against the previous recorded run's (bench/previous_figures.json).

bench-output/figures.json gets this run's figures ({"name": {"value": v, "unit": u}}, plus date, machine
and load average); the report gets one row per figure with the previous value, this one and now / previous.
`run_bench.py --save-figures` writes this run's file to bench/previous_figures.json, to be committed as the
new reference. Ratios of figures from different machines or loads say little: both headers are printed.
"""

from __future__ import annotations

import json
from pathlib import Path

PREVIOUS = Path(__file__).resolve().parent / "previous_figures.json"

Figures = dict[str, tuple[float, str]]


def document(figs: Figures, *, date: str, machine: str, load: str) -> dict:
    """The JSON form of a run's figures."""
    return {
        "date": date,
        "machine": machine,
        "load": load,
        "figures": {k: {"value": round(v, 6), "unit": u} for k, (v, u) in figs.items() if v == v},
    }


def write(doc: dict, path: Path) -> None:
    """Write a figures document (sorted, one figure per line)."""
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


def load(path: Path = PREVIOUS) -> dict | None:
    """A figures document, or None when there is none (or it does not parse)."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc.get("figures"), dict) else None


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 100 else f"{v:,.0f}"


def comparison_lines(now: dict, previous: dict | None) -> list[str]:
    """Markdown: a table of previous, now and now / previous for every figure of either run."""
    if previous is None:
        return ["", f"No previous figures ({PREVIOUS.name} missing): nothing to compare against."]
    lines = [
        "",
        f"Against the previous figures ({PREVIOUS.name}: {previous.get('date', '?')}, "
        f"{previous.get('machine', '?')}; {previous.get('load', '?')}):",
        "",
        "| figure | unit | previous | now | now / previous |",
        "|---|---|---|---|---|",
    ]
    old, new = previous["figures"], now["figures"]
    for name in sorted(set(old) | set(new)):
        o, n = old.get(name), new.get(name)
        unit = (n or o or {}).get("unit", "")
        if o and n:
            ratio = f"{n['value'] / o['value']:.2f}x" if o["value"] else "n/a (previous is 0)"
        else:
            ratio = "n/a (not in both runs)"
        lines.append(
            f"| {name} | {unit} | {_fmt(o['value']) if o else '-'} | {_fmt(n['value']) if n else '-'} "
            f"| {ratio} |"
        )
    return lines
