"""Where a scene list points: band sources, inline STAC Items and outputs, checked and normalised."""

from __future__ import annotations

import os
import re
from typing import Any

from scoresby.core.checks import show

# Run names and scene ids become folders and file-name prefixes: one rule for both, core.layout.name_problem.
# S3 bucket naming rules (lower case, digits, dots, hyphens; 3-63 characters).
BUCKET_PATTERN = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


SCHEME_PATTERN = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


# A source whose last component ends like this is a file; anything else is a folder-like prefix.
FILE_SUFFIXES = (".json", ".tif", ".tiff", ".jp2", ".xml", ".txt", ".zip")


SOURCE_SCHEMES = ("s3", "https")


SOURCE_ALLOWED = "a local path, s3://bucket/prefix/ or https://host/path/"


def check_item(value: Any, source: Any, prefix: str, problems: list[str]) -> dict[str, Any] | None:
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
    item: dict[str, Any] = value  # a dict with a string id, checked above
    return item


def item_source(item: dict[str, Any]) -> str:
    """What stands for an inline item where a source is shown: its self href, else "item:<id>"."""
    for link in item.get("links") or []:
        href = link.get("href") if isinstance(link, dict) else None
        if isinstance(href, str) and link.get("rel") == "self":
            return href
    return f"item:{item['id']}"


def check_source(value: Any, name: str, base_dir: str | None, prefix: str, problems: list[str]) -> str | None:
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
        return local_path(value, base_dir)
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
    return f"{scheme}://{host}/{folder_like(key)}"


def folder_like(key: str) -> str:
    """A key or path with a trailing "/" unless it names a file (FILE_SUFFIXES) or is empty."""
    if not key or key.endswith("/") or key.lower().endswith(FILE_SUFFIXES):
        return key
    return key + "/"


def local_path(value: str, base_dir: str | None) -> str:
    """An absolute, normalised local path; relative ones are taken from `base_dir` (else the working dir)."""
    path = os.path.expanduser(value)  # noqa: PTH111
    if not os.path.isabs(path):  # noqa: PTH117
        path = os.path.join(base_dir or os.getcwd(), path)  # noqa: PTH109, PTH118
    return os.path.normpath(path)


def check_output(value: Any, name: str, base_dir: str | None, problems: list[str]) -> str | None:
    """Normalise an output: a local folder (absolute) or an s3://bucket/prefix/ ending in "/"."""
    if not isinstance(value, str) or not value.strip():
        problems.append(
            f"{name}: {show(value)} is not allowed; allowed: a local folder or s3://bucket/prefix/"
        )
        return None
    m = SCHEME_PATTERN.match(value)
    if m is None:
        return local_path(value, base_dir)
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
