"""The three place products, each made in a temp folder and published whole: composite, change, trend."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scoresby.core.products import LANDSAT_C2_L2_OFFSET, LANDSAT_C2_L2_SCALE
from scoresby.core.stretch import StretchSpec
from scoresby.places import change, outputs
from scoresby.places.compose import ComposeSettings, Temps, compose
from scoresby.places.derived import TREND_BLOCK_PX, change_temps, trend_temps
from scoresby.places.observations import Observation
from scoresby.places.reader import SceneReader
from scoresby.places.reuse import Cells, Earlier
from scoresby.places.sensor_view import ROLES, ProductRoles
from scoresby.raster.bands import Grid

__all__ = [  # TREND_BLOCK_PX stays importable from here (the bench reads it)
    "TREND_BLOCK_PX",
    "Target",
    "finish_change",
    "finish_composite",
    "finish_trend",
    "make_change",
    "make_composite",
    "make_trend",
]
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
    folder: Path | str
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
    earlier: Earlier | None = None,
) -> tuple[dict[str, Any], Cells | None]:
    """Compose (from `earlier` where it holds: reuse.py), write each asset as a COG, publish with the Item.

    Returns the Item and, when made from `earlier`, the cells made again.
    """
    temps = compose(observations, opener, sensors, t.grid, settings, tmp, earlier, t.item_id)
    doc, files = finish_composite(t, temps, settings.products, stretch, properties, tmp)
    outputs.publish_item(doc, t.folder, files, tmp)
    return doc, temps.cells


def finish_composite(
    t: Target,
    temps: Temps,
    products: Sequence[ProductRoles],
    stretch: Mapping[str, StretchSpec],
    properties: dict[str, Any],
    tmp: Path,
) -> tuple[dict[str, Any], list[Path]]:
    """A composite's temps (whole AOI) as COGs, quicklooks and its Item; (Item, files to publish)."""
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

    for p in products:
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
    return doc, files


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


def _asset_path(folder: Path, item_id: str, key: str) -> str:
    return str(folder / f"{item_id}_{key}.tif")


def make_change(
    t: Target,
    pair: tuple[tuple[str, Path], tuple[str, Path]],
    indices: Sequence[ProductRoles],
    properties: dict[str, Any],
    tmp: Path,
) -> dict[str, Any]:
    """Index differences (to - from) and class transitions between two published composites."""
    (from_id, from_dir), (to_id, to_dir) = pair
    sources = {
        (which, key): _asset_path(folder, iid, key)
        for which, iid, folder in (("from", from_id, from_dir), ("to", to_id, to_dir))
        for key in ("classes", *(p.name for p in indices))
    }
    temps, counts = change_temps(t.grid, (0, 0), sources, indices, tmp, label=t.item_id)
    doc, files = finish_change(t, temps, counts, properties, tmp)
    outputs.publish_item(doc, t.folder, files, tmp)
    return doc


def finish_change(
    t: Target, temps: dict[str, Path], counts: np.ndarray, properties: dict[str, Any], tmp: Path
) -> tuple[dict[str, Any], list[Path]]:
    """A change's temps (whole AOI) and transition counts as COGs, quicklooks and its Item."""
    files, assets = _finish_cogs(
        temps, tmp, t.item_id, lambda key: "transitions" if key == "transitions" else "slope"
    )
    km2 = abs(t.grid.transform.a * t.grid.transform.e) / 1e6
    legend = change.legend()
    areas = {code: round(int(counts[int(code)]) * km2, 4) for code in legend if counts[int(code)]}
    props = {**properties, "scoresby:legend": legend, "scoresby:transition_km2": areas}
    return outputs.item(t.item_id, "change", t.place, t.grid, t.aoi, t.span, assets, props), files


def make_trend(
    t: Target,
    periods: Sequence[tuple[str, Path, float]],
    indices: Sequence[ProductRoles],
    properties: dict[str, Any],
    tmp: Path,
    earlier: Earlier | None = None,
) -> dict[str, Any]:
    """Theil-Sen slope (per year) and Mann-Kendall p of each index over the periods' composites (made again
    only in `earlier`'s cells when given: reuse.py)."""
    times = [time for _, _, time in periods]
    paths = {p.name: [_asset_path(folder, iid, p.name) for iid, folder, _ in periods] for p in indices}
    temps = trend_temps(t.grid, (0, 0), paths, times, tmp, earlier=earlier, label=t.item_id)
    doc, files = finish_trend(t, temps, properties, tmp)
    outputs.publish_item(doc, t.folder, files, tmp)
    return doc


def finish_trend(
    t: Target, temps: dict[str, Path], properties: dict[str, Any], tmp: Path
) -> tuple[dict[str, Any], list[Path]]:
    """A trend's temps (whole AOI) as COGs, quicklooks and its Item."""
    files, assets = _finish_cogs(
        temps, tmp, t.item_id, lambda key: "slope" if key.endswith("_slope") else None
    )
    props = {**properties, "scoresby:references": REFERENCES}
    return outputs.item(t.item_id, "trend", t.place, t.grid, t.aoi, t.span, assets, props), files
