"""AdEx: the firing patterns of Naud et al. (2008), per-neuron parameters, both backends, one Euler step.

The patterns come from ``examples/adex_patterns.py`` (its parameter table and
its classifier); the checks below state each pattern's interspike-interval
(ISI) signature directly, so that a neuron firing another pattern fails them.
Times in ms, potentials in mV, currents in pA.
"""

import numpy as np
import pytest

import eventsnn as esnn
from _examples import load_example

adex_patterns = load_example("adex_patterns")
ONSET, DT = adex_patterns.ONSET, adex_patterns.DT


@pytest.fixture(scope="module")
def spikes() -> dict[str, np.ndarray]:
    return adex_patterns.simulate()


def _signature_holds(name: str, t: np.ndarray) -> bool:
    """The ISI signature of pattern ``name`` (Naud et al. 2008, Fig. 4) for spike times ``t``."""
    if name == "transient":  # spikes only just after onset, then rests
        return 1 <= t.size <= 3 and t[-1] < ONSET + 50
    if t.size < 6:
        return False
    isi = np.diff(t)
    latency = t[0] - ONSET
    index = adex_patterns.adaptation_index(isi)
    if name == "tonic":  # fires at once, then at a constant rate
        return latency < 20 and isi.size > 30 and isi.max() < 1.1 * isi.min() and abs(index) < 0.01
    if name == "adapting":  # ISIs lengthen gradually (no jump) and settle
        return (np.all(np.diff(isi) > 0) and np.all(isi[1:] < 2 * isi[:-1]) and isi[-1] > 5 * isi[0]
                and index > 0.05)
    if name == "initial_burst":  # two short ISIs at onset, then regular long ones
        return (latency < 10 and np.all(isi[:2] < 10) and np.all(isi[2:] > 50)
                and np.ptp(isi[3:]) < 0.2)
    if name == "regular_bursting":  # bursts of short ISIs separated by long, equal pauses
        short, long = isi[isi < 10], isi[isi >= 10]
        return (short.size >= 3 and long.size >= 3 and long.min() > 100 and np.ptp(long[1:]) < 2
                and np.all(isi[1:][isi[:-1] >= 10] < 10))  # every pause is followed by a burst
    if name == "delayed_accelerating":  # late first spike, then ISIs that only shorten
        return latency > 25 and np.all(np.diff(isi) <= 1e-6) and isi[-1] < 0.6 * isi[0]
    if name == "delayed_regular_bursting":  # late first spike, then bursts of 3-4 spikes
        bursts = np.split(t, np.flatnonzero(isi > 30) + 1)
        return latency > 40 and len(bursts) >= 5 and all(3 <= b.size <= 4 for b in bursts[:-1])
    if name == "irregular":  # many spikes, long ISIs of varying length, no period
        long = isi[isi > 10]
        return t.size > 20 and long.size > 10 and np.std(long) / np.mean(long) > 0.3
    raise ValueError(name)


@pytest.mark.parametrize("name", list(adex_patterns.PATTERNS))
def test_each_pattern_has_its_signature_and_no_other(spikes, name):
    assert _signature_holds(name, spikes[name]), (name, np.round(np.diff(spikes[name]), 1))
    others = [other for other in adex_patterns.PATTERNS if other != name and _signature_holds(other, spikes[name])]
    assert others == []
    assert adex_patterns.classify(spikes[name]) == name


def test_classifier_tells_simple_trains_apart():
    classify = adex_patterns.classify
    assert classify(np.array([])) == "silent"
    assert classify(ONSET + 10.0 * np.arange(1, 50)) == "tonic"
    assert classify(ONSET + 5.0 + np.cumsum(np.geomspace(5.0, 40.0, 12))) == "adapting"
    assert classify(ONSET + 40.0 + np.cumsum(np.geomspace(30.0, 10.0, 20))) == "delayed_accelerating"
    assert classify(ONSET + 5.0 + np.cumsum([3.0, 4.0] + [60.0] * 7)) == "initial_burst"
    assert classify(ONSET + 5.0 + np.cumsum([3.0, 5.0, 120.0] * 4)) == "regular_bursting"
    assert classify(np.array([ONSET + 10.0, ONSET + 20.0])) == "transient"


def test_per_neuron_parameter_arrays_give_the_same_spikes_as_one_population_per_pattern(spikes):
    names = list(adex_patterns.PATTERNS)
    table = adex_patterns.PATTERNS
    params = {key: np.array([table[n][key] for n in names]) for key in table[names[0]]}
    pop = esnn.Population(len(names), esnn.AdEx(**params))
    mon = esnn.SpikeMonitor(pop)
    net = esnn.Network(pop, mon, dt=DT)
    net.run(ONSET)
    pop["I_ext"] = [adex_patterns.CURRENTS[n] for n in names]
    net.run(adex_patterns.DURATION - ONSET)
    for k, name in enumerate(names):
        np.testing.assert_array_equal(mon.spike_trains()[k], spikes[name], err_msg=name)


def test_numpy_and_numba_backends_give_identical_spikes(spikes):
    reference = adex_patterns.simulate(backend="numpy")
    for name in adex_patterns.PATTERNS:
        np.testing.assert_array_equal(reference[name], spikes[name], err_msg=name)


def _one_step(model: esnn.AdEx, v: float, w: float, I_e: float, I_i: float, I_ext: float, dt: float) -> dict:
    pop = esnn.Population(1, model)
    for name, value in {"v": v, "w": w, "I_e": I_e, "I_i": I_i, "I_ext": I_ext}.items():
        pop[name] = value
    mon = esnn.SpikeMonitor(pop)
    esnn.Network(pop, mon, dt=dt).run(dt)
    return {name: float(pop[name][0]) for name in ("v", "w", "I_e", "I_i")} | {"spikes": mon.num_spikes}


def test_one_step_is_forward_euler_of_the_adex_equations():
    m = esnn.AdEx(C=150.0, g_L=12.0, E_L=-68.0, V_T=-52.0, Delta_T=2.5, tau_w=80.0, a=3.0, b=40.0,
                  V_reset=-55.0, V_peak=0.0, tau_e=4.0, tau_i=9.0)
    v, w, I_e, I_i, I_ext, dt = -55.0, 30.0, 120.0, -40.0, 200.0, 0.1
    dv = (-m.g_L * (v - m.E_L) + m.g_L * m.Delta_T * np.exp((v - m.V_T) / m.Delta_T) - w + I_e + I_i + I_ext) / m.C
    dw = (m.a * (v - m.E_L) - w) / m.tau_w
    got = _one_step(m, v, w, I_e, I_i, I_ext, dt)
    assert got["spikes"] == 0
    assert got["v"] == pytest.approx(v + dt * dv, rel=1e-13)
    assert got["w"] == pytest.approx(w + dt * dw, rel=1e-13)
    assert got["I_e"] == pytest.approx(I_e * np.exp(-dt / m.tau_e), rel=1e-13)
    assert got["I_i"] == pytest.approx(I_i * np.exp(-dt / m.tau_i), rel=1e-13)
    # A step that crosses V_peak: v is reset, w takes its Euler step plus b.
    v = -30.0
    dw = (m.a * (v - m.E_L) - w) / m.tau_w
    got = _one_step(m, v, w, 0.0, 0.0, 0.0, dt)
    assert got["spikes"] == 1
    assert got["v"] == m.V_reset
    assert got["w"] == pytest.approx(w + dt * dw + m.b, rel=1e-13)


def test_subthreshold_response_converges_to_the_exact_solution_at_first_order():
    """With Delta_T tiny and v far below V_T the model is linear: x = (v - E_L, w),
    dx/dt = A x + (I/C, 0), solved exactly by the eigenvectors of A."""
    C, g_L, E_L, a, tau_w, I, T = 200.0, 10.0, -70.0, 2.0, 30.0, 100.0, 100.0
    model = esnn.AdEx(C=C, g_L=g_L, E_L=E_L, V_T=-40.0, Delta_T=0.01, tau_w=tau_w, a=a, b=0.0)
    A = np.array([[-g_L / C, -1.0 / C], [a / tau_w, -1.0 / tau_w]])
    x_inf = -np.linalg.solve(A, [I / C, 0.0])
    lam, vec = np.linalg.eig(A)
    x_T = x_inf + (vec @ np.diag(np.exp(lam * T)) @ np.linalg.solve(vec, -x_inf)).real
    errors = []
    for dt in (0.1, 0.01):
        pop = esnn.Population(1, model)
        pop["I_ext"] = I
        esnn.Network(pop, dt=dt).run(T)
        errors.append(abs(pop["v"][0] - E_L - x_T[0]) + abs(pop["w"][0] - x_T[1]))
    assert x_T[0] > 5.0  # a real response: v rose by more than 5 mV
    assert errors[0] < 0.01
    assert 8.0 < errors[0] / errors[1] < 12.0  # forward Euler: error proportional to dt
