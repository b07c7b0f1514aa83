"""Scene ids: given, or derived from a source's last path component (blog cells: tile and date)."""

from __future__ import annotations

import re
from typing import Any

from scoresby.core.checks import show
from scoresby.core.layout import name_problem
from scoresby.core.locations import FILE_SUFFIXES, SCHEME_PATTERN

# Blog folders: .../tiles/<utm zone>/<latitude band>/<grid square>/<yyyy>/<m>/<d>/<sequence>/...
BLOG_TILE_PATTERN = re.compile(r"/tiles/(\d{1,2})/([A-Z])/([A-Z]{2})/(?:(\d{4})/(\d{1,2})/(\d{1,2})/)?")


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


def label_scene_id(raw_source: Any, date: Any, blog: bool) -> str | None:
    """An id to name a scene by in messages, derived from its source even when that source was rejected."""
    if not isinstance(raw_source, str) or not raw_source.strip():
        return None
    if blog:
        good_date = date if isinstance(date, str) and re.fullmatch(r"\d{8}", date) else None
        return derive_blog_scene_id(raw_source, good_date)
    derived = derive_scene_id(raw_source)
    return derived if name_problem(derived, "scene id") is None else None


def scene_id_of(
    raw: dict[str, Any], source: str | None, blog: bool, prefix: str, problems: list[str]
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
    if blog:
        date = raw.get("date")
        if date is not None and not (isinstance(date, str) and re.fullmatch(r"\d{8}", date)):
            problems.append(f"{prefix}date: {show(date)} is not allowed; allowed: YYYYMMDD, e.g. '20200801'")
            return None
        # Tile path and date first; a local folder (no tiles/ path to read) is named by its last component.
        derived = derive_blog_scene_id(source, date)
        if derived is None and SCHEME_PATTERN.match(source) is None:
            derived = fallback_scene_id(source)
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


def fallback_scene_id(source: str) -> str | None:
    """The last path component of a source when it is a valid scene id, else None."""
    derived = derive_scene_id(source)
    return derived if name_problem(derived, "scene id") is None else None
