"""pystac-client's StacApiIO made safe for an untrusted STAC API: one origin, bounded, retrying, quiet.

Every request stays on the API's origin (scheme, host, port); redirects and `next` links elsewhere end the
search. Responses are streamed and refused beyond a size; requests time out; paging ends at a loop or a
bound. 429/502/503/504 and connection resets are retried by urllib3's Retry (Retry-After honoured, capped).
No text a server sends reaches an error message: only the status code and its standard phrase.
"""

from __future__ import annotations

import http
import json
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Self

from pystac import Link
from pystac_client.stac_api_io import StacApiIO
from requests import Request, RequestException, Response
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import InvalidHeader, MaxRetryError, ReadTimeoutError
from urllib3.util.retry import Retry

from scoresby.search.errors import SearchError
from scoresby.search.watchdog import Watchdog, watched_pools

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The bounds of one search against one STAC API (docs/SCENE-LISTS.md, "Searching a STAC API")."""

    timeout_s: float = 30.0  # connect and read timeout of each request
    max_page_bytes: int = 32 * MiB  # one response, streamed and refused beyond this
    max_total_bytes: int = 512 * MiB  # every response of one search together
    max_pages: int = 1_000
    max_items: int = 20_000
    tries: int = 5  # attempts of one request on 429/502/503/504 and connection resets
    retry_after_max_s: int = 60  # a longer Retry-After is waited this long, not longer
    max_redirects: int = 5


class _Retry(Retry):
    """urllib3's Retry, except that a read timeout is final (a silent API is not asked again and again)."""

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Self:
        """One more failure; a read timeout is raised at once, a Retry-After over the cap ends retrying."""
        if isinstance(error, ReadTimeoutError):
            raise error
        asked = "" if response is None else str(response.headers.get("Retry-After", "")).strip()
        if asked.isdigit() and int(asked) > self.retry_after_max:
            # Waiting less than asked would only be refused again: the answer stands (reported by status).
            raise MaxRetryError(_pool, url or "", None)
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def get_retry_after(self, response: Any) -> float | None:
        """The Retry-After wait (capped by urllib3 at retry_after_max); a malformed one means no wait."""
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None


def make_retry(limits: Limits) -> Retry:
    """The Retry of every request: bounded tries with backoff, Retry-After honoured up to its cap."""
    return _Retry(
        total=limits.tries - 1,
        connect=limits.tries - 1,
        read=limits.tries - 1,
        status=limits.tries - 1,
        redirect=0,
        other=0,
        status_forcelist=(429, 502, 503, 504),
        allowed_methods=frozenset({"GET", "POST", "HEAD"}),  # a search POST changes nothing: safe to repeat
        backoff_factor=0.5,
        backoff_max=10,
        respect_retry_after_header=True,
        retry_after_max=limits.retry_after_max_s,
        raise_on_status=False,  # the last answer is returned, and reported by its status alone
        raise_on_redirect=False,
    )


def origin(url: str) -> str:
    """scheme://host:port of a URL (the default port written out), the unit paging must stay within."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower(), 0)
    except ValueError:
        port = -1
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}"


def status_text(code: int) -> str:
    """HTTP status code and its standard phrase (never the server's own words)."""
    try:
        return f"HTTP {code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


class CatalogueIO(StacApiIO):
    """StacApiIO over a requests session with urllib3's Retry, locked to one origin and bounded."""

    def __init__(self, api: str, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        timeout = (self.limits.timeout_s, self.limits.timeout_s)
        super().__init__(timeout=timeout, max_retries=make_retry(self.limits))
        self.api = api
        self.origin = origin(api)
        self.bytes_read = 0
        self.session.max_redirects = self.limits.max_redirects
        pools = watched_pools()
        for adapter in self.session.adapters.values():  # StacApiIO mounted them with the Retry
            adapter.poolmanager.pool_classes_by_scheme = pools  # type: ignore[attr-defined]

    def update(
        self,
        headers: dict[str, str] | None = None,
        parameters: dict[str, Any] | None = None,
        request_modifier: Any = None,
        timeout: Any = None,
    ) -> None:
        """As StacApiIO's, except that the timeout is kept (Client.open passes None)."""
        super().update(headers, parameters, request_modifier, timeout or self.timeout)

    def read_text(self, source: Any, *args: Any, **kwargs: Any) -> str:
        """Only URLs on the API's origin are read; a link to a local path is refused, not opened."""
        href = str(source.get_href() or "") if isinstance(source, Link) else str(source)
        if not isinstance(source, Link) and not href.lower().startswith(("http://", "https://")):
            raise SearchError(f"STAC API {self.api}: a link names {href[:80]!r}, not a URL of the API")
        return super().read_text(source, *args, **kwargs)

    def read_json(self, source: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The response as a JSON object; SearchError (no server text) when it is not one."""
        text = self.read_text(source, *args, **kwargs)
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise SearchError(f"STAC API {self.api}: an answer is not JSON") from exc
        if not isinstance(value, dict):
            raise SearchError(f"STAC API {self.api}: an answer is not a JSON object")
        return value

    def request(
        self,
        href: str,
        method: str | None = None,
        headers: dict[str, str] | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> str:
        """One request on the API's origin: retried by the adapter, redirects checked, body size-capped."""
        self._check_origin(href)
        method = (method or "GET").upper()
        if method in ("POST", "PUT", "PATCH"):
            request = Request(method=method, url=href, headers=headers, json=parameters)
        else:
            request = Request(method=method, url=href, headers=headers, params=dict(parameters or {}))
        prepped = self.session.prepare_request(request)
        watchdog = Watchdog(4 * self.limits.timeout_s)
        Watchdog.current.watchdog = watchdog
        try:
            for _ in range(self.limits.max_redirects + 1):
                # The environment's proxies and CA bundle, as StacApiIO.request takes them.
                settings = self.session.merge_environment_settings(str(prepped.url), {}, None, True, None)
                settings.update(stream=True)
                response = self.session.send(prepped, timeout=self.timeout, allow_redirects=False, **settings)
                if not response.is_redirect:
                    return self._body(response, watchdog)
                target = urllib.parse.urljoin(str(prepped.url), response.headers.get("location", ""))
                response.close()
                self._check_origin(target, redirect=True)
                prepped = prepped.copy()
                prepped.prepare_url(target, None)
                if response.status_code in (301, 302, 303) and prepped.method != "GET":
                    prepped.method, prepped.body = "GET", None
                    prepped.headers.pop("Content-Length", None)
                    prepped.headers.pop("Content-Type", None)
        except (RequestException, Urllib3Error, OSError) as exc:
            if watchdog.expired:
                raise SearchError(f"STAC API {self.api}: {self._too_slow()}") from exc
            raise SearchError(f"STAC API {self.api}: {_network_reason(exc, self.limits)}") from exc
        finally:
            watchdog.disarm()
            Watchdog.current.watchdog = None
        raise SearchError(f"STAC API {self.api}: more than {self.limits.max_redirects} redirects")

    def get_pages(
        self, url: str, method: str | None = None, parameters: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """The pages of a paging endpoint (/search, /collections), ended by a loop guard and the bounds."""
        seen_links: set[str] = set()
        seen_ids: set[str] = set()
        pages = items = 0
        page = self.read_json(url, method=method, parameters=parameters)
        while True:
            pages += 1
            entries = page.get("features") if "features" in page else page.get("collections")
            if entries is None or entries == []:
                return
            if not isinstance(entries, list):
                raise SearchError(f"STAC API {self.api}: page {pages} holds no list of features")
            ids = {json.dumps([e.get("collection"), e.get("id")]) for e in entries if isinstance(e, dict)}
            if ids and ids <= seen_ids:
                raise SearchError(
                    f"STAC API {self.api}: page {pages} repeats the items of earlier pages; paging ended"
                )
            seen_ids |= ids
            items += len(entries)
            if items > self.limits.max_items or pages > self.limits.max_pages:
                raise SearchError(
                    f"STAC API {self.api}: more than {self.limits.max_items} items or "
                    f"{self.limits.max_pages} pages in one search; narrow the search or set limit"
                )
            yield page
            link = _next_link(page, self.api)
            if link is None:
                return
            key = json.dumps([link.get("href"), link.get("method"), link.get("body")], sort_keys=True)
            if key in seen_links:
                raise SearchError(
                    f"STAC API {self.api}: page {pages}'s next link was followed before; paging ended"
                )
            seen_links.add(key)
            self._check_origin(str(link["href"]))
            page = self.read_json(Link.from_dict(link), parameters=parameters)

    def _too_slow(self) -> str:
        return f"an answer took over {4 * self.limits.timeout_s:g} s; not read further"

    def _check_origin(self, href: str, *, redirect: bool = False) -> None:
        """SearchError naming both origins when `href` is not on the API's origin."""
        target = origin(href)
        if target != self.origin:
            what = "redirects" if redirect else "links"
            raise SearchError(
                f"STAC API {self.api}: it {what} to {target}, off its origin {self.origin}; not followed"
            )

    def _body(self, response: Response, watchdog: Watchdog) -> str:
        """The body of a 2xx response, read within the size caps and a deadline; else SearchError."""
        with response:
            if not 200 <= response.status_code < 300:
                raise SearchError(f"STAC API {self.api}: {status_text(response.status_code)}")
            cap = self.limits.max_page_bytes
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise SearchError(f"STAC API {self.api}: an answer of {declared} bytes, over {cap} bytes")
            # A server that trickles bytes keeps each read under the timeout; the deadline bounds the whole.
            deadline = time.monotonic() + 4 * self.limits.timeout_s
            body = bytearray()
            while True:
                chunk = response.raw.read1(64 * 1024, decode_content=True)
                if not chunk:
                    break
                body += chunk
                self.bytes_read += len(chunk)
                if len(body) > cap:
                    raise SearchError(f"STAC API {self.api}: an answer over {cap} bytes; not read further")
                if self.bytes_read > self.limits.max_total_bytes:
                    raise SearchError(
                        f"STAC API {self.api}: answers over {self.limits.max_total_bytes} bytes in one "
                        "search; narrow the search or set limit"
                    )
                if time.monotonic() > deadline:
                    raise SearchError(f"STAC API {self.api}: {self._too_slow()}")
            if watchdog.expired:  # the watchdog shut the socket: what was read is a cut-off answer
                raise SearchError(f"STAC API {self.api}: {self._too_slow()}")
        try:
            return bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SearchError(f"STAC API {self.api}: an answer is not UTF-8 text") from exc


def _next_link(page: dict[str, Any], api: str) -> dict[str, Any] | None:
    """The page's `next` link, or None; SearchError when it is malformed."""
    links = page.get("links") or []
    if not isinstance(links, list):
        raise SearchError(f"STAC API {api}: a page's links are not a list")
    link = next((x for x in links if isinstance(x, dict) and x.get("rel") == "next"), None)
    if link is not None and not (
        isinstance(link.get("href"), str)
        and isinstance(link.get("body", {}), dict)
        and isinstance(link.get("headers", {}), dict)
    ):
        raise SearchError(f"STAC API {api}: a page's next link is malformed")
    return link


def _network_reason(exc: BaseException, limits: Limits) -> str:
    """Why a request failed, in our words: a timeout, a refused connection, too many retries."""
    text = type(exc).__name__
    if "Timeout" in text:
        return f"no answer within the timeout of {limits.timeout_s:g} s"
    if "Retry" in text or "MaxRetry" in text:
        return f"still failing after {limits.tries} tries"
    if "Connection" in text:
        return f"cannot connect or the connection was reset ({limits.tries} tries)"
    return f"the request failed ({text})"
