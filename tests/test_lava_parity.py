"""Random chains run in Lava 0.10 and in eventsnn's fixed-point model give the same spikes, u and v at every step.

Each case is ``eventsnn.lava.check.random_chain(seed)``: a spike source ->
Dense -> LIF -> Dense -> LIF with random sizes, weights of every sign mode
(or Lava's own choice of it), weight_exp in [-3, 3], num_weight_bits in
[5, 8], and du, dv, vth, bias and initial u, v over their whole ranges. Lava
runs them all in one child process (``eventsnn.lava.run_in_subprocess``);
the ``lava_python`` fixture installs Lava by ``scripts/install_lava.py``
first, or skips where it cannot be fetched. Two further cases drive a LIF
far past Loihi's 16-bit input (up to 70000 inputs at the largest weight and
exponent) so that Lava's one-off 24-bit wrap, its int32 wraps and its int32
a_out channel are all exercised.
"""
from __future__ import annotations

import numpy as np
import pytest
from _lava import lava_python  # noqa: F401  (a fixture)

from eventsnn.lava import Chain, run_in_subprocess
from eventsnn.lava.check import first_difference, random_chain
from eventsnn.loihi.fixed_point import MAX_UV, DenseParams, LIFParams, SignMode, run_layers

N_RANDOM, STEPS = 40, 40


def overflow_case(sign: int) -> Chain:
    """70000 inputs spiking every step into 5 neurons that see 70000, 1100, 300, 20 and 0 of them at weight
    sign * 255 (mixed: truncated to 254 or -256), weight_exp 7: a_in beyond int32 (a_out wraps), a_in << 6
    beyond int32, u beyond 24 bits, an ordinary wrap, none."""
    n_in, steps = 70000, 8
    weights = np.zeros((5, n_in), np.int64)
    for row, fan_in in enumerate((n_in, 1100, 300, 20, 0)):
        weights[row, :fan_in] = sign * 255
    weights[4, 0] = -sign  # mixed sign mode in every row's Dense
    small = np.array([[1, -1, 1, 1, -1], [-1, 1, 1, 0, 1]]) * 255
    return Chain(np.ones((steps, n_in), bool),
                 [(DenseParams(weights, 7, 8, SignMode.MIXED), LIFParams(du=0, dv=0, vth=1000)),
                  (DenseParams(small, 7, 8, SignMode.MIXED), LIFParams(du=100, dv=100, vth=1000))])


@pytest.fixture(scope="module")
def lava_runs(lava_python):
    """The cases and what Lava recorded for them (one child process for all)."""
    cases = [random_chain(seed, STEPS) for seed in range(N_RANDOM)] + [overflow_case(1), overflow_case(-1)]
    return cases, run_in_subprocess(cases, python=lava_python, timeout=600)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_random_chains_agree_with_lava_at_every_step(lava_runs, backend):
    cases, results = lava_runs
    for c, (case, lava) in enumerate(zip(cases, results)):
        difference = first_difference(run_layers(*case, backend=backend), lava)
        assert difference is None, f"case {c} differs (eventsnn vs Lava): {difference}"


def test_the_cases_reach_every_regime(lava_runs):
    """Not vacuous: the random cases spike and stay silent, wrap u and saturate v; the overflow cases
    take u outside 24 bits."""
    cases, results = lava_runs
    random_records = [layer for case in results[:N_RANDOM] for layer in case]
    rates = np.array([r.spikes.mean() for r in random_records])
    assert np.mean(rates > 0) > 0.4 and np.mean(rates < 0.5) > 0.4, rates
    # u wraps: it jumps by about 2**24 between two steps somewhere
    jumps = max(np.abs(np.diff(r.u.astype(np.int64), axis=0)).max(initial=0) for r in random_records)
    assert jumps > MAX_UV, jumps
    assert any(np.abs(r.v).max() == MAX_UV - 1 for r in random_records), "v never saturated"
    overflow = [layer for case in results[N_RANDOM:] for layer in case]
    assert max(np.abs(r.u.astype(np.int64)).max() for r in overflow) > 1 << 30, "u never left 24 bits by far"
