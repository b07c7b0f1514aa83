"""Tests of core.scene_list: the three accepted shapes, defaults, derivations and every listed error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scoresby.core.errors import InvalidInput
from scoresby.core.layout import name_problem
from scoresby.core.products import BLOG_DEFAULT_PRODUCTS, DEFAULT_PRODUCTS, PRODUCTS
from scoresby.core.scene_list import (
    RunPlan,
    Scene,
    derive_run_name,
    load_scene_list,
    parse_scene,
    parse_scene_list,
)

REPO = Path(__file__).resolve().parents[2]
LANDSAT_ID = "LC08_L2SP_226010_20140820_20200911_02_T1"
LANDSAT_SRC = f"s3://usgs-landsat/collection02/level-2/standard/oli-tirs/2014/226/010/{LANDSAT_ID}/"
BLOG_FILES = "s3://sentinel-s2-l2a/tiles/48/R/XT/2020/8/1/0/R10m/"
NOTEBOOK_RANGES = [[5900, 11000], [6200, 11000], [7600, 11000]]


def problems_of(doc: object, **kwargs: object) -> list[str]:
    """The problem lines parse_scene_list raises for `doc` (fails the test if it accepts it)."""
    with pytest.raises(InvalidInput) as info:
        parse_scene_list(doc, **kwargs)  # type: ignore[arg-type]
    return info.value.problems


def one_line_with(problems: list[str], *parts: str) -> str:
    """The single problem line containing every one of `parts`."""
    lines = [p for p in problems if all(part in p for part in parts)]
    assert len(lines) == 1, f"expected one line with {parts}, got {problems}"
    return lines[0]


# --- accepted shapes -----------------------------------------------------------------------------


def test_full_form_bare_list_and_blog_shape_normalise_to_the_same_plan() -> None:
    scenes = [
        {"scene_id": "S2_48RXT_20200801", "source": BLOG_FILES, "products": list(BLOG_DEFAULT_PRODUCTS)}
    ]
    full = parse_scene_list({"run_name": "r1", "output": "s3://out-bucket/", "scenes": scenes})
    bare = parse_scene_list(scenes, run_name="r1", output="s3://out-bucket/")
    blog = parse_scene_list(
        {
            "detail": {
                "cells": [
                    {
                        "files": BLOG_FILES,
                        "date": "20200801",
                        "output_bucket": "out-bucket",
                        "region_name": "eu-central-1",
                    }
                ]
            }
        },
        run_name="r1",
    )
    assert full == bare == blog
    assert full.scenes[0] == Scene("S2_48RXT_20200801", BLOG_FILES, BLOG_DEFAULT_PRODUCTS)


def test_full_form_keeps_run_fields_and_fills_default_products() -> None:
    plan = parse_scene_list(
        {
            "run_name": "scoresby-sund-2014",
            "output": "s3://my-bucket/products",
            "description": "for people",
            "scenes": [{"scene_id": LANDSAT_ID, "source": LANDSAT_SRC}],
        }
    )
    assert plan.run_name == "scoresby-sund-2014"
    assert plan.output == "s3://my-bucket/products/"  # prefix normalised to end in "/"
    assert plan.scenes[0].products == DEFAULT_PRODUCTS
    assert plan.duplicates == ()


def test_blog_shape_defaults_output_products_and_derived_run_name() -> None:
    plan = parse_scene_list(
        {
            "detail": {
                "cells": [
                    {
                        "files": BLOG_FILES,
                        "date": "20200801",
                        "output_bucket": "blog-out",
                        "region_name": "eu-central-1",
                    }
                ]
            }
        }
    )
    assert plan.output == "s3://blog-out/"
    assert plan.scenes[0].products == BLOG_DEFAULT_PRODUCTS
    assert plan.scenes[0].scene_id == "S2_48RXT_20200801"
    assert name_problem(plan.run_name, "run name") is None


def test_blog_output_override_wins_and_disagreeing_buckets_need_it() -> None:
    cells = [
        {"files": BLOG_FILES, "output_bucket": "bucket-a"},
        {"files": "s3://sentinel-s2-l2a/tiles/48/R/XU/2020/8/1/0/R10m/", "output_bucket": "bucket-b"},
    ]
    line = one_line_with(problems_of({"detail": {"cells": cells}}), "detail.cells[1]", "output_bucket")
    assert "'bucket-b'" in line and "'bucket-a'" in line
    plan = parse_scene_list({"detail": {"cells": cells}}, output="s3://mine/x")
    assert plan.output == "s3://mine/x/"


def test_keyword_arguments_override_the_document() -> None:
    doc = {
        "run_name": "doc-name",
        "output": "s3://doc-bucket/",
        "products": ["ndvi"],
        "scenes": [{"source": LANDSAT_SRC, "products": ["ndsi"]}],
    }
    plan = parse_scene_list(doc, run_name="cli-name", output="s3://cli-bucket/p/", products=["true_color"])
    assert (plan.run_name, plan.output) == ("cli-name", "s3://cli-bucket/p/")
    assert plan.scenes[0].products == ("true_color",)
    # The command line hands over "a,b" as one string.
    assert parse_scene_list(doc, products="ndwi, ndvi").scenes[0].products == ("ndwi", "ndvi")


def test_scene_products_override_run_products_which_override_defaults() -> None:
    plan = parse_scene_list(
        {
            "products": ["ndsi"],
            "scenes": [
                {"scene_id": "a", "source": "s3://bkt/a/", "products": ["ndwi"]},
                {"scene_id": "b", "source": "s3://bkt/b/"},
            ],
        }
    )
    assert [s.products for s in plan.scenes] == [("ndwi",), ("ndsi",)]


def test_repeated_products_are_listed_once_in_order() -> None:
    scene = parse_scene({"source": "s3://bkt/x/", "products": ["ndvi", "true_color", "ndvi"]})
    assert scene.products == ("ndvi", "true_color")


def test_sensor_is_kept_when_given() -> None:
    assert parse_scene({"source": "s3://bkt/x/", "sensor": "landsat-9"}).sensor == "landsat-9"
    assert parse_scene({"source": "s3://bkt/x/"}).sensor is None


# --- derivations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (LANDSAT_SRC, LANDSAT_ID),
        (LANDSAT_SRC.rstrip("/"), LANDSAT_ID),
        (
            "s3://sentinel-cogs/sentinel-s2-l2a-cogs/36/Q/WD/2020/7/S2A_36QWD_20200701_0_L2A/",
            "S2A_36QWD_20200701_0_L2A",
        ),
        (
            "/data/S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU_20221005T164454.SAFE",
            "S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU_20221005T164454",
        ),
        ("https://example.org/items/S2A_29RKH_20200219_0_L2A.json", "S2A_29RKH_20200219_0_L2A"),
    ],
)
def test_scene_id_is_derived_from_the_last_path_component(source: str, expected: str) -> None:
    assert parse_scene({"source": source}).scene_id == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ({"files": BLOG_FILES, "date": "20200801"}, "S2_48RXT_20200801"),
        ({"files": BLOG_FILES}, "S2_48RXT_20200801"),  # date taken from the tile path
        ({"files": "s3://sentinel-s2-l2a/tiles/7/V/EG/2021/10/3/0/R10m/"}, "S2_07VEG_20211003"),
        ({"files": BLOG_FILES, "scene_id": "mine"}, "mine"),
    ],
)
def test_blog_scene_id_comes_from_tile_and_date(cell: dict[str, str], expected: str) -> None:
    plan = parse_scene_list({"detail": {"cells": [cell]}})
    assert plan.scenes[0].scene_id == expected


def test_blog_scene_id_that_cannot_be_derived_is_reported() -> None:
    line = one_line_with(
        problems_of({"detail": {"cells": [{"files": "s3://some-bucket/a/b/"}]}}),
        "detail.cells[0]",
        "scene_id",
    )
    assert "s3://some-bucket/a/b/" in line and "tiles/<zone>/<band>/<square>/" in line


def test_run_name_is_derived_deterministically_from_the_scenes() -> None:
    a = parse_scene_list([{"source": "s3://bkt/a/"}])
    again = parse_scene_list([{"source": "s3://bkt/a/"}])
    other = parse_scene_list([{"source": "s3://bkt/a/", "products": ["ndvi"]}])
    assert a.run_name == again.run_name == derive_run_name(a.scenes)
    assert a.run_name != other.run_name
    assert a.run_name.startswith("scoresby-") and name_problem(a.run_name, "run name") is None


# --- sources and outputs ------------------------------------------------------------------------


def test_relative_sources_resolve_against_base_dir(tmp_path: Path) -> None:
    plan = parse_scene_list([{"source": "scenes/LC08_X"}, {"source": "../up/S2A_Y"}], base_dir=str(tmp_path))
    assert plan.scenes[0].source == str(tmp_path / "scenes" / "LC08_X")
    assert plan.scenes[1].source == str(tmp_path.parent / "up" / "S2A_Y")
    assert plan.scenes[0].scene_id == "LC08_X"


def test_load_scene_list_resolves_against_the_files_folder(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    path = tmp_path / "lists" / "run.json"
    path.write_text(json.dumps({"output": "out", "scenes": [{"source": "data/LC08_X"}]}))
    plan = load_scene_list(str(path), run_name="r")
    assert plan.scenes[0].source == str(tmp_path / "lists" / "data" / "LC08_X")
    assert plan.output == str(tmp_path / "lists" / "out")
    assert plan.run_name == "r"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("s3://bkt/prefix", "s3://bkt/prefix/"),
        ("s3://bkt/prefix/", "s3://bkt/prefix/"),
        ("s3://bkt", "s3://bkt/"),
        ("https://example.org/data/scene", "https://example.org/data/scene/"),
        ("https://example.org/data/item.json", "https://example.org/data/item.json"),
        ("s3://bkt/x/B04.TIF", "s3://bkt/x/B04.TIF"),
    ],
)
def test_remote_sources_are_kept_with_folder_prefixes_ending_in_slash(source: str, expected: str) -> None:
    assert parse_scene({"source": source, "scene_id": "x"}).source == expected


# --- stretches ----------------------------------------------------------------------------------


def test_notebook_fixed_ranges_normalise_with_default_gamma() -> None:
    scene = parse_scene(
        {"source": "s3://bkt/x/", "stretch": {"true_color": {"mode": "fixed", "ranges": NOTEBOOK_RANGES}}}
    )
    assert scene.stretch == {"true_color": {"mode": "fixed", "ranges": NOTEBOOK_RANGES, "gamma": 1.0}}


def test_percentile_and_equalize_stretches_get_their_defaults() -> None:
    scene = parse_scene(
        {
            "source": "s3://bkt/x/",
            "stretch": {
                "true_color": {"mode": "percentile"},
                "false_color_ice": {"percentiles": [0.5, 99.5], "gamma": 1.4},
                "false_color_vegetation": {"mode": "equalize"},
            },
        }
    )
    assert scene.stretch == {
        "true_color": {"mode": "percentile", "percentiles": [2.0, 98.0], "gamma": 1.0},
        "false_color_ice": {"mode": "percentile", "percentiles": [0.5, 99.5], "gamma": 1.4},
        "false_color_vegetation": {"mode": "equalize", "gamma": 1.0},
    }


def test_scene_stretch_replaces_run_stretch_per_product() -> None:
    plan = parse_scene_list(
        {
            "stretch": {
                "true_color": {"mode": "equalize"},
                "false_color_ice": {"mode": "equalize", "gamma": 2},
            },
            "scenes": [
                {
                    "source": "s3://bkt/x/",
                    "stretch": {"true_color": {"mode": "fixed", "ranges": NOTEBOOK_RANGES}},
                }
            ],
        }
    )
    assert plan.scenes[0].stretch == {
        "true_color": {"mode": "fixed", "ranges": NOTEBOOK_RANGES, "gamma": 1.0},
        "false_color_ice": {"mode": "equalize", "gamma": 2.0},
    }


# --- round trips --------------------------------------------------------------------------------


def test_scene_to_dict_round_trips_through_parse_scene() -> None:
    scene = parse_scene(
        {
            "source": "s3://bkt/x",
            "sensor": "sentinel-2",
            "products": ["ndvi", "true_color"],
            "stretch": {"true_color": {"mode": "fixed", "ranges": NOTEBOOK_RANGES, "gamma": 0.8}},
        }
    )
    assert parse_scene(json.loads(json.dumps(scene.to_dict()))) == scene


def test_run_plan_to_dict_round_trips_through_parse_scene_list() -> None:
    plan = parse_scene_list(
        [{"source": "s3://bkt/x/"}, {"source": "/abs/LC08_Y", "products": ["ndsi"]}], output="s3://out/"
    )
    assert parse_scene_list(json.loads(json.dumps(plan.to_dict()))) == plan
    assert isinstance(plan, RunPlan)


def test_run_plan_with_composites_round_trips_with_its_aoi() -> None:
    doc = {
        "run_name": "place",
        "aoi": {"bbox": [-27.0, 70.2, -24.5, 71.2], "name": "sund"},
        "composites": {"period": "year", "months": [7, 8], "method": "p25"},
        "scenes": [{"source": "s3://bkt/a/"}, {"source": "s3://bkt/b/"}],
    }
    plan = parse_scene_list(doc)
    again = parse_scene_list(json.loads(json.dumps(plan.to_dict())))
    assert again == plan and again.composites == plan.composites and again.composites is not None


# --- duplicates ---------------------------------------------------------------------------------


def test_duplicate_scenes_collapse_to_the_first() -> None:
    plan = parse_scene_list(
        [
            {"scene_id": "a", "source": "s3://bkt/a/"},
            {"scene_id": "b", "source": "s3://bkt/b/"},
            {"scene_id": "a", "source": "s3://bkt/a", "products": ["ndvi"]},  # same source once normalised
            {"source": "s3://bkt/b/"},  # id derived: "b"
        ]
    )
    assert [s.scene_id for s in plan.scenes] == ["a", "b"]
    assert plan.scenes[0].products == DEFAULT_PRODUCTS
    assert plan.duplicates == ("a", "b")


def test_same_scene_id_with_another_source_is_an_error() -> None:
    problems = problems_of(
        [{"scene_id": "a", "source": "s3://bkt/a/"}, {"scene_id": "a", "source": "s3://bkt/z/"}]
    )
    line = one_line_with(problems, "scenes[1] (a)", "source")
    assert "s3://bkt/z/" in line and "scenes[0]" in line and "s3://bkt/a/" in line


# --- rejected input: one line per problem, naming place, field, bad value and what is allowed -----

ALL_PRODUCTS = ", ".join(sorted(PRODUCTS))


@pytest.mark.parametrize(
    ("doc", "parts"),
    [
        (42, ["a scene list must be a JSON object or list", "a number"]),
        ("scenes.json", ["a scene list must be a JSON object or list", "a string"]),
        ({"run_name": "x"}, ["scenes: missing", "non-empty list"]),
        ({"scenes": []}, ["scenes: the list is empty", "at least one scene"]),
        ([], ["scenes: the list is empty"]),
        ({"scenes": {"source": "x"}}, ["scenes: {'source': 'x'}", "non-empty list"]),
        (
            [{"source": "s3://bkt/a/"}, "LC08_X"],
            ["scenes[1]: 'LC08_X' is not a scene", 'an object with "source"'],
        ),
        ([{"scene_id": "x"}], ["scenes[0] (x): source: missing", "s3://bucket/prefix/"]),
        ([{"scene_id": "x", "source": "  "}], ["scenes[0] (x): source: '  '", "a local path"]),
        ([{"scene_id": "x", "source": 7}], ["scenes[0] (x): source: 7", "a local path"]),
        (
            [{"source": "s3://bkt/LC08_X/", "products": ["ndvx"]}],
            ["scenes[0] (LC08_X): products: 'ndvx' is not a product", "did you mean 'ndvi'", ALL_PRODUCTS],
        ),
        (
            [{"source": "s3://bkt/LC08_X/", "products": ["nvdi"]}],
            ["products: 'nvdi' is not a product (did you mean 'ndsi', 'ndvi' or 'ndwi'?)"],
        ),
        ([{"source": "s3://bkt/x/", "products": []}], ["scenes[0] (x): products: []", ALL_PRODUCTS]),
        (
            [{"source": "s3://bkt/x/", "products": "ndvi"}],
            ["scenes[0] (x): products: 'ndvi'", "non-empty list"],
        ),
        (
            [{"source": "s3://bkt/x/", "sensor": "landsat-1"}],
            [
                "scenes[0] (x): sensor: 'landsat-1' is not a sensor",
                "landsat-4, landsat-5, landsat-7, landsat-8, landsat-9, sentinel-2",
            ],
        ),
        (
            [{"source": "ftp://host/x/"}],
            ["scenes[0] (x): source: 'ftp://host/x/'", "'ftp://'", "s3:// or https://"],
        ),
        ([{"source": "http://host/x/"}], ["scenes[0] (x): source: 'http://host/x/'", "s3:// or https://"]),
        ([{"source": "gs://bkt/x/"}], ["source: 'gs://bkt/x/'", "'gs://'"]),
        ([{"source": "s3://Bad_Bucket/x/"}], ["source: 's3://Bad_Bucket/x/'", "bucket"]),
        ([{"source": "https:///x/"}], ["source: 'https:///x/'", "host"]),
        ([{"source": "/vsis3/bkt/x"}], ["source: '/vsis3/bkt/x' is a GDAL path", "s3://"]),
        (
            [{"source": "s3://bkt/x/", "scene_id": "a/b"}],
            ["scenes[0] (a/b): scene_id: 'a/b'", "letters, digits"],
        ),
        (
            [{"source": "s3://bkt/x/", "prodcts": ["ndvi"]}],
            [
                "scenes[0] (x): 'prodcts' is not a scene field",
                "did you mean 'products'",
                "aoi, item, mask, products, scene_id, sensor, source, stretch",
            ],
        ),
        (
            {"prodcts": ["ndvi"], "scenes": [{"source": "s3://bkt/x/"}]},
            [
                "'prodcts' is not a scene list field",
                "aoi, composites, description, mask, output, products, run_name, scenes, search, stretch, "
                "timelapse",
            ],
        ),
        (
            {"products": ["ndvx"], "scenes": [{"source": "s3://bkt/x/"}]},
            ["products: 'ndvx' is not a product"],
        ),
        (
            {"run_name": "has space", "scenes": [{"source": "s3://bkt/x/"}]},
            ["run_name: 'has space'", "1-80 letters, digits"],
        ),
        ({"run_name": "x" * 81, "scenes": [{"source": "s3://bkt/x/"}]}, ["run_name: 'xxx", "1-80"]),
        (
            {"output": "ftp://h/p", "scenes": [{"source": "s3://bkt/x/"}]},
            ["output: 'ftp://h/p'", "a local folder or s3://bucket/prefix/"],
        ),
        (
            {"output": "https://h/p", "scenes": [{"source": "s3://bkt/x/"}]},
            ["output: 'https://h/p'", "'https://'"],
        ),
        ({"output": "", "scenes": [{"source": "s3://bkt/x/"}]}, ["output: ''", "a local folder"]),
        ({"output": 3, "scenes": [{"source": "s3://bkt/x/"}]}, ["output: 3", "a local folder"]),
        ({"detail": []}, ["detail: []", '"cells"']),
        ({"detail": {}}, ["detail.cells: missing"]),
        ({"detail": {"cells": []}}, ["detail.cells: the list is empty"]),
        (
            {"detail": {"cells": [{"files": BLOG_FILES, "date": "2020-08-01"}]}},
            ["detail.cells[0] (S2_48RXT_20200801): date: '2020-08-01'", "YYYYMMDD"],
        ),
        (
            {"detail": {"cells": [{"files": BLOG_FILES, "output_bucket": "Bad_B"}]}},
            ["detail.cells[0] (S2_48RXT_20200801): output_bucket: 'Bad_B'", "lower-case letters"],
        ),
        (
            {"detail": {"cells": [{"files": BLOG_FILES, "region_name": 5}]}},
            ["detail.cells[0] (S2_48RXT_20200801): region_name: 5", "a string"],
        ),
        (
            {"detail": {"cells": [{"file": BLOG_FILES}]}},
            [
                "detail.cells[0]: 'file' is not a cell field",
                "did you mean 'files'",
                "output_bucket, products",
            ],
        ),
        (
            {"detail": {"cells": [{"files": BLOG_FILES}]}, "extra": 1},
            ["'extra' is not a field of the blog shape"],
        ),
    ],
)
def test_bad_input_is_reported_with_place_field_value_and_allowed(doc: object, parts: list[str]) -> None:
    one_line_with(problems_of(doc), *parts)


@pytest.mark.parametrize(
    ("stretch", "parts"),
    [
        (
            {"ndvi": {"mode": "percentile"}},
            [
                "stretch: 'ndvi' does not take a stretch",
                "false_color_ice, false_color_vegetation, true_color",
            ],
        ),
        ({"true_colour": {}}, ["'true_colour' does not take a stretch", "did you mean 'true_color'"]),
        ("equalize", ["stretch: 'equalize'", "an object mapping"]),
        ({"true_color": "fixed"}, ["stretch.true_color: 'fixed'", 'an object with "mode"']),
        (
            {"true_color": {"mode": "linear"}},
            ["stretch.true_color.mode: 'linear' is not a stretch mode", "percentile, fixed, equalize"],
        ),
        ({"true_color": {"mode": "fixed"}}, ["stretch.true_color.ranges: None", "3 pairs [lo, hi]"]),
        (
            {"true_color": {"mode": "fixed", "ranges": [[5900, 11000]]}},
            ["stretch.true_color.ranges: [[5900, 11000]]", "3 pairs [lo, hi], one per channel"],
        ),
        (
            {"true_color": {"mode": "fixed", "ranges": [[5900, 11000], [11000, 6200], [7600, 11000]]}},
            ["stretch.true_color.ranges[1]: [11000, 6200]", "0 <= lo < hi"],
        ),
        (
            {"true_color": {"mode": "fixed", "ranges": [[-1, 5], [0, 5], [0, 5]]}},
            ["stretch.true_color.ranges[0]: [-1, 5]", "0 <= lo < hi"],
        ),
        (
            {"true_color": {"mode": "fixed", "ranges": [[0, 5], [0, 70000], [0, 5]]}},
            ["stretch.true_color.ranges[1]: [0, 70000]", "0 <= lo < hi <= 65535"],
        ),
        (
            {"true_color": {"mode": "fixed", "ranges": [[0, "5"], [0, 5], [0, 5]]}},
            ["stretch.true_color.ranges[0]: [0, '5']"],
        ),
        (
            {"true_color": {"percentiles": [98, 2]}},
            ["stretch.true_color.percentiles: [98, 2]", "0 <= lo < hi <= 100"],
        ),
        ({"true_color": {"percentiles": [2, 101]}}, ["stretch.true_color.percentiles: [2, 101]"]),
        ({"true_color": {"percentiles": [2]}}, ["stretch.true_color.percentiles: [2]"]),
        ({"true_color": {"mode": "equalize", "gamma": 0}}, ["stretch.true_color.gamma: 0", "a number > 0"]),
        ({"true_color": {"gamma": -1.5}}, ["stretch.true_color.gamma: -1.5"]),
        ({"true_color": {"gamma": True}}, ["stretch.true_color.gamma: True"]),
        (
            {"true_color": {"mode": "percentile", "ranges": NOTEBOOK_RANGES}},
            [
                "stretch.true_color: 'ranges' is not a field of a percentile stretch",
                "gamma, mode, percentiles",
            ],
        ),
        (
            {"true_color": {"mode": "equalize", "percentiles": [2, 98]}},
            ["'percentiles' is not a field of a equalize stretch", "gamma, mode"],
        ),
    ],
)
def test_bad_stretch_is_reported(stretch: object, parts: list[str]) -> None:
    problems = problems_of([{"scene_id": "LC08_X", "source": "s3://bkt/x/", "stretch": stretch}])
    line = one_line_with(problems, *parts)
    assert line.startswith("scenes[0] (LC08_X): ")


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(
        {
            "run_name": "bad name",
            "prodcts": [],
            "scenes": [
                {"scene_id": "ok", "source": "s3://bkt/ok/"},
                {"source": "s3://bkt/LC08_A/", "products": ["ndvx"], "sensor": "landsat-3"},
                5,
                {
                    "scene_id": "S2A_B",
                    "source": "ftp://x/y",
                    "stretch": {"true_color": {"mode": "fixed", "ranges": [[1, 0], [0, 1], [0, 1]]}},
                },
            ],
        },
        products=["nope"],
    )
    assert len(problems) == 8, problems
    one_line_with(problems, "run_name: 'bad name'")
    one_line_with(problems, "'prodcts'")
    one_line_with(problems, "products (override): 'nope'")
    one_line_with(problems, "scenes[1] (LC08_A): products: 'ndvx'")
    one_line_with(problems, "scenes[1] (LC08_A): sensor: 'landsat-3'")
    one_line_with(problems, "scenes[2]: 5")
    one_line_with(problems, "scenes[3] (S2A_B): source: 'ftp://x/y'")
    one_line_with(problems, "scenes[3] (S2A_B): stretch.true_color.ranges[0]: [1, 0]")


def test_parse_scene_messages_name_the_scene_without_an_index() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_scene({"source": "s3://bkt/LC08_X/", "products": ["ndvx"], "sensor": "x"})
    assert len(info.value.problems) == 2
    assert all(p.startswith("scene (LC08_X): ") for p in info.value.problems)
    with pytest.raises(InvalidInput, match=r"scene: \[1\] is not a scene"):
        parse_scene([1])


def test_parse_scene_products_override_is_validated() -> None:
    with pytest.raises(InvalidInput, match=r"products \(override\): 'ndvx' is not a product"):
        parse_scene({"source": "s3://bkt/x/"}, products=["ndvx"])


def test_long_values_are_shortened_in_messages() -> None:
    line = one_line_with(problems_of([{"source": "s3://bkt/x/", "sensor": "s" * 500}]), "sensor")
    assert len(line) < 250 and "..." in line


def test_load_scene_list_reports_file_line_and_column_of_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "scenes": [\n    {"source": "x",}\n  ]\n}\n')
    with pytest.raises(InvalidInput) as info:
        load_scene_list(str(path))
    message = str(info.value)
    assert str(path) in message and "line 3, column 20" in message and "not valid JSON" in message


def test_load_scene_list_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read the scene list"):
        load_scene_list(str(tmp_path / "nope.json"))


# --- packaging constraints ----------------------------------------------------------------------


def test_import_pulls_in_no_heavy_libraries() -> None:
    code = (
        "import sys, scoresby.core.scene_list\n"
        "heavy = [m for m in ('rasterio', 'numpy', 'matplotlib', 'boto3', 'botocore') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_heavy_library_check_would_notice_an_import() -> None:
    # Guards the test above against passing vacuously (e.g. a subprocess that never imports anything).
    code = "import sys, scoresby.core.scene_list, json\nimport numpy\nprint('numpy' in sys.modules)\n"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"


EXAMPLES = sorted((REPO / "examples").glob("*.json"))


def test_examples_exist() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"scoresby-sund-landsat.json", "sentinel2-cogs.json", "blog-shape.json"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates(path: Path) -> None:
    plan = load_scene_list(str(path))
    if plan.search is not None:  # a search block: public STAC API, scenes found when the run is planned
        assert plan.search.stac.startswith("https://") and not plan.scenes
        return
    assert plan.scenes
    for scene in plan.scenes:
        assert scene.source.startswith(("s3://", "https://")), (
            "examples must read public data, not local paths"
        )


def test_null_optional_fields_count_as_absent() -> None:
    doc = {
        "description": None,
        "run_name": None,
        "output": None,
        "products": None,
        "stretch": None,
        "scenes": [
            {"source": "s3://bkt/x", "scene_id": None, "products": None, "sensor": None, "stretch": None}
        ],
    }
    plan = parse_scene_list(doc)
    assert plan.output is None and plan.run_name.startswith("scoresby-")
    assert plan.scenes[0] == Scene("x", "s3://bkt/x/", DEFAULT_PRODUCTS)
