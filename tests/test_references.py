"""Every reference point loads; every modellable point yields a finite prediction."""

import numpy as np
import pytest

from explorer.calibration import fit as cal
from explorer.calibration.benchmark import make_case
from explorer.calibration.measurements import _check_point, load_points
from explorer.model.chip_config import load_chip, load_chip_info
from explorer.model.configio import ConfigError
from explorer.model.smooth import EXACT

POINTS = load_points()
MODELLABLE = [p for p in POINTS if p.modellable]


def test_all_points_load_and_vendors_covered():
    assert len(POINTS) >= 140
    vendors = {p.vendor for p in MODELLABLE}
    assert {"nvidia", "amd", "cerebras", "groq", "sambanova"} <= vendors
    for p in POINTS:
        if not p.modellable:
            assert p.get("why_not")


def test_every_modellable_point_predicts_finite():
    cases = []
    for p in MODELLABLE:
        knobs = cal.knobs_of(load_chip(p.chip, calibrated=False))
        cases.append(make_case(p, 0, knobs))
    knobs = np.array([cal.knobs_of(c.chip) for c in cases])
    # one family per case so each keeps its own default knobs
    cases = [cal.Case(**{**c.__dict__, "family": i}) for i, c in enumerate(cases)]
    pred = cal.evaluate(cases, knobs, EXACT)
    assert np.all(np.isfinite(pred)) and np.all(pred > 0)
    for p in MODELLABLE:
        load_chip_info(p.chip)


def test_bad_point_is_one_line():
    table = dict(MODELLABLE[0].data)
    table.pop("num_chips")
    with pytest.raises(ConfigError, match="needs key 'num_chips'"):
        _check_point(table, "refs.toml")
    table = dict(MODELLABLE[0].data, precision_basis="guessed")
    with pytest.raises(ConfigError, match="must start with stated, derived or assumed"):
        _check_point(table, "refs.toml")
    table = dict(MODELLABLE[0].data, date="mid 2024")
    with pytest.raises(ConfigError, match="'date' must start with a year"):
        _check_point(table, "refs.toml")
