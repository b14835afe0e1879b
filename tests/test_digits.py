"""End-to-end: a small spiking MLP learns the bundled 8x8 digits (reuses examples/digits.py)."""

import pytest

from _examples import load_example

pytest.importorskip("sklearn")


def test_small_spiking_mlp_learns_digits():
    digits = load_example("digits")
    result = digits.train_digits(hidden=64, epochs=8, seed=0)
    assert result["test_accuracy"] >= 0.90
    assert 0.01 < result["hidden_firing_rate"] < 0.9
