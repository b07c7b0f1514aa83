"""A part in DN form (one sensor's map: sort the DN, map the picked values) equals the float form exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from scoresby.places import composite as comp
from scoresby.places.compose import BLOCK_PX, ComposeSettings, _Composer
from scoresby.places.observations import group
from scoresby.places.reader import SceneReader
from scoresby.raster.quality import aoi_grid
from tests.places.conftest import place_dates


@pytest.mark.parametrize(("method", "q"), [("median", None), ("min", None), ("max", None), ("p", 25.0)])
def test_reduce_dn_equals_reduce_on_the_mapped_floats(method: str, q: float | None) -> None:
    rng = np.random.default_rng(11)
    dn = rng.integers(7000, 7040, size=(3, 20, 30, 9), dtype=np.uint16)  # narrow range: many ties
    clear = rng.random((20, 30, 9)) < 0.6
    clear[1, 1] = False  # a pixel nothing clear sees
    dn[:, ~clear] = comp.DN_MISSING
    dn[0, 0, 0, 0], clear[0, 0, 0] = comp.DN_MISSING, True  # a clear DN equal to the missing value
    count = clear.sum(axis=-1).astype(np.uint16)
    scale, offset, a, b = np.float32(2.75e-5), np.float32(-0.2), np.float32(0.0088), np.float32(0.8483)

    def to_refl(x: np.ndarray) -> np.ndarray:
        out = np.multiply(x, scale, dtype=np.float32) + offset
        return out * b + a

    floats = to_refl(dn)
    floats[:, ~clear] = np.nan
    want = comp.reduce(floats, count, method, q)
    got = comp.reduce_dn(dn.copy(), count, method, q, to_refl)
    np.testing.assert_array_equal(got, want)  # bit for bit, NaN where nothing is clear
    assert (count == 0).any() and np.isnan(got[:, count == 0]).all()


def test_compose_parts_in_dn_form_give_the_float_forms_layers(built: Any) -> None:
    """The synthetic place (TM/ETM+/OLI, same-day rows), one sensor and all: DN-form == float-form layers."""
    _run_dir, aoi, made, _result = built
    grid = aoi_grid(aoi)
    found, dates, lon = place_dates(aoi, made)
    forms = {"dn": 0, "float": 0}
    oli = [d for d in dates if d.sensor.startswith("landsat-8")]
    assert oli and len(oli) < len(dates)
    for chosen in (oli, dates):
        composer = _Composer(
            group(chosen, lon),
            lambda sid: SceneReader(found[sid], grid),
            {sid: f.sensor for sid, f in found.items()},
            grid,
            ComposeSettings("median", None, True, []),
        )
        try:
            for window in grid.windows(BLOCK_PX, BLOCK_PX):
                inside = np.ones((int(window.height), int(window.width)), dtype=bool)
                inside[::5] = False
                held = composer.hold(window, inside)
                assert held is not None
                h, w = inside.shape
                for r in range(0, h, 128):
                    for c in range(0, w, 128):
                        part = (slice(r, min(r + 128, h)), slice(c, min(c + 128, w)))
                        fast, slow = held.part(part), held.part(part, dn_form=False)
                        forms["dn" if fast.dn is not None else "float"] += 1
                        got, want = composer.layers(fast), composer.layers(slow)
                        assert set(got) == set(want)
                        for name in want:
                            np.testing.assert_array_equal(got[name], want[name], err_msg=name)
        finally:
            composer.close_thread()
    assert forms["dn"] > 0  # one sensor's parts go the DN way ...
    assert forms["float"] > 0  # ... and parts mixing TM/ETM+ with OLI the float way
