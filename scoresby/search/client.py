"""Run a validated search against a STAC API (pystac-client), page by page, and turn items into scenes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from scoresby.core.errors import PipelineError
from scoresby.core.search import SearchSpec

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # items per request; the API may send fewer


class SearchError(PipelineError):
    """The STAC API could not be searched: unreachable, an unknown collection, a refused query."""


def open_client(spec: SearchSpec) -> Any:
    """The pystac-client Client of `spec.stac`; SearchError when it cannot be reached or is no STAC API."""
    from pystac_client import Client
    from pystac_client.exceptions import APIError

    try:
        return Client.open(spec.stac)
    except (APIError, OSError, ValueError) as exc:
        raise SearchError(
            f"STAC API {spec.stac}: cannot be reached or is not a STAC API ({_short(exc)})"
        ) from exc


def conforms_to(client: Any) -> list[str]:
    """The conformance classes the API's landing page declares."""
    return [str(c) for c in client.get_conforms_to()]


def search_items(
    spec: SearchSpec,
    progress: Callable[[int], None] | None = None,
    *,
    query: dict[str, Any] | None = None,
    client: Any = None,
) -> list[dict[str, Any]]:
    """Every item matching `spec` (and `query`, the query extension's) as raw JSON, oldest first."""
    from pystac_client.exceptions import APIError

    client = client or open_client(spec)
    _check_collections(client, spec)
    query = dict(query or {})
    if spec.max_cloud is not None:
        query["eo:cloud_cover"] = {"lte": spec.max_cloud}
    search = client.search(
        collections=list(spec.collections),
        bbox=list(spec.bbox) if spec.bbox else None,
        intersects=spec.intersects,
        datetime=spec.datetime,
        query=query or None,
        max_items=spec.limit,
        limit=min(PAGE_SIZE, spec.limit or PAGE_SIZE),
    )
    items: list[dict[str, Any]] = []
    try:
        for page in _pages(search):
            items.extend(page)
            if progress is not None:
                progress(len(items))
    except (APIError, OSError) as exc:
        raise SearchError(
            f"STAC API {spec.stac}: the search failed after {len(items)} items ({_short(exc)})"
        ) from exc
    if spec.limit is not None:
        items = items[: spec.limit]
    # Oldest first, ties by id, so a list (and a watch's rounds) is stable whatever order the API pages in.
    return sorted(items, key=lambda i: (str(i.get("properties", {}).get("datetime") or ""), str(i.get("id"))))


def scene_from_item(item: dict[str, Any]) -> dict[str, Any]:
    """A scene object for one item: its https self URL as the source, else the item inline."""
    self_href = next((link.get("href") for link in item.get("links", []) if link.get("rel") == "self"), None)
    if isinstance(self_href, str) and self_href.startswith("https://"):
        return {"scene_id": item["id"], "source": self_href}
    return {"scene_id": item["id"], "item": item}


def _pages(search: Any) -> Iterator[list[dict[str, Any]]]:
    for page in search.pages_as_dicts():
        yield list(page.get("features", []))


def _check_collections(client: Any, spec: SearchSpec) -> None:
    """Name a collection the API does not have, with the ones it has, before searching."""
    from pystac_client.exceptions import APIError

    try:
        known = {c.id for c in client.get_collections()}
    except (APIError, OSError) as exc:
        raise SearchError(f"STAC API {spec.stac}: cannot list its collections ({_short(exc)})") from exc
    missing = [c for c in spec.collections if c not in known]
    if missing:
        raise SearchError(
            f"STAC API {spec.stac}: no collection {', '.join(repr(m) for m in missing)}; "
            f"allowed: {', '.join(sorted(known)) or 'none'}"
        )


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
