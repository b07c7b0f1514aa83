"""Landsat scene ids: Collection 2 product ids and pre-collection scene ids, with their WRS path and row."""

from __future__ import annotations

import re

# LC08_L2SP_226010_20140820_20200911_02_T1 (Collection 2) and LC82260102014232LGN00 (pre-collection): the
# letter after L is the instrument (C OLI/TIRS, O OLI, T TM or TIRS, E ETM+, M MSS), then the mission.
C2_ID = re.compile(
    r"^L(?P<letter>[COTEM])(?P<mission>0[1-9])_(?P<level>L1TP|L1GT|L1GS|L2SP|L2SR)_(?P<path>\d{3})(?P<row>\d{3})_"
    r"(?P<date>\d{8})_\d{8}_\d{2}_(?:T1|T2|RT)$",
    re.IGNORECASE,
)
PRE_ID = re.compile(
    r"^L(?P<letter>[COTEM])(?P<mission>[1-9])(?P<path>\d{3})(?P<row>\d{3})(?P<year>\d{4})(?P<doy>\d{3})"
    r"[A-Z]{3}\d{2}$",
    re.IGNORECASE,
)
# Place keys only need the id's head: `LC08_L2SP_226010_2014...` and `LC82260102014232...`.
_C2_HEAD = re.compile(
    r"^L(?P<letter>[COTEM])(?P<mission>0[1-9])_[A-Z0-9]{4}_(?P<path>\d{3})(?P<row>\d{3})_\d{8}"
)
_PRE_HEAD = re.compile(r"^L(?P<letter>[COTEM])(?P<mission>[1-9])(?P<path>\d{3})(?P<row>\d{3})\d{7}")


def id_parts(scene_id: str) -> tuple[str, int, str, str] | None:
    """(instrument letter, mission number, path, row) of a Landsat id or id head, None if not one."""
    match = _C2_HEAD.match(scene_id) or _PRE_HEAD.match(scene_id)
    if match is None:
        return None
    return match["letter"].upper(), int(match["mission"]), match["path"], match["row"]


class IdNamer:
    """Sensor name from a Landsat id: its instrument letter and mission must both be this sensor's."""

    def __init__(self, letters: str, names: dict[int, str]) -> None:
        self.letters = letters
        self.names = names

    def __call__(self, scene_id: str) -> str | None:
        """The sensor name, or None."""
        parts = id_parts(scene_id)
        if parts is None or parts[0] not in self.letters:
            return None
        return self.names.get(parts[1])


class WrsPlace:
    """Place key of a Landsat id: `wrs1-PPPRRR` for Landsat 1-3 (WRS-1), `wrs2-PPPRRR` for the others."""

    def __init__(self, namer: IdNamer) -> None:
        self.namer = namer

    def __call__(self, scene_id: str) -> str | None:
        """The place key, or None when the id is not this sensor's."""
        parts = id_parts(scene_id)
        if parts is None or self.namer(scene_id) is None:
            return None
        wrs = "wrs1" if parts[1] <= 3 else "wrs2"
        return f"{wrs}-{parts[2]}{parts[3]}"
