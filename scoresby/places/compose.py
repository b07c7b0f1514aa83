"""Making one period's composite block by block: observations in, temp GTiffs and statistics out.

Per block only that block's observations are in memory (uint16 DN of 6 roles x block pixels x
observations, and a float32 stack of a quarter block), times the few blocks in flight (blocks.py: threads,
each with its own datasets; written in order).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window

from scoresby.core.products import LANDSAT_C2_L2_OFFSET, LANDSAT_C2_L2_SCALE
from scoresby.places import composite as comp
from scoresby.places.blocks import COMPOSE_MMAP_THRESHOLD, place_gdal_options, run_blocks, steady_malloc
from scoresby.places.harmonize import harmonize
from scoresby.places.held import Held, Part
from scoresby.places.observations import Observation, merge
from scoresby.places.reader import ReaderPool, SceneReader
from scoresby.places.reuse import Cells, Earlier, EarlierLayers, whole, within
from scoresby.places.sensor_view import ROLES, ProductRoles, to_oli
from scoresby.raster import ops
from scoresby.raster.bands import Grid, temp_profile
from scoresby.raster.quality import outside_mask

BLOCK_PX = 512
"""Blocks a thread reads at once, aligned with 512 px COG tiles: each scene's window is read (decoded) once
into uint16 DN, (observations, 6, 512, 512) x 2 bytes, not once per stack block (4 x fewer decodes)."""
STACK_PX = 128
"""The float32 stack and its sort are made STACK_PX x STACK_PX at a time out of the held DN."""
_G, _N, _S = ROLES.index("green"), ROLES.index("nir"), ROLES.index("swir1")
log = logging.getLogger(__name__)


@dataclass
class ComposeSettings:
    """What a composite is made of and how."""

    method: str
    percentile: float | None
    harmonize: bool
    products: Sequence[ProductRoles]
    outside: list[dict[str, Any]] | None = None  # the AOI polygon in the grid's CRS (outside: no data)
    gdal_env: dict[str, str] = field(default_factory=dict)  # the scenes' read options (S3, requester pays)


@dataclass
class Temps:
    """The temp GTiffs of one composite and the whole-AOI figures gathered while writing them."""

    paths: dict[str, Path] = field(default_factory=dict)
    hists: dict[str, np.ndarray] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    index_sums: dict[str, float] = field(default_factory=dict)
    index_counts: dict[str, int] = field(default_factory=dict)
    cells: Cells | None = None  # made from an earlier composite: the STACK_PX cells made again


@dataclass
class _BlockOut:
    """One block's results, ready to write."""

    window: Window
    layers: dict[str, np.ndarray]
    inside: int
    made: tuple[slice, slice] | None  # from an earlier composite: the rectangle made again (None: none)


def to_dn(refl: np.ndarray) -> np.ndarray:
    """Composite reflectance as Landsat C2 L2 DN (uint16, 0 = no data): the `reflectance` asset."""
    with np.errstate(invalid="ignore"):
        dn = np.rint((refl - np.float32(LANDSAT_C2_L2_OFFSET)) / np.float32(LANDSAT_C2_L2_SCALE))
    return np.where(np.isfinite(dn), np.clip(dn, 1, 65535), 0).astype(np.uint16)


class _Composer:
    """The per-block work of one composite (runs in the block threads)."""

    def __init__(
        self,
        observations: Sequence[Observation],
        opener: Callable[[str], SceneReader],
        sensors: dict[str, str],
        grid: Grid,
        settings: ComposeSettings,
        earlier: Earlier | None = None,
    ) -> None:
        self.observations, self.opener, self.sensors = observations, opener, sensors
        self.grid, self.settings = grid, settings
        self.indices = [p for p in settings.products if p.kind == "index"]
        self.local = threading.local()
        self.earlier = EarlierLayers(earlier) if earlier is not None else None
        self.added = earlier.added if earlier is not None else ()
        steady_malloc(COMPOSE_MMAP_THRESHOLD)

    def close_thread(self) -> None:
        """Close this thread's readers."""
        self.pool().close()
        if self.earlier is not None:
            self.earlier.close_thread()

    def pool(self) -> ReaderPool:
        """This thread's readers."""
        pool = getattr(self.local, "pool", None)
        if pool is None:
            pool = self.local.pool = ReaderPool(self.opener)
        return pool

    def observe(self, window: Window, inside: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """The block's observations with a clear pixel: reflectance (6, h, w, obs) and clear masks (h, w).

        Observations go straight into the (roles, h, w, obs) stack: sorting along its contiguous last
        axis is what makes the median fast, and no second copy of the block's observations is made.
        """
        stack = np.empty((len(ROLES), *inside.shape, len(self.observations)), dtype=np.float32)
        clears: list[np.ndarray] = []
        pool = self.pool()
        for obs in self.observations:
            parts = []
            for scene_id in obs.scene_ids:
                got = pool(scene_id).read(window)
                if got is None:
                    continue
                refl, clear = got
                clear &= inside
                if self.settings.harmonize:
                    refl = harmonize(refl, ROLES, to_oli(self.sensors[scene_id]))
                parts.append((refl, clear))
            if parts:
                refl, clear = merge(parts)
                if clear.any():
                    stack[..., len(clears)] = refl
                    clears.append(clear)
        n = len(clears)
        return (stack if n == stack.shape[-1] else np.ascontiguousarray(stack[..., :n])), clears

    def hold(self, window: Window, inside: np.ndarray) -> Held | None:
        """The block's observations as uint16 DN, merged scene by scene; None when a scene's DN is wider."""
        pool = self.pool()
        n, shape = len(self.observations), inside.shape
        held = Held(
            np.empty((n, len(ROLES), *shape), dtype=np.uint16),
            np.zeros((n, *shape), dtype=bool),
            np.zeros((n, *shape), dtype=np.uint8),  # calloc: pages only touched where a later scene wins
            [],
        )
        for obs in self.observations:
            k = len(held.parts)
            parts: list[tuple[SceneReader, Any]] = []
            for scene_id in obs.scene_ids:
                reader = pool(scene_id)
                if reader.dn_dtype not in (np.uint8, np.uint16):
                    return None
                # The first scene is read straight into the held DN (its values where not clear are never
                # used); a later one only where it is clear and no earlier scene was (merge's rule).
                got = reader.read_dn(window, None if parts or reader.dn_dtype != np.uint16 else held.dn[k])
                if got is None:
                    continue
                dn, clear = got
                take = clear & inside if not parts else clear & inside & ~held.clear[k]
                if not take.any():
                    continue
                if parts:
                    np.copyto(held.dn[k], dn, where=take[None])
                    held.source[k][take] = len(parts)
                elif dn is not held.dn[k]:
                    held.dn[k] = dn
                held.clear[k] |= take
                coeffs = to_oli(self.sensors[scene_id]) if self.settings.harmonize else None
                parts.append((reader, coeffs))
            if parts:
                held.parts.append(parts)
        return held

    def parts(
        self, window: Window, inside: np.ndarray, *, dn_form: bool = True
    ) -> Iterator[tuple[Any, Part]]:
        """(slices in the block, Part) of each STACK_PX part of a block: DN form where one map serves.

        A float-form part's stack is made from the held DN exactly as from a scene read (DN x scale +
        offset in float32, then the harmonisation), so its values are the same as `observe`'s.
        """
        held = self.hold(window, inside)
        h, w = inside.shape
        for r in range(0, h, STACK_PX):
            for c in range(0, w, STACK_PX):
                part = (slice(r, min(r + STACK_PX, h)), slice(c, min(c + STACK_PX, w)))
                if held is None:
                    sub = Window(window.col_off + c, window.row_off + r, part[1].stop - c, part[0].stop - r)
                    stack, clears = self.observe(sub, inside[part])
                    yield part, Part(clears, stack=stack)
                else:
                    yield part, held.part(part, dn_form=dn_form)

    def block(self, window: Window) -> _BlockOut:
        """Composite, counts, frequencies, classes and indices of one block (see reuse.py for `earlier`)."""
        shape = (int(window.height), int(window.width))
        inside = np.ones(shape, dtype=bool)
        if self.settings.outside is not None:
            inside = ~outside_mask(self.settings.outside, window, self.grid)
        if self.earlier is None:
            return _BlockOut(window, self.made(window, inside), int(inside.sum()), None)
        sub = self.to_remake(window, inside)
        if sub is not None and whole(sub, shape):  # nothing of the published block is kept: not read
            return _BlockOut(window, self.made(window, inside), int(inside.sum()), sub)
        layers = self.earlier.read(window)
        if sub is None:
            return _BlockOut(window, layers, int(inside.sum()), None)
        for name, data in self.made(within(window, sub), inside[sub]).items():
            layers[name][(..., *sub)] = data
        return _BlockOut(window, layers, int(inside.sum()), sub)

    def to_remake(self, window: Window, inside: np.ndarray) -> tuple[slice, slice] | None:
        """The rectangle of a block around the pixels an added scene's QA says clear, on STACK_PX lines.

        On the same STACK_PX lines as a whole block's parts, so each pixel is made as a build from scratch
        makes it. None when no added scene is clear in the block.
        """
        changed = np.zeros(inside.shape, dtype=bool)
        pool = self.pool()
        for scene_id in self.added:
            clear = pool(scene_id).qa_clear(window)
            if clear is not None:
                changed |= clear
        changed &= inside
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        if not rows.size:
            return None
        (h, w), (r0, r1), (c0, c1) = (
            inside.shape,
            (int(rows[0]), int(rows[-1]) + 1),
            (int(cols[0]), int(cols[-1]) + 1),
        )
        return (
            slice(r0 // STACK_PX * STACK_PX, min(h, -(-r1 // STACK_PX) * STACK_PX)),
            slice(c0 // STACK_PX * STACK_PX, min(w, -(-c1 // STACK_PX) * STACK_PX)),
        )

    def made(self, window: Window, inside: np.ndarray) -> dict[str, np.ndarray]:
        """Every layer of a window of a block, made from the observations STACK_PX at a time."""
        shape = inside.shape
        layers: dict[str, np.ndarray] = {}
        for part, observed in self.parts(window, inside):
            for name, data in self.layers(observed).items():
                if name not in layers:
                    layers[name] = np.empty((*data.shape[:-2], *shape), dtype=data.dtype)
                layers[name][(..., *part)] = data
        return layers

    def layers(self, observed: Part) -> dict[str, np.ndarray]:
        """Composite, counts, frequencies, classes and indices of one part's observations."""
        clear_count = observed.clear_count()
        g, n, s = observed.roles([_G, _N, _S])
        obs_classes = comp.classify(g, n, s)
        del g, n, s
        snow_f, water_f = comp.frequencies(obs_classes, clear_count)
        del obs_classes
        composite = observed.composite(self.settings.method, self.settings.percentile)
        del observed
        classes = comp.classify(composite[_G], composite[_N], composite[_S])
        classes[clear_count == 0] = comp.UNKNOWN
        layers = {
            "clear_count": clear_count,
            "snow_ice_frequency": snow_f,
            "water_frequency": water_f,
            "classes": classes,
            "dn": to_dn(composite),
        }
        for p in self.indices:
            inputs = [composite[ROLES.index(r)] for r in p.roles]
            layers[p.name] = (
                ops.index_of(p.formula, inputs) if p.formula else ops.normalized_difference(*inputs)
            )
        return layers


def compose(
    observations: Sequence[Observation],
    opener: Callable[[str], SceneReader],
    sensors: dict[str, str],
    grid: Grid,
    settings: ComposeSettings,
    tmp: Path,
    earlier: Earlier | None = None,
    label: str = "",
) -> Temps:
    """Write the composite's temps (`dn`, each index, clear_count, frequencies, classes) over every block.

    With `earlier` (reuse.py), only the pixels around those an added scene's QA says clear are made; the
    rest are read back from the published composite. `label` names it in progress lines (run_blocks).
    """
    composer = _Composer(observations, opener, sensors, grid, settings, earlier)
    temps = empty_temps(composer.indices)
    if earlier is not None:
        temps.cells = Cells(grid, STACK_PX)
    with ExitStack() as stack:
        stack.enter_context(
            rasterio.Env(**place_gdal_options(settings.gdal_env))
        )  # bounds GDAL's block cache
        out = open_temps(grid, layer_specs(composer.indices), tmp, temps.paths, stack)
        windows = list(grid.windows(BLOCK_PX, BLOCK_PX))
        run_blocks(composer, windows, lambda done: _write(done, out, temps), settings.gdal_env, label)
    if earlier is not None and temps.cells is not None:
        made, total = temps.cells.pixels(), grid.width * grid.height
        log.info(
            "composite made again where its %d added scenes are clear: %d of %d px (%.0f %%), "
            "the rest read back from the published composite",
            len(earlier.added),
            made,
            total,
            100.0 * made / total,
        )
    return temps


def layer_specs(indices: Sequence[ProductRoles]) -> dict[str, tuple[int, str, float | None]]:
    """Every temp a composite has: name -> (bands, dtype, nodata)."""
    return {
        "clear_count": (1, "uint16", None),
        "snow_ice_frequency": (1, "float32", float("nan")),
        "water_frequency": (1, "float32", float("nan")),
        "classes": (1, "uint8", 0),
        "dn": (len(ROLES), "uint16", 0),
        **{p.name: (1, "float32", float("nan")) for p in indices},
    }


def empty_temps(indices: Sequence[ProductRoles]) -> Temps:
    """Temps with zero figures (before any block is added)."""
    temps = Temps()
    temps.hists = {r: np.zeros(ops.N_DN, dtype=np.int64) for r in ROLES}
    temps.counts = {"pixels": 0, "clear": 0, "snow_ice": 0, "water": 0}
    temps.index_sums = {p.name: 0.0 for p in indices}
    temps.index_counts = {p.name: 0 for p in indices}
    return temps


def open_temps(
    grid: Grid,
    specs: Mapping[str, tuple[int, str, float | None]],
    tmp: Path,
    paths: dict[str, Path],
    stack: ExitStack,
) -> dict[str, Any]:
    """The temp GTiffs of `specs` on the grid, open for writing (closed with `stack`); paths into `paths`."""
    out = {}
    for name, (count, dtype, nodata) in specs.items():
        paths[name] = tmp / f"{name}.tif"
        profile = temp_profile(grid, count, dtype, nodata)
        out[name] = stack.enter_context(rasterio.open(paths[name], "w", **profile))
    if "dn" in out:
        out["dn"].descriptions = ROLES
        out["dn"].scales = (LANDSAT_C2_L2_SCALE,) * len(ROLES)
        out["dn"].offsets = (LANDSAT_C2_L2_OFFSET,) * len(ROLES)
    return out


def _write(done: _BlockOut, out: dict[str, Any], temps: Temps) -> None:
    """Write one block's layers and add its figures to the whole-AOI ones."""
    layers, window = done.layers, done.window
    for name, data in layers.items():
        if name == "dn":
            out[name].write(data, window=window)
        else:
            out[name].write(data, 1, window=window)
    for i, role in enumerate(ROLES):
        temps.hists[role] += ops.dn_histogram(layers["dn"][i])
    for name in temps.index_sums:
        values = layers[name]
        finite = np.isfinite(values)
        temps.index_sums[name] += float(values[finite].sum(dtype=np.float64))
        temps.index_counts[name] += int(finite.sum())
    clear_count, classes = layers["clear_count"], layers["classes"]
    temps.counts["pixels"] += done.inside
    if done.made is not None and temps.cells is not None:
        temps.cells.mark(done.window, done.made)
    temps.counts["clear"] += int(np.count_nonzero(clear_count))
    temps.counts["snow_ice"] += int(np.count_nonzero(classes == comp.SNOW_ICE))
    temps.counts["water"] += int(np.count_nonzero(classes == comp.WATER))
