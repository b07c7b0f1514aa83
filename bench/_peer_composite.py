"""The composite benchmark's peer, run in the bench-only venv (.venv-peer, `make peer-env`): odc-stac + dask.

    .venv-peer/bin/python bench/_peer_composite.py ITEMS.json OUT.tif

ITEMS.json: {"items": [paths of STAC Item files], "grid": {"crs", "transform", "width", "height"}}. It does
what an odc-stac user writes for a median composite: `odc.stac.load(items, groupby="solar_day",
chunks={"x": 1024, "y": 1024})` on the AOI's grid, the QA_PIXEL fill/cloud/shadow/cirrus mask,
`.median("time")`, surface reflectance (C2 L2 scale and offset) and a float32 GeoTIFF, 512 px tiles, DEFLATE.
Only this venv's packages are imported (not scoresby).
"""

import json
import sys
import time

import numpy as np
import odc.stac
import pystac
import rasterio
from affine import Affine
from odc.geo.geobox import GeoBox

REFLECTANCE = ("blue", "green", "red", "nir08", "swir16", "swir22")
NOT_CLEAR = 0b11111  # fill, dilated cloud, cirrus, cloud, cloud shadow
SCALE, OFFSET = 2.75e-05, -0.2


def main(items_json: str, out: str) -> int:
    """Load, mask, median, write; print the phases' seconds as JSON on stdout."""
    t0 = time.perf_counter()
    spec = json.loads(open(items_json).read())  # noqa: PTH123, SIM115 (a short script, no pathlib needed)
    items = [pystac.Item.from_file(p) for p in spec["items"]]
    g = spec["grid"]
    geobox = GeoBox((g["height"], g["width"]), Affine(*g["transform"][:6]), g["crs"])
    ds = odc.stac.load(
        items,
        bands=[*REFLECTANCE, "qa_pixel"],
        groupby="solar_day",
        chunks={"x": 1024, "y": 1024},
        geobox=geobox,
    )
    # qa_pixel loads as float (NaN where a date has no scene): fill there, then the bits as int.
    qa = ds["qa_pixel"].fillna(1).astype("uint16")
    clear = (qa & NOT_CLEAR) == 0
    refl = ds[list(REFLECTANCE)].where(clear)
    refl = refl.where(refl != 0)  # the bands' own nodata
    median = refl.median("time")
    t_graph = time.perf_counter()
    values = median.to_array("band").compute().values.astype(np.float32)
    t_compute = time.perf_counter()
    values = np.where(np.isnan(values), np.nan, values * SCALE + OFFSET).astype(np.float32)
    profile = {
        "driver": "GTiff",
        "width": g["width"],
        "height": g["height"],
        "count": len(REFLECTANCE),
        "dtype": "float32",
        "crs": g["crs"],
        "transform": Affine(*g["transform"][:6]),
        "nodata": float("nan"),
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
    }
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(values)
    t_end = time.perf_counter()
    times = {
        "setup_s": t_graph - t0,
        "compute_s": t_compute - t_graph,
        "write_s": t_end - t_compute,
        "times": int(ds.sizes["time"]),
    }
    print(json.dumps(times))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
