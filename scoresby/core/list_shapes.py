"""The two document shapes of a scene list (the full form, the AWS blog shape): run-level fields first.

Each shape's parser returns a `Shape`: the run-level values and the raw scene entries, which
core/scene_list.py then checks one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scoresby.core.checks import check_fields, show, suggest
from scoresby.core.layout import name_problem
from scoresby.core.locations import BUCKET_PATTERN, check_output
from scoresby.core.place_options import check_composites, check_place_aoi
from scoresby.core.products import BLOG_DEFAULT_PRODUCTS, DEFAULT_PRODUCTS, PRODUCTS
from scoresby.core.science_options import check_aoi, check_mask, check_timelapse
from scoresby.core.stretch import StretchSpec, check_stretch_map

RUN_FIELDS = (
    *("aoi", "composites", "description", "mask", "output", "products"),
    *("run_name", "scenes", "search", "stretch", "timelapse"),
)


BLOG_FIELDS = ("detail",)


BLOG_DETAIL_FIELDS = ("cells",)


@dataclass
class Shape:
    """What a document shape contributes before the scenes are checked: run-level values and raw scenes."""

    scenes: list[tuple[str, Any]]
    defaults: tuple[str, ...]
    run_products: tuple[str, ...] | None = None
    run_stretch: dict[str, StretchSpec] = field(default_factory=dict)
    run_mask: tuple[str, ...] = ()
    aoi: dict[str, Any] | None = None
    timelapse: dict[str, Any] | None = None
    composites: dict[str, Any] | None = None
    output: str | None = None
    run_name: str | None = None
    blog: bool = False


def parse_full(doc: dict[str, Any], base_dir: str | None, problems: list[str]) -> Shape:
    """Run-level fields of the full form (a bare list arrives wrapped as {"scenes": [...]})."""
    check_fields(doc, RUN_FIELDS, "", "scene list field", problems)
    shape = Shape(scenes=[], defaults=DEFAULT_PRODUCTS)
    if "run_name" in doc and doc["run_name"] is not None:
        shape.run_name = check_run_name(doc["run_name"], "run_name", problems)
    if doc.get("output") is not None:
        shape.output = check_output(doc["output"], "output", base_dir, problems)
    if doc.get("products") is not None:
        shape.run_products = check_products(doc["products"], "products", problems)
    if doc.get("stretch") is not None:
        shape.run_stretch = check_stretch_map(doc["stretch"], "stretch", problems)
    if doc.get("mask") is not None:
        shape.run_mask = check_mask(doc["mask"], "mask", problems)
    if doc.get("aoi") is not None:
        shape.aoi = check_aoi(doc["aoi"], "aoi", problems)
    if doc.get("timelapse") is not None:
        shape.timelapse = check_timelapse(doc["timelapse"], "timelapse", problems)
    if doc.get("composites") is not None:
        shape.composites = check_composites(doc["composites"], "composites", problems)
        check_place_aoi(doc["composites"], doc.get("aoi"), problems)
    if doc.get("description") is not None and not isinstance(doc["description"], str):
        problems.append(f"description: {show(doc['description'])} is not allowed; allowed: a string")
    if "scenes" not in doc and "search" not in doc:
        problems.append('scenes: missing; allowed: a non-empty list of scene objects, or a "search" block')
        return shape
    if "scenes" not in doc:  # a search block: the scenes come when the run is planned
        return shape
    shape.scenes = check_list(doc["scenes"], "scenes", problems)
    return shape


def parse_blog(doc: dict[str, Any], problems: list[str]) -> Shape:
    """The AWS blog shape {"detail": {"cells": [...]}}: output from `output_bucket`, blog default products."""
    shape = Shape(scenes=[], defaults=BLOG_DEFAULT_PRODUCTS, blog=True)
    check_fields(doc, BLOG_FIELDS, "", "field of the blog shape", problems)
    detail = doc["detail"]
    if not isinstance(detail, dict):
        problems.append(f'detail: {show(detail)} is not allowed; allowed: an object with "cells"')
        return shape
    check_fields(detail, BLOG_DETAIL_FIELDS, "detail: ", "field of detail", problems)
    if "cells" not in detail:
        problems.append("detail.cells: missing; allowed: a non-empty list of cell objects")
        return shape
    shape.scenes = check_list(detail["cells"], "detail.cells", problems)
    return shape


def blog_output(shape: Shape, problems: list[str]) -> str | None:
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


def check_list(value: Any, label: str, problems: list[str]) -> list[tuple[str, Any]]:
    """The scene entries of a list, each tagged with its place, e.g. ("scenes[2]", {...})."""
    if not isinstance(value, list):
        problems.append(f"{label}: {show(value)} is not allowed; allowed: a non-empty list of objects")
        return []
    if not value:
        problems.append(f"{label}: the list is empty; allowed: at least one scene")
    return [(f"{label}[{i}]", item) for i, item in enumerate(value)]


def check_blog_cell(raw: dict[str, Any], prefix: str, problems: list[str]) -> None:
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


def check_run_name(value: Any, name: str, problems: list[str]) -> str | None:
    """A run name usable as an S3 prefix and in a Step Functions execution name."""
    problem = name_problem(value, "run name")
    if problem is None:
        return str(value)
    problems.append(f"{name}: {show(value)} is not allowed; {problem}")
    return None


def check_override_products(products: Sequence[str] | None, problems: list[str]) -> tuple[str, ...] | None:
    """The command line's products; a comma-separated string is split (as `--products a,b` gives it)."""
    if products is None:
        return None
    if isinstance(products, str):
        products = [p.strip() for p in products.split(",") if p.strip()]
    return check_products(list(products), "products (override)", problems)


def check_products(value: Any, name: str, problems: list[str]) -> tuple[str, ...] | None:
    """A non-empty list of known product names, duplicates dropped, order kept."""
    allowed = ", ".join(sorted(PRODUCTS))
    if not isinstance(value, list) or not value:
        problems.append(f"{name}: {show(value)} is not allowed; allowed: a non-empty list of {allowed}")
        return None
    bad = [p for p in value if not isinstance(p, str) or p not in PRODUCTS]
    for p in bad:
        problems.append(f"{name}: {show(p)} is not a product{suggest(p, PRODUCTS)}; allowed: {allowed}")
    return None if bad else tuple(dict.fromkeys(value))
