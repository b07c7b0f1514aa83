"""A hostile or broken STAC API (tests/search/hostile_api.py) against the one search path of Scoresby.

Each case ends within its bound with one line and no traceback; nothing off the API's origin is contacted,
no local file is named, nothing the server wrote is echoed (docs/OPERATIONS.md, threat model).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scoresby.core.search import check_search
from scoresby.search import client as search_client
from scoresby.search.safe_io import Limits, SearchError
from tests.search.hostile_api import (
    HostileServer,
    collection_page,
    endless_bytes,
    item,
    send_json,
    serving,
    silent_server,
    trickle,
    trickle_headers,
)

CANARY_TEXT = "CANARY_TEXT-BODY"


@pytest.fixture
def api() -> Iterator[HostileServer]:
    """A hostile STAC API on loopback with a landing page and a collection; /search is the test's."""
    server = HostileServer()
    server.landing()
    with serving(server):
        yield server


@pytest.fixture
def canary() -> Iterator[HostileServer]:
    """A second server, off the API's origin, that must receive nothing."""
    server = HostileServer()
    with serving(server):
        yield server


def cli_search(url: str, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`scoresby search` against `url` (every item of the collection) in a child process."""
    args = ["--collection", "hostile-c", "--bbox", "-180,-90,180,90", "--datetime", "2000-01-01/.."]
    return subprocess.run(
        [sys.executable, "-m", "scoresby.cli", "search", "--stac", url, *args, *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed search (exit 2, no traceback, nothing on stdout)."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = messages(result)
    assert len(lines) == 1, result.stderr
    assert CANARY_TEXT not in lines[0]
    return lines[0]


def messages(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The stderr lines of a search, its progress lines ("N items so far") left out."""
    return [line for line in result.stderr.strip().splitlines() if not line.endswith(" items so far")]


def spec(url: str, **extra: Any) -> Any:
    """A validated search of every item of the hostile collection."""
    block = {
        "stac": url,
        "collections": ["hostile-c"],
        "bbox": [-180, -90, 180, 90],
        "datetime": "2000-01-01/..",
    }
    found = check_search({**block, **extra}, "search", problems := [])
    assert found is not None, problems
    return found


# --- where an Item may point ------------------------------------------------------------------------


def test_local_and_file_assets_from_a_remote_item_are_skipped(api: HostileServer, tmp_path: Path) -> None:
    secret = tmp_path / "secret.tif"
    secret.write_bytes(b"not for a catalogue")
    items = [
        item("S2A_GOOD_1", 1),
        item("S2A_LOCAL", 2, href=str(secret)),
        item("S2A_FILE_URL", 3, href=secret.as_uri()),
        item("S2A_GOOD_2", 4),
    ]
    items[1]["assets"]["green"] = {"href": "B03.tif", "alternate": {"s3": {"href": "file:///etc/passwd"}}}
    items[3]["assets"]["red"]["alternate"] = {"s3": {"href": "s3://sentinel-cogs/tile/B04.tif"}}
    api.pages(lambda n: collection_page(items))
    result = cli_search(api.url)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [s["scene_id"] for s in doc["scenes"]] == ["S2A_GOOD_1", "S2A_GOOD_2"]
    assert str(secret) not in result.stdout
    lines = messages(result)
    assert lines[0].startswith("scoresby search: skipped item 'S2A_LOCAL': asset 'red': href ")
    assert "is a local file; an Item from a catalogue may name only https:// or s3://" in lines[0]
    assert lines[1].startswith("scoresby search: skipped item 'S2A_FILE_URL': asset 'red': href 'file://")
    assert lines[-1] == "scoresby search: 2 scenes found, 2 items skipped"


@pytest.mark.parametrize(
    ("href", "fragment"),
    [
        (
            "https://169.254.169.254/latest/meta-data/x.tif",
            "host 169.254.169.254 is a link-local (cloud metadata) address",
        ),
        ("https://[fd00:ec2::254]/latest/x.tif", "host fd00:ec2::254 is a link-local (cloud metadata)"),
        ("https://2852039166/x.tif", "host 2852039166 is a link-local"),  # 169.254.169.254 as one number
        ("https://0xa9.0xfe.0xa9.0xfe/x.tif", "is a link-local"),
        ("https://127.1/x.tif", "is a loopback address"),
        ("https://localhost./x.tif", "host localhost is this machine"),
        ("https://[::ffff:127.0.0.1]/x.tif", "is a loopback address"),
        ("https://10.1.2.3/x.tif", "host 10.1.2.3 is a private address"),
        ("https://0.0.0.0/x.tif", "is a null (0.0.0.0, this machine) address"),
        ("https://assets.example.com@169.254.169.254/x.tif", "has no plain host"),
        ("https://assets.example.com\\@169.254.169.254/x.tif", "has characters no asset URL has"),
        ("http://assets.example.com/x.tif", "scheme 'http'"),
        ("/vsicurl/https://assets.example.com/x.tif", "is a GDAL path"),
        ("ftp://assets.example.com/x.tif", "scheme 'ftp'"),
    ],
)
def test_private_hosts_and_other_schemes_are_skipped(api: HostileServer, href: str, fragment: str) -> None:
    api.pages(lambda n: collection_page([item("S2A_GOOD", 1), item("S2A_BAD", 2, href=href)]))
    found = search_client.search_items(spec(api.url))
    assert [i["id"] for i in found] == ["S2A_GOOD"]
    assert len(found.skipped) == 1 and found.skipped[0].startswith("skipped item 'S2A_BAD': asset 'red'")
    assert fragment in found.skipped[0]


def test_the_allow_list_lets_named_private_hosts_through(
    api: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    hrefs = ["https://127.0.0.1:9/B04.tif", "https://10.0.0.7/B04.tif", "https://192.168.1.2/B04.tif"]
    api.pages(lambda n: collection_page([item(f"S2A_{i}", i + 1, href=h) for i, h in enumerate(hrefs)]))
    assert [i["id"] for i in search_client.search_items(spec(api.url))] == []
    allowed = search_client.search_items(spec(api.url, allow_hosts=["127.0.0.1", "10.0.0.0/8"]))
    assert [i["id"] for i in allowed] == ["S2A_0", "S2A_1"]
    monkeypatch.setenv("SCORESBY_ALLOW_HOSTS", "192.168.1.2")
    assert [i["id"] for i in search_client.search_items(spec(api.url))] == ["S2A_2"]
    result = cli_search(api.url, "--allow-host", "127.0.0.1")  # the CLI's flag; the env var still applies
    assert result.returncode == 0, result.stderr
    assert [s["scene_id"] for s in json.loads(result.stdout)["scenes"]] == ["S2A_0", "S2A_2"]


def test_a_relative_href_climbing_out_of_its_item_is_skipped(api: HostileServer) -> None:
    def located(item_id: str, day: int, href: str) -> dict[str, Any]:
        self_link = {"rel": "self", "href": f"https://cat.example.com/collections/c/items/{item_id}"}
        return item(item_id, day, href=href, links=[self_link])

    items = [
        located("S2A_INSIDE", 1, "./B04.tif"),
        located("S2A_DOTS", 2, "../../../../etc/B04.tif"),
        located("S2A_ESCAPED", 3, "%2e%2e/%2e%2e/secret/B04.tif"),
        located("S2A_OTHER_HOST", 4, "//169.254.169.254/B04.tif"),
        item("S2A_NO_SELF", 5, href="B04.tif"),
    ]
    api.pages(lambda n: collection_page(items))
    found = search_client.search_items(spec(api.url))
    assert [i["id"] for i in found] == ["S2A_INSIDE"]
    notes = "\n".join(found.skipped)
    assert "'S2A_DOTS': asset 'red': href '../../../../etc/B04.tif' climbs out of its Item's folder" in notes
    assert "'S2A_ESCAPED': asset 'red': href '%2e%2e/%2e%2e/secret/B04.tif' climbs out" in notes
    assert "'S2A_OTHER_HOST': asset 'red': href '//169.254.169.254/B04.tif' names another host" in notes
    assert "'S2A_NO_SELF': asset 'red': href 'B04.tif' is relative but the Item has no location" in notes


def test_an_item_fetched_from_a_url_may_not_name_local_files(api: HostileServer, tmp_path: Path) -> None:
    """The worker's side: a scene whose source is an Item URL gets the remote rule too."""
    from scoresby.core.errors import UnreadableRaster
    from scoresby.core.scene_list import Scene
    from scoresby.discovery.stac_item import discover_item

    secret = tmp_path / "B04.tif"
    secret.write_bytes(b"x")
    cases = {
        "local": (secret.as_uri(), "is a local file"),
        "climb": ("../../B04.tif", "climbs out of its Item's folder"),
        "metadata": ("https://169.254.169.254/B04.tif", r"link-local \(cloud metadata\)"),
    }
    for name, (href, fragment) in cases.items():
        doc = item("S2A_FETCHED", 1, href=href)
        api.routes[f"/items/{name}/item.json"] = lambda h, b, doc=doc: send_json(h, doc)
        # http:// reaches discovery only from a Scene built in code (scene lists refuse it): as here
        scene = Scene("S2A_FETCHED", f"{api.url}/items/{name}/item.json", ("ndvi",))
        with pytest.raises(UnreadableRaster, match=fragment):
            discover_item(scene)
    # An Item URL that answers an error: the status only, never the server's words.
    api.routes["/items/broken/item.json"] = lambda h, b: send_json(
        h, {"description": CANARY_TEXT}, status=500, reason=CANARY_TEXT
    )
    with pytest.raises(UnreadableRaster) as info:
        discover_item(Scene("S2A_FETCHED", f"{api.url}/items/broken/item.json", ("ndvi",)))
    assert "HTTP 500" in str(info.value) and CANARY_TEXT not in str(info.value)


def test_hostnames_that_resolve_to_private_addresses_are_refused() -> None:
    from scoresby.core.href_policy import HrefRefused, check_href

    def resolve(host: str) -> tuple[str, ...]:
        return {"metadata.example": ("169.254.169.254",), "public.example": ("93.184.216.34",)}.get(host, ())

    with pytest.raises(
        HrefRefused, match="host metadata.example is a name for 169.254.169.254, a link-local"
    ):
        check_href("https://metadata.example/x.tif", None, remote=True, resolve=resolve)
    assert check_href("https://public.example/x.tif", None, remote=True, resolve=resolve)
    assert check_href("https://unresolvable.example/x.tif", None, remote=True, resolve=resolve)
    allowed = check_href(
        "https://metadata.example/x.tif", None, remote=True, allow_hosts=["metadata.example"], resolve=resolve
    )
    assert allowed == "https://metadata.example/x.tif"
    # A user's own Item keeps its local files; relative ones still stay below it.
    assert check_href("B04.tif", "/data/scene/item.json", remote=False) == "/data/scene/B04.tif"
    assert check_href("/elsewhere/B04.tif", "/data/scene/item.json", remote=False) == "/elsewhere/B04.tif"
    with pytest.raises(HrefRefused, match="climbs out"):
        check_href("../other/B04.tif", "/data/scene/item.json", remote=False)


# --- paging --------------------------------------------------------------------------------------


def test_paging_off_origin_ends_the_search_and_the_canary_hears_nothing(
    api: HostileServer, canary: HostileServer
) -> None:
    api.pages(lambda n: collection_page([item("S2A_P1", 1)], f"{canary.url}/search?token=2", method="GET"))
    line = one_error_line(cli_search(api.url))
    assert f"STAC API {api.url}: it links to http://127.0.0.1:{canary.server_address[1]}" in line
    assert f"off its origin http://127.0.0.1:{api.server_address[1]}; not followed" in line
    # A redirect elsewhere is refused the same way, and so is a link to a local file.
    api.routes["/search"] = lambda h, b: (h.send_response(302), h.send_header("Location", f"{canary.url}/x"),
                                          h.send_header("Content-Length", "0"), h.end_headers())  # fmt: skip
    assert "it redirects to http://127.0.0.1:" in one_error_line(cli_search(api.url))
    api.pages(lambda n: collection_page([item("S2A_P1", 1)], "/etc/passwd"))
    assert "it links to" in one_error_line(cli_search(api.url))
    assert canary.requests == []


def test_an_endless_next_chain_ends_at_the_bound(api: HostileServer, monkeypatch: pytest.MonkeyPatch) -> None:
    api.pages(lambda n: collection_page([item(f"S2A_N{n}", 1)], f"{api.url}/page/{n + 1}", method="GET"))
    started = time.monotonic()
    line = one_error_line(cli_search(api.url))  # the default bound: 1000 pages
    assert "more than 20000 items or 1000 pages in one search; narrow the search or set limit" in line
    assert api.count("/page/1000") == 1 and api.count("/page/1001") == 0
    assert time.monotonic() - started < 100
    # A smaller bound in-process; `limit` ends paging before any bound (pystac-client's max_items).
    monkeypatch.setattr(search_client, "limits_of", lambda s: Limits(max_pages=5))
    with pytest.raises(SearchError, match="more than 20000 items or 5 pages in one search"):
        search_client.search_items(spec(api.url))
    assert [i["id"] for i in search_client.search_items(spec(api.url, limit=3))] == [
        "S2A_N0",
        "S2A_N1",
        "S2A_N2",
    ]


def test_a_next_link_seen_before_or_a_repeated_page_ends_paging(api: HostileServer) -> None:
    api.pages(lambda n: collection_page([item(f"S2A_L{n}", 1)], f"{api.url}/page/{n % 2 + 1}", method="GET"))
    assert "next link was followed before; paging ended" in one_error_line(cli_search(api.url))
    api.pages(lambda n: collection_page([item("S2A_SAME", 1)], f"{api.url}/page/{n + 1}", method="GET"))
    assert "page 2 repeats the items of earlier pages; paging ended" in one_error_line(cli_search(api.url))
    assert api.count("/page/2") == 1


# --- size, time, retries ----------------------------------------------------------------------------


def test_an_oversized_page_is_refused_with_memory_bounded(api: HostileServer) -> None:
    page_bytes = 256 * 1024 * 1024
    api.routes["/search"] = lambda h, b: endless_bytes(h, b, page_bytes, declare=False)
    tracemalloc.start()
    try:
        with pytest.raises(SearchError, match=r"an answer over 33554432 bytes; not read further"):
            search_client.search_items(spec(api.url))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 48 * 1024 * 1024, peak  # the 32 MiB cap and one chunk, far below the 256 MiB page
    api.routes["/search"] = lambda h, b: endless_bytes(h, b, page_bytes, declare=True)
    line = one_error_line(cli_search(api.url))
    assert f"an answer of {page_bytes} bytes, over 33554432 bytes" in line  # refused by its declared length


def test_the_cli_stays_small_whatever_the_page_size(api: HostileServer) -> None:
    """The whole `scoresby search` process against a 450 MB page: its peak RSS, not only Python's heap."""
    api.routes["/search"] = lambda h, b: endless_bytes(h, b, 450 * 1024 * 1024, declare=False)
    args = ["search", "--stac", api.url, "--collection", "hostile-c", "--bbox", "-180,-90,180,90"]
    args += ["--datetime", "2000-01-01/.."]
    # VmHWM: the peak RSS of this program's memory (ru_maxrss would carry the forking pytest's over exec).
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from scoresby.cli import main\n"
        f"code = main({args!r})\n"
        "status = Path('/proc/self/status').read_text().splitlines()\n"
        "peak = next(line for line in status if line.startswith('VmHWM'))\n"
        "sys.stderr.write(f'PEAK_KIB {peak.split()[1]}\\n')\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "an answer over 33554432 bytes" in result.stderr, result.stderr
    peak_mib = int(result.stderr.split("PEAK_KIB ")[1].split()[0]) / 1024
    assert peak_mib < 200, peak_mib  # interpreter and libraries (~70 MiB) plus the 32 MiB cap


def test_a_silent_api_ends_within_the_timeout() -> None:
    with silent_server() as url:
        started = time.monotonic()
        line = one_error_line(cli_search(url, "--timeout", "1"))
        elapsed = time.monotonic() - started
    assert (
        f"STAC API {url}: cannot be reached or is not a STAC API (no answer within the timeout of 1 s)"
        in line
    )
    assert elapsed < 15  # 1 s of waiting plus the interpreter's start-up


def test_a_trickling_api_ends_at_the_deadline(api: HostileServer) -> None:
    for slow in (trickle, trickle_headers):  # body bytes, then header bytes, each just in time
        api.routes["/search"] = slow
        started = time.monotonic()
        with pytest.raises(SearchError, match="an answer took over 4 s; not read further"):
            search_client.search_items(spec(api.url, timeout=1))
        assert time.monotonic() - started < 10


def test_503s_with_retry_after_are_retried_then_succeed(api: HostileServer) -> None:
    calls = {"n": 0}

    def flaky(handler: Any, body: bytes) -> None:
        calls["n"] += 1
        if calls["n"] <= 2:
            data = f"{CANARY_TEXT} try later".encode()
            handler.send_response(503)
            handler.send_header("Retry-After", "1")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        else:
            send_json(handler, collection_page([item("S2A_AFTER_503", 1)]))

    api.routes["/search"] = flaky
    started = time.monotonic()
    found = search_client.search_items(spec(api.url))
    assert [i["id"] for i in found] == ["S2A_AFTER_503"]
    assert calls["n"] == 3 and time.monotonic() - started >= 2  # two Retry-After waits of 1 s honoured


def test_connection_resets_are_retried_and_lasting_errors_are_named_by_status_only(
    api: HostileServer,
) -> None:
    import socket
    import struct

    calls = {"n": 0}

    def reset_once(handler: Any, body: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.connection.close()
            handler.close_connection = True
            return
        send_json(handler, collection_page([item("S2A_AFTER_RESET", 1)]))

    api.routes["/search"] = reset_once
    assert [i["id"] for i in search_client.search_items(spec(api.url))] == ["S2A_AFTER_RESET"]
    assert calls["n"] == 2

    def always(status: int) -> Any:
        return lambda h, b: send_json(
            h, {"description": CANARY_TEXT}, status=status, reason=f"{CANARY_TEXT}-REASON"
        )

    api.routes["/search"] = always(500)
    line = one_error_line(cli_search(api.url))
    assert line.endswith("HTTP 500 Internal Server Error (after 0 items)"), line
    api.routes["/search"] = always(429)
    before = api.count("/search")
    started = time.monotonic()
    line = one_error_line(cli_search(api.url))
    assert "HTTP 429 Too Many Requests" in line and api.count("/search") - before == 5  # bounded tries
    assert time.monotonic() - started < 60


def test_a_landing_page_that_is_no_stac_api_is_one_line(api: HostileServer) -> None:
    api.routes["/"] = lambda h, b: send_json(h, {"type": "Nonsense", "description": CANARY_TEXT, "links": 5})
    assert "cannot be reached or is not a STAC API" in one_error_line(cli_search(api.url))
    api.routes["/"] = lambda h, b: send_json(h, [CANARY_TEXT])
    assert "an answer is not a JSON object" in one_error_line(cli_search(api.url))
    api.routes["/"] = lambda h, b: send_json(h, {"x": 1}, status=404)
    assert "HTTP 404 Not Found" in one_error_line(cli_search(api.url))


# --- bad Items among good ones --------------------------------------------------------------------


def test_a_bad_item_among_good_ones_is_skipped_with_a_note(api: HostileServer, tmp_path: Path) -> None:
    items: list[Any] = [
        item("S2A_GOOD_A", 1),
        item("../../etc/passwd", 2),
        item("S2A_BAD_GEOMETRY", 3, geometry={"type": "Polygon", "coordinates": [[[10, 600], [11, 60]]]}),
        item("S2A_NO_HREF", 4, assets={"red": {"type": "image/tiff"}}),
        item("S2A_BAD_PROPERTIES", 5, properties=["x"]),
        "not an item at all",
        item("S2A_GOOD_B", 6),
    ]
    api.pages(lambda n: collection_page(items))
    result = cli_search(api.url, "-o", str(tmp_path / "scenes.json"))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    listed = json.loads((tmp_path / "scenes.json").read_text())
    assert [s["scene_id"] for s in listed["scenes"]] == ["S2A_GOOD_A", "S2A_GOOD_B"]
    lines = messages(result)
    assert (
        "scoresby search: skipped item '../../etc/passwd': id '../../etc/passwd' is not a usable scene id"
        in lines[0]
    )
    assert "skipped item 'S2A_BAD_GEOMETRY': geometry" in lines[1]
    assert "skipped item 'S2A_NO_HREF': asset 'red': href None is not a URL or path" in lines[2]
    assert "skipped item 'S2A_BAD_PROPERTIES': properties ['x'] is not an object" in lines[3]
    assert "skipped item ?: not a STAC Item" in lines[4]
    assert lines[5] == "scoresby search: 2 scenes found, 5 items skipped"
    assert lines[6].startswith("scoresby search: scene list written to")


def test_a_search_block_run_counts_skipped_items_in_its_summary(api: HostileServer, tmp_path: Path) -> None:
    """`scoresby run` with a `search` block: the same path, the skipped count in summary.json."""
    good = item("S2A_MSIL2A_20240601_GOOD", 2, href="https://assets.example.invalid/B04.tif")
    api.pages(lambda n: collection_page([item("S2A_BAD", 1, href="file:///etc/passwd"), "junk", good]))
    block = {
        "run_name": "hostile",
        "products": ["ndvi"],
        "search": {
            "stac": api.url,
            "collections": ["hostile-c"],
            "bbox": [-180, -90, 180, 90],
            "datetime": "2000-01-01/..",
        },
    }
    (tmp_path / "block.json").write_text(json.dumps(block))
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "scoresby.cli",
            "run",
            str(tmp_path / "block.json"),
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in ran.stderr
    assert "skipped item 'S2A_BAD': asset 'red': href 'file:///etc/passwd' is a local file" in ran.stderr
    assert "the search skipped 2 items (notes above)" in ran.stderr
    summary = json.loads((tmp_path / "out" / "hostile" / "summary.json").read_text())
    assert summary["search"]["skipped"] == 2 and len(summary["search"]["notes"]) == 2
    assert [s["scene_id"] for s in summary["scenes"]] == ["S2A_MSIL2A_20240601_GOOD"]


def test_a_retry_after_beyond_the_cap_is_not_waited(api: HostileServer) -> None:
    def busy(handler: Any, body: bytes) -> None:
        handler.send_response(503)
        handler.send_header("Retry-After", "86400")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    api.routes["/search"] = busy
    started = time.monotonic()
    with pytest.raises(SearchError, match="HTTP 503 Service Unavailable"):
        search_client.search_items(spec(api.url))
    assert time.monotonic() - started < 10 and api.count("/search") == 1


def test_a_compressed_bomb_is_refused_with_memory_bounded(api: HostileServer) -> None:
    import zlib

    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip: 512 MiB of spaces in about half a MiB
    block = b" " * (1024 * 1024)
    bomb = b"".join(squeeze.compress(block) for _ in range(512)) + squeeze.flush()

    def send_bomb(handler: Any, body: bytes) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(bomb)))
        handler.end_headers()
        try:
            handler.wfile.write(bomb)
        except OSError:
            return

    api.routes["/search"] = send_bomb
    tracemalloc.start()
    try:
        with pytest.raises(SearchError, match="an answer over 33554432 bytes"):
            search_client.search_items(spec(api.url))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(bomb) < 4 * 1024 * 1024 and peak < 48 * 1024 * 1024, peak


def test_items_with_unreadable_times_or_a_repeated_id_are_skipped(api: HostileServer) -> None:
    later = item("S2A_TWICE", 9)
    items = [
        item("S2A_TWICE", 1),
        item("S2A_BAD_TIME", 2, properties={"datetime": "yesterday"}),
        item("S2A_BAD_UPDATED", 3, properties={"datetime": "2024-06-03T10:00:00Z", "updated": {"a": 1}}),
        later,
    ]
    api.pages(lambda n: collection_page(items))
    found = search_client.search_items(spec(api.url))
    assert [i["properties"]["datetime"] for i in found] == ["2024-06-01T10:00:00Z"]
    assert found.skipped == [
        "skipped item 'S2A_BAD_TIME': properties.datetime 'yesterday' is not an ISO 8601 time",
        "skipped item 'S2A_BAD_UPDATED': properties.updated {'a': 1} is not an ISO 8601 time",
        "skipped item 'S2A_TWICE': its id is that of an earlier item (the first is listed)",
    ]


def test_a_watch_round_takes_the_same_path(api: HostileServer, canary: HostileServer, tmp_path: Path) -> None:
    """`scoresby watch --once`: bad Items skipped with a note; paging off-origin fails the round."""
    watch = {
        "run_name": "hostile-watch",
        "products": ["ndvi"],
        "search": {
            "stac": api.url,
            "collections": ["hostile-c"],
            "bbox": [-180, -90, 180, 90],
            "datetime": "2000-01-01/..",
        },
    }
    (tmp_path / "watch.json").write_text(json.dumps(watch))
    command = [sys.executable, "-m", "scoresby.cli", "watch", str(tmp_path / "watch.json")]
    command += ["--once", "--output", str(tmp_path / "out")]
    api.pages(lambda n: collection_page([item("S2A_LOCAL", 1, href="/etc/passwd")]))
    quiet = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and "Traceback" not in quiet.stderr, quiet.stderr
    assert "skipped item 'S2A_LOCAL': asset 'red': href '/etc/passwd' is a local file" in quiet.stderr
    api.pages(lambda n: collection_page([item("S2A_W1", 1)], f"{canary.url}/steal", method="GET"))
    failed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr, failed.stderr
    line = next(x for x in failed.stderr.splitlines() if "round failed" in x)
    assert "round failed (SearchError): STAC API" in line and "off its origin" in line
    assert canary.requests == []


def test_a_search_limit_above_the_item_bound_raises_the_bounds() -> None:
    block = {"stac": "earth-search", "collections": ["c"], "bbox": [0, 0, 1, 1], "datetime": "2020-01-01/.."}
    default = search_client.limits_of(check_search(block, "search", []))  # type: ignore[arg-type]
    assert (default.max_items, default.max_pages, default.timeout_s) == (20_000, 1_000, 30.0)
    big = search_client.limits_of(check_search({**block, "limit": 50_000, "timeout": 5}, "search", []))  # type: ignore[arg-type]
    assert (big.max_items, big.max_pages, big.timeout_s) == (50_000, 1_000, 5.0)
    assert big.max_total_bytes == 50_000 * 64 * 1024
