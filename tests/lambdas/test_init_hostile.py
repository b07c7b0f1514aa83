"""The init Lambda searches through the one guarded path, against a hostile STAC API (tests/search)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.init_pipeline import handler as init
from scoresby.search.errors import SearchError
from scoresby.stores.watch_dynamo import DynamoWatchState
from tests.lambdas.conftest import TABLE
from tests.search.hostile_api import COLLECTION, HostileServer, collection_page, item, serving


@pytest.fixture
def api() -> Iterator[HostileServer]:
    server = HostileServer()
    server.landing()
    with serving(server):
        yield server


def doc(api: HostileServer, when: str = "2000-01-01/2030-01-01") -> dict[str, Any]:
    search = {"stac": api.url, "collections": [COLLECTION], "bbox": [-180, -90, 180, 90], "datetime": when}
    return {"run_name": "hostile-lambda", "products": ["ndvi"], "search": search}


def test_a_search_block_skips_bad_items_and_counts_them(
    lambda_env: dict[str, str], dynamodb: Any, api: HostileServer
) -> None:
    items = [
        item("S2A_GOOD_L1", 1, href="s3://sentinel-cogs/x/B04.tif"),
        item("S2A_META", 2, href="https://169.254.169.254/latest/meta-data/B04.tif"),
        item("S2A_FILE", 3, href="file:///etc/passwd"),
    ]
    api.pages(lambda n: collection_page(items))
    state = init.handler(doc(api), None)
    assert state["counts"]["to_run"] == 1 and state["counts"]["search_skipped"] == 2
    assert [s["scene_id"] for i in state["items"] for s in i["scenes"]] == ["S2A_GOOD_L1"]


def test_a_watch_round_paging_off_origin_fails_with_one_line_and_records_only_that(
    lambda_env: dict[str, str], dynamodb: Any, api: HostileServer
) -> None:
    canary = HostileServer()
    with serving(canary):
        api.pages(lambda n: collection_page([item("S2A_W1", 1)], f"{canary.url}/steal", method="GET"))
        with pytest.raises(SearchError) as info:
            init.handler({"watch": doc(api, when="2000-01-01/..")}, None)
    message = str(info.value)
    assert "\n" not in message and f"off its origin http://127.0.0.1:{api.server_address[1]}" in message
    assert f"it links to http://127.0.0.1:{canary.server_address[1]}" in message
    assert canary.requests == []
    status = DynamoWatchState(TABLE).status("hostile-lambda")  # the failure is the round's outcome, no items
    assert status is not None and status.round_outcome == f"failed: {message}"
    assert DynamoWatchState(TABLE).versions("hostile-lambda") == {}


def test_the_run_summary_and_the_mail_count_the_skipped_items(lambda_env: dict[str, str], s3: Any) -> None:
    """What the summarize function makes of the init function's `counts.search_skipped`."""
    import json

    from lambdas.summarize_run import handler as summary
    from tests.lambdas.conftest import OUTPUT_BUCKET, OUTPUT_ROOT

    event = {"run_name": "hostile", "output": OUTPUT_ROOT, "counts": {"search_skipped": 3}}
    result = summary.handler(event, None)
    assert "3 item(s) the search found were skipped (see the init function's log)" in result["message"]
    body = s3.get_object(Bucket=OUTPUT_BUCKET, Key="products/hostile/summary.json")["Body"].read()
    assert json.loads(body)["search"] == {"skipped": 3}
