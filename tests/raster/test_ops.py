"""raster_ops on arrays small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from scoresby.core.errors import InvalidInput
from scoresby.core.stretch import parse_stretch
from scoresby.raster import ops

NAN = np.nan


def test_reflectance_applies_scale_and_offset_and_masks_zero() -> None:
    dn = np.array([[0, 10000, 20000]], dtype=np.uint16)
    refl = ops.reflectance(dn, scale=0.0000275, offset=-0.2)
    assert np.isnan(refl[0, 0])
    assert refl[0, 1] == pytest.approx(10000 * 0.0000275 - 0.2)  # 0.075
    assert refl[0, 2] == pytest.approx(0.35)
    assert refl.dtype == np.float32


def test_sentinel2_baseline4_offset_makes_low_dn_negative() -> None:
    dn = np.array([[500, 1000, 3000]], dtype=np.uint16)
    refl = ops.reflectance(dn, scale=1e-4, offset=-0.1)
    np.testing.assert_allclose(refl, [[-0.05, 0.0, 0.2]], atol=1e-6)


def test_normalized_difference_by_hand() -> None:
    nir = np.array([[0.5, 0.3, NAN], [0.0, -0.01, 0.2], [1.2, 0.4, 0.1]], dtype=np.float32)
    red = np.array([[0.1, 0.3, 0.2], [0.0, 0.1, NAN], [0.3, 0.0, 0.3]], dtype=np.float32)
    nd = ops.normalized_difference(nir, red)
    expected = np.array(
        [
            [0.4 / 0.6, 0.0, NAN],  # nodata in nir -> NaN
            [NAN, NAN, NAN],  # 0/0 -> NaN; negative reflectance -> NaN; nodata in red -> NaN
            [0.9 / 1.5, 1.0, -0.5],  # reflectance above 1.0 (bright snow) stays valid
        ],
        dtype=np.float32,
    )
    np.testing.assert_allclose(nd, expected, rtol=1e-6, equal_nan=True)
    assert nd.dtype == np.float32


def test_ndvi_from_dn_with_landsat_scale() -> None:
    # DN 7273 -> 7273*0.0000275-0.2 = 0.0000075 ~ 0; DN 18182 -> 0.300005
    nir = ops.reflectance(np.array([[18182, 0]], dtype=np.uint16), 0.0000275, -0.2)
    red = ops.reflectance(np.array([[10909, 10909]], dtype=np.uint16), 0.0000275, -0.2)
    nd = ops.normalized_difference(nir, red)
    assert nd[0, 0] == pytest.approx((0.300005 - 0.0999975) / (0.300005 + 0.0999975), rel=1e-4)
    assert np.isnan(nd[0, 1])


def test_valid_dn_treats_zero_and_declared_nodata_as_invalid() -> None:
    dn = np.array([[0, 1, 65535]], dtype=np.uint16)
    np.testing.assert_array_equal(ops.valid_dn(dn), [[False, True, True]])
    np.testing.assert_array_equal(ops.valid_dn(dn, 65535), [[False, True, False]])


def test_dn_histogram_drops_nodata() -> None:
    dn = np.array([[0, 0, 5], [5, 7, 65535]], dtype=np.uint16)
    h = ops.dn_histogram(dn)
    assert h.shape == (65536,)
    assert h[0] == 0 and h[5] == 2 and h[7] == 1 and h[65535] == 1 and h.sum() == 4


def test_percentile_cutoffs_exact_on_known_histogram() -> None:
    hist = np.zeros(65536, dtype=np.int64)
    hist[100:200] = 1  # 100 valid pixels, DN 100..199
    assert ops.percentile_cutoffs(hist, 2, 98) == (101, 197)
    assert ops.percentile_cutoffs(hist, 0, 100) == (100, 199)
    assert ops.percentile_cutoffs(np.zeros(65536, dtype=np.int64), 2, 98) == (0, 0)


def test_linear_lut_maps_range_to_1_255_and_zero_stays_nodata() -> None:
    lut = ops.linear_lut(100, 354)
    assert lut.dtype == np.uint8 and lut.shape == (65536,)
    assert lut[0] == 0
    assert lut[1] == 1 and lut[100] == 1
    assert lut[227] == 128  # 1 + rint(127/254*254)
    assert lut[354] == 255 and lut[65535] == 255


def test_gamma_brightens_midtones() -> None:
    lut = ops.linear_lut(0, 254, gamma=2.0)
    # x = 0.25 -> 0.25 ** 0.5 = 0.5 -> 1 + 127 = 128
    assert lut[int(0.25 * 254)] == 1 + round((int(0.25 * 254) / 254) ** 0.5 * 254)
    assert lut[63] > ops.linear_lut(0, 254)[63]


def test_fixed_stretch_with_the_notebook_ranges() -> None:
    hists = [np.zeros(65536, dtype=np.int64)] * 3
    st = ops.resolve_stretch(
        {"mode": "fixed", "ranges": [[5900, 11000], [6200, 11000], [7600, 11000]], "gamma": 1.0}, hists
    )
    assert st.record == {
        "mode": "fixed",
        "gamma": 1.0,
        "cutoffs": [[5900.0, 11000.0], [6200.0, 11000.0], [7600.0, 11000.0]],
    }
    r, g, b = st.luts
    assert (r[5900], r[11000], g[6200], b[7600], b[9300]) == (1, 255, 1, 1, 128)


def test_percentile_stretch_default_and_record() -> None:
    hist = np.zeros(65536, dtype=np.int64)
    hist[1000:2000] = 1
    st = ops.resolve_stretch(None, [hist, hist, hist])
    assert st.record["mode"] == "percentile" and st.record["percentiles"] == [2.0, 98.0]
    assert st.record["cutoffs"][0] == [1019, 1979]
    assert st.luts[0][1019] == 1 and st.luts[0][1979] == 255


def test_equalize_flattens_a_skewed_histogram() -> None:
    hist = np.zeros(65536, dtype=np.int64)
    hist[10] = 90  # most pixels dark
    hist[20] = 5
    hist[30] = 5
    st = ops.resolve_stretch({"mode": "equalize"}, [hist])
    lut = st.luts[0]
    # cdf: 90, 95, 100 -> x = 0, 5/10, 1 -> 1, 128, 255
    assert (lut[10], lut[20], lut[30], lut[0]) == (1, 128, 255, 0)
    assert st.record["cutoffs"] == [[10, 30]]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"mode": "sigmoid"}, "'sigmoid' is not a stretch mode; allowed: percentile, fixed, equalize"),
        ({"mode": "fixed", "ranges": [[1, 2]]}, "allowed: 3 pairs"),
        ({"mode": "fixed", "ranges": [[5, 2], [1, 2], [1, 2]]}, "0 <= lo < hi <= 65535"),
        ({"mode": "percentile", "percentiles": [98, 2]}, "0 <= lo < hi <= 100"),
        ({"mode": "percentile", "percentiles": []}, "0 <= lo < hi <= 100"),
        ({"mode": "fixed", "ranges": [[0, float("inf")], [1, 2], [1, 2]]}, "0 <= lo < hi <= 65535"),
        ({"mode": "equalize", "gamma": 0}, "gamma: 0 is not allowed"),
        ({"mode": "equalize", "gamma": float("nan")}, "gamma: nan is not allowed"),
    ],
)
def test_bad_stretch_specs_are_rejected_with_the_bad_value(spec: dict, fragment: str) -> None:
    """The one stretch validator (core.stretch) rejects what resolve_stretch must never see."""
    with pytest.raises(InvalidInput) as info:
        parse_stretch(spec)
    assert fragment in str(info.value)


def test_apply_luts_zeroes_pixels_nodata_in_any_channel() -> None:
    r = np.array([[0, 100], [200, 300]], dtype=np.uint16)
    g = np.array([[100, 100], [0, 300]], dtype=np.uint16)
    b = np.array([[100, 100], [200, 300]], dtype=np.uint16)
    lut = ops.linear_lut(100, 300)
    out = ops.apply_luts([r, g, b], [lut, lut, lut])
    assert out.dtype == np.uint8 and out.shape == (3, 2, 2)
    np.testing.assert_array_equal(out[:, 0, 0], [0, 0, 0])
    np.testing.assert_array_equal(out[:, 1, 0], [0, 0, 0])
    np.testing.assert_array_equal(out[:, 0, 1], [1, 1, 1])
    np.testing.assert_array_equal(out[:, 1, 1], [255, 255, 255])


def test_mask_any_nodata_keeps_raw_values() -> None:
    a = np.array([[0, 7]], dtype=np.uint16)
    b = np.array([[9, 8]], dtype=np.uint16)
    np.testing.assert_array_equal(ops.mask_any_nodata([a, b]), [[[0, 7]], [[0, 8]]])


def test_index_histogram_ignores_nan() -> None:
    h = ops.index_histogram(np.array([-1.0, 0.0, 0.999, NAN], dtype=np.float32))
    assert h.sum() == 3 and h[0] == 1 and h[100] == 1 and h[-1] == 1


def test_index_histogram_agrees_with_numpy_histogram() -> None:
    values = np.random.default_rng(1).uniform(-1, 1, 10_000).astype(np.float32)
    values[::7] = np.nan
    expected, _ = np.histogram(values[np.isfinite(values)], bins=ops.INDEX_BINS, range=ops.INDEX_RANGE)
    np.testing.assert_array_equal(ops.index_histogram(values), expected)
