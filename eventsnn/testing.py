"""Hypothesis strategies for property-testing spiking models.

>>> from hypothesis import given
>>> from eventsnn.testing import lif_models, network_specs, build_network
>>> @given(network_specs())
... def test_my_property(spec):
...     net, monitors = build_network(spec, backend="numba")
...     net.run(spec.duration)

Strategies draw valid parameters only; ``network_specs`` draws a whole random
network as a plain, printable description, so a failing example shrinks to a
small network and can be rebuilt on any backend with ``build_network``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

try:
    from hypothesis import strategies as st
except ImportError as err:
    raise ImportError("eventsnn.testing needs hypothesis: pip install 'eventsnn[dev]'") from err

from ._validation import check_finite, check_int, check_positive
from .inputs import Poisson, SpikeGenerator
from .monitors import SpikeMonitor
from .network import Network
from .neuron_model import NeuronModel
from .neurons import ALIF, IF, LIF, AdEx, CondLIF, Izhikevich
from .plasticity import RSTDP, STDP, PlasticityRule
from .population import Population
from .projections import Sparse

DT = 0.1


def time_constants(min_ms: float = 1.0, max_ms: float = 100.0) -> st.SearchStrategy[float]:
    """Time constants in ms, in [min_ms, max_ms] (0 < min_ms <= max_ms)."""
    min_ms, max_ms = check_positive("min_ms", min_ms), check_positive("max_ms", max_ms)
    if max_ms < min_ms:
        raise ValueError(f"max_ms must be >= min_ms = {min_ms}, got {max_ms}")
    return st.floats(min_ms, max_ms, allow_nan=False)


def lif_models(refractory: bool = True) -> st.SearchStrategy[LIF]:
    """LIF neurons with rest -80..-50 mV, threshold 5..30 mV above rest, reset at or below rest."""
    @st.composite
    def draw(d):
        v_rest = d(st.floats(-80.0, -50.0))
        return LIF(
            tau_m=d(time_constants(2.0, 50.0)), tau_e=d(time_constants(0.5, 20.0)), tau_i=d(time_constants(0.5, 20.0)),
            v_rest=v_rest, v_th=v_rest + d(st.floats(5.0, 30.0)), v_reset=v_rest - d(st.floats(0.0, 10.0)),
            t_ref=d(st.integers(0, 50)) * DT if refractory else 0.0, reset=d(st.sampled_from(["hard", "subtract"])),
        )
    return draw()


def neuron_models() -> st.SearchStrategy[NeuronModel]:
    """Any spiking neuron model with valid, moderately excitable parameters."""
    alif = lif_models().map(lambda m: ALIF(**{**m.__dict__, "tau_a": 100.0, "beta": 2.0}))
    if_ = lif_models().map(lambda m: IF(tau_m=m.tau_m, tau_e=m.tau_e, tau_i=m.tau_i, v_th=m.v_th,
                                        v_reset=m.v_reset, t_ref=m.t_ref, reset=m.reset))
    coba = st.builds(CondLIF, tau_m=time_constants(5.0, 30.0), t_ref=st.integers(0, 30).map(lambda k: k * DT),
                     reset=st.sampled_from(["hard", "subtract"]))
    izh = st.builds(Izhikevich, a=st.floats(0.01, 0.1), b=st.floats(0.1, 0.3),
                    c=st.floats(-70.0, -50.0), d=st.floats(0.5, 8.0))
    # A small, leaky AdEx cell, so that synaptic weights of a few pA make it fire.
    adex = st.builds(AdEx, C=st.floats(5.0, 30.0), g_L=st.floats(1.0, 5.0), a=st.floats(-1.0, 4.0),
                     b=st.floats(0.0, 20.0), tau_w=time_constants(20.0, 200.0), V_T=st.floats(-55.0, -50.0),
                     t_ref=st.integers(0, 20).map(lambda k: k * DT))
    return st.one_of(lif_models(), alif, if_, coba, izh, adex)


def spike_trains(n: int, steps: int, dt: float = DT, max_spikes: int = 50) -> st.SearchStrategy[SpikeGenerator]:
    """Spike generators of ``n`` neurons over ``steps`` steps, at most one spike per neuron and step."""
    n, steps = check_int("n", n, minimum=1), check_int("steps", steps, minimum=1)
    pairs = st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, steps - 1)), max_size=max_spikes)
    return pairs.map(lambda s: SpikeGenerator(indices=[i for i, _ in sorted(s)], times=[k * dt for _, k in sorted(s)]))


def plasticity_rules(w_min: float, w_max: float, dopamine=None) -> st.SearchStrategy[PlasticityRule]:
    """STDP (additive or multiplicative, all-to-all or nearest) and R-STDP rules for weights in
    [w_min, w_max]; R-STDP takes its dopamine from ``dopamine`` (a population, or None)."""
    w_min, w_max = check_finite("w_min", w_min), check_finite("w_max", w_max)
    if w_max <= w_min:
        raise ValueError(f"w_max must be > w_min = {w_min}, got {w_max}")
    amplitude = st.floats(0.0, 0.2 * (w_max - w_min))
    stdp = st.builds(STDP, tau_plus=time_constants(), tau_minus=time_constants(), A_plus=amplitude,
                     A_minus=amplitude, w_min=st.just(w_min), w_max=st.just(w_max),
                     weight_dependence=st.sampled_from(["additive", "multiplicative"]),
                     pairing=st.sampled_from(["all_to_all", "nearest"]))
    rstdp = st.builds(RSTDP, A_plus=st.floats(0.0, 2.0), A_minus=st.floats(0.0, 2.0), tau_plus=time_constants(),
                      tau_minus=time_constants(), tau_c=time_constants(5.0, 1000.0),
                      tau_n=time_constants(5.0, 500.0), b=st.floats(-0.01, 0.01), w_min=st.just(w_min),
                      w_max=st.just(w_max), dopamine=st.just(dopamine))
    return st.one_of(stdp, rstdp)


@dataclass(frozen=True)
class NetworkSpec:
    """A random network, described in plain values."""

    models: tuple  # one model per population (the first is a Poisson drive)
    sizes: tuple
    projections: tuple  # (pre, post, p, weight, max_delay_ms, target, seed, rule or None, dopamine from the drive)
    seed: int
    duration: float  # ms, a whole number of steps
    min_delay: float = 0.0  # ms: no synapse is faster (delays are drawn from min_delay to max(min_delay, max_delay_ms))


@st.composite
def network_specs(draw, max_populations: int = 4, max_size: int = 30, max_duration: float = 30.0,
                  plastic: bool = False, min_delay: float = 0.0) -> NetworkSpec:
    """Random networks: a Poisson drive plus 1..max_populations-1 spiking populations, random sparse
    projections (probability, weight, delays from ``min_delay`` (ms, on the step grid; at least one step for
    MPI) up to 2 ms or more, excitatory or inhibitory); with ``plastic``,
    each projection may learn by a random STDP or R-STDP rule (R-STDP's dopamine: the drive's spikes or
    none), weights bounded by [0, 10] or [-10, 0]."""
    check_int("max_populations", max_populations, minimum=2)
    check_int("max_size", max_size, minimum=1)
    if check_finite("max_duration", max_duration) < 10 * DT:
        raise ValueError(f"max_duration must be >= {10 * DT} ms (ten steps), got {max_duration}")
    n_pop = draw(st.integers(2, max_populations))
    models = (Poisson(rate=draw(st.floats(50.0, 500.0))),) + tuple(draw(neuron_models()) for _ in range(n_pop - 1))
    sizes = tuple(draw(st.integers(1, max_size)) for _ in range(n_pop))
    projections = []
    for post in range(1, n_pop):
        projections.append((0, post, draw(st.floats(0.2, 1.0)), draw(st.floats(0.5, 10.0)),
                            draw(st.sampled_from([0.0, 0.1, 1.0, 2.0])), "exc", draw(st.integers(0, 2**16))))
    for _ in range(draw(st.integers(0, 4))):
        pre, post = draw(st.integers(1, n_pop - 1)), draw(st.integers(1, n_pop - 1))
        target = draw(st.sampled_from(["exc", "inh"]))
        # Inhibitory currents are negative; conductances are always positive.
        sign = -1.0 if target == "inh" and not isinstance(models[post], CondLIF) else 1.0
        weight = sign * draw(st.floats(0.1, 5.0))
        projections.append((pre, post, draw(st.floats(0.0, 1.0)), weight,
                            draw(st.sampled_from([0.0, 0.5, 2.0])), target, draw(st.integers(0, 2**16))))
    rules = [None] * len(projections)
    if plastic:
        rules = [draw(st.none() | plasticity_rules(*((0.0, 10.0) if w > 0 else (-10.0, 0.0))))
                 for _, _, _, w, *_ in projections]
    projections = [(*pr, rule, plastic and draw(st.booleans())) for pr, rule in zip(projections, rules)]
    steps = draw(st.integers(10, int(max_duration / DT)))
    return NetworkSpec(models, sizes, tuple(projections), draw(st.integers(0, 2**31)), steps * DT, min_delay)


def build_network(spec: NetworkSpec, backend: str = "numba") -> tuple[Network, list[SpikeMonitor]]:
    """The network a spec describes, with a spike monitor on every population (R-STDP rules marked so
    take their dopamine from the drive, population 0)."""
    if not isinstance(spec, NetworkSpec):
        raise ValueError(f"spec must be a NetworkSpec (drawn by network_specs), got {spec!r}")
    pops = [Population(n, m, name=f"p{k}") for k, (n, m) in enumerate(zip(spec.sizes, spec.models))]
    net = Network(*pops, dt=DT, seed=spec.seed, backend=backend)
    lo = round(spec.min_delay / DT)
    for pre, post, p, weight, max_delay, target, seed, *learning in spec.projections:
        rule, dopamine = (*learning, None, False)[:2]  # static projections may leave both out
        # Delays on the dt grid: whole steps from min_delay up to max_delay.
        hi = max(lo, round(max_delay / DT))
        delay = (lambda rng, m, hi=hi: DT * rng.integers(lo, hi + 1, m)) if hi else 0.0
        if isinstance(rule, RSTDP) and dopamine:
            rule = RSTDP(**rule.parameters(), dopamine=pops[0])
        net.add(Sparse.fixed_probability(pops[pre], pops[post], p, weight, delay, target=target, seed=seed,
                                         plasticity=rule))
    monitors = [net.add(SpikeMonitor(p)) for p in pops]
    return net, monitors


def spike_record(monitors: list[SpikeMonitor]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(steps, indices) of each monitor, for exact comparison."""
    return [(m.steps, m.i) for m in monitors]
