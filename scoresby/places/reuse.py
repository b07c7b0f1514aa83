"""Remaking a composite that only gained scenes: the published pixels kept where no added scene is clear.

Every layer of a composite pixel is made from the observations clear at that pixel alone (merge, reduce,
classes, frequencies, indices). So when a period gained scenes and lost none, and neither the settings nor
any earlier scene changed, a pixel can differ from the published composite only where an added scene's QA
says clear. compose.py makes those pixels again (per block, the STACK_PX-aligned rectangle around them,
exactly as a build from scratch makes it) and reads the rest back from the published COGs, which hold the
temps' values losslessly. The manifest records what each composite was made from (`inputs_record`); the
published Item's own scene list must agree with it, so a run killed between publishing a composite and
recording it never reuses one made from other scenes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import RasterioError
from rasterio.windows import Window

from scoresby.raster.bands import Grid

ASSET_OF_LAYER = {"dn": "reflectance"}
"""compose's temp names whose Item asset is named otherwise."""


class EarlierUnreadable(Exception):
    """A published composite's COG could not be read back (the composite is then made whole)."""


@dataclass(frozen=True)
class Earlier:
    """The published composite a remake starts from: each layer's COG, and the scenes added since."""

    files: dict[str, Path]
    added: tuple[str, ...]


def inputs_record(settings: str, keys: Mapping[str, str]) -> dict[str, Any]:
    """What a composite is made from, for the manifest: the settings' fingerprint and each scene's key."""
    return {"settings": settings, "scenes": dict(sorted(keys.items()))}


def earlier_of(
    record: Any,
    item: Mapping[str, Any] | None,
    folder: Path,
    settings: str,
    keys: Mapping[str, str],
    specs: Mapping[str, tuple[int, str, float | None]],
    grid: Grid,
) -> Earlier | None:
    """The published composite in `folder` to start from, None when it must be made whole.

    `record`: the manifest's inputs of the published composite; `item`: its published Item; `keys`: the
    period's scenes now (id -> key); `specs`: compose's layers (name -> bands, dtype, nodata).
    """
    if not isinstance(record, dict) or record.get("settings") != settings or item is None:
        return None
    before = record.get("scenes")
    props = item.get("properties")
    if not isinstance(before, dict) or not before or not isinstance(props, dict):
        return None
    if props.get("scoresby:scenes") != sorted(before):
        return None  # the published composite is not the one recorded
    if any(keys.get(sid) != key for sid, key in before.items()):
        return None  # a scene was removed or changed
    added = tuple(sorted(set(keys) - set(before)))
    item_id = str(item.get("id", ""))
    files = {name: folder / f"{item_id}_{ASSET_OF_LAYER.get(name, name)}.tif" for name in specs}
    if not added or not all(_fits(files[name], spec, grid) for name, spec in specs.items()):
        return None
    return Earlier(files, added)


def _fits(path: Path, spec: tuple[int, str, float | None], grid: Grid) -> bool:
    """True when the COG is on the grid with the layer's bands and type."""
    try:
        with rasterio.open(path) as ds:
            return (
                (ds.width, ds.height, ds.count, ds.dtypes[0]) == (grid.width, grid.height, spec[0], spec[1])
                and ds.transform == grid.transform
                and ds.crs == grid.crs
            )
    except (OSError, RasterioError):
        return False


class EarlierLayers:
    """The published composite's layers, read block by block (each block thread with its own datasets)."""

    def __init__(self, earlier: Earlier) -> None:
        self.earlier = earlier
        self.local = threading.local()

    def read(self, window: Window) -> dict[str, np.ndarray]:
        """Every layer of one block, as compose makes them ((6, h, w) for `dn`, else (h, w))."""
        try:
            datasets = self._datasets()
            return {
                name: ds.read(window=window) if ds.count > 1 else ds.read(1, window=window)
                for name, ds in datasets.items()
            }
        except (OSError, RasterioError) as exc:
            raise EarlierUnreadable(f"the published composite cannot be read back: {exc}") from exc

    def _datasets(self) -> dict[str, Any]:
        datasets = getattr(self.local, "datasets", None)
        if datasets is None:
            datasets = self.local.datasets = {}
            for name, path in self.earlier.files.items():
                datasets[name] = rasterio.open(path)
        return datasets

    def close_thread(self) -> None:
        """Close this thread's datasets."""
        for ds in getattr(self.local, "datasets", {}).values():
            ds.close()
        self.local.datasets = None
