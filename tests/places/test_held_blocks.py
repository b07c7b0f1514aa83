"""The held-DN block path (one read per scene and block) gives the same stacks as per-part scene reads."""

from __future__ import annotations

from typing import Any

import numpy as np

from scoresby.places.compose import BLOCK_PX, ComposeSettings, _Composer
from scoresby.places.observations import group
from scoresby.places.reader import SceneReader
from scoresby.raster.quality import aoi_grid
from tests.places.conftest import place_dates


def test_held_stacks_equal_scene_reads(built: Any) -> None:
    """Every scene of the place (TM/ETM+ harmonised, same-day rows merged): stacks identical to observe's."""
    _run_dir, aoi, made, _result = built
    grid = aoi_grid(aoi)
    found, dates, lon = place_dates(aoi, made)
    observations = group(dates, lon)
    assert any(len(o.scene_ids) > 1 for o in observations)  # same-day rows: merged in the held path too
    composer = _Composer(
        observations,
        lambda sid: SceneReader(found[sid], grid),
        {sid: f.sensor for sid, f in found.items()},
        grid,
        ComposeSettings("median", None, True, []),
    )
    parts = 0
    try:
        for window in grid.windows(BLOCK_PX, BLOCK_PX):
            inside = np.ones((int(window.height), int(window.width)), dtype=bool)
            inside[::7] = False  # an AOI polygon's outside: not clear in either path
            for part, observed in composer.parts(window, inside, dn_form=False):
                stack, clears = observed.stack, observed.clears
                sub = window.__class__(
                    window.col_off + part[1].start,
                    window.row_off + part[0].start,
                    part[1].stop - part[1].start,
                    part[0].stop - part[0].start,
                )
                ref_stack, ref_clears = composer.observe(sub, inside[part])
                np.testing.assert_array_equal(stack, ref_stack)
                assert len(clears) == len(ref_clears)
                for a, b in zip(clears, ref_clears, strict=True):
                    np.testing.assert_array_equal(a, b)
                parts += 1
    finally:
        composer.close_thread()
    assert parts >= 4
