"""What a sensor is to Scoresby: band roles, QA decoding, place key and limits, as data (stdlib only)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

ROLES = ("coastal", "blue", "green", "red", "nir", "nir_narrow", "nir1", "nir2", "swir1", "swir2", "pan")
"""Band roles a product or a statistic may ask a sensor for (`qa` is the sensor's `qa.band`)."""

ROLE_FALLBACKS: Mapping[str, str] = {"nir_narrow": "nir"}
"""A role a sensor lacks that another role stands in for (a sensor without a narrow NIR uses its NIR)."""


@dataclass(frozen=True)
class QaBits:
    """How a quality band is decoded, as data: bit numbers (kind "bits") or class values (kind "classes").

    `nodata` is what the band holds outside its footprint (and what the warper fills in there).
    """

    band: str
    kind: Literal["bits", "classes"]
    nodata: int
    fill: tuple[int, ...]
    cloud: tuple[int, ...]
    dilated: tuple[int, ...] = ()
    shadow: tuple[int, ...] = ()
    cirrus: tuple[int, ...] = ()
    snow: tuple[int, ...] = ()
    water: tuple[int, ...] = ()


@dataclass(frozen=True)
class Sensor:
    """One sensor family: the scene `sensor` names it owns and everything specific to it.

    `roles` maps a role to the band name discovery gives (`SceneFiles.bands` keys); `file_bands` maps, per
    sensor name, a file's band number to that band name when the files number bands otherwise (Landsat TM
    B3 is red, catalogued as OLI's B4). `to_oli` holds harmonisation coefficients to Landsat 8 OLI surface
    reflectance per role, OLI = a + b * x, or None when there are none. `common_names` maps STAC
    `eo:common_name`s to band names; `level_patterns` (regex on a STAC Item's id and collection, level) the
    first match of which is the level; `rescaling` is DN -> reflectance when no metadata says; `band_file`
    (a pattern with a `band` group) lets generic discovery find the files of a sensor without its own;
    `layout` names the file layout with a discovery module of its own that its scenes come in ("landsat":
    product folders with an MTL, "sentinel-2": tiles and SAFE with an MTD), None for `band_file` sensors.
    """

    key: str
    title: str
    names: tuple[str, ...]
    constellation: str
    instruments: tuple[str, ...]
    roles: Mapping[str, str]
    max_pixels: int
    full_scene_px: int
    qa: QaBits | None = None
    substitutes: Mapping[str, str] = field(default_factory=dict)
    file_bands: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    platforms: Mapping[str, str] = field(default_factory=dict)
    metadata_ids: Mapping[str, str] = field(default_factory=dict)
    id_name: Callable[[str], str | None] | None = None
    place_key: Callable[[str], str | None] | None = None
    search: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    to_oli: Mapping[str, tuple[float, float]] | None = None
    common_names: Mapping[str, str] = field(default_factory=dict)
    level_patterns: tuple[tuple[str, str], ...] = (("", "L1"),)
    band_file: re.Pattern[str] | None = None
    rescaling: tuple[float, float] = (1.0, 0.0)
    layout: str | None = None

    def band_for(self, role: str, available: tuple[str, ...] | None = None) -> str | None:
        """The band that plays `role` (among `available` when given, with substitutes), or None."""
        band = self.roles.get(role)
        if band is None and role in ROLE_FALLBACKS:
            band = self.roles.get(ROLE_FALLBACKS[role])
        if band is None or available is None or band in available:
            return band
        stand_in = self.substitutes.get(band)
        return stand_in if stand_in in available else band

    def bands_for(
        self, roles: tuple[str, ...], available: tuple[str, ...]
    ) -> tuple[tuple[str, ...], list[str]]:
        """Bands for `roles` among `available`, and the roles this sensor has no band for at all."""
        bands: list[str] = []
        missing: list[str] = []
        for role in roles:
            band = self.band_for(role, available)
            if band is None:
                missing.append(role)
            else:
                bands.append(band)
        return tuple(bands), missing

    def level_of(self, text: str) -> str:
        """The processing level a STAC Item's id and collection name say."""
        return next((level for pattern, level in self.level_patterns if re.search(pattern, text, re.I)), "")

    def platform(self, name: str) -> str:
        """The STAC `platform` of a sensor name (the name itself unless the sensor says otherwise)."""
        return self.platforms.get(name, name)

    def place(self, scene_id: str) -> str | None:
        """The place key of a scene id of this sensor (`wrs2-PPPRRR`, `mgrs-ZZBBB` ...), None if not one."""
        return self.place_key(scene_id) if self.place_key else None

    def name_for_id(self, scene_id: str) -> str | None:
        """The sensor name a scene id says, None when it is not one of this sensor's ids."""
        return self.id_name(scene_id) if self.id_name else None
