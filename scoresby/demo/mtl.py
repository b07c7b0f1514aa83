"""The Landsat MTL (ODL) text of the synthetic scenes: one writer for demo, series and benchmark."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from scoresby.core.products import LANDSAT_C2_L2_OFFSET as L2_OFFSET
from scoresby.core.products import LANDSAT_C2_L2_SCALE as L2_SCALE

Group = tuple[str, Sequence[str]]
"""One ODL group: its name and its `KEY = value` lines (values already quoted as ODL wants them)."""


def odl(groups: Iterable[Group]) -> str:
    """`LANDSAT_METADATA_FILE` with the given groups, as USGS writes `<id>_MTL.txt`."""
    lines = ["GROUP = LANDSAT_METADATA_FILE"]
    for name, entries in groups:
        lines += [f"  GROUP = {name}", *(f"    {entry}" for entry in entries), f"  END_GROUP = {name}"]
    return "\n".join([*lines, "END_GROUP = LANDSAT_METADATA_FILE", "END", ""])


def l2_rescaling(
    numbers: Sequence[str], scale: str = f"{L2_SCALE:.2e}", offset: str = f"{L2_OFFSET}"
) -> list[str]:
    """REFLECTANCE_MULT_BAND_n then REFLECTANCE_ADD_BAND_n lines for band numbers `numbers`."""
    return [f"REFLECTANCE_MULT_BAND_{n} = {scale}" for n in numbers] + [
        f"REFLECTANCE_ADD_BAND_{n} = {offset}" for n in numbers
    ]
