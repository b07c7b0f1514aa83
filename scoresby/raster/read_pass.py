"""Pass 1 of the product builder: read each needed band once, window by window, onto the target grid.

Per window it writes the raw bands of the visual/merge products to one temp uint16 stack and the index
products to temp float32 GTiffs, and accumulates whole-scene DN histograms (for the stretches), index
histograms and the scene statistics. Memory stays bounded by the window size, not the scene size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import rasterio
from rasterio.windows import Window

from scoresby.core.products import PRODUCTS
from scoresby.raster import bands as scene_io
from scoresby.raster import masks
from scoresby.raster import ops as raster_ops
from scoresby.raster.quality import outside_mask
from scoresby.raster.stats import STATS_ROLES, SceneStats, WindowCounts, window_counts
from scoresby.sensors import sensor_of

if TYPE_CHECKING:
    from scoresby.core.scene_files import SceneFiles


@dataclass(frozen=True)
class ProductPlan:
    """A requested product and the scene bands it will use, in its role order (after substitutions)."""

    name: str
    kind: str
    bands: tuple[str, ...]


def ordered_union(groups: Sequence[Sequence[str]]) -> list[str]:
    """Every name of the groups once, in first-seen order."""
    seen: dict[str, None] = {}
    for g in groups:
        for b in g:
            seen.setdefault(b, None)
    return list(seen)


@dataclass
class _WindowWork:
    """The numpy work of one window, running in the pool, and the stack bands as they will be written."""

    stack_data: dict[str, np.ndarray]
    hists: dict[str, Future[np.ndarray]]
    indices: list[tuple[ProductPlan, Future[tuple[np.ndarray, np.ndarray]]]]
    stats: Future[WindowCounts]

    def futures(self) -> list[Future[Any]]:
        """Every future of the window (to wait for before closing the datasets they read)."""
        return [*self.hists.values(), *(f for _, f in self.indices), self.stats]


class Pass1:
    """The single read pass of a scene, fed window by window by `_read_windows`.

    `submit` starts a window's numpy work in the pool: the quality mask, the DN histograms of the visual
    products' bands, the index values and the statistics. `add` then writes the window into the temps and
    accumulates its results, in window order. After the last window `hists`, `index_hists` and `stats` hold
    the whole-scene figures, and `stack_path` / `index_paths` the pixels pass 2 turns into products.
    """

    def __init__(
        self,
        files: SceneFiles,
        plans: list[ProductPlan],
        grid: scene_io.Grid,
        tmp: Path,
        stack: ExitStack,
        *,
        mask: Sequence[str] = (),
        outside: list[dict[str, Any]] | None = None,
    ) -> None:
        self.files = files
        self.grid = grid
        self.mask = tuple(mask)
        self.outside = outside
        self.stack_bands = ordered_union([p.bands for p in plans if p.kind != "index"])
        self.index_plans = [p for p in plans if p.kind == "index"]
        self.quality_band = files.quality.band if files.quality else None
        self.qa = sensor_of(files).qa
        self.stats_bands = stats_bands_of(files)
        area = None if grid.crs.is_geographic else abs(grid.transform.a * grid.transform.e)
        self.stats = SceneStats(area, self.quality_band, reflectance=self.stats_bands is not None)
        self.hists = {b: np.zeros(raster_ops.N_DN, dtype=np.int64) for b in self.stack_bands}
        self.index_hists = {p.name: np.zeros(raster_ops.INDEX_BINS, dtype=np.int64) for p in self.index_plans}
        self.stack_path = tmp / "stack.tif"
        self.stack_ds = None
        if self.stack_bands:
            profile = scene_io.temp_profile(grid, len(self.stack_bands), "uint16", 0)
            self.stack_ds = stack.enter_context(rasterio.open(self.stack_path, "w", **profile))
        self.index_paths: dict[str, Path] = {}
        self.index_ds: dict[str, Any] = {}
        for p in self.index_plans:
            path = tmp / f"{p.name}.tif"
            profile = scene_io.temp_profile(grid, 1, "float32", float("nan"))
            ds = stack.enter_context(rasterio.open(path, "w", **profile))
            ds.set_band_description(1, f"{p.name} {PRODUCTS[p.name].formula_of(p.bands)}")
            ds.update_tags(**index_tags(p, files))
            self.index_paths[p.name] = path
            self.index_ds[p.name] = ds

    # --- per window, in the pool (pure numpy) -----------------------------------------------------

    def index_values(self, p: ProductPlan, data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """One window of an index product (its registry formula on reflectance) and its value histogram."""
        inputs = [
            raster_ops.reflectance(data[n], self.files.bands[n].scale, self.files.bands[n].offset)
            for n in p.bands
        ]
        values = raster_ops.index_of(PRODUCTS[p.name].formula, inputs)  # type: ignore[arg-type]
        return values, raster_ops.index_histogram(values)

    def window_stats(
        self, data: dict[str, np.ndarray], quality: masks.Quality | None, outside: np.ndarray | None
    ) -> WindowCounts:
        """Statistics of one window, from the unmasked bands (the statistics always apply the QA mask)."""
        dn = None
        rescaling: dict[str, tuple[float, float]] = {}
        if self.stats_bands is not None:
            dn = {role: data[band] for role, band in self.stats_bands.items()}
            rescaling = {
                role: (self.files.bands[band].scale, self.files.bands[band].offset)
                for role, band in self.stats_bands.items()
            }
        shape = next(iter(data.values())).shape
        return window_counts(dn, rescaling, shape, quality, outside)

    # --- per window, in the reading thread ------------------------------------------------------------

    def submit(self, window: Window, data: dict[str, np.ndarray], pool: ThreadPoolExecutor) -> _WindowWork:
        """Start a window's numpy work; masked pixels (scene list `mask`, outside the AOI) become DN 0."""
        quality = (
            masks.quality_of(self.qa, data[self.quality_band]) if self.quality_band and self.qa else None
        )
        drop = masks.masked(quality, self.mask) if quality is not None else None
        outside = None
        if self.outside is not None:
            outside = outside_mask(self.outside, window, self.grid)
            drop = outside if drop is None else drop | outside
        product_data = data
        if drop is not None:
            used = {*self.stack_bands, *(b for p in self.index_plans for b in p.bands)}
            product_data = {**data, **{b: np.where(drop, 0, data[b]).astype(np.uint16) for b in used}}
        return _WindowWork(
            stack_data={b: product_data[b] for b in self.stack_bands},
            hists={b: pool.submit(raster_ops.dn_histogram, product_data[b]) for b in self.stack_bands},
            indices=[(p, pool.submit(self.index_values, p, product_data)) for p in self.index_plans],
            stats=pool.submit(self.window_stats, data, quality, outside),
        )

    def add(self, window: Window, work: _WindowWork) -> None:
        """Write one window into the temps and accumulate its histograms, index values and statistics."""
        for i, b in enumerate(self.stack_bands, start=1):
            self.stack_ds.write(work.stack_data[b], i, window=window)  # type: ignore[union-attr]
        for b, hist in work.hists.items():
            self.hists[b] += hist.result()
        for p, future in work.indices:
            values, index_hist = future.result()
            self.index_hists[p.name] += index_hist
            self.index_ds[p.name].write(values, 1, window=window)
        self.stats.add(work.stats.result())


def stats_bands_of(files: SceneFiles) -> dict[str, str] | None:
    """Band per statistics role (green, red, nir, swir1) of this scene, or None when one is missing."""
    sensor = sensor_of(files)
    available = tuple(files.bands)
    roles = {role: sensor.band_for(role, available) for role in STATS_ROLES}
    if not all(b in files.bands for b in roles.values()):
        return None
    return {role: b for role, b in roles.items() if b is not None}


def index_tags(p: ProductPlan, files: SceneFiles) -> dict[str, str]:
    """GeoTIFF tags of an index product: its name, formula (in band names) and its bands' radiometry."""
    return {
        "SCORESBY_PRODUCT": p.name,
        "SCORESBY_FORMULA": f"{PRODUCTS[p.name].formula_of(p.bands)} of reflectance",
        "SCORESBY_REFLECTANCE": json.dumps(
            {b: {"scale": files.bands[b].scale, "offset": files.bands[b].offset} for b in p.bands}
        ),
    }


def read_windows(
    grid: scene_io.Grid, readers: Mapping[str, Any], pass1: Pass1, pool: ThreadPoolExecutor
) -> None:
    """Read window i+1 in the pool while window i is worked on and written: decoding overlaps the numpy work.

    `readers` maps band names (and the quality band's name) to objects with `read(window)`.
    """
    windows = list(grid.windows())

    def submit_reads(window: Window) -> dict[str, Future[np.ndarray]]:
        return {name: pool.submit(reader.read, window) for name, reader in readers.items()}

    reads = submit_reads(windows[0])
    work: _WindowWork | None = None
    try:
        for i, window in enumerate(windows):
            data = {name: future.result() for name, future in reads.items()}
            work = pass1.submit(window, data, pool)  # queued before the next reads, so it starts first
            if i + 1 < len(windows):
                reads = submit_reads(windows[i + 1])
            pass1.add(window, work)
    except BaseException:
        # One read failed (e.g. a truncated band): the other threads may still be reading from datasets
        # that the caller's ExitStack is about to close. Closing under them crashes GDAL, so wait first.
        futures_wait([*reads.values(), *(work.futures() if work else [])])
        raise
