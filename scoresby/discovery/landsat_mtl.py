"""Landsat MTL metadata (ODL text, JSON or XML) parsed into groups, and the values discovery needs from it."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # noqa: S405 - parsed with entities refused, see _parse_xml
from dataclasses import dataclass
from typing import Any

from scoresby.sensors import name_for_metadata

# One ODL line: `KEY = VALUE`; values are quoted strings, numbers, dates or times.
_ODL_LINE = re.compile(r"^\s*(?P<key>[A-Za-z0-9_]+)\s*=\s*(?P<value>.*?)\s*$")

# Collection 2 keeps the Level-2 and the Level-1 rescaling under the same key names in different groups,
# so a flat key lookup would mix them up: each level names the groups to search, in order.
_REFLECTANCE_GROUPS = {
    "L2": ("LEVEL2_SURFACE_REFLECTANCE_PARAMETERS",),
    "L1": ("LEVEL1_RADIOMETRIC_RESCALING", "RADIOMETRIC_RESCALING"),
}
_ACQUISITION_GROUPS = ("IMAGE_ATTRIBUTES", "PRODUCT_METADATA")


class MtlError(ValueError):
    """An MTL file cannot be parsed; the message says where and why."""


@dataclass(frozen=True)
class Mtl:
    """A parsed MTL: its root group name and its groups, each a flat key → string value mapping."""

    root: str
    groups: dict[str, dict[str, str]]

    @property
    def is_collection2(self) -> bool:
        """True for Collection-2 MTL files (root LANDSAT_METADATA_FILE), False for pre-collection ones."""
        return self.root == "LANDSAT_METADATA_FILE"

    def get(self, key: str, groups: tuple[str, ...] = ()) -> str | None:
        """The value of `key` in the first of `groups` holding it, or in any group when `groups` is empty."""
        for name in groups or tuple(self.groups):
            value = self.groups.get(name, {}).get(key)
            if value is not None:
                return value
        return None

    def sensor(self) -> str | None:
        """Sensor name from SPACECRAFT_ID and SENSOR_ID (landsat-5, landsat-5-mss ...), None if unknown.

        The instrument decides as much as the spacecraft: Landsat 4 and 5 carried both TM and MSS.
        """
        spacecraft = self.get("SPACECRAFT_ID", _ACQUISITION_GROUPS)
        return name_for_metadata(spacecraft, self.instrument()) if spacecraft else None

    def instrument(self) -> str | None:
        """The raw SENSOR_ID value (TM, ETM, OLI_TIRS, MSS ...)."""
        return self.get("SENSOR_ID", _ACQUISITION_GROUPS)

    def spacecraft(self) -> str | None:
        """The raw SPACECRAFT_ID value."""
        return self.get("SPACECRAFT_ID", _ACQUISITION_GROUPS)

    def acquisition_time(self) -> str | None:
        """DATE_ACQUIRED and SCENE_CENTER_TIME joined as ISO 8601 text (not normalised), None if absent."""
        date = self.get("DATE_ACQUIRED", _ACQUISITION_GROUPS)
        if not date:
            return None
        time = self.get("SCENE_CENTER_TIME", _ACQUISITION_GROUPS) or "00:00:00Z"
        return f"{date}T{time}"

    def reflectance_rescaling(self, level: str, band_number: int) -> tuple[float, float] | None:
        """(REFLECTANCE_MULT_BAND_n, REFLECTANCE_ADD_BAND_n) for level "L1" or "L2", None when not given."""
        groups = _REFLECTANCE_GROUPS[level]
        mult = self.get(f"REFLECTANCE_MULT_BAND_{band_number}", groups)
        add = self.get(f"REFLECTANCE_ADD_BAND_{band_number}", groups)
        if mult is None or add is None:
            return None
        try:
            return float(mult), float(add)
        except ValueError as exc:
            raise MtlError(
                f"REFLECTANCE_MULT/ADD_BAND_{band_number} are not numbers: {mult!r}, {add!r}"
            ) from exc


def parse_mtl(text: str, *, is_json: bool = False, is_xml: bool = False) -> Mtl:
    """Parse MTL text (ODL `GROUP = ...` form, the JSON form or the XML form); raises MtlError."""
    if is_xml:
        return _parse_xml(text)
    return _parse_json(text) if is_json else _parse_odl(text)


def mtl_kind(name: str) -> dict[str, bool]:
    """The parse_mtl flags for an MTL file name (_MTL.json, _MTL.xml, else ODL text)."""
    lower = name.lower()
    return {"is_json": lower.endswith(".json"), "is_xml": lower.endswith(".xml")}


def _parse_xml(text: str) -> Mtl:
    # A DTD could declare entities (billion laughs, external files): an MTL never has one.
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise MtlError("XML with a DOCTYPE or ENTITY declaration is not allowed")
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DTD (checked above), so no entity expansion
    except ET.ParseError as exc:
        raise MtlError(f"not valid XML: {exc}") from exc
    groups: dict[str, dict[str, str]] = {}
    for group in root:
        if len(group):
            groups[group.tag] = {leaf.tag: (leaf.text or "").strip() for leaf in group if not len(leaf)}
    if not groups:
        raise MtlError(f"root {root.tag!r} holds no groups")
    return Mtl(root=root.tag, groups=groups)


def _parse_json(text: str) -> Mtl:
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MtlError(f"not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or len(doc) != 1:
        raise MtlError("expected one root object such as LANDSAT_METADATA_FILE")
    root, body = next(iter(doc.items()))
    if not isinstance(body, dict):
        raise MtlError(f"root {root!r} is not an object")
    groups: dict[str, dict[str, str]] = {}
    for name, group in body.items():
        if isinstance(group, dict):
            groups[name] = {k: str(v) for k, v in group.items() if not isinstance(v, dict | list)}
    if not groups:
        raise MtlError(f"root {root!r} holds no groups")
    return Mtl(root=root, groups=groups)


def _parse_odl(text: str) -> Mtl:
    stack: list[str] = []
    root: str | None = None
    groups: dict[str, dict[str, str]] = {}
    ended = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or ended:
            continue
        if line.strip() == "END":
            ended = True
            continue
        match = _ODL_LINE.match(line)
        if not match:
            # The line itself is not quoted: a symlinked "MTL" must not carry another file's text into logs.
            raise MtlError(f"line {number} is not 'KEY = VALUE'")
        key, value = match.group("key"), match.group("value")
        if key == "GROUP":
            if root is None:
                root = value
            stack.append(value)
            groups.setdefault(value, {})
        elif key == "END_GROUP":
            if not stack or stack[-1] != value:
                raise MtlError(f"line {number}: END_GROUP does not close the open group")
            stack.pop()
        elif not stack:
            raise MtlError(f"line {number}: {key} outside any GROUP")
        else:
            groups[stack[-1]][key] = value.strip('"')
    if root is None:
        raise MtlError("no GROUP found")
    if stack:
        raise MtlError(f"group {stack[-1]} is never closed (END_GROUP missing)")
    return Mtl(root=root, groups=groups)
