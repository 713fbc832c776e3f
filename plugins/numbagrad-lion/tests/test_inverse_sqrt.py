"""The inverse-square-root schedule against its formula and Vaswani et al.'s form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numbagrad import schedules


def formula(t, lr, warmup_steps):
    s = t + 1
    return lr * min(s / warmup_steps, math.sqrt(warmup_steps / s))


def test_matches_the_formula_and_peaks_at_the_end_of_warmup():
    schedule = schedules.get("inverse_sqrt", lr=0.01, warmup_steps=40)
    steps = np.arange(500)
    np.testing.assert_allclose(schedule(steps), [formula(int(t), 0.01, 40) for t in steps], rtol=1e-14)
    assert schedule(39) == 0.01 and schedule(0) == pytest.approx(0.01 / 40)
    assert schedule(159) == pytest.approx(0.005)


def test_is_vaswanis_rate():
    d_model, warmup = 512, 4000
    schedule = schedules.get("inverse_sqrt", lr=(d_model * warmup) ** -0.5)
    for s in (1, 100, 4000, 10_000):
        vaswani = d_model**-0.5 * min(s**-0.5, s * warmup**-1.5)
        assert schedule(s - 1) == pytest.approx(vaswani, rel=1e-12)


def test_bad_warmup_steps():
    with pytest.raises(ValueError, match=r"^schedule 'inverse_sqrt': warmup_steps must be an integer >= 1; got 0$"):
        schedules.get("inverse_sqrt", warmup_steps=0)
