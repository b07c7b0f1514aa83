"""A place product's temps made into COGs, quicklooks and its STAC Item, then published as one folder."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.warp import transform_bounds

from scoresby.core.products import LANDSAT_C2_L2_OFFSET, LANDSAT_C2_L2_SCALE
from scoresby.core.stretch import StretchSpec
from scoresby.places.compose import Temps
from scoresby.places.sensor_view import ROLES, ProductRoles, index_formula
from scoresby.pricing.cost import WORKER_THREADS
from scoresby.raster import cog, ops, plots
from scoresby.raster.bands import Grid, gdal_options, temp_profile
from scoresby.report.places import transition_rgb
from scoresby.stores import work_files
from scoresby.stores.publish import publish

COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
STAC_VERSION = "1.0.0"
PROJ_SCHEMA = "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
PNG_LEVEL = 1
"""zlib level of the change and trend quicklooks: at PIL's default (6) a PNG took 0.2 s, and PNG encoding
was 2 of the 6 s of adding one scene to a 12-summer place; level 1 is faster for slightly larger files."""


def visual_temp(
    p: ProductRoles, temps: Temps, grid: Grid, spec: StretchSpec | None, tmp: Path
) -> tuple[Path, dict]:
    """A visual (8-bit stretch) or merge (uint16 DN) product of the composite's C2-scaled DN."""
    idx = [ROLES.index(r) + 1 for r in p.roles]
    path = tmp / f"{p.name}.tif"
    meta: dict[str, Any] = {"roles": list(p.roles)}
    luts = None
    if p.kind == "visual":
        rescaling = [(LANDSAT_C2_L2_SCALE, LANDSAT_C2_L2_OFFSET)] * 3
        stretch = ops.resolve_stretch(spec, [temps.hists[r] for r in p.roles], rescaling)
        luts, meta["stretch"] = stretch.luts, stretch.record
    dtype = "uint8" if luts is not None else "uint16"
    with (
        rasterio.open(temps.paths["dn"]) as src,
        rasterio.open(path, "w", **temp_profile(grid, 3, dtype, 0)) as dst,
    ):
        for window in grid.windows():
            channels = list(src.read(idx, window=window))
            data = ops.apply_luts(channels, luts) if luts is not None else ops.mask_any_nodata(channels)
            dst.write(data, window=window)
    return path, meta


@dataclass(frozen=True)
class CogJob:
    """A temp GTiff to turn into the COG `dest`, and its quicklook: None, "transitions", "slope", or a
    product kind ("visual", "index") with the product's name (its colour map)."""

    temp: Path
    dest: Path
    quicklook: str | None = None
    product: str = ""


UNPREDICTED = ("_p_value", "_slope", "_frequency")
"""Float layers written without the floating-point predictor. Measured on the issue's 12-summer place: a
p-value COG is 7.9 MB without it and 17.4 MB with it (its noise defeats the predictor), a frequency (a few
distinct fractions) 0.1 against 0.2 MB, a slope the same size; without it each is written 5-30 % and read
25-50 % faster. Indices and differences keep it: 5-10 % smaller with it."""


def finish_all(jobs: Sequence[CogJob]) -> None:
    """COGs of several temps, each followed by its quicklook, in WORKER_THREADS threads (GDAL compresses and
    PIL encodes the PNG without the GIL; the colour maps are matplotlib's, each call its own copy)."""

    def one(job: CogJob) -> None:
        with rasterio.Env(**gdal_options({})):
            cog.write_cog(job.temp, job.dest, predictor=not job.dest.stem.endswith(UNPREDICTED))
        job.temp.unlink()
        png = job.dest.with_suffix(".png")
        if job.quicklook == "transitions":
            transitions_png(job.dest, png)
        elif job.quicklook == "slope":
            slope_png(job.dest, png)
        elif job.quicklook is not None:
            plots.write_quicklook(job.dest, png, job.product, job.quicklook)

    with ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="scoresby-cog") as pool:
        list(pool.map(one, jobs))


def _decimated(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        rows, cols = plots.decimated_shape(ds.width, ds.height)
        return ds.read(1, out_shape=(rows, cols), resampling=Resampling.nearest)


def transitions_png(cog_path: Path, png: Path) -> None:
    """Transition codes as colours: unchanged classes pale, changes in the to-class colour, unknown clear.

    A palette PNG whose pixel values are the codes themselves (an unknown class on either date: transparent).
    """
    palette = np.zeros((100, 4), dtype=np.uint8)
    for a in (1, 2, 3):
        for b in (1, 2, 3):
            palette[10 * a + b] = (*transition_rgb(10 * a + b), 255)
    codes = _decimated(cog_path)
    plots.write_palette_png(png, np.where(codes < len(palette), codes, 0), palette, PNG_LEVEL)


SLOPE_LEVELS = 255
"""Colours of the slope scale; palette index SLOPE_LEVELS is the transparent one (no trend)."""


def slope_png(cog_path: Path, png: Path) -> None:
    """Slopes on a diverging scale symmetric about 0 (the 98th percentile of |slope| at full colour)."""
    import matplotlib

    values = _decimated(cog_path)
    finite = np.isfinite(values)
    span = float(np.percentile(np.abs(values[finite]), 98)) if finite.any() else 1.0
    with np.errstate(invalid="ignore"):
        scaled = np.clip(values / (2 * (span or 1.0)) + 0.5, 0, 1) * (SLOPE_LEVELS - 1) + 0.5
    codes = np.where(finite, scaled, SLOPE_LEVELS).astype(np.uint8)
    palette = np.zeros((SLOPE_LEVELS + 1, 4), dtype=np.uint8)
    palette[:SLOPE_LEVELS] = matplotlib.colormaps["RdBu"](np.linspace(0, 1, SLOPE_LEVELS), bytes=True)
    plots.write_palette_png(png, codes, palette, PNG_LEVEL)


def item(
    item_id: str,
    kind: str,
    place: str,
    grid: Grid,
    aoi: Mapping[str, Any],
    span: tuple[str, str],
    assets: Sequence[Mapping[str, Any]],
    properties: Mapping[str, Any],
) -> dict[str, Any]:
    """The STAC Item of a place product (datetime null, start/end_datetime, relative asset hrefs)."""
    west, south, east, north = transform_bounds(grid.crs, "EPSG:4326", *grid.bounds, densify_pts=21)
    geometry = aoi.get("geometry") or {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }
    epsg = grid.crs.to_epsg(confidence_threshold=100)
    props: dict[str, Any] = {
        "datetime": None,
        "start_datetime": span[0],
        "end_datetime": span[1],
        "scoresby:kind": kind,
        "scoresby:place": place,
        "proj:code": f"EPSG:{epsg}" if epsg else None,
        "proj:shape": [grid.height, grid.width],
        "proj:transform": list(grid.transform)[:6],
        **properties,
    }
    if not epsg:
        props["proj:wkt2"] = grid.crs.to_wkt()
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": [PROJ_SCHEMA],
        "id": item_id,
        "geometry": geometry,
        "bbox": [west, south, east, north],
        "properties": props,
        "links": [],
        "assets": {
            a["key"]: {
                "href": f"./{a['file']}",
                "type": "image/png" if a["file"].endswith(".png") else COG_TYPE,
                "roles": a.get("roles", ["data"]),
                "title": a.get("title", a["key"]),
                **(a.get("extra") or {}),
            }
            for a in assets
        },
    }


def publish_item(doc: dict[str, Any], folder: Path | str, files: Sequence[Path], tmp: Path) -> None:
    """Publish a product's files with its Item (last) as one folder: all of it appears, or none.

    s3://: the files first, the Item last (stores/publish.py), then the old files the Item no longer names
    are deleted, so a reader never finds an Item whose assets are missing.
    """
    item_path = tmp / f"{doc['id']}.json"
    item_path.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    dest = str(folder)
    publish(doc["id"], [*files, item_path], dest)
    if dest.startswith("s3://"):
        keep = {p.name for p in files} | {item_path.name}
        for name in work_files.list_names(dest):
            if "/" not in name and name not in keep:
                work_files.remove(work_files.join(dest, name))


def index_meta(p: ProductRoles) -> dict[str, Any]:
    """Asset fields of an index: its formula in roles."""
    return {"scoresby:formula": index_formula(p)}
