"""Small real scenes for the many-scene benchmark: 100 x 100 px windows cut from the real band files.

Sources (/work/shared/data/real, see its README and each PROVENANCE.md): three Landsat 8 Collection 2
Level-2 scenes (`<id>_SR_B*.TIF`, `<id>_QA_PIXEL.TIF`, `<id>_MTL.txt`/`.json`), one Sentinel-2 L2A COG
tile (`B04.tif`... + its STAC Item JSON) and one ESA SAFE L2A tile (`T29UNU_..._B04_60m.jp2` +
MTD_MSIL2A.xml).
Each crop keeps the source's file names (JPEG2000 files become GeoTIFFs with the same stem and `.tif`,
which discovery accepts the same way) and copies the metadata files unchanged: discovery does not compare
the MTL/MTD sizes with the rasters. Windows are on a grid of offsets with at least MIN_VALID of the red
band's pixels valid (> 0), picked in a fixed pseudo-random order, so the scenes differ and are not mostly
fill. Crops are cached under bench-output/real-small/ (a marker file says they are complete).
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

REAL = Path("/work/shared/data/real")
SIZE = 100
MIN_VALID = 0.6
STRIDE = 6
"""Offsets on a 6 px grid: even (the 20 m bands of a 10 m tile get whole-pixel windows) and many."""
CACHE_VERSION = "1"
LANDSAT = (
    "landsat8/LC08_L2SP_001062_20201031_20201106_02_T2",
    "landsat8/LC08_L2SP_017036_20130419_20200913_02_T2",
    "landsat8/LC08_L2SR_099120_20191129_20201016_02_T2",
)
SENTINEL2 = (
    "sentinel2/S2A_29RKH_20200219_0_L2A",
    "sentinel2/S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU_20221005T164454",
)
S2_BANDS = ("B02", "B03", "B04", "B08", "B8A", "B11", "B12", "SCL")
"""What the products and statistics read (B01/B09 at 600 m would not crop to whole pixels)."""


@dataclass(frozen=True)
class Source:
    """One real scene folder: its raster files, the red band that picks windows, the metadata to copy."""

    folder: Path
    family: str
    rasters: tuple[Path, ...]
    red: Path
    metadata: tuple[Path, ...]


def sources(root: Path = REAL) -> list[Source]:
    """The Landsat C2 L2 and Sentinel-2 L2A sources that are present under root."""
    found = []
    for rel in LANDSAT:
        d = root / rel
        if d.is_dir():
            rasters = tuple(sorted(p for p in d.iterdir() if p.suffix.upper() == ".TIF"))
            red = next(p for p in rasters if p.name.endswith("_SR_B4.TIF"))
            meta = tuple(sorted(p for p in d.iterdir() if "_MTL." in p.name))
            found.append(Source(d, "landsat", rasters, red, meta))
    for rel in SENTINEL2:
        d = root / rel
        if d.is_dir():
            rasters = tuple(
                sorted(
                    p
                    for p in d.iterdir()
                    if p.suffix.lower() in (".tif", ".jp2") and any(f"{b}" in p.stem for b in S2_BANDS)
                )
            )
            red = next(p for p in rasters if "B04" in p.stem)
            meta = tuple(sorted(p for p in d.iterdir() if p.suffix.lower() in (".json", ".xml")))
            found.append(Source(d, "sentinel-2", rasters, red, meta))
    return found


def _offsets(src: Source, count: int, seed: int) -> list[tuple[int, int]]:
    """`count` distinct (col, row) offsets of SIZE x SIZE windows of the red band with enough valid pixels."""
    import numpy as np
    import rasterio

    with rasterio.open(src.red) as ds:
        valid = ds.read(1) > 0
    h, w = valid.shape
    cells = [
        (c, r)
        for r in range(0, h - SIZE + 1, STRIDE)
        for c in range(0, w - SIZE + 1, STRIDE)
        if np.mean(valid[r : r + SIZE, c : c + SIZE]) >= MIN_VALID
    ]
    if len(cells) < count:
        raise ValueError(f"{src.folder.name}: only {len(cells)} windows with >= {MIN_VALID:.0%} valid pixels")
    random.Random(seed).shuffle(cells)  # noqa: S311 - a fixed, repeatable order, not a secret
    return cells[:count]


def _crop(src: Source, col: int, row: int, dest: Path) -> None:
    """Write every raster of src cut to the window (col, row, SIZE) of its red band's grid, into dest."""
    import rasterio
    from rasterio.windows import Window, from_bounds

    with rasterio.open(src.red) as red:
        bounds = red.window_bounds(Window(col, row, SIZE, SIZE))
    dest.mkdir(parents=True, exist_ok=True)
    for path in src.rasters:
        with rasterio.open(path) as ds:
            win = from_bounds(*bounds, transform=ds.transform).round_offsets().round_lengths()
            data = ds.read(window=win)
            profile = {
                "driver": "GTiff",
                "width": int(win.width),
                "height": int(win.height),
                "count": ds.count,
                "dtype": ds.dtypes[0],
                "crs": ds.crs,
                "transform": ds.window_transform(win),
                "nodata": ds.nodata,  # as the source: the SAFE JP2s declare none
                "compress": "deflate",
            }
            name = path.stem + (".tif" if path.suffix.lower() == ".jp2" else path.suffix)
            with rasterio.open(dest / name, "w", **profile) as out:
                out.write(data)
    for meta in src.metadata:
        shutil.copyfile(meta, dest / meta.name)


def ensure_crops(out: Path, landsat: int = 100, sentinel2: int = 100, log=print) -> list[dict]:
    """The scene list entries (scene_id, source) of landsat + sentinel2 crops, cut once and cached in out."""
    marker = out / "crops.json"
    key = {"version": CACHE_VERSION, "landsat": landsat, "sentinel2": sentinel2, "size": SIZE}
    if marker.exists():
        cached = json.loads(marker.read_text())
        if cached.get("key") == key:
            return list(cached["scenes"])
    shutil.rmtree(out, ignore_errors=True)
    srcs = sources()
    scenes: list[dict] = []
    for family, total in (("landsat", landsat), ("sentinel-2", sentinel2)):
        group = [s for s in srcs if s.family == family]
        if total and not group:
            raise FileNotFoundError(f"no real {family} scenes under {REAL}")
        for k, src in enumerate(group):
            n = total // len(group) + (1 if k < total % len(group) else 0)
            for col, row in _offsets(src, n, seed=k):
                scene_id = f"{src.folder.name}_c{col:04d}r{row:04d}"
                folder = out / scene_id
                _crop(src, col, row, folder)
                scenes.append({"scene_id": scene_id, "source": str(folder.resolve()), "family": family})
    marker.write_text(json.dumps({"key": key, "scenes": scenes}, indent=1))
    log(f"real small scenes: cut {len(scenes)} crops of {SIZE} x {SIZE} px into {out}")
    return scenes
