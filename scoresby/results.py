"""What `scoresby.run` returns: the run's summary and rows, rendered as a table in Jupyter."""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scoresby.commands.run import RunSummary, format_summary
from scoresby.commands.watch_round import RoundResult
from scoresby.core.layout import join_uri
from scoresby.core.task_log import FAILED, TaskRecord

# Past this many scenes the notebook table shows the first ones only; the report has them all.
MAX_HTML_ROWS = 50
THUMBNAIL_PX = 120


@dataclass
class RunResult:
    """A finished local run: counts, failed scenes, outputs per scene, and where the report is."""

    summary: RunSummary
    records: list[TaskRecord] = field(default_factory=list)
    round: RoundResult | None = None  # `scoresby.watch`: what the round found (new items, the window)

    @property
    def run_name(self) -> str:
        """The run's name (its folder under the output)."""
        return self.summary.run_name

    @property
    def counts(self) -> dict[str, int]:
        """Scenes per status (PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED)."""
        return dict(self.summary.counts)

    @property
    def failed(self) -> dict[str, str]:
        """scene_id -> "ErrorType: message" of every FAILED scene."""
        return dict(self.summary.failed)

    @property
    def outputs(self) -> dict[str, dict[str, str]]:
        """scene_id -> {product: COG path or URI} of every scene that has its products."""
        return {r.scene_id: dict(r.outputs) for r in self.records if r.outputs}

    @property
    def report_html(self) -> str:
        """Where report.html was written."""
        return self.summary.report_html

    @property
    def summary_json(self) -> dict[str, Any]:
        """summary.json as a dict (read from the run folder; empty for s3:// runs)."""
        path = Path(self.summary.summary_json)
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    @property
    def timeseries(self) -> Path | None:
        """timeseries.csv of the run, where the run made one."""
        path = Path(join_uri(self.summary.run_dir, "timeseries.csv"))
        return path if path.is_file() else None

    @property
    def ok(self) -> bool:
        """True when no scene failed and the run was not interrupted."""
        return self.summary.exit_code == 0

    def __str__(self) -> str:
        return format_summary(self.summary)

    def _repr_html_(self) -> str:
        """The run in Jupyter: totals, the time-series chart where there is one, a row per scene."""
        c = self.summary.counts
        parts = [
            f"<p><b>run {html.escape(self.run_name)}</b>: {sum(c.values())} scenes, "
            + ", ".join(f"{n} {s.lower()}" for s, n in c.items() if n)
            + f" in {self.summary.duration_s:.1f} s &middot; "
            f"report: <code>{html.escape(self.report_html)}</code></p>"
        ]
        chart = Path(join_uri(self.summary.run_dir, "timeseries.png"))
        if chart.is_file():
            parts.append(f'<img alt="time series" style="max-width:100%" src="{_data_uri(chart)}">')
        stats_by_scene = {s["scene_id"]: s.get("stats") or {} for s in self.summary_json.get("scenes", [])}
        stat_names = sorted({k for st in stats_by_scene.values() for k in st if k.endswith("_percent")})
        head = ["scene", "status", "seconds", "quicklooks", *stat_names]
        rows = ["<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
        for r in self.records[:MAX_HTML_ROWS]:
            stats = stats_by_scene.get(r.scene_id, {})
            status = r.status + (f": {(r.error or {}).get('message', '')}" if r.status == FAILED else "")
            cells = [
                html.escape(r.scene_id),
                html.escape(status),
                "" if r.duration_s is None else f"{r.duration_s:.1f}",
                "".join(_thumbnail(product, cog) for product, cog in r.outputs.items()),
                *(_fmt(stats.get(k)) for k in stat_names),
            ]
            rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
        if len(self.records) > MAX_HTML_ROWS:
            rows.append(f"<tr><td colspan={len(head)}>… {len(self.records) - MAX_HTML_ROWS} more</td></tr>")
        parts.append("<table>" + "".join(rows) + "</table>")
        return "\n".join(parts)


def _thumbnail(product: str, cog: str) -> str:
    """A small inline quicklook of one product (local runs only), titled with the product name."""
    png = Path(cog.removesuffix(".tif") + ".png")
    if cog.startswith("s3://") or not png.is_file():
        return ""
    name = html.escape(product)
    return f'<img title="{name}" alt="{name}" src="{_data_uri(png, THUMBNAIL_PX)}">'


def _data_uri(path: Path, width_px: int | None = None) -> str:
    """The PNG as a data: URI, shrunk to `width_px` wide (full-size quicklooks would bloat a notebook)."""
    data = path.read_bytes()
    if width_px is not None:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            im.thumbnail((width_px, width_px))
            out = io.BytesIO()
            im.save(out, format="PNG", optimize=True)
        data = out.getvalue()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.1f}" if isinstance(value, float) else html.escape(str(value))
