"""The three place products, each made in a temp folder and published whole: composite, change, trend."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window

from scoresby.core.products import LANDSAT_C2_L2_OFFSET, LANDSAT_C2_L2_SCALE
from scoresby.core.stretch import StretchSpec
from scoresby.places import change, outputs
from scoresby.places.blocks import TREND_MMAP_THRESHOLD, run_blocks, steady_malloc
from scoresby.places.compose import ComposeSettings, compose
from scoresby.places.observations import Observation
from scoresby.places.reader import SceneReader
from scoresby.places.sensor_view import ROLES, ProductRoles
from scoresby.places.trend import theil_sen_mann_kendall
from scoresby.raster.bands import Grid, temp_profile

TREND_BLOCK_PX = 512
"""Trend blocks, aligned with the composites' 512 px COG tiles (each tile decoded once)."""
REFERENCES = {
    "harmonization": "Roy et al. 2016, Remote Sensing of Environment 185:57-70, Table 2 OLS ETM+ -> OLI",
    "slope": "Theil-Sen (Sen 1968), per year",
    "p_value": "Mann-Kendall, two-sided, tie-corrected variance",
}


@dataclass(frozen=True)
class Target:
    """Where a product goes and what its Item says of it."""

    item_id: str
    place: str
    folder: Path
    grid: Grid
    aoi: Mapping[str, Any]
    span: tuple[str, str]


def _asset(
    key: str, file: str, title: str, roles: list[str] | None = None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"key": key, "file": file, "title": title, "roles": roles or ["data"], "extra": extra}


def _with_quicklook(assets: list[dict[str, Any]], files: list[Path], cog: Path, key: str) -> None:
    png = cog.with_suffix(".png")
    if png.exists():
        files.append(png)
        assets.append(_asset(f"{key}_quicklook", png.name, f"{key} quicklook", ["overview"]))


def make_composite(
    t: Target,
    observations: Sequence[Observation],
    opener: Callable[[str], SceneReader],
    sensors: dict[str, str],
    settings: ComposeSettings,
    stretch: Mapping[str, StretchSpec],
    properties: dict[str, Any],
    tmp: Path,
) -> dict[str, Any]:
    """Compose, write every asset as a COG, publish with the Item; return the Item."""
    temps = compose(observations, opener, sensors, t.grid, settings, tmp)
    files: list[Path] = []
    assets: list[dict[str, Any]] = []

    jobs: list[outputs.CogJob] = []
    added: list[tuple[str, Path]] = []

    def add(
        key: str, temp: Path, title: str, quicklook: str | None = None, extra: dict[str, Any] | None = None
    ) -> None:
        dest = tmp / f"{t.item_id}_{key}.tif"
        jobs.append(outputs.CogJob(temp, dest, quicklook, key))
        files.append(dest)
        assets.append(_asset(key, dest.name, title, extra=extra))
        added.append((key, dest))

    for p in settings.products:
        if p.kind == "index":
            add(p.name, temps.paths[p.name], f"{p.name} of the composite", "index", outputs.index_meta(p))
        else:
            temp, meta = outputs.visual_temp(p, temps, t.grid, stretch.get(p.name), tmp)
            add(
                p.name,
                temp,
                f"{p.name} of the composite",
                "visual" if p.kind == "visual" else None,
                {f"scoresby:{k}": v for k, v in meta.items()},
            )
    add("clear_count", temps.paths["clear_count"], "distinct clear observations (uint16)")
    add("snow_ice_frequency", temps.paths["snow_ice_frequency"], "fraction of clear observations snow/ice")
    add("water_frequency", temps.paths["water_frequency"], "fraction of clear observations water")
    add("classes", temps.paths["classes"], "composite class: 1 snow/ice, 2 water, 3 other land, 0 unknown")
    add(
        "reflectance",
        temps.paths["dn"],
        "composite surface reflectance (OLI-equivalent), uint16 DN x 2.75e-5 - 0.2, bands "
        + ", ".join(ROLES),
        None,
        {
            "raster:bands": [
                {"name": r, "scale": LANDSAT_C2_L2_SCALE, "offset": LANDSAT_C2_L2_OFFSET, "nodata": 0}
                for r in ROLES
            ]
        },
    )
    outputs.finish_all(jobs)
    for key, dest in added:
        _with_quicklook(assets, files, dest, key)
    c = temps.counts
    km2 = abs(t.grid.transform.a * t.grid.transform.e) / 1e6
    stats: dict[str, Any] = {
        "clear_percent": round(100.0 * c["clear"] / c["pixels"], 3) if c["pixels"] else None,
        "clear_km2": round(c["clear"] * km2, 4),
        "snow_ice_km2": round(c["snow_ice"] * km2, 4),
        "water_km2": round(c["water"] * km2, 4),
    }
    for name, n in temps.index_counts.items():
        stats[f"{name}_mean"] = round(temps.index_sums[name] / n, 5) if n else None
    props = {**properties, "scoresby:stats": stats, "scoresby:references": REFERENCES}
    doc = outputs.item(t.item_id, "composite", t.place, t.grid, t.aoi, t.span, assets, props)
    outputs.publish_item(doc, t.folder, files, tmp)
    return doc


def _finish_cogs(
    temps: dict[str, Path], tmp: Path, item_id: str, quicklook: Callable[[str], str | None]
) -> tuple[list[Path], list[dict[str, Any]]]:
    """The temp GTiffs as COGs with their quicklooks (`quicklook(key)`: the PNG's style), and their assets."""
    jobs = {
        key: outputs.CogJob(temp, tmp / f"{item_id}_{key}.tif", quicklook(key)) for key, temp in temps.items()
    }
    outputs.finish_all(list(jobs.values()))
    files: list[Path] = []
    assets: list[dict[str, Any]] = []
    for key, job in jobs.items():
        files.append(job.dest)
        assets.append(_asset(key, job.dest.name, key.replace("_", " ")))
        _with_quicklook(assets, files, job.dest, key)
    return files, assets


def _asset_path(folder: Path, item_id: str, key: str) -> Path:
    return folder / f"{item_id}_{key}.tif"


def make_change(
    t: Target,
    pair: tuple[tuple[str, Path], tuple[str, Path]],
    indices: Sequence[ProductRoles],
    properties: dict[str, Any],
    tmp: Path,
) -> dict[str, Any]:
    """Index differences (to - from) and class transitions between two published composites."""
    (from_id, from_dir), (to_id, to_dir) = pair
    grid = t.grid
    counts = np.zeros(34, dtype=np.int64)
    temps: dict[str, Path] = {}
    with ExitStack() as stack:
        src = {
            (which, key): stack.enter_context(rasterio.open(_asset_path(folder, iid, key)))
            for which, iid, folder in (("from", from_id, from_dir), ("to", to_id, to_dir))
            for key in ("classes", *(p.name for p in indices))
        }
        out = {}
        for p in indices:
            path, ds = outputs.float_temp(grid, tmp, f"{p.name}_difference")
            temps[f"{p.name}_difference"], out[p.name] = path, stack.enter_context(ds)
        temps["transitions"] = tmp / "transitions.tif"
        trans = stack.enter_context(
            rasterio.open(
                temps["transitions"], "w", **temp_profile(grid, 1, "uint8", change.TRANSITIONS_NODATA)
            )
        )
        for window in grid.windows():
            codes = change.transitions(
                src["from", "classes"].read(1, window=window), src["to", "classes"].read(1, window=window)
            )
            trans.write(codes, 1, window=window)
            counts += change.transition_counts(codes)
            for p in indices:
                diff = change.difference(
                    src["to", p.name].read(1, window=window), src["from", p.name].read(1, window=window)
                )
                out[p.name].write(diff, 1, window=window)
    files, assets = _finish_cogs(
        temps, tmp, t.item_id, lambda key: "transitions" if key == "transitions" else "slope"
    )
    km2 = abs(grid.transform.a * grid.transform.e) / 1e6
    legend = change.legend()
    areas = {code: round(int(counts[int(code)]) * km2, 4) for code in legend if counts[int(code)]}
    props = {**properties, "scoresby:legend": legend, "scoresby:transition_km2": areas}
    doc = outputs.item(t.item_id, "change", t.place, grid, t.aoi, t.span, assets, props)
    outputs.publish_item(doc, t.folder, files, tmp)
    return doc


class _TrendWork:
    """Slope and p of every index for one block; each thread opens the periods' COGs for itself."""

    def __init__(self, paths: dict[str, list[Path]], times: np.ndarray) -> None:
        self.paths, self.times = paths, times
        self.local = threading.local()
        steady_malloc(TREND_MMAP_THRESHOLD)

    def _sources(self) -> dict[str, list[Any]]:
        sources = getattr(self.local, "sources", None)
        if sources is None:
            sources = self.local.sources = {k: [rasterio.open(p) for p in v] for k, v in self.paths.items()}
        return sources

    def block(self, window: Window) -> tuple[Window, dict[str, np.ndarray]]:
        """{"<index>_slope": ..., "<index>_p_value": ...} of a block."""
        out = {}
        for name, sources in self._sources().items():
            values = np.stack([s.read(1, window=window) for s in sources])
            out[f"{name}_slope"], out[f"{name}_p_value"] = theil_sen_mann_kendall(values, self.times)
        return window, out

    def close_thread(self) -> None:
        """Close this thread's datasets."""
        for sources in getattr(self.local, "sources", {}).values():
            for s in sources:
                s.close()


def make_trend(
    t: Target,
    periods: Sequence[tuple[str, Path, float]],
    indices: Sequence[ProductRoles],
    properties: dict[str, Any],
    tmp: Path,
) -> dict[str, Any]:
    """Theil-Sen slope (per year) and Mann-Kendall p of each index over the periods' composites."""
    grid = t.grid
    times = np.array([time for _, _, time in periods], dtype=np.float64)
    paths = {p.name: [_asset_path(folder, iid, p.name) for iid, folder, _ in periods] for p in indices}
    temps: dict[str, Path] = {}
    with ExitStack() as stack:
        out = {}
        for p in indices:
            for suffix in ("slope", "p_value"):
                path, ds = outputs.float_temp(grid, tmp, f"{p.name}_{suffix}")
                temps[f"{p.name}_{suffix}"], out[f"{p.name}_{suffix}"] = path, stack.enter_context(ds)

        def write(done: tuple[Window, dict[str, np.ndarray]]) -> None:
            window, layers = done
            for key, data in layers.items():
                out[key].write(data, 1, window=window)

        run_blocks(_TrendWork(paths, times), list(grid.windows(TREND_BLOCK_PX, TREND_BLOCK_PX)), write)
    files, assets = _finish_cogs(
        temps, tmp, t.item_id, lambda key: "slope" if key.endswith("_slope") else None
    )
    props = {**properties, "scoresby:references": REFERENCES}
    doc = outputs.item(t.item_id, "trend", t.place, grid, t.aoi, t.span, assets, props)
    outputs.publish_item(doc, t.folder, files, tmp)
    return doc
