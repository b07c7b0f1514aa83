"""Disk space a scene's temp files need, checked against the free space before any pixel is written."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scoresby.core.errors import InsufficientSpace

_PRODUCT_BYTES = {"visual": 3, "merge": 6, "index": 4}
"""Bytes per pixel of a product's uncompressed temp GTiff (3 x uint8, 3 x uint16, 1 x float32)."""
COG_SHARE = 0.5
"""The finished COGs (compressed, with overviews) take at most about half of their temps."""


def temp_bytes(grid: Any, plans: Sequence[Any]) -> int:
    """Peak bytes of the work folder: the raw uint16 stack, every product temp and the finished COGs."""
    stack_bands = {b for p in plans if p.kind != "index" for b in p.bands}
    per_px = 2 * len(stack_bands) + (1 + COG_SHARE) * sum(_PRODUCT_BYTES[p.kind] for p in plans)
    return int(grid.width * grid.height * per_px)


def check_space(scene_id: str, folder: Path, needed: int) -> None:
    """InsufficientSpace giving both figures when `folder`'s file system has less than `needed` bytes free."""
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise InsufficientSpace(
            scene_id,
            f"temp folder {folder} has {_mb(free)} free but this scene needs about {_mb(needed)}; "
            "free some space or point TMPDIR at a larger disk",
        )


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"
