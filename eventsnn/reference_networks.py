"""The benchmark networks of Brette et al. (2007), after Vogels & Abbott (2005).

4000 neurons (80% excitatory, 20% inhibitory), each pair connected with
probability 0.02 (scaled as out_degree/n for other sizes), refractory 5 ms,
dt 0.1 ms. Used by ``examples/``, ``benchmarks/`` and the tests.
"""
from __future__ import annotations

from dataclasses import dataclass

from ._validation import check_int, check_nonnegative, check_positive, check_seed
from .monitors import SpikeMonitor
from .network import Network
from .neurons import LIF, CondLIF
from .population import Population
from .projections import Sparse


@dataclass
class BenchmarkNetwork:
    network: Network
    neurons: Population
    spikes: SpikeMonitor


def _build(n, model, v_init, w_exc, w_inh, out_degree, seed, backend, delay, exc_plasticity=None) -> BenchmarkNetwork:
    n = check_int("n", n, minimum=5)
    delay = check_nonnegative("delay", delay)
    p = check_positive("out_degree", out_degree) / n
    if p > 1:
        raise ValueError(f"out_degree must be <= n = {n}, got {out_degree}")
    rng = check_seed("seed", seed)
    neurons = Population(n, model, name="neurons")
    neurons["v"] = v_init(rng, n)
    n_exc = int(0.8 * n)
    exc = Sparse.fixed_probability(neurons[:n_exc], neurons, p, weight=w_exc, delay=delay, target="exc", seed=rng,
                                   plasticity=exc_plasticity)
    inh = Sparse.fixed_probability(neurons[n_exc:], neurons, p, weight=w_inh, delay=delay, target="inh", seed=rng)
    spikes = SpikeMonitor(neurons)
    return BenchmarkNetwork(Network(neurons, exc, inh, spikes, dt=0.1, seed=seed, backend=backend), neurons, spikes)


def cuba(n: int = 4000, out_degree: float = 80.0, seed: int = 1, backend: str = "numba",
         exc_plasticity=None, delay: float = 0.0) -> BenchmarkNetwork:
    """Benchmark 2 (CUBA), as in Brian2's example: LIF with E_L = -49 mV above
    threshold -50 mV, reset -60 mV, tau_m 20 ms, current synapses tau_e 5 ms,
    tau_i 10 ms, w_e = 60·0.27/10 mV, w_i = -20·4.5/10 mV, v uniform in [-60, -50].
    Brian2 and NEST give 5.5-5.7 Hz at n = 4000. ``exc_plasticity``: a rule the
    excitatory synapses learn by (``network.projections[0]``), as in benchmarks/plasticity.py. ``delay``
    (ms): of every synapse (0 as in Brian2's example; at least one step under MPI)."""
    model = LIF(tau_m=20.0, tau_e=5.0, tau_i=10.0, v_rest=-49.0, v_th=-50.0, v_reset=-60.0, t_ref=5.0)
    return _build(n, model, lambda rng, k: rng.uniform(-60.0, -50.0, k), 60 * 0.27 / 10, -20 * 4.5 / 10,
                  out_degree, seed, backend, delay, exc_plasticity)


def coba(n: int = 4000, out_degree: float = 80.0, seed: int = 1, backend: str = "numba",
         delay: float = 0.0) -> BenchmarkNetwork:
    """Benchmark 1 (COBA): conductance LIF with E_L = -60 mV, a constant drive of
    20 mV, threshold -50 mV, reset -60 mV, tau_m 20 ms, E_e 0 mV, E_i -80 mV,
    tau_e 5 ms, tau_i 10 ms, w_e = 6 nS / 10 nS, w_i = 67 nS / 10 nS (relative
    to the leak conductance), v normal with mean -55 mV and s.d. 5 mV; ``delay`` (ms) as for :func:`cuba`."""
    model = CondLIF(tau_m=20.0, tau_e=5.0, tau_i=10.0, v_rest=-60.0, E_e=0.0, E_i=-80.0,
                    v_th=-50.0, v_reset=-60.0, t_ref=5.0)
    net = _build(n, model, lambda rng, k: rng.normal(-55.0, 5.0, k), 6.0 / 10.0, 67.0 / 10.0,
                 out_degree, seed, backend, delay)
    net.neurons["I_ext"] = 20.0
    return net
