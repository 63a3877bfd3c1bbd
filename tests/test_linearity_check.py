"""The profile's linearity reading when binary variables sit between the measurements."""

import numpy as np
import pandas as pd

from causalpilot.tools.loading import Dataset
from causalpilot.tools.profile import profile_and_prepare


def _linearity(frame: pd.DataFrame) -> str:
    ds = Dataset(frame=frame, path="<t>", sha256="0" * 64, format="synthetic")
    return profile_and_prepare(ds, seed=0).profile.value("linearity")


def _confounded_binary_treatment(n: int, seed: int, spend_of) -> pd.DataFrame:
    """income -> saw_ad (given mostly at high income) -> spend <- income; age -> spend."""
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 15, n)
    age = rng.normal(40, 12, n)
    saw_ad = (rng.random(n) < 1 / (1 + np.exp(-(income - 50) / 6))).astype(int)
    spend = spend_of(saw_ad, income, age) + rng.normal(0, 10, n)
    return pd.DataFrame({"income": income, "age": age, "saw_ad": saw_ad, "spend": spend})


def test_a_binary_treatment_on_the_path_does_not_make_linear_mechanisms_look_nonlinear():
    # spend against income alone is a line plus a logistic step (through saw_ad); every mechanism is linear
    for seed in range(3):
        frame = _confounded_binary_treatment(1500, seed, lambda t, inc, age: 15 * t + 0.8 * inc + 0.1 * age)
        assert _linearity(frame) == "linear", seed


def test_a_nonlinear_mechanism_beside_a_binary_treatment_is_still_found():
    for seed in range(3):
        frame = _confounded_binary_treatment(
            1500, seed, lambda t, inc, age: 15 * t + 0.03 * (inc - 50) ** 2 + 0.02 * (age - 40) ** 2)
        assert _linearity(frame) == "nonlinear", seed


def test_a_binary_common_child_does_not_make_independent_measurements_look_nonlinear():
    rng = np.random.default_rng(1)
    n = 2000
    a, b, c = rng.normal(size=(3, n))
    c = c + 0.8 * a
    readmitted = (rng.random(n) < 1 / (1 + np.exp(-(2 * a + 2 * b)))).astype(int)
    assert _linearity(pd.DataFrame({"a": a, "b": b, "c": c, "readmitted": readmitted})) == "linear"
