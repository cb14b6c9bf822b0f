"""The SRAM cliff sweep (benchmarks/sram_cliff.py) and the sweep helpers."""

import numpy as np
import pytest

from benchmarks import sram_cliff


@pytest.fixture(scope="module")
def cliff():
    return sram_cliff.run(points=41)


def test_latency_falls_until_the_working_set_fits(cliff):
    tpot = cliff["hbm_tpot_s"]
    assert np.all(np.diff(tpot) <= 1e-15)  # more SRAM never slower
    assert tpot[0] > 3.0 * tpot[-1]  # the cliff: HBM-bound vs SRAM-bound


def test_no_gain_beyond_the_working_set(cliff):
    above = cliff["sram_bytes"] >= cliff["working_set_bytes"]
    tpot = cliff["hbm_tpot_s"][above]
    np.testing.assert_allclose(tpot, tpot[0], rtol=1e-12)
    strictly = cliff["sram_bytes"] > cliff["working_set_bytes"]  # the kink itself excluded
    np.testing.assert_array_equal(cliff["hbm_exact_grad_s_per_byte"][strictly], 0.0)


def test_sram_only_chip_fits_exactly_from_the_working_set(cliff):
    above = cliff["sram_bytes"] >= cliff["working_set_bytes"]
    np.testing.assert_array_equal(cliff["sram_only_fits"], above)


def test_gradients_finite_everywhere_and_negative_below(cliff):
    for key, grad in cliff.items():
        if key.endswith("grad_s_per_byte"):
            assert np.all(np.isfinite(grad)), key
    below = cliff["sram_bytes"] < 0.8 * cliff["working_set_bytes"]
    assert np.all(cliff["hbm_smooth_grad_s_per_byte"][below] < 0)
    # Relative sensitivity (d ln TPOT / d ln SRAM) of an SRAM-only chip that fits: ~0.
    rel = cliff["sram_only_smooth_grad_s_per_byte"] * cliff["working_set_bytes"]
    fits = cliff["sram_only_fits"]
    assert np.all(np.abs(rel[fits] / cliff["sram_only_tpot_s"][fits]) < 1e-9)
