"""Two runs' outputs of one scene compared by content: COG pixels, bands, overviews, tags; PNGs; JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from PIL import Image
from rio_cogeo.cogeo import cog_validate


def assert_same_cog(expected: Path, actual: Path) -> None:
    """Same profile, tags, band metadata, overview levels and pixels (every level), and a valid COG."""
    valid, errors, _ = cog_validate(str(actual))
    assert valid, (actual.name, errors)
    with rasterio.open(expected) as want, rasterio.open(actual) as got:
        assert _comparable(got.profile) == _comparable(want.profile), actual.name
        assert got.tags() == want.tags(), actual.name
        assert got.colorinterp == want.colorinterp and got.descriptions == want.descriptions
        for band in range(1, want.count + 1):
            assert got.overviews(band) == want.overviews(band), (actual.name, band)
            assert got.tags(band) == want.tags(band), (actual.name, band)
        levels = len(want.overviews(1))
        np.testing.assert_array_equal(got.read(), want.read(), err_msg=actual.name)
    for level in range(levels):
        with (
            rasterio.open(expected, overview_level=level) as want,
            rasterio.open(actual, overview_level=level) as got,
        ):
            np.testing.assert_array_equal(got.read(), want.read(), err_msg=f"{actual.name} overview {level}")


def _comparable(profile: Any) -> dict[str, Any]:
    """The profile with a NaN nodata made comparable (NaN != NaN)."""
    out = dict(profile)
    nodata = out.get("nodata")
    if isinstance(nodata, float) and math.isnan(nodata):
        out["nodata"] = "nan"
    return out


def assert_same_png(expected: Path, actual: Path) -> None:
    """Same size, mode and pixels."""
    with Image.open(expected) as want, Image.open(actual) as got:
        assert (got.size, got.mode) == (want.size, want.mode), actual.name
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=actual.name)


def assert_same_scene_outputs(expected: Path, actual: Path) -> int:
    """Every file of the scene folder `expected` is in `actual` with the same content; returns the count."""
    names = sorted(p.name for p in expected.iterdir())
    assert sorted(p.name for p in actual.iterdir()) == names
    for name in names:
        want, got = expected / name, actual / name
        if name.endswith(".tif"):
            assert_same_cog(want, got)
        elif name.endswith(".png"):
            assert_same_png(want, got)
        else:
            assert json.loads(got.read_text()) == json.loads(want.read_text()), name
    return len(names)
