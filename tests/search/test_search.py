"""`scoresby search` against a real STAC API (stac-fastapi-pgstac) loaded with real Earth Search items."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scoresby.core.errors import InvalidInput
from scoresby.core.scene_list import parse_scene_list
from scoresby.core.search import SearchSpec, check_search
from scoresby.search import client as search_client
from tests.stac_server import StacServer, free_port

WORLD = "-180,-90,180,90"
# Tile 24MUV (Brazil coast) in the real items: one Sentinel-2 L2A, one C1 L2A and one L1C item.
TILE_24MUV = "-40.3,-4.74,-40.0,-4.65"


def scoresby(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "scoresby.cli", *args], capture_output=True, text=True, timeout=180, cwd=cwd
    )


def search(stac_api: StacServer, *args: str) -> tuple[dict[str, Any], str]:
    result = scoresby("search", "--stac", stac_api.url, *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout), result.stderr


def ids(doc: dict[str, Any]) -> list[str]:
    return [s["scene_id"] for s in doc["scenes"]]


def test_search_filters_by_collection_area_dates_and_cloud(stac_api: StacServer) -> None:
    everything, _ = search(
        stac_api, "--collection", "sentinel-2-l2a", "--bbox", WORLD, "--datetime", "2000-01-01/.."
    )
    assert len(everything["scenes"]) == 7
    datetimes = [s["item"]["properties"]["datetime"] for s in everything["scenes"]]
    assert datetimes == sorted(datetimes)  # oldest first
    assert ids(everything)[0] == "S2A_13TDE_20231008_0_L2A"

    tile, _ = search(
        stac_api,
        "--collection",
        "sentinel-2-l2a",
        "--collection",
        "sentinel-2-l1c",
        "--bbox",
        TILE_24MUV,
        "--datetime",
        "2025-07-31/2025-07-31",
    )
    assert sorted(ids(tile)) == ["S2B_24MUV_20250731_0_L1C", "S2B_24MUV_20250731_0_L2A"]

    clear, _ = search(
        stac_api,
        "--collection",
        "sentinel-2-l2a",
        "--bbox",
        WORLD,
        "--datetime",
        "2000-01-01/..",
        "--max-cloud",
        "10",
    )
    assert clear["scenes"] and all(s["item"]["properties"]["eo:cloud_cover"] <= 10 for s in clear["scenes"])
    assert len(clear["scenes"]) < len(everything["scenes"])


def test_open_date_ranges_at_either_end(stac_api: StacServer) -> None:
    since, _ = search(
        stac_api, "--collection", "sentinel-2-l2a", "--bbox", WORLD, "--datetime", "2025-01-01/.."
    )
    until, _ = search(
        stac_api, "--collection", "sentinel-2-l2a", "--bbox", WORLD, "--datetime", "../2024-12-31"
    )
    assert ids(until) == ["S2A_13TDE_20231008_0_L2A"]
    assert len(since["scenes"]) == 6 and not set(ids(since)) & set(ids(until))


def test_the_list_is_a_scene_list_run_accepts(stac_api: StacServer, tmp_path: Path) -> None:
    out = tmp_path / "scenes.json"
    result = scoresby(
        "search",
        "--stac",
        stac_api.url,
        "--collection",
        "landsat-c2-l2",
        "--bbox",
        WORLD,
        "--datetime",
        "2013-04-01/..",
        "--products",
        "ndvi,true_color",
        "--output",
        str(tmp_path / "p"),
        "-o",
        str(out),
    )
    assert result.returncode == 0 and result.stdout == ""
    assert "1 scene found" in result.stderr and str(out) in result.stderr
    doc = json.loads(out.read_text())
    plan = parse_scene_list(doc)
    assert [s.scene_id for s in plan.scenes] == ["LC08_L2SP_033032_20231008_02_T1"]
    assert plan.scenes[0].products == ("ndvi", "true_color") and plan.output == str(tmp_path / "p")
    assert plan.scenes[0].item is not None  # a loopback API has no https self link: the item goes inline


def test_paging_through_many_pages_returns_every_item_once(
    stac_api: StacServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_client, "PAGE_SIZE", 2)
    pages: list[int] = []
    spec = SearchSpec(
        stac=stac_api.url,
        collections=("sentinel-2-l2a", "sentinel-2-l1c"),
        datetime="2000-01-01/..",
        bbox=(-180, -90, 180, 90),
    )
    items = search_client.search_items(spec, progress=pages.append)
    assert len(items) == 12 and len({i["id"] for i in items}) == 12
    assert pages == [2, 4, 6, 8, 10, 12]  # six requests of two items each


def test_limit_caps_the_items(stac_api: StacServer) -> None:
    doc, _ = search(
        stac_api,
        "--collection",
        "sentinel-2-l2a",
        "--bbox",
        WORLD,
        "--datetime",
        "2000-01-01/..",
        "--limit",
        "3",
    )
    assert len(doc["scenes"]) == 3


def test_zero_results_is_an_empty_list_and_says_so(stac_api: StacServer) -> None:
    doc, err = search(
        stac_api, "--collection", "sentinel-2-l2a", "--bbox", "10,10,11,11", "--datetime", "2000-01-01/.."
    )
    assert doc["scenes"] == [] and "0 scenes found (nothing matched" in err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ["--collection", "sentinel-2-l3x"],
            "no collection 'sentinel-2-l3x'; allowed: landsat-c2-l2",
        ),
        (["--bbox", "10,10,5,11"], "--bbox: '10,10,5,11' is not allowed; allowed: W,S,E,N"),
        (["--bbox", "a,b,c,d"], "--bbox: 'a,b,c,d' is not allowed"),
        (["--datetime", "2020-13-01/.."], "--datetime: '2020-13-01/..' is not a real date"),
        (["--datetime", "2021-01-01/2020-01-01"], "ends before it starts"),
        (["--datetime", "last summer"], "--datetime: 'last summer' is not allowed"),
        (["--max-cloud", "150"], "--max-cloud: 150.0 is not allowed; allowed: a percentage 0-100"),
    ],
)
def test_bad_searches_are_one_line_and_exit_2(stac_api: StacServer, args: list[str], fragment: str) -> None:
    base = {"--collection": "sentinel-2-l2a", "--bbox": WORLD, "--datetime": "2000-01-01/.."}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    result = scoresby("search", "--stac", stac_api.url, *[x for kv in base.items() for x in kv])
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_unreachable_api_is_one_line_and_exit_2() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = scoresby(
        "search", "--stac", url, "--collection", "x", "--bbox", WORLD, "--datetime", "2020-01-01/.."
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert f"STAC API {url}: cannot be reached" in result.stderr


def test_plain_http_is_refused_except_on_this_machine() -> None:
    problems: list[str] = []
    spec = {"collections": ["c"], "bbox": [0, 0, 1, 1], "datetime": "2020-01-01/.."}
    assert check_search({**spec, "stac": "http://example.com/stac"}, "search", problems) is None
    allowed = "allowed: a preset (earth-search, landsatlook, planetary-computer) or an https:// STAC API URL"
    assert allowed in problems[0]
    assert (
        check_search({**spec, "stac": "earth-search"}, "search", []).stac
        == "https://earth-search.aws.element84.com/v1"
    )  # type: ignore[union-attr]


def test_search_block_errors_name_the_field() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_scene_list({"search": {"stac": "earth-search", "collections": [], "datetime": "2020"}})
    text = "\n".join(info.value.problems)
    assert "search.collections: [] is not allowed" in text and "search: no area" in text
    with pytest.raises(InvalidInput, match="search: given together with scenes"):
        parse_scene_list({"search": {}, "scenes": [{"source": "/x"}]})
