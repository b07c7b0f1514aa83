"""Make every requested product of one scene into a local folder, reading each input band once.

Pass 1 (raster/read_pass.py) reads the needed bands window by window onto the target grid (the finest
band's, or the run's AOI), accumulates whole-scene DN histograms and the scene statistics, writes index
products to temp float32 GTiffs and the raw bands of the visual/merge products to one temp uint16 stack.
Pass 2 applies each visual product's stretch (a uint16 -> uint8 lookup table) to the
stack. Each temp is then turned into a COG by GDAL's COG driver, and quicklook/histogram PNGs and the
STAC Item are written next to it. Memory stays bounded by the window size, not the scene size.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pystac
import rasterio
from rasterio.errors import RasterioError

from scoresby.core.errors import GridMismatch, MissingBands, MissingRole
from scoresby.core.layout import cog_name, histogram_of, quicklook_of, stac_item_name
from scoresby.core.places import place_of
from scoresby.core.products import PRODUCTS
from scoresby.core.stretch import StretchSpec
from scoresby.core.warnings import NoQualityBandWarning, OutsideAOIWarning, SubstitutedBandWarning, note
from scoresby.pricing.cost import WORKER_THREADS
from scoresby.raster import bands as scene_io
from scoresby.raster import cog, plots
from scoresby.raster import ops as raster_ops
from scoresby.raster.quality import QualityReader, aoi_grid, outside_geometry
from scoresby.raster.read_pass import (
    Pass1,
    ProductPlan,
    index_tags,
    ordered_union,
    read_windows,
    stats_bands_of,
)
from scoresby.raster.space import check_space, temp_bytes
from scoresby.raster.stac import build_item, cog_band_fields
from scoresby.sensors import sensor_named, sensor_of

if TYPE_CHECKING:
    from scoresby.core.scene_files import SceneFiles

logger = logging.getLogger(__name__)

THREADS = WORKER_THREADS
"""Worker threads: band reads, histograms, index maths, then products (rasterio and numpy release the GIL)."""

# The same pool then finishes two products at a time (stretch, overviews, COG, PNGs), each COG with two
# GDAL compression threads. Three at a time filled the CPU gaps a little better but cost ~170 MB of RSS.


@dataclass
class BuiltProduct:
    """Local files of one finished product and what was applied to make it."""

    plan: ProductPlan
    cog: Path
    quicklook: Path
    histogram: Path
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class BuiltScene:
    """Every local file of a scene, in publishing order (the STAC Item last)."""

    products: list[BuiltProduct]
    stac_item: Path
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def files(self) -> list[Path]:
        """All files, COG first per product, the STAC Item last."""
        out: list[Path] = []
        for p in self.products:
            out += [p.cog, p.quicklook, p.histogram]
        return [*out, self.stac_item]


def plan_products(
    scene_id: str, sensor: str, products: Sequence[str], available: Sequence[str]
) -> list[ProductPlan]:
    """Bands per product for this sensor's roles; MissingBands names each missing role or band file."""
    spec = sensor_named(sensor)
    plans: list[ProductPlan] = []
    missing_msgs: list[str] = []
    error = MissingBands
    for name in products:
        product = PRODUCTS[name]
        bands, no_role = spec.bands_for(product.roles, tuple(available))
        if no_role:
            listed = ", ".join(repr(r) for r in no_role)
            missing_msgs.append(
                f"product {name!r} needs role{'s' if len(no_role) > 1 else ''} {listed}, "
                f"which {spec.title} ({sensor}) does not have"
            )
            error = MissingRole
            continue
        missing = [b for b in bands if b not in available]
        if missing:
            listed = ", ".join(repr(b) for b in missing)
            missing_msgs.append(
                f"product {name!r} needs band{'s' if len(missing) > 1 else ''} {listed} not in scene"
            )
        plans.append(ProductPlan(name, product.kind, bands))
    if missing_msgs:
        raise error(scene_id, "; ".join(missing_msgs) + f"; available: {', '.join(_band_order(available))}")
    return plans


def _band_order(bands: Sequence[str]) -> list[str]:
    def key(b: str) -> tuple[int, str]:
        digits = "".join(c for c in b if c.isdigit())
        return (int(digits) if digits else 99, b)

    return sorted(bands, key=key)


def _write_visual(
    p: ProductPlan, pass1: Pass1, grid: scene_io.Grid, tmp: Path, spec: StretchSpec | None
) -> tuple[Path, dict[str, Any]]:
    """Pass 2 for one visual product: stretch the stack's channels into a temp uint8 GTiff."""
    rescaling = [(pass1.files.bands[b].scale, pass1.files.bands[b].offset) for b in p.bands]
    stretch = raster_ops.resolve_stretch(spec, [pass1.hists[b] for b in p.bands], rescaling)
    idx = [pass1.stack_bands.index(b) + 1 for b in p.bands]
    path = tmp / f"{p.name}.tif"
    with (
        rasterio.open(pass1.stack_path) as src,
        rasterio.open(path, "w", **scene_io.temp_profile(grid, 3, "uint8", 0)) as dst,
    ):
        for i, b in enumerate(p.bands, start=1):
            dst.set_band_description(i, b)
        dst.update_tags(
            SCORESBY_PRODUCT=p.name,
            SCORESBY_BANDS=",".join(p.bands),
            SCORESBY_STRETCH=json.dumps(stretch.record),
            SCORESBY_NODATA="0 (valid pixels are 1-255)",
        )
        for window in grid.windows():
            channels = src.read(idx, window=window)
            dst.write(raster_ops.apply_luts(list(channels), stretch.luts), window=window)
    return path, {"stretch": stretch.record}


def _write_merge(p: ProductPlan, pass1: Pass1, grid: scene_io.Grid, tmp: Path) -> Path:
    """Pass 2 for band_merge: the raw channels, nodata (0) where any channel is nodata."""
    idx = [pass1.stack_bands.index(b) + 1 for b in p.bands]
    path = tmp / f"{p.name}.tif"
    with (
        rasterio.open(pass1.stack_path) as src,
        rasterio.open(path, "w", **scene_io.temp_profile(grid, 3, "uint16", 0)) as dst,
    ):
        for i, b in enumerate(p.bands, start=1):
            dst.set_band_description(i, b)
        dst.update_tags(
            SCORESBY_PRODUCT=p.name, SCORESBY_BANDS=",".join(p.bands), SCORESBY_SCALING="none (raw DN)"
        )
        for window in grid.windows():
            dst.write(raster_ops.mask_any_nodata(list(src.read(idx, window=window))), window=window)
    return path


def _finish_product(
    p: ProductPlan,
    pass1: Pass1,
    grid: scene_io.Grid,
    files: SceneFiles,
    stretch: Mapping[str, StretchSpec],
    tmp: Path,
    out: Path,
) -> BuiltProduct:
    """Pass 2 of one product, then its COG, quicklook and histogram; logs the time of each step."""
    scene_id = files.scene_id
    steps: list[str] = []
    t0 = t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        steps.append(f"{name} {now - t:.2f}")
        t = now

    meta: dict[str, Any] = {"bands": list(p.bands)}
    if p.kind == "visual":
        temp, extra = _write_visual(p, pass1, grid, tmp, stretch.get(p.name))
        meta.update(extra)
    elif p.kind == "merge":
        temp = _write_merge(p, pass1, grid, tmp)
    else:
        temp = pass1.index_paths[p.name]
        meta["formula"] = index_tags(p, files)["SCORESBY_FORMULA"]
    lap("pass2")
    cog_path = out / cog_name(scene_id, p.name)
    bp = BuiltProduct(
        p,
        cog_path,
        Path(quicklook_of(str(cog_path))),
        Path(histogram_of(str(cog_path))),
        meta,
    )
    cog.write_cog(temp, bp.cog)
    temp.unlink()
    lap("cog")
    plots.write_quicklook(bp.cog, bp.quicklook, p.name, p.kind)
    lap("quicklook")
    title = f"{p.name} ({', '.join(p.bands)})\n{scene_id}"
    if p.kind == "index":
        plots.write_histogram(bp.histogram, title, bands=p.bands, index_hist=pass1.index_hists[p.name])
    else:
        plots.write_histogram(
            bp.histogram,
            title,
            bands=p.bands,
            dn_hists=[pass1.hists[b] for b in p.bands],
            cutoffs=meta["stretch"]["cutoffs"] if p.kind == "visual" else None,
        )
    lap("histogram")
    logger.info(
        "scene %s: %s done in %.1f s (%s)", scene_id, p.name, time.perf_counter() - t0, ", ".join(steps)
    )
    return bp


def build_products(
    files: SceneFiles,
    products: Sequence[str],
    stretch: Mapping[str, StretchSpec],
    workdir: Path,
    *,
    mask: Sequence[str] = (),
    aoi: dict[str, Any] | None = None,
) -> BuiltScene:
    """Make the products of one discovered scene as files under `workdir`; raises SceneError subclasses.

    `mask` (scene list classes) makes those pixels nodata in the products; `aoi` puts them on its grid.
    """
    scene_id = files.scene_id
    plans = plan_products(scene_id, files.sensor, products, list(files.bands))
    stats_bands = stats_bands_of(files)
    # The statistics' bands join the one read pass: no band is read twice.
    needed = ordered_union([p.bands for p in plans] + [list((stats_bands or {}).values())])
    notes = list(files.notes)
    if mask and files.quality is None:
        note(
            notes,
            f"mask {', '.join(mask)}: the scene has no QA_PIXEL/SCL band, so nothing was masked",
            NoQualityBandWarning,
        )
    for p in plans:
        for role, band in zip(PRODUCTS[p.name].roles, p.bands, strict=True):
            usual = sensor_of(files).band_for(role)
            if usual is not None and band != usual:
                note(
                    notes,
                    f"{p.name}: band {band} stands in for {usual} ({role}), absent",
                    SubstitutedBandWarning,
                )
    tmp = workdir / "tmp"
    out = workdir / "out"
    tmp.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    built: list[BuiltProduct] = []
    with rasterio.Env(**scene_io.gdal_options(files.gdal_env)), ThreadPoolExecutor(THREADS) as pool:
        with ExitStack() as stack:
            try:
                sensor = sensor_of(files)
                readers = scene_io.open_bands(scene_id, {b: files.bands[b] for b in needed}, stack, sensor)
                grid = scene_io.target_grid(scene_id, readers)
                outside_aoi = None
                if aoi:
                    scene_grid, grid = grid, aoi_grid(aoi)
                    outside_aoi = scene_io.missed_aoi(scene_grid, grid)
                    if outside_aoi:
                        logger.warning("scene %s: %s", scene_id, outside_aoi)
                        note(notes, outside_aoi, OutsideAOIWarning)
                check_space(scene_id, workdir, temp_bytes(grid, plans))
                for r in readers.values():
                    try:
                        r.align(grid, stack)
                    except RasterioError as exc:
                        raise GridMismatch(
                            scene_id,
                            f"band {r.band} file {r.path} cannot be resampled onto the "
                            f"grid of the finest band: {exc}",
                        ) from exc
                sources: dict[str, Any] = dict(readers)
                if files.quality is not None:
                    sources[files.quality.band] = QualityReader(scene_id, files.quality, grid, stack, sensor)
                outside = outside_geometry(aoi, grid)
                pass1 = Pass1(files, plans, grid, tmp, stack, mask=mask, outside=outside)
                read_windows(grid, sources, pass1, pool)
            except BaseException:
                # SIGTERM or an error: every thread must be done with the datasets before the stack closes
                # them (closing a dataset under a running GDAL read crashes the process).
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        logger.info(
            "scene %s: read %d bands (%s) onto %dx%d in %.1f s",
            scene_id,
            len(needed),
            ", ".join(needed),
            grid.width,
            grid.height,
            time.perf_counter() - t0,
        )
        empty = [b for b, h in pass1.hists.items() if not h.any()]
        if empty and not outside_aoi:
            logger.warning(
                "scene %s: band(s) %s hold no valid pixel (all 0 or nodata)", scene_id, ", ".join(empty)
            )

        # The pass-1 pool finishes the products too: fresh threads would get fresh malloc arenas (more RSS).
        futures = [pool.submit(_finish_product, p, pass1, grid, files, stretch, tmp, out) for p in plans]
        try:
            built = [f.result() for f in futures]
        except BaseException:
            # SIGTERM or a failed product: start no further product, let the running ones end first.
            pool.shutdown(cancel_futures=True)
            raise
    pass1.stack_path.unlink(missing_ok=True)
    stats = pass1.stats.result()
    item = build_item(
        scene_id=scene_id,
        sensor=files.sensor,
        level=files.level,
        acquired=files.datetime,
        grid=grid,
        notes=tuple(notes),
        assets=_assets(built),
        valid_points=cog.valid_outline_points(built[0].cog) if built else None,
        properties=_science_properties(scene_id, stats, mask, aoi),
    )
    if files.source_item:
        item.add_link(pystac.Link("derived_from", files.source_item, media_type="application/geo+json"))
    stac_path = out / stac_item_name(scene_id)
    stac_path.write_text(json.dumps(item.to_dict(include_self_link=False), indent=2))
    logger.info("scene %s: %d products in %.1f s", scene_id, len(built), time.perf_counter() - t0)
    return BuiltScene(built, stac_path, stats)


def _science_properties(
    scene_id: str, stats: dict[str, Any], mask: Sequence[str], aoi: dict[str, Any] | None
) -> dict[str, Any]:
    """STAC Item properties of the statistics (docs/STAC.md): eo:cloud_cover only where it is known."""
    props: dict[str, Any] = {"scoresby:stats": stats, "scoresby:place": place_of(scene_id, aoi)}
    if stats.get("cloud_percent") is not None:
        props["eo:cloud_cover"] = stats["cloud_percent"]
    if mask:
        props["scoresby:mask"] = list(mask)
    if aoi:
        props["scoresby:aoi"] = aoi
    return props


def _assets(built: list[BuiltProduct]) -> list[dict[str, Any]]:
    assets: list[dict[str, Any]] = []
    for bp in built:
        p = bp.plan
        extra: dict[str, Any] = {"scoresby:bands": list(p.bands), **cog_band_fields(bp.cog, p.bands)}
        if "stretch" in bp.meta:
            extra["scoresby:stretch"] = bp.meta["stretch"]
        if "formula" in bp.meta:
            extra["scoresby:formula"] = bp.meta["formula"]
            extra["scoresby:formula_roles"] = PRODUCTS[p.name].formula_text
        roles = {"visual": ["data", "visual"], "index": ["data"], "merge": ["data"]}[p.kind]
        assets += [
            {
                "key": p.name,
                "file": bp.cog.name,
                "roles": roles,
                "title": PRODUCTS[p.name].description,
                "extra": extra,
            },
            {
                "key": f"{p.name}_quicklook",
                "file": bp.quicklook.name,
                "roles": ["overview"],
                "title": f"{p.name} quicklook",
            },
            {
                "key": f"{p.name}_histogram",
                "file": bp.histogram.name,
                "roles": ["metadata"],
                "title": f"{p.name} histogram" + (" with stretch cut-offs" if p.kind == "visual" else ""),
            },
        ]
    return assets
