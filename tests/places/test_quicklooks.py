"""The change and trend quicklooks: palette PNGs whose colours are the legend's and the slope scale's."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import rasterio
from PIL import Image
from rasterio.transform import from_origin

from scoresby.places.outputs import SLOPE_LEVELS, slope_png, transitions_png
from scoresby.report.places import transition_rgb


def _cog(path: Path, data: np.ndarray, nodata: float) -> Path:
    profile = {"driver": "GTiff", "width": data.shape[1], "height": data.shape[0], "count": 1}
    profile |= {"dtype": str(data.dtype), "crs": "EPSG:32626", "transform": from_origin(0, 0, 30, 30)}
    with rasterio.open(path, "w", **profile, nodata=nodata) as ds:
        ds.write(data, 1)
    return path


def _rgba(png: Path) -> np.ndarray:
    with Image.open(png) as im:
        assert im.mode == "P"  # one byte a pixel
        return np.asarray(im.convert("RGBA"))


def test_transitions_quicklook_colours_each_code_and_leaves_unknown_clear(tmp_path: Path) -> None:
    codes = np.array([[11, 12, 13, 21], [22, 23, 31, 32], [33, 0, 10, 2]], dtype=np.uint8)
    png = tmp_path / "t.png"
    transitions_png(_cog(tmp_path / "t.tif", codes, 0), png)
    rgba = _rgba(png)
    for (r, c), code in np.ndenumerate(codes):
        if code // 10 in (1, 2, 3) and code % 10 in (1, 2, 3):
            assert tuple(rgba[r, c]) == (*transition_rgb(int(code)), 255), code
        else:  # unknown on either date
            assert rgba[r, c, 3] == 0, code
    assert tuple(rgba[0, 1, :3]) == (230, 40, 40)  # 12 snow/ice -> water: red, where the ice went


def test_slope_quicklook_is_rdbu_symmetric_about_zero(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    slopes = rng.normal(0, 0.01, (40, 50)).astype(np.float32)
    slopes[0, :3] = [0.0, 1.0, -1.0]  # no change, and beyond the 98th percentile of |slope| both ways
    slopes[1, 0] = np.nan
    png = tmp_path / "s.png"
    slope_png(_cog(tmp_path / "s.tif", slopes, float("nan")), png)
    rgba = _rgba(png)
    span = np.percentile(np.abs(slopes[np.isfinite(slopes)]), 98)
    rdbu = matplotlib.colormaps["RdBu"]
    finite = np.isfinite(slopes)
    position = np.clip(slopes[finite] / (2 * span) + 0.5, 0, 1)
    want = rdbu(np.floor(position * (SLOPE_LEVELS - 1) + 0.5) / (SLOPE_LEVELS - 1), bytes=True)
    np.testing.assert_array_equal(rgba[finite], want)
    assert rgba[1, 0, 3] == 0  # no trend: transparent
    assert tuple(rgba[0, 1]) == tuple(rdbu(1.0, bytes=True))  # increasing at full colour: blue
    assert tuple(rgba[0, 2]) == tuple(rdbu(0.0, bytes=True))  # decreasing: red
    assert np.abs(rgba[0, 0, :3].astype(int) - np.array(rdbu(0.5, bytes=True)[:3])).max() <= 3  # pale
