"""Smoke test of examples/digits_rstdp.py: a small R-STDP readout (no gradients) learns digits well above chance."""
from dataclasses import replace

import pytest

from _examples import load_example

pytest.importorskip("sklearn")


def test_rstdp_readout_learns_digits_from_reward():
    example = load_example("digits_rstdp")
    settings = replace(example.Settings(), n_hidden=64, bptt_epochs=3, rstdp_epochs=2, gradient_epochs=5)
    result = example.run("bptt", 0, settings)
    assert {"test_accuracy", "gradient_readout_accuracy", "train_seconds", "settings"} <= result.keys()
    # seeds 0-2 give 0.76; an untrained readout is at chance (0.1)
    assert result["test_accuracy"] >= 0.4
    assert result["gradient_readout_accuracy"] >= 0.85


def test_bad_settings_name_the_value():
    example = load_example("digits_rstdp")
    with pytest.raises(ValueError, match="hidden"):
        example.run("dense")
    with pytest.raises(ValueError, match="w_init"):
        example.run("random", 0, replace(example.Settings(), w_init=1.0))
