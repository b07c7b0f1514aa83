"""Scene lists: validate, normalise and plan (pure Python, shared by the local runner and the init Lambda).

This module must not import rasterio, numpy, matplotlib or boto3: the init Lambda ships it without them.
docs/SCENE-LISTS.md is the reference of what it accepts; keep the two in step.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from worker.core.checks import check_fields, show, suggest, type_name
from worker.core.errors import InvalidInput, one_line
from worker.core.json_input import load_json
from worker.core.layout import name_problem
from worker.core.products import (
    BLOG_DEFAULT_PRODUCTS,
    DEFAULT_PRODUCTS,
    PRODUCTS,
    SENSORS,
)
from worker.core.science_options import check_aoi, check_mask, check_timelapse
from worker.core.search import SearchSpec, check_search
from worker.core.stretch import StretchSpec, check_stretch_map

RUN_FIELDS = (
    *("aoi", "description", "mask", "output", "products"),
    *("run_name", "scenes", "search", "stretch", "timelapse"),
)
"""Fields of the full form's top-level object (`description` is free text for people, ignored)."""
SCENE_FIELDS = ("aoi", "item", "mask", "products", "scene_id", "sensor", "source", "stretch")
"""Fields of one scene object."""
BLOG_FIELDS = ("detail",)
"""Fields of the AWS blog shape's top-level object."""
BLOG_DETAIL_FIELDS = ("cells",)
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

# Run names and scene ids become folders and file-name prefixes: one rule for both, core.layout.name_problem.
# S3 bucket naming rules (lower case, digits, dots, hyphens; 3-63 characters).
BUCKET_PATTERN = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
SCHEME_PATTERN = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
# Blog folders: .../tiles/<utm zone>/<latitude band>/<grid square>/<yyyy>/<m>/<d>/<sequence>/...
BLOG_TILE_PATTERN = re.compile(r"/tiles/(\d{1,2})/([A-Z])/([A-Z]{2})/(?:(\d{4})/(\d{1,2})/(\d{1,2})/)?")
# A source whose last component ends like this is a file; anything else is a folder-like prefix.
FILE_SUFFIXES = (".json", ".tif", ".tiff", ".jp2", ".xml", ".txt", ".zip")
SOURCE_SCHEMES = ("s3", "https")
SOURCE_ALLOWED = "a local path, s3://bucket/prefix/ or https://host/path/"


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

    @classmethod
    def from_dict(cls, obj: Any) -> Scene:
        """Validate one scene object (e.g. the output of `to_dict`); same as `parse_scene`."""
        return parse_scene(obj)


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe full form, accepted back by `parse_scene_list` (`duplicates` is not part of it)."""
        d: dict[str, Any] = {"run_name": self.run_name, "output": self.output}
        if self.timelapse is not None:
            d["timelapse"] = self.timelapse
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
    override_products = _check_override_products(products, problems)
    if isinstance(doc, list):
        shape = _parse_full({"scenes": doc}, base_dir, problems)
    elif isinstance(doc, dict) and "scenes" not in doc and "detail" in doc:
        shape = _parse_blog(doc, problems)
    elif isinstance(doc, dict):
        shape = _parse_full(doc, base_dir, problems)
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
        final_output = _blog_output(shape, problems)
    elif output is not None:
        final_output = _check_output(output, "output (override)", None, problems)
    final_run_name = shape.run_name
    if run_name is not None:
        final_run_name = _check_run_name(run_name, "run_name (override)", problems)
    if problems:
        raise InvalidInput(problems)
    if search is not None:
        # The scenes are found when the run is planned (worker.search); the run needs a stable name for that.
        run_level = ("products", "stretch", "mask", "aoi", "timelapse")
        defaults = {k: doc[k] for k in run_level if isinstance(doc, dict) and doc.get(k) is not None}
        name = final_run_name or "search-" + hashlib.sha256(repr(search).encode()).hexdigest()[:8]
        return RunPlan(name, final_output, (), (), search, defaults, shape.timelapse)
    if final_run_name is None:
        final_run_name = derive_run_name(unique)
    return RunPlan(final_run_name, final_output, tuple(unique), tuple(duplicates), timelapse=shape.timelapse)


def parse_scene(obj: Any, *, products: Sequence[str] | None = None, base_dir: str | None = None) -> Scene:
    """Validate one scene object into a Scene; `products` overrides the object's own."""
    problems: list[str] = []
    override_products = _check_override_products(products, problems)
    shape = _Shape(scenes=[], defaults=DEFAULT_PRODUCTS)
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
    _check_products(list(scene.products), f"{label}products", problems)
    check_stretch_map(dict(scene.stretch), f"{label}stretch", problems)
    if problems:
        raise InvalidInput(problems)


def derive_run_name(scenes: Sequence[Scene]) -> str:
    """Deterministic run name: "scoresby-" + the first 8 hex digits of SHA-256 of the normalised scenes."""
    payload = json.dumps([s.to_dict() for s in scenes], sort_keys=True, separators=(",", ":"))
    return "scoresby-" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:8]


def derive_blog_scene_id(files: str, date: str | None) -> str | None:
    """Scene id of a blog cell: "S2_" + UTM zone, latitude band, grid square + "_" + date (YYYYMMDD).

    The date is the cell's `date`, else the <yyyy>/<m>/<d> that follows the tile in the path.
    Returns None when `files` has no `tiles/<zone>/<band>/<square>/` part or no date is known.
    """
    m = BLOG_TILE_PATTERN.search(files)
    if m is None:
        return None
    zone, band, square, year, month, day = m.groups()
    if date is None and year is not None:
        date = f"{year}{int(month):02d}{int(day):02d}"
    if date is None:
        return None
    return f"S2_{int(zone):02d}{band}{square}_{date}"


def derive_scene_id(source: str) -> str:
    """Scene id from a source: its last path component, without a `.SAFE` or file-name suffix."""
    name = source.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".SAFE", *FILE_SUFFIXES):
        if name.lower().endswith(suffix.lower()):
            return name[: -len(suffix)]
    return name


# ---------------------------------------------------------------------------------------------------
# Document shapes


@dataclass
class _Shape:
    """What a document shape contributes before the scenes are checked: run-level values and raw scenes."""

    scenes: list[tuple[str, Any]]
    defaults: tuple[str, ...]
    run_products: tuple[str, ...] | None = None
    run_stretch: dict[str, StretchSpec] = field(default_factory=dict)
    run_mask: tuple[str, ...] = ()
    aoi: dict[str, Any] | None = None
    timelapse: dict[str, Any] | None = None
    output: str | None = None
    run_name: str | None = None
    blog: bool = False


def _parse_full(doc: dict[str, Any], base_dir: str | None, problems: list[str]) -> _Shape:
    """Run-level fields of the full form (a bare list arrives wrapped as {"scenes": [...]})."""
    check_fields(doc, RUN_FIELDS, "", "scene list field", problems)
    shape = _Shape(scenes=[], defaults=DEFAULT_PRODUCTS)
    if "run_name" in doc and doc["run_name"] is not None:
        shape.run_name = _check_run_name(doc["run_name"], "run_name", problems)
    if doc.get("output") is not None:
        shape.output = _check_output(doc["output"], "output", base_dir, problems)
    if doc.get("products") is not None:
        shape.run_products = _check_products(doc["products"], "products", problems)
    if doc.get("stretch") is not None:
        shape.run_stretch = check_stretch_map(doc["stretch"], "stretch", problems)
    if doc.get("mask") is not None:
        shape.run_mask = check_mask(doc["mask"], "mask", problems)
    if doc.get("aoi") is not None:
        shape.aoi = check_aoi(doc["aoi"], "aoi", problems)
    if doc.get("timelapse") is not None:
        shape.timelapse = check_timelapse(doc["timelapse"], "timelapse", problems)
    if doc.get("description") is not None and not isinstance(doc["description"], str):
        problems.append(f"description: {show(doc['description'])} is not allowed; allowed: a string")
    if "scenes" not in doc and "search" not in doc:
        problems.append('scenes: missing; allowed: a non-empty list of scene objects, or a "search" block')
        return shape
    if "scenes" not in doc:  # a search block: the scenes come when the run is planned
        return shape
    shape.scenes = _check_list(doc["scenes"], "scenes", problems)
    return shape


def _parse_blog(doc: dict[str, Any], problems: list[str]) -> _Shape:
    """The AWS blog shape {"detail": {"cells": [...]}}: output from `output_bucket`, blog default products."""
    shape = _Shape(scenes=[], defaults=BLOG_DEFAULT_PRODUCTS, blog=True)
    check_fields(doc, BLOG_FIELDS, "", "field of the blog shape", problems)
    detail = doc["detail"]
    if not isinstance(detail, dict):
        problems.append(f'detail: {show(detail)} is not allowed; allowed: an object with "cells"')
        return shape
    check_fields(detail, BLOG_DETAIL_FIELDS, "detail: ", "field of detail", problems)
    if "cells" not in detail:
        problems.append("detail.cells: missing; allowed: a non-empty list of cell objects")
        return shape
    shape.scenes = _check_list(detail["cells"], "detail.cells", problems)
    return shape


def _blog_output(shape: _Shape, problems: list[str]) -> str | None:
    """The run output of a blog document: s3://<output_bucket>/, which every cell must agree on."""
    first: tuple[str, str] | None = None  # (bucket, where)
    for where, cell in shape.scenes:
        bucket = cell.get("output_bucket") if isinstance(cell, dict) else None
        if not isinstance(bucket, str) or not BUCKET_PATTERN.fullmatch(bucket):
            continue  # missing, or already reported by _check_scene
        if first is None:
            first = (bucket, where)
        elif bucket != first[0]:
            problems.append(
                f"{where}: output_bucket: {show(bucket)} differs from {first[1]}'s {show(first[0])}; "
                "allowed: one output bucket per run (or give the output on the command line)"
            )
    return None if first is None else f"s3://{first[0]}/"


def _check_list(value: Any, label: str, problems: list[str]) -> list[tuple[str, Any]]:
    """The scene entries of a list, each tagged with its place, e.g. ("scenes[2]", {...})."""
    if not isinstance(value, list):
        problems.append(f"{label}: {show(value)} is not allowed; allowed: a non-empty list of objects")
        return []
    if not value:
        problems.append(f"{label}: the list is empty; allowed: at least one scene")
    return [(f"{label}[{i}]", item) for i, item in enumerate(value)]


# ---------------------------------------------------------------------------------------------------
# One scene


def _check_scene(
    raw: Any,
    where: str,
    shape: _Shape,
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
        item = _check_item(raw["item"], raw.get("source"), prefix, problems)
        source = _item_source(item) if item is not None else None
    else:
        source = _check_source(raw.get(source_field), source_field, base_dir, prefix, problems)
    scene_id = _scene_id(raw, source, shape, prefix, problems)
    label_id = scene_id or _label_id(raw.get(source_field), raw.get("date"), shape.blog)
    if label_id is not None and label == where:
        # Name the scene in every message, even when its id was derived (or only derivable from a bad source).
        problems[before:] = [p.replace(prefix, f"{where} ({label_id}): ", 1) for p in problems[before:]]
        prefix = f"{where} ({label_id}): "

    sensor = raw.get("sensor")
    if sensor is not None and sensor not in SENSORS:
        problems.append(f"{prefix}sensor: {show(sensor)} is not a sensor; allowed: {', '.join(SENSORS)}")
    if shape.blog:
        _check_blog_cell(raw, prefix, problems)

    own_products = None
    if raw.get("products") is not None:
        own_products = _check_products(raw["products"], f"{prefix}products", problems)
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


def _label_id(raw_source: Any, date: Any, blog: bool) -> str | None:
    """An id to name a scene by in messages, derived from its source even when that source was rejected."""
    if not isinstance(raw_source, str) or not raw_source.strip():
        return None
    if blog:
        good_date = date if isinstance(date, str) and re.fullmatch(r"\d{8}", date) else None
        return derive_blog_scene_id(raw_source, good_date)
    derived = derive_scene_id(raw_source)
    return derived if name_problem(derived, "scene id") is None else None


def _check_blog_cell(raw: dict[str, Any], prefix: str, problems: list[str]) -> None:
    """The blog-only cell fields: `output_bucket` a bucket name, `region_name` a string (not used further)."""
    bucket = raw.get("output_bucket")
    if bucket is not None and not (isinstance(bucket, str) and BUCKET_PATTERN.fullmatch(bucket)):
        problems.append(
            f"{prefix}output_bucket: {show(bucket)} is not an S3 bucket name; "
            "allowed: 3-63 lower-case letters, digits, dots and hyphens"
        )
    region = raw.get("region_name")
    if region is not None and not isinstance(region, str):
        problems.append(f"{prefix}region_name: {show(region)} is not allowed; allowed: a string")


def _scene_id(
    raw: dict[str, Any], source: str | None, shape: _Shape, prefix: str, problems: list[str]
) -> str | None:
    """The given scene id, checked, or one derived from the source (blog: tile and date)."""
    given = raw.get("scene_id")
    if given is not None:
        problem = name_problem(given, "scene id")
        if problem is not None:
            problems.append(f"{prefix}scene_id: {show(given)} is not allowed; {problem}")
            return None
        return str(given)
    if source is None:
        return None
    if shape.blog:
        date = raw.get("date")
        if date is not None and not (isinstance(date, str) and re.fullmatch(r"\d{8}", date)):
            problems.append(f"{prefix}date: {show(date)} is not allowed; allowed: YYYYMMDD, e.g. '20200801'")
            return None
        # Tile path and date first; a local folder (no tiles/ path to read) is named by its last component.
        derived = derive_blog_scene_id(source, date)
        if derived is None and SCHEME_PATTERN.match(source) is None:
            derived = _fallback_scene_id(source)
        if derived is None:
            problems.append(
                f"{prefix}scene_id: cannot be derived from files {show(source)} and date {show(date)}; "
                "allowed: files with tiles/<zone>/<band>/<square>/ and a date, or give scene_id"
            )
        return derived
    derived = source.removeprefix("item:") if source.startswith("item:") else derive_scene_id(source)
    problem = name_problem(derived, "scene id")
    if problem is not None:
        problems.append(
            f"{prefix}scene_id: {show(derived)} (derived from source) is not allowed; "
            f"{problem}; give scene_id"
        )
        return None
    return derived


def _fallback_scene_id(source: str) -> str | None:
    """The last path component of a source when it is a valid scene id, else None."""
    derived = derive_scene_id(source)
    return derived if name_problem(derived, "scene id") is None else None


def _check_item(value: Any, source: Any, prefix: str, problems: list[str]) -> dict[str, Any] | None:
    """An inline STAC Item: a GeoJSON Feature with an id and assets (given instead of a source)."""
    if source is not None:
        problems.append(f"{prefix}item: given together with source; allowed: one of them")
        return None
    ok = isinstance(value, dict) and value.get("type") == "Feature" and isinstance(value.get("assets"), dict)
    if not ok or not isinstance(value.get("id"), str) or not value["id"]:
        problems.append(
            f'{prefix}item: {show(value)} is not a STAC Item; allowed: a Feature with "id" and "assets"'
        )
        return None
    return value


def _item_source(item: dict[str, Any]) -> str:
    """What stands for an inline item where a source is shown: its self href, else "item:<id>"."""
    for link in item.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "self" and isinstance(link.get("href"), str):
            return link["href"]
    return f"item:{item['id']}"


def _check_source(
    value: Any, name: str, base_dir: str | None, prefix: str, problems: list[str]
) -> str | None:
    """Normalise a source: local paths absolute, s3:// and https:// kept, folder-like ones ending in "/"."""
    if value is None:
        problems.append(f"{prefix}{name}: missing; allowed: {SOURCE_ALLOWED}")
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{prefix}{name}: {show(value)} is not allowed; allowed: {SOURCE_ALLOWED}")
        return None
    m = SCHEME_PATTERN.match(value)
    if m is None:
        if value.startswith("/vsi"):
            problems.append(f"{prefix}{name}: {show(value)} is a GDAL path; allowed: s3:// or https:// URLs")
            return None
        return _local_path(value, base_dir)
    scheme = m.group(1).lower()
    rest = value[m.end() :]
    if scheme not in SOURCE_SCHEMES:
        # http:// is refused on purpose: every public archive we read serves https, and plain http
        # would let a proxy alter pixels silently.
        problems.append(
            f"{prefix}{name}: {show(value)} has an unsupported scheme '{scheme}://'; "
            "allowed: a local path, s3:// or https://"
        )
        return None
    host, _, key = rest.partition("/")
    if scheme == "s3" and not BUCKET_PATTERN.fullmatch(host):
        problems.append(
            f"{prefix}{name}: {show(value)} has no valid bucket name; allowed: s3://bucket/prefix/"
        )
        return None
    if scheme == "https" and not host:
        problems.append(f"{prefix}{name}: {show(value)} has no host; allowed: https://host/path/")
        return None
    return f"{scheme}://{host}/{_folder_like(key)}"


def _folder_like(key: str) -> str:
    """A key or path with a trailing "/" unless it names a file (FILE_SUFFIXES) or is empty."""
    if not key or key.endswith("/") or key.lower().endswith(FILE_SUFFIXES):
        return key
    return key + "/"


def _local_path(value: str, base_dir: str | None) -> str:
    """An absolute, normalised local path; relative ones are taken from `base_dir` (else the working dir)."""
    path = os.path.expanduser(value)  # noqa: PTH111
    if not os.path.isabs(path):  # noqa: PTH117
        path = os.path.join(base_dir or os.getcwd(), path)  # noqa: PTH109, PTH118
    return os.path.normpath(path)


def _check_output(value: Any, name: str, base_dir: str | None, problems: list[str]) -> str | None:
    """Normalise an output: a local folder (absolute) or an s3://bucket/prefix/ ending in "/"."""
    if not isinstance(value, str) or not value.strip():
        problems.append(
            f"{name}: {show(value)} is not allowed; allowed: a local folder or s3://bucket/prefix/"
        )
        return None
    m = SCHEME_PATTERN.match(value)
    if m is None:
        return _local_path(value, base_dir)
    host, _, key = value[m.end() :].partition("/")
    if m.group(1).lower() != "s3":
        problems.append(
            f"{name}: {show(value)} has an unsupported scheme '{m.group(1)}://'; "
            "allowed: a local folder or s3://bucket/prefix/"
        )
        return None
    if not BUCKET_PATTERN.fullmatch(host):
        problems.append(f"{name}: {show(value)} has no valid bucket name; allowed: s3://bucket/prefix/")
        return None
    return f"s3://{host}/{key}" if not key or key.endswith("/") else f"s3://{host}/{key}/"


def _check_run_name(value: Any, name: str, problems: list[str]) -> str | None:
    """A run name usable as an S3 prefix and in a Step Functions execution name."""
    problem = name_problem(value, "run name")
    if problem is None:
        return str(value)
    problems.append(f"{name}: {show(value)} is not allowed; {problem}")
    return None


# ---------------------------------------------------------------------------------------------------
# Products and stretches


def _check_override_products(products: Sequence[str] | None, problems: list[str]) -> tuple[str, ...] | None:
    """The command line's products; a comma-separated string is split (as `--products a,b` gives it)."""
    if products is None:
        return None
    if isinstance(products, str):
        products = [p.strip() for p in products.split(",") if p.strip()]
    return _check_products(list(products), "products (override)", problems)


def _check_products(value: Any, name: str, problems: list[str]) -> tuple[str, ...] | None:
    """A non-empty list of known product names, duplicates dropped, order kept."""
    allowed = ", ".join(sorted(PRODUCTS))
    if not isinstance(value, list) or not value:
        problems.append(f"{name}: {show(value)} is not allowed; allowed: a non-empty list of {allowed}")
        return None
    bad = [p for p in value if not isinstance(p, str) or p not in PRODUCTS]
    for p in bad:
        problems.append(f"{name}: {show(p)} is not a product{suggest(p, PRODUCTS)}; allowed: {allowed}")
    return None if bad else tuple(dict.fromkeys(value))


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
