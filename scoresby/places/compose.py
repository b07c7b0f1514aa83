"""Making one period's composite block by block: observations in, temp GTiffs and statistics out.

Per block only that block's observations are in memory (observations x 6 roles x block pixels, float32).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.windows
from rasterio.features import geometry_mask
from rasterio.windows import Window

from scoresby.core.products import LANDSAT_C2_L2_OFFSET, LANDSAT_C2_L2_SCALE
from scoresby.places import composite as comp
from scoresby.places.harmonize import harmonize
from scoresby.places.observations import Observation, merge
from scoresby.places.reader import SceneReader
from scoresby.places.sensor_view import ROLES, ProductRoles, to_oli
from scoresby.raster import ops
from scoresby.raster.bands import Grid, temp_profile

BLOCK_PX = 512
"""Composite blocks are BLOCK_PX x BLOCK_PX: memory is bounded by one block's observations."""
_G, _N, _S = ROLES.index("green"), ROLES.index("nir"), ROLES.index("swir1")


@dataclass
class ComposeSettings:
    """What a composite is made of and how."""

    method: str
    percentile: float | None
    harmonize: bool
    products: Sequence[ProductRoles]
    outside: list[dict[str, Any]] | None = None  # the AOI polygon in the grid's CRS (outside: no data)


@dataclass
class Temps:
    """The temp GTiffs of one composite and the whole-AOI figures gathered while writing them."""

    paths: dict[str, Path] = field(default_factory=dict)
    hists: dict[str, np.ndarray] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    index_sums: dict[str, float] = field(default_factory=dict)
    index_counts: dict[str, int] = field(default_factory=dict)


def to_dn(refl: np.ndarray) -> np.ndarray:
    """Composite reflectance as Landsat C2 L2 DN (uint16, 0 = no data), for the visual products' stretches."""
    dn = np.rint((refl - LANDSAT_C2_L2_OFFSET) / LANDSAT_C2_L2_SCALE)
    return np.where(np.isfinite(dn), np.clip(dn, 1, 65535), 0).astype(np.uint16)


def compose(
    observations: Sequence[Observation],
    reader: Callable[[str], SceneReader],
    sensors: dict[str, str],
    grid: Grid,
    settings: ComposeSettings,
    tmp: Path,
) -> Temps:
    """Write the composite's temps (`dn`, each index, clear_count, frequencies, classes) over every block."""
    temps = Temps()
    indices = [p for p in settings.products if p.kind == "index"]
    need_dn = any(p.kind != "index" for p in settings.products)
    specs = {
        "clear_count": (1, "uint16", None),
        "snow_ice_frequency": (1, "float32", float("nan")),
        "water_frequency": (1, "float32", float("nan")),
        "classes": (1, "uint8", None),
        **{p.name: (1, "float32", float("nan")) for p in indices},
    }
    if need_dn:
        specs["dn"] = (len(ROLES), "uint16", 0)
        temps.hists = {r: np.zeros(ops.N_DN, dtype=np.int64) for r in ROLES}
    temps.counts = {"pixels": 0, "clear": 0, "snow_ice": 0, "water": 0}
    temps.index_sums = {p.name: 0.0 for p in indices}
    temps.index_counts = {p.name: 0 for p in indices}
    with ExitStack() as stack:
        out = {}
        for name, (count, dtype, nodata) in specs.items():
            temps.paths[name] = tmp / f"{name}.tif"
            profile = temp_profile(grid, count, dtype, nodata)
            out[name] = stack.enter_context(rasterio.open(temps.paths[name], "w", **profile))
        for window in _blocks(grid):
            _block(window, observations, reader, sensors, grid, settings, indices, temps, out)
    return temps


def _blocks(grid: Grid) -> list[Window]:
    return list(grid.windows(BLOCK_PX, BLOCK_PX))


def _block(
    window: Window,
    observations: Sequence[Observation],
    reader: Callable[[str], SceneReader],
    sensors: dict[str, str],
    grid: Grid,
    settings: ComposeSettings,
    indices: Sequence[ProductRoles],
    temps: Temps,
    out: dict[str, Any],
) -> None:
    shape = (int(window.height), int(window.width))
    inside = np.ones(shape, dtype=bool)
    if settings.outside is not None:
        transform = rasterio.windows.transform(window, grid.transform)
        inside = ~geometry_mask(settings.outside, shape, transform)
    refls, clears = [], []
    for obs in observations:
        parts = []
        for scene_id in obs.scene_ids:
            got = reader(scene_id).read(window)
            if got is None:
                continue
            refl, clear = got
            clear &= inside
            if settings.harmonize:
                refl = harmonize(refl, ROLES, to_oli(sensors[scene_id]))
            parts.append((refl, clear))
        if parts:
            refl, clear = merge(parts)
            if clear.any():
                refls.append(refl)
                clears.append(clear)
    n = len(refls)
    stack = np.stack(refls) if n else np.empty((0, len(ROLES), *shape), dtype=np.float32)
    clear_count: np.ndarray = np.zeros(shape, dtype=np.uint16)
    if n:
        clear_count = np.asarray(np.sum(clears, axis=0, dtype=np.uint16))
    del refls
    composite = comp.reduce(stack, settings.method, settings.percentile)  # (6, h, w)
    obs_classes = comp.classify(stack[:, _G], stack[:, _N], stack[:, _S])
    del stack
    snow_f, water_f = comp.frequencies(obs_classes, clear_count)
    classes = comp.classify(composite[_G], composite[_N], composite[_S])
    classes[clear_count == 0] = comp.UNKNOWN
    out["clear_count"].write(clear_count, 1, window=window)
    out["snow_ice_frequency"].write(snow_f, 1, window=window)
    out["water_frequency"].write(water_f, 1, window=window)
    out["classes"].write(classes, 1, window=window)
    for p in indices:
        a, b = (ROLES.index(r) for r in p.roles)
        values = ops.normalized_difference(composite[a], composite[b])
        out[p.name].write(values, 1, window=window)
        finite = np.isfinite(values)
        temps.index_sums[p.name] += float(values[finite].sum(dtype=np.float64))
        temps.index_counts[p.name] += int(finite.sum())
    if "dn" in out:
        dn = to_dn(composite)
        out["dn"].write(dn, window=window)
        for i, role in enumerate(ROLES):
            temps.hists[role] += ops.dn_histogram(dn[i])
    temps.counts["pixels"] += int(inside.sum())
    temps.counts["clear"] += int(np.count_nonzero(clear_count))
    temps.counts["snow_ice"] += int(np.count_nonzero(classes == comp.SNOW_ICE))
    temps.counts["water"] += int(np.count_nonzero(classes == comp.WATER))
