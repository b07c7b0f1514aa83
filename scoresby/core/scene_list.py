"""Scene lists: validate, normalise and plan (pure Python, shared by the local runner and the init Lambda).

This module must not import rasterio, numpy, matplotlib or boto3: the init Lambda ships it without them.
docs/SCENE-LISTS.md is the reference of what it accepts; keep the two in step. The document shapes are
in core/list_shapes.py, sources and outputs in core/locations.py, scene ids in core/scene_ids.py.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from scoresby.core.checks import check_fields, show, type_name
from scoresby.core.errors import InvalidInput, one_line
from scoresby.core.json_input import load_json
from scoresby.core.layout import name_problem
from scoresby.core.list_shapes import (
    Shape,
    blog_output,
    check_blog_cell,
    check_override_products,
    check_products,
    check_run_name,
    parse_blog,
    parse_full,
)
from scoresby.core.locations import check_item, check_output, check_source, item_source
from scoresby.core.products import (
    DEFAULT_PRODUCTS,
)
from scoresby.core.scene_ids import label_scene_id, scene_id_of
from scoresby.core.science_options import check_aoi, check_mask
from scoresby.core.search import SearchSpec, check_search
from scoresby.core.stretch import StretchSpec, check_stretch_map
from scoresby.sensors import names_text, sensor_names

"""Fields of the full form's top-level object (`description` is free text for people, ignored)."""
SCENE_FIELDS = ("aoi", "item", "mask", "products", "scene_id", "sensor", "source", "stretch")
"""Fields of one scene object."""
"""Fields of the AWS blog shape's top-level object."""
"""Fields of the blog shape's `detail` object."""
BLOG_CELL_FIELDS = (
    "date",
    "files",
    "output_bucket",
    "products",
    "region_name",
    "scene_id",
    "sensor",
    "stretch",
)
"""Fields of one blog cell: the blog's four plus the optional scene fields."""


@dataclass(frozen=True)
class Scene:
    """One normalised scene: what the worker needs to make its products.

    `stretch` maps a visual product name to a normalised stretch spec, one of
    {"mode": "percentile", "percentiles": [lo, hi], "gamma": g},
    {"mode": "fixed", "ranges": [[lo, hi], [lo, hi], [lo, hi]], "gamma": g} (raw DN of the input bands),
    {"mode": "equalize", "gamma": g}, {"mode": "reflectance", "ranges": [...], "gamma": g}.
    Products without an entry use percentile 2-98, gamma 1. `mask` and `aoi`: core/science_options.py.
    """

    scene_id: str
    source: str
    products: tuple[str, ...]
    sensor: str | None = None
    stretch: dict[str, StretchSpec] = field(default_factory=dict)
    item: dict[str, Any] | None = None  # an inline STAC Item; `source` is then its self href or "item:<id>"
    # Science options (issue 12): classes masked out of the products, the run's AOI grid.
    mask: tuple[str, ...] = ()
    aoi: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, accepted back by `parse_scene`."""
        d = asdict(self)
        d["products"] = list(self.products)
        if d["item"] is None:
            del d["item"]
        else:
            del d["source"]
        d["mask"] = list(self.mask)
        for key in ("sensor", "stretch", "mask", "aoi"):
            if not d[key]:
                del d[key]
        return d


@dataclass(frozen=True)
class RunPlan:
    """A validated run: its name, destination and the deduplicated scenes in input order."""

    run_name: str
    output: str | None
    scenes: tuple[Scene, ...]
    duplicates: tuple[str, ...] = ()
    search: SearchSpec | None = None  # a `search` block: the scenes come from it when the run is planned
    defaults: dict[str, Any] = field(default_factory=dict)  # run-level fields for the searched scenes
    timelapse: dict[str, Any] | None = None  # the run's timelapse options (issue 12)
    composites: dict[str, Any] | None = None  # the run's place products (issue 21, core/place_options.py)
    skipped: tuple[str, ...] = ()  # one note per Item the search left out (not part of the list's JSON)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe full form, accepted back by `parse_scene_list` (`duplicates` is not part of it)."""
        d: dict[str, Any] = {"run_name": self.run_name, "output": self.output}
        if self.timelapse is not None:
            d["timelapse"] = self.timelapse
        if self.composites is not None:
            c = self.composites
            d["composites"] = {k: v for k, v in c.items() if v is not None} | {"change": c["change"] or False}
            aois = {json.dumps(s.aoi, sort_keys=True) for s in self.scenes}
            if len(aois) == 1 and self.scenes[0].aoi:
                d["aoi"] = self.scenes[0].aoi  # composites need the run's AOI, which each scene carries
        if self.search is not None and not self.scenes:
            return {**d, **self.defaults, "search": self.search.to_dict()}
        return {**d, "scenes": [s.to_dict() for s in self.scenes]}


# ---------------------------------------------------------------------------------------------------
# Public entry points


def load_scene_list(
    path: str,
    *,
    output: str | None = None,
    run_name: str | None = None,
    products: Sequence[str] | None = None,
) -> RunPlan:
    """Read and validate a scene list file; relative sources resolve against the file's folder."""
    try:
        with open(path, encoding="utf-8") as f:  # noqa: PTH123 - plain str paths throughout this module
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read the scene list: {one_line(exc)}") from exc
    doc = load_json(text, path)
    base_dir = os.path.dirname(os.path.abspath(path))  # noqa: PTH100, PTH120
    return parse_scene_list(doc, output=output, run_name=run_name, products=products, base_dir=base_dir)


def parse_scene_list(
    doc: Any,
    *,
    output: str | None = None,
    run_name: str | None = None,
    products: Sequence[str] | None = None,
    base_dir: str | None = None,
) -> RunPlan:
    """Validate a scene list (full form, bare list or AWS blog shape) into a RunPlan; keywords override it."""
    problems: list[str] = []
    override_products = check_override_products(products, problems)
    if isinstance(doc, list):
        shape = parse_full({"scenes": doc}, base_dir, problems)
    elif isinstance(doc, dict) and "scenes" not in doc and "detail" in doc:
        shape = parse_blog(doc, problems)
    elif isinstance(doc, dict):
        shape = parse_full(doc, base_dir, problems)
    else:
        problems.append(
            f"a scene list must be a JSON object or list; got {type_name(doc)} "
            '(allowed: the full form {"scenes": [...]}, a list of scenes, '
            'or the blog shape {"detail": {"cells": [...]}})'
        )
        raise InvalidInput(problems)

    search = None
    if isinstance(doc, dict) and "search" in doc:
        if "scenes" in doc:
            problems.append("search: given together with scenes; allowed: one of them")
        else:
            search = check_search(doc["search"], "search", problems)
    checked: list[tuple[str, Scene]] = []
    for where, raw in shape.scenes:
        scene = _check_scene(raw, where, shape, override_products, base_dir, problems)
        if scene is not None:
            checked.append((where, scene))
    unique, duplicates = _dedupe(checked, problems)

    final_output = shape.output
    if output is None and shape.blog:
        final_output = blog_output(shape, problems)
    elif output is not None:
        final_output = check_output(output, "output (override)", None, problems)
    final_run_name = shape.run_name
    if run_name is not None:
        final_run_name = check_run_name(run_name, "run_name (override)", problems)
    if problems:
        raise InvalidInput(problems)
    if search is not None:
        # The scenes are found when the run is planned (scoresby.search); the run needs a stable name.
        run_level = ("products", "stretch", "mask", "aoi", "timelapse", "composites")
        defaults = {k: doc[k] for k in run_level if isinstance(doc, dict) and doc.get(k) is not None}
        name = final_run_name or "search-" + hashlib.sha256(repr(search).encode()).hexdigest()[:8]
        return RunPlan(name, final_output, (), (), search, defaults, shape.timelapse, shape.composites)
    if final_run_name is None:
        final_run_name = derive_run_name(unique)
    return RunPlan(
        final_run_name,
        final_output,
        tuple(unique),
        tuple(duplicates),
        timelapse=shape.timelapse,
        composites=shape.composites,
    )


def parse_scene(obj: Any, *, products: Sequence[str] | None = None, base_dir: str | None = None) -> Scene:
    """Validate one scene object into a Scene; `products` overrides the object's own."""
    problems: list[str] = []
    override_products = check_override_products(products, problems)
    shape = Shape(scenes=[], defaults=DEFAULT_PRODUCTS)
    scene = _check_scene(obj, "scene", shape, override_products, base_dir, problems)
    if problems or scene is None:
        raise InvalidInput(problems)
    return scene


def check_scene(scene: Scene) -> None:
    """Re-check a Scene built without parse_scene (API callers) by the same product and stretch rules."""
    problems: list[str] = []
    id_problem = name_problem(scene.scene_id, "scene id")
    if id_problem is not None:
        raise InvalidInput(f"scene_id: {show(scene.scene_id)} is not allowed; {id_problem}")
    label = f"scene {scene.scene_id}: "
    check_products(list(scene.products), f"{label}products", problems)
    check_stretch_map(dict(scene.stretch), f"{label}stretch", problems)
    if problems:
        raise InvalidInput(problems)


def derive_run_name(scenes: Sequence[Scene]) -> str:
    """Deterministic run name: "scoresby-" + the first 8 hex digits of SHA-256 of the normalised scenes."""
    payload = json.dumps([s.to_dict() for s in scenes], sort_keys=True, separators=(",", ":"))
    return "scoresby-" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:8]


# ---------------------------------------------------------------------------------------------------
# Document shapes


# ---------------------------------------------------------------------------------------------------
# One scene


def _check_scene(
    raw: Any,
    where: str,
    shape: Shape,
    override_products: tuple[str, ...] | None,
    base_dir: str | None,
    problems: list[str],
) -> Scene | None:
    """Validate one scene object (or blog cell); append its problems and return None if there are any."""
    if not isinstance(raw, dict):
        allowed = 'an object with "files"' if shape.blog else 'an object with "source"'
        problems.append(f"{where}: {show(raw)} is not a scene; allowed: {allowed}")
        return None
    before = len(problems)
    source_field = "files" if shape.blog else "source"
    scene_id_given = raw.get("scene_id")
    label = f"{where} ({scene_id_given})" if isinstance(scene_id_given, str) and scene_id_given else where
    prefix = f"{label}: "
    check_fields(
        raw,
        BLOG_CELL_FIELDS if shape.blog else SCENE_FIELDS,
        prefix,
        "cell field" if shape.blog else "scene field",
        problems,
    )

    item = None
    if not shape.blog and raw.get("item") is not None:
        item = check_item(raw["item"], raw.get("source"), prefix, problems)
        source = item_source(item) if item is not None else None
    else:
        source = check_source(raw.get(source_field), source_field, base_dir, prefix, problems)
    scene_id = scene_id_of(raw, source, shape.blog, prefix, problems)
    label_id = scene_id or label_scene_id(raw.get(source_field), raw.get("date"), shape.blog)
    if label_id is not None and label == where:
        # Name the scene in every message, even when its id was derived (or only derivable from a bad source).
        problems[before:] = [p.replace(prefix, f"{where} ({label_id}): ", 1) for p in problems[before:]]
        prefix = f"{where} ({label_id}): "

    sensor = raw.get("sensor")
    if sensor is not None and sensor not in sensor_names():  # every registered sensor's names
        problems.append(f"{prefix}sensor: {show(sensor)} is not a sensor; allowed: {names_text()}")
    if shape.blog:
        check_blog_cell(raw, prefix, problems)

    own_products = None
    if raw.get("products") is not None:
        own_products = check_products(raw["products"], f"{prefix}products", problems)
    stretch = dict(shape.run_stretch)
    if raw.get("stretch") is not None:
        stretch.update(check_stretch_map(raw["stretch"], f"{prefix}stretch", problems))

    mask = shape.run_mask
    if raw.get("mask") is not None:
        mask = check_mask(raw["mask"], f"{prefix}mask", problems)
    # A scene re-read from `to_dict` (process, Batch) carries the run's AOI as its own field.
    aoi = shape.aoi
    if raw.get("aoi") is not None and not shape.blog:
        aoi = check_aoi(raw["aoi"], f"{prefix}aoi", problems)

    if len(problems) > before or source is None or scene_id is None:
        return None
    products = override_products or own_products or shape.run_products or shape.defaults
    return Scene(
        scene_id=scene_id,
        source=source,
        products=products,
        sensor=sensor,
        stretch=stretch,
        mask=mask,
        aoi=aoi,
        item=item,
    )


# ---------------------------------------------------------------------------------------------------
# Products and stretches


# ---------------------------------------------------------------------------------------------------
# Small helpers


def _dedupe(checked: list[tuple[str, Scene]], problems: list[str]) -> tuple[list[Scene], list[str]]:
    """Keep the first of scenes with the same id and source; the same id with another source is a problem."""
    first: dict[str, tuple[str, Scene]] = {}
    unique: list[Scene] = []
    duplicates: list[str] = []
    for where, scene in checked:
        seen = first.get(scene.scene_id)
        if seen is None:
            first[scene.scene_id] = (where, scene)
            unique.append(scene)
        elif seen[1].source == scene.source:
            duplicates.append(scene.scene_id)
        else:
            problems.append(
                f"{where} ({scene.scene_id}): source: {show(scene.source)} differs from {seen[0]}'s "
                f"{show(seen[1].source)} for the same scene_id; allowed: one source per scene_id"
            )
    return unique, duplicates
