"""The AWS place stage's tile and assemble jobs: one product's tiles, then its Item from them.

A tile job runs the local build's computation on a tile's sub-grid and saves it (tiles.py); tiles already
saved for the product's fingerprint are not made again. The assemble job merges every tile into whole-AOI
temps and runs the local build's finish (COGs, quicklooks, Item), then publishes the Item's folder. A tile
missing fails the item: its outcome says why, its claim is released, the published Item stays as it was.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from scoresby.core.errors import InvalidInput
from scoresby.core.place_options import percentile_of
from scoresby.core.place_stage import PlaceLedger
from scoresby.core.scene_list import parse_scene
from scoresby.places import outputs
from scoresby.places.build import reading_env
from scoresby.places.compose import ComposeSettings, compose, layer_specs
from scoresby.places.derived import change_temps, trend_temps
from scoresby.places.inventory import Inventory, parse_time
from scoresby.places.makers import Target, finish_change, finish_composite, finish_trend
from scoresby.places.observations import SceneDate, group
from scoresby.places.planning import Product
from scoresby.places.reader import SceneReader
from scoresby.places.sensor_view import ProductRoles, product_roles
from scoresby.places.stage_plan import OUTCOMES_DIR, load_plan, product_of, work_uri
from scoresby.places.tiles import (
    composite_figures,
    is_done,
    load_figures,
    merge_tiles,
    merged_composite,
    offset_of,
    save_tile,
    scratch,
    sub_grid,
    tile_windows,
)
from scoresby.raster.bands import Grid
from scoresby.stores import work_files

log = logging.getLogger(__name__)


class _Context:
    """A round's plan as the jobs use it: grid, product roles, the place's folder."""

    def __init__(self, round_uri: str, item_id: str) -> None:
        from scoresby.raster.quality import aoi_grid, outside_geometry

        self.round_uri = round_uri
        self.plan = load_plan(round_uri)
        self.product = product_of(self.plan, item_id)
        self.grid: Grid = aoi_grid(self.plan["aoi"])
        self.outside = outside_geometry(self.plan["aoi"], self.grid)
        self.roles: list[ProductRoles] = [r for r in map(product_roles, self.plan["names"]) if r is not None]
        self.indices = [r for r in self.roles if r.kind == "index"]
        self.folder: str = self.plan["folder"]
        self.work = work_uri(self.folder, item_id, self.product.fingerprint)
        self.tile_px = int(self.plan["tile_px"])
        self.windows = tile_windows(self.grid, self.tile_px)

    def cog(self, item_id: str, key: str) -> str:
        """GDAL path of a published composite's COG."""
        return work_files.gdal_path(work_files.join(self.folder, item_id, f"{item_id}_{key}.tif"))

    def outcome(self, item_id: str) -> dict[str, Any] | None:
        """The assemble outcome of an item made this round, if it was assembled."""
        import json

        text = work_files.read_text(work_files.join(self.round_uri, OUTCOMES_DIR, f"{item_id}.json"))
        return None if text is None else dict(json.loads(text))

    def failed_input(self) -> str | None:
        """The first input composite planned this round that was not made (then a derived item fails)."""
        planned = {d["item_id"] for d in self.plan["products"]}
        for iid in self.product.inputs:
            got = self.outcome(iid) if iid in planned else {"made": True}
            if not (got or {}).get("made"):
                return iid
        return None


def _gdal_env(folder: str) -> dict[str, str]:
    """GDAL's options for reading the place folder: the scenes' S3 options, the folder never cached.

    Later rounds rewrite the place's COGs at the same keys: GDAL's in-process cache of remote files must
    not serve a process the bytes of an earlier version.
    """
    from scoresby.discovery.sources import gdal_env_options

    options = gdal_env_options()
    if folder.startswith("s3://"):
        options["CPL_VSIL_CURL_NON_CACHED"] = work_files.gdal_path(folder)
    return options


def tiles_job(round_uri: str, item_id: str, numbers: list[int]) -> list[int]:
    """Make and save the tiles `numbers` of a product not saved yet; the numbers made now."""
    ctx = _Context(round_uri, item_id)
    bad = [n for n in numbers if not 0 <= n < len(ctx.windows)]
    if bad:
        raise InvalidInput(f"--tiles: {bad[0]} is not a tile of {item_id} (0-{len(ctx.windows) - 1})")
    todo = [n for n in numbers if not is_done(ctx.work, n)]
    if not todo:
        return []
    p = ctx.product
    if p.kind != "composite" and (missing := ctx.failed_input()):
        log.warning("%s: its input %s was not made this round; no tiles", item_id, missing)
        return []
    make = _composite_tile(ctx) if p.kind == "composite" else _derived_tile(ctx)
    for n in todo:
        window = ctx.windows[n]
        with scratch() as tmp:
            temps, figures = make(sub_grid(ctx.grid, window), offset_of(window), Path(tmp))
            save_tile(ctx.work, n, temps, figures)
        log.info("place tile %s/%d saved", item_id, n)
    return todo


def _composite_tile(ctx: _Context) -> Any:
    """The composite tile maker: compose on the tile's sub-grid."""
    plan, p = ctx.plan, ctx.product
    inv = Inventory()
    for sid in p.scenes:
        entry = plan["scenes"][sid]
        inv.scenes[sid] = parse_scene(entry["scene"])
        acquired = parse_time(entry["datetime"])
        if acquired is None:  # the plan job plans only scenes with a time: a plan edited by hand
            raise InvalidInput(f"plan.json: scene {sid}: no acquisition time")
        inv.dates[sid] = SceneDate(sid, str(entry["sensor"]), acquired)
    lon = (plan["aoi"]["bbox"][0] + plan["aoi"]["bbox"][2]) / 2
    obs = group([inv.dates[s] for s in p.scenes], lon)
    sensors = {s: inv.dates[s].sensor for s in p.scenes}
    method = plan["options"]["method"]
    settings = ComposeSettings(
        method, percentile_of(method), plan["options"]["harmonize"], ctx.roles, ctx.outside
    )
    files = {s: inv.files_of(s) for s in p.scenes}
    reading_env(settings, files.values())

    def make(grid: Grid, offset: tuple[int, int], tmp: Path) -> tuple[dict[str, Path], dict[str, Any]]:
        def opener(sid: str) -> SceneReader:
            return SceneReader(files[sid], grid)

        temps = compose(obs, opener, sensors, grid, settings, tmp, label=_tile_label(p.item_id, offset))
        return temps.paths, composite_figures(temps)

    return make


def _derived_tile(ctx: _Context) -> Any:
    """The change or trend tile maker: the periods' published COGs read in the tile's window."""
    p, env = ctx.product, _gdal_env(ctx.folder)

    def make(grid: Grid, offset: tuple[int, int], tmp: Path) -> tuple[dict[str, Path], dict[str, Any]]:
        label = _tile_label(p.item_id, offset)
        if p.kind == "change":
            keys = ("classes", *(r.name for r in ctx.indices))
            sources = {
                (w, k): ctx.cog(iid, k) for w, iid in zip(("from", "to"), p.inputs, strict=True) for k in keys
            }
            temps, counts = change_temps(grid, offset, sources, ctx.indices, tmp, env, label)
            return temps, {"counts": [int(c) for c in counts]}
        paths = {r.name: [ctx.cog(iid, r.name) for iid in p.inputs] for r in ctx.indices}
        return trend_temps(grid, offset, paths, p.times, tmp, env, label=label), {}

    return make


def _tile_label(item_id: str, offset: tuple[int, int]) -> str:
    """A tile's name in its progress lines: the product and the tile's corner (column, row)."""
    return f"{item_id} tile at column {offset[0]}, row {offset[1]}"


def assemble_job(round_uri: str, item_id: str, ledger: PlaceLedger) -> dict[str, Any]:
    """Merge a product's tiles, finish and publish its Item; the outcome (also written to the round)."""
    ctx = _Context(round_uri, item_id)
    p, place = ctx.product, ctx.plan["place"]
    missing = [n for n in range(len(ctx.windows)) if not is_done(ctx.work, n)]
    reason = None
    if p.kind != "composite" and (failed := ctx.failed_input()):
        reason = f"its composite {failed} was not made this round"
    elif missing:
        reason = f"tiles {', '.join(map(str, missing))} of {len(ctx.windows)} missing (their jobs failed)"
    if reason is not None:
        ledger.release(place, item_id, ctx.plan["round"])
        return _outcome(ctx, item_id, False, reason)
    with scratch() as scratch_dir:
        tmp = Path(scratch_dir)
        doc, files = _finish(ctx, p, tmp)
        outputs.publish_item(doc, work_files.join(ctx.folder, item_id), files, tmp)
    ledger.made(place, item_id, p.fingerprint, ctx.plan["round"])
    log.info("place product %s made", item_id)
    return _outcome(ctx, item_id, True, "")


def _finish(ctx: _Context, p: Product, tmp: Path) -> tuple[dict[str, Any], list[Path]]:
    """The local build's finish of the product, on its merged temps."""
    env = _gdal_env(ctx.folder)
    target = Target(p.item_id, ctx.plan["place"], Path(tmp), ctx.grid, ctx.plan["aoi"], p.span)
    stretch = ctx.plan["stretch"]
    if p.kind == "composite":
        specs = layer_specs(ctx.indices)
        temps = merged_composite(ctx.grid, ctx.tile_px, ctx.work, specs, ctx.indices, tmp, env)
        return finish_composite(target, temps, ctx.roles, stretch, p.props, tmp)
    if p.kind == "change":
        specs = {f"{r.name}_difference": (1, "float32", float("nan")) for r in ctx.indices}
        specs["transitions"] = (1, "uint8", 0)
        counts = [0] * 34
        for n in range(len(ctx.windows)):
            counts = [a + b for a, b in zip(counts, load_figures(ctx.work, n)["counts"], strict=True)]
        paths = merge_tiles(ctx.grid, ctx.tile_px, ctx.work, specs, tmp, env)
        import numpy as np

        return finish_change(target, paths, np.array(counts, dtype=np.int64), p.props, tmp)
    specs = {f"{r.name}_{s}": (1, "float32", float("nan")) for r in ctx.indices for s in ("slope", "p_value")}
    return finish_trend(target, merge_tiles(ctx.grid, ctx.tile_px, ctx.work, specs, tmp, env), p.props, tmp)


def _outcome(ctx: _Context, item_id: str, made: bool, reason: str) -> dict[str, Any]:
    out = {"item": item_id, "made": made, "reason": reason}
    work_files.write_json(work_files.join(ctx.round_uri, OUTCOMES_DIR, f"{item_id}.json"), out)
    if not made:
        log.warning("%s not made: %s", item_id, reason)
    return out
