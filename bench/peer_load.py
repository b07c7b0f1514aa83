"""In the peer environment (.venv-peer): odc-stac loads each Item of a run's collection.json on its grid.

Prints one JSON line per Item and COG asset: whether odc.stac.load returned the same pixels as rasterio reads
from the COG. Used by tests/report/test_collection.py and `make bench`; odc-stac is never in the runtime.
Usage: peer_load.py RUN_FOLDER/collection.json [ASSET_KEY ...]
"""

from __future__ import annotations

import json
import sys

import numpy as np
import odc.stac
import pystac
import rasterio
from odc.geo.geobox import GeoBox


def main() -> int:
    collection = pystac.Collection.from_file(sys.argv[1])
    wanted = set(sys.argv[2:])
    for item in collection.get_items(recursive=True):
        proj = item.properties
        crs = proj.get("proj:code") or proj.get("proj:wkt2") or f"EPSG:{proj.get('proj:epsg')}"
        transform = rasterio.Affine(*proj["proj:transform"][:6])
        geobox = GeoBox(tuple(proj["proj:shape"]), transform, crs)
        for key, asset in item.assets.items():
            if asset.media_type != pystac.MediaType.COG or (wanted and key not in wanted):
                continue
            data = odc.stac.load([item], bands=[key], geobox=geobox, resampling="nearest")
            loaded = data[key].values[0]
            with rasterio.open(asset.get_absolute_href()) as ds:
                truth = ds.read(1)
            same = bool(np.array_equal(loaded, truth, equal_nan=np.issubdtype(truth.dtype, np.floating)))
            line = {
                "item": item.id,
                "asset": key,
                "shape": list(truth.shape),
                "same": same,
                "dtype": str(truth.dtype),
                "loaded_dtype": str(loaded.dtype),
            }
            print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
