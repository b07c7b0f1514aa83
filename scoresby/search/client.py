"""Run a validated search against a STAC API (pystac-client), page by page, and turn items into scenes."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from scoresby.core.catalogue_items import item_problem, self_href
from scoresby.core.checks import show
from scoresby.core.href_policy import allow_list
from scoresby.core.search import SearchSpec
from scoresby.search.errors import SearchError

if TYPE_CHECKING:
    from scoresby.search.safe_io import Limits

__all__ = ["SearchError", "SearchResult", "conforms_to", "open_client", "scene_from_item", "search_items"]

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # items per request; the API may send fewer


class SearchResult(list[dict[str, Any]]):
    """The items a search listed, oldest first, with a one-line note for each Item it skipped."""

    def __init__(self, items: list[dict[str, Any]], skipped: list[str]) -> None:
        super().__init__(items)
        self.skipped = skipped


def limits_of(spec: SearchSpec) -> Limits:
    """The bounds of a search (safe_io.Limits): its timeout; a `limit` above the item bound raises them."""
    from scoresby.search.safe_io import Limits

    limits = Limits() if spec.timeout is None else Limits(timeout_s=spec.timeout)
    if spec.limit is not None and spec.limit > limits.max_items:  # the user asked for that many: allow them
        limits = dataclasses.replace(
            limits,
            max_items=spec.limit,
            max_pages=max(limits.max_pages, 2 * -(-spec.limit // PAGE_SIZE)),
            max_total_bytes=max(limits.max_total_bytes, spec.limit * 64 * 1024),
        )
    return limits


def open_client(spec: SearchSpec) -> Any:
    """The pystac-client Client of `spec.stac`; SearchError when it cannot be reached or is no STAC API."""
    from pystac_client import Client

    from scoresby.search.safe_io import CatalogueIO  # the HTTP stack, loaded when a search runs

    try:
        return Client.open(spec.stac, stac_io=CatalogueIO(spec.stac, limits_of(spec)))
    except SearchError as exc:
        reason = str(exc).removeprefix(f"STAC API {spec.stac}: ")
    except Exception as exc:  # whatever pystac makes of a hostile landing page: named by type, never echoed
        reason = type(exc).__name__
    raise SearchError(f"STAC API {spec.stac}: cannot be reached or is not a STAC API ({reason})")


def conforms_to(client: Any) -> list[str]:
    """The conformance classes the API's landing page declares (none when it declares nonsense)."""
    try:
        return [str(c)[:300] for c in client.get_conforms_to()]
    except Exception:  # noqa: BLE001 - a hostile landing page's field: treated as declaring nothing
        return []


def search_items(
    spec: SearchSpec,
    progress: Callable[[int], None] | None = None,
    *,
    query: dict[str, Any] | None = None,
    client: Any = None,
) -> SearchResult:
    """Every item matching `spec` (and `query`, the query extension's) as raw JSON, oldest first.

    Items a catalogue may not send (a bad id, geometry or asset: core/catalogue_items.py) are left out,
    each with a one-line note in the result's `skipped` (and the log).
    """
    client = client or open_client(spec)
    _check_collections(client, spec)
    query = dict(query or {})
    if spec.max_cloud is not None:
        query["eo:cloud_cover"] = {"lte": spec.max_cloud}
    items: list[dict[str, Any]] = []
    try:
        search = client.search(
            collections=list(spec.collections),
            bbox=list(spec.bbox) if spec.bbox else None,
            intersects=spec.intersects,
            datetime=spec.datetime,
            query=query or None,
            max_items=spec.limit,
            limit=min(PAGE_SIZE, spec.limit or PAGE_SIZE),
        )
        for page in _pages(search):
            items.extend(page)
            if progress is not None:
                progress(len(items))
    except SearchError as exc:
        raise SearchError(f"{exc} (after {len(items)} items)") from exc
    except Exception as exc:  # pystac-client on a malformed page: named by type, the server's text not echoed
        raise SearchError(
            f"STAC API {spec.stac}: the search failed after {len(items)} items ({type(exc).__name__})"
        ) from exc
    if spec.limit is not None:
        items = items[: spec.limit]
    kept, skipped = _checked(items, allow_list(spec.allow_hosts))
    # Oldest first, ties by id, so a list (and a watch's rounds) is stable whatever order the API pages in.
    kept.sort(key=lambda i: (str(i["properties"].get("datetime") or ""), str(i["id"])))
    return SearchResult(kept, skipped)


def scene_from_item(item: dict[str, Any], api: str | None = None) -> dict[str, Any]:
    """A scene object for one item: its https self URL (on the API's origin) as the source, else inline."""
    from scoresby.search.safe_io import origin

    href = self_href(item)
    on_api = api is None or (href is not None and origin(href) == origin(api))
    if href is not None and href.startswith("https://") and on_api:
        return {"scene_id": item["id"], "source": href}
    return {"scene_id": item["id"], "item": item}


def _checked(items: list[Any], allow_hosts: tuple[str, ...]) -> tuple[list[dict[str, Any]], list[str]]:
    """The items a catalogue may send, and a one-line note naming each one it may not."""
    kept: list[dict[str, Any]] = []
    skipped: list[str] = []
    ids: set[str] = set()
    for item in items:
        problem = item_problem(item, allow_hosts=allow_hosts)
        if problem is None and item["id"] in ids:
            problem = "its id is that of an earlier item (the first is listed)"
        if problem is None:
            kept.append(item)
            ids.add(item["id"])
            continue
        name = show(item.get("id")) if isinstance(item, dict) else "?"
        skipped.append(f"skipped item {name}: {problem}")
        log.warning("%s", skipped[-1])
    return kept, skipped


def _pages(search: Any) -> Iterator[list[Any]]:
    for page in search.pages_as_dicts():
        features = page.get("features")
        yield list(features) if isinstance(features, list) else []


def _check_collections(client: Any, spec: SearchSpec) -> None:
    """Name a collection the API does not have, with the ones it has, before searching."""
    try:
        known = {str(c.id) for c in client.get_collections()}
    except SearchError as exc:
        raise SearchError(f"{exc} (listing its collections)") from exc
    except Exception as exc:  # a malformed collection: named by type, the server's text not echoed
        kind = type(exc).__name__
        raise SearchError(f"STAC API {spec.stac}: cannot list its collections ({kind})") from exc
    missing = [c for c in spec.collections if c not in known]
    if missing:
        raise SearchError(
            f"STAC API {spec.stac}: no collection {', '.join(repr(m) for m in missing)}; "
            f"allowed: {_names(sorted(known))}"
        )


def _names(known: list[str]) -> str:
    """The API's collection ids for a message (odd ones quoted and cut), at most 20 of them."""
    plain = re.compile(r"[A-Za-z0-9._:-]{1,80}")
    shown = [k if plain.fullmatch(k) else show(k) for k in known[:20]]
    more = f" and {len(known) - 20} more" if len(known) > 20 else ""
    return ", ".join(shown) + more if shown else "none"
