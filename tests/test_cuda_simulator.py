"""backend="cuda" against the CPU backends, under Numba's CUDA simulator (tests/_cuda.py), at tiny sizes.

The determinism contract (docs/cuda.md) is bounded: float atomics reorder each target's sum, so the CUDA
backend equals the CPU's bit for bit when every partial sum is exact (a dyadic network: weights k/4 into the
delay rings, at most one delay-0 synapse onto each target), and otherwise to rounding. On a GPU
(NUMBA_ENABLE_CUDASIM=0) NVVM may fuse the neuron updates' multiply-adds, so there states are compared to
1e-9 instead of bit for bit (spikes and counts still exactly).
"""
import _cuda  # noqa: F401  (first: asks for the simulator before numba.cuda is imported)
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eventsnn
from eventsnn import Network, Population
from eventsnn.backends import cuda_backend
from eventsnn.backends.distributed import Layout
from eventsnn.inputs import Poisson, SpikeGenerator, TimedCurrent
from eventsnn.kernels.cuda import simulator
from eventsnn.monitors import RateMonitor, SpikeMonitor, StateMonitor, SynapseMonitor
from eventsnn.neurons import LIF, CondLIF, Izhikevich
from eventsnn.plasticity import RSTDP, STDP
from eventsnn.projections import Sparse
from eventsnn.reference_networks import cuba
from eventsnn.testing import DT, build_network, lif_models, network_specs, neuron_models, spike_record, spike_trains

MAX_DELAY = 4  # steps


@st.composite
def dyadic_networks(draw):
    """(build(backend) -> (net, monitors), steps): a spike generator, a Poisson population, a LIF and another
    model; delayed projections of weights k/4 (exact sums in the rings), one delay-0 one-to-one projection
    onto each neuron population (one addition per target and step: exact), a timed drive, monitors."""
    steps = draw(st.integers(10, 30))
    sizes = [draw(st.integers(1, 6)) for _ in range(4)]
    models = [draw(spike_trains(sizes[0], steps, max_spikes=20)), Poisson(rate=draw(st.floats(100.0, 900.0))),
              draw(lif_models()), draw(neuron_models())]
    delayed = []
    for _ in range(draw(st.integers(1, 4))):
        pre, post = draw(st.integers(0, 3)), draw(st.integers(2, 3))
        target = draw(st.sampled_from(["exc", "inh"]))
        sign = -1.0 if target == "inh" and not isinstance(models[post], CondLIF) else 1.0
        delayed.append((pre, post, draw(st.floats(0.3, 1.0)), sign * draw(st.integers(1, 40)) / 4, target,
                        draw(st.integers(1, MAX_DELAY)), draw(st.integers(0, 2**16))))
    direct = [(draw(st.integers(0, 3)), post, draw(st.integers(1, 40)) / 4) for post in (2, 3)]
    drive = draw(st.lists(st.floats(0.0, 40.0), min_size=1, max_size=steps))
    every, seed = draw(st.integers(1, 3)), draw(st.integers(0, 2**31))

    def build(backend: str):
        pops = [Population(n, m, name=f"p{k}") for k, (n, m) in enumerate(zip(sizes, models))]
        net = Network(*pops, dt=DT, seed=seed, backend=backend)
        for pre, post, p, w, target, most, s in delayed:
            net.add(Sparse.fixed_probability(pops[pre], pops[post], p, w, lambda rng, m, most=most:
                                             DT * rng.integers(1, most + 1, m), target=target, seed=s))
        for pre, post, w in direct:
            k = min(sizes[pre], sizes[post])
            net.add(Sparse.from_arrays(pops[pre], pops[post], np.arange(k), np.arange(k)[::-1], w))
        net.add(TimedCurrent(pops[2], drive, DT))
        monitors = [net.add(SpikeMonitor(p)) for p in pops]
        monitors += [net.add(StateMonitor(pops[2], "v", every=every)), net.add(RateMonitor(pops[3])),
                     net.add(RateMonitor(pops[2][:1]))]
        return net, monitors

    return build, steps


def outcome(net: Network, monitors: list) -> list:
    """Everything a run leaves: records, state, refractory counts, pending input, counters."""
    records = [(m.steps, m.i) if isinstance(m, SpikeMonitor) else m.values if isinstance(m, StateMonitor)
               else m.counts for m in monitors]
    return [records, [p.state.copy() for p in net.populations], [p.refractory.copy() for p in net.populations],
            net.sim.ring(), net.spike_count, net.syn_events]


def assert_identical(a, b) -> None:
    """Equal, bit for bit (floats to 1e-9 on a GPU: fused multiply-adds, see the module docstring)."""
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_identical(x, y)
    elif _cuda.SIMULATOR or not np.issubdtype(np.asarray(a).dtype, np.floating):
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-9)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(dyadic_networks())
def test_dyadic_networks_equal_the_numpy_backend_bit_for_bit(drawn):
    build, steps = drawn
    results = []
    for backend in ("numpy", "cuda"):
        net, monitors = build(backend)
        net.run(steps * DT / 2)  # two runs: the device copies go back and forth in between
        net.run(steps * DT - net.t)
        results.append(outcome(net, monitors))
    assert_identical(results[0], results[1])


def test_reference_cuba_gives_the_numba_backends_spikes_and_state_to_rounding():
    nets = [cuba(80, 16.0, seed=3, backend=backend) for backend in ("numba", "cuda")]
    for bench in nets:
        bench.network.run(40.0)
    (a, b) = nets
    assert a.spikes.num_spikes > 20
    np.testing.assert_array_equal(a.spikes.steps, b.spikes.steps)
    np.testing.assert_array_equal(a.spikes.i, b.spikes.i)
    # 1e-9 on a GPU: its fused multiply-adds add an ulp per step that the leak sums over ~200 steps
    np.testing.assert_allclose(b.neurons.state, a.neurons.state, rtol=0, atol=1e-12 if _cuda.SIMULATOR else 1e-9)
    assert a.network.syn_events == b.network.syn_events


@pytest.mark.skipif(_cuda.SIMULATOR, reason="on a device only: under the simulator the sums are the CPU's")
def test_on_a_device_cuba_4000_keeps_the_cpus_spikes_for_10_ms_and_its_rate_over_a_second():
    """The bounded contract on the reference network: float atomics reorder the delay-0 sums from the first
    step, but a spike flips only where a membrane lies within rounding of its threshold, so the trains stay
    the CPU's for a while; after they part (the network is chaotic) the rate stays the CPU's."""
    nets = [cuba(4000, seed=1, backend=backend) for backend in ("numba", "cuda")]
    for bench in nets:
        bench.network.run(1000.0)
    (a, b) = nets
    early = [(m.spikes.steps[m.spikes.steps < 100], m.spikes.i[m.spikes.steps < 100]) for m in nets]
    assert early[0][0].size > 0
    np.testing.assert_array_equal(early[0][0], early[1][0])
    np.testing.assert_array_equal(early[0][1], early[1][1])
    assert abs(b.spikes.num_spikes / a.spikes.num_spikes - 1.0) < 0.05


def _dyadic_network(backend: str):
    """A fixed dyadic network: Poisson drive, LIF cells (per-neuron thresholds and refractory periods) and
    Izhikevich cells, delays of 1..3 steps, weights k/4."""
    rng = np.random.default_rng(5)
    lif_model = LIF(v_rest=-60.0, v_th=np.linspace(-53.0, -51.0, 10), v_reset=-65.0, t_ref=np.arange(10) % 4 * 0.3)
    drive, lif, izh = (Population(12, Poisson(rate=400.0), name="drive"), Population(10, lif_model, name="lif"),
                       Population(6, Izhikevich(), name="izh"))
    net = Network(drive, lif, izh, dt=DT, seed=11, backend=backend)
    for pre, post, target, sign in ((drive, lif, "exc", 1), (drive, izh, "exc", 1), (lif, izh, "exc", 1),
                                    (izh, lif, "inh", -1)):
        net.add(Sparse.fixed_probability(pre, post, 0.5, lambda r, m, s=sign: s * r.integers(1, 24, m) / 4,
                                         lambda r, m: DT * r.integers(1, 4, m), target=target, seed=rng))
    monitors = [net.add(SpikeMonitor(p)) for p in (drive, lif, izh)] + [net.add(StateMonitor(lif, "v"))]
    return net, monitors


def continued(build, tmp_path, first: str, then: str, duration: float) -> tuple[Network, list, Network]:
    """(straight, its monitors, resumed): ``build("numba")`` run for ``duration`` ms, and ``build(first)`` run for
    half of it, saved, loaded on backend ``then`` and run for the other half."""
    straight, monitors = build("numba")
    straight.run(duration)
    net, _ = build(first)
    net.run(duration / 2)
    eventsnn.save(net, tmp_path / "net.h5")
    resumed = eventsnn.load(tmp_path / "net.h5", backend=then)
    assert type(resumed.sim).name == then
    resumed.run(duration / 2)
    return straight, monitors, resumed


@pytest.mark.parametrize("first, then", [("cuda", "numba"), ("numba", "cuda")])
def test_a_checkpoint_continues_identically_on_the_other_backend(tmp_path, first, then):
    straight, monitors, resumed = continued(_dyadic_network, tmp_path, first, then, 6.0)
    resumed_monitors = [m for m in resumed.monitors if isinstance(m, (SpikeMonitor, StateMonitor))]
    assert straight.spike_count > 20
    assert_identical(outcome(resumed, resumed_monitors), outcome(straight, monitors))


def test_weights_written_between_runs_reach_the_device():
    results = []
    for backend in ("numba", "cuda"):
        net, monitors = _dyadic_network(backend)
        net.run(2.0)
        net.projections[0].weight = net.projections[0].weight * 2
        net.run(2.0)
        net.projections[1].weight[::2] = 0.25  # in place, into the live block
        net.run(2.0)
        results.append(outcome(net, monitors))
    assert_identical(results[0], results[1])


def test_drives_writing_one_variable_leave_the_last_ones_values_as_on_the_cpu():
    results = []
    for backend in ("numpy", "cuda"):
        net, monitors = _dyadic_network(backend)
        lif = net.populations[1]
        net.add(TimedCurrent(lif, np.full(5, 30.0), DT), TimedCurrent(lif[2:6], np.arange(8.0)[:, None] * [1, 2, 3, 4],
                                                                      DT))
        net.run(1.0)
        results.append(outcome(net, monitors))
    assert_identical(results[0], results[1])


@pytest.mark.parametrize("learning_too", [False, True])
def test_a_full_spike_record_stops_the_run_where_the_cpu_stops(monkeypatch, learning_too):
    monkeypatch.setattr(simulator, "CHECK_EVERY", 8)  # the host also stops queuing steps after the record filled
    done = {}
    for backend in ("numba", "cuda"):
        net, _ = (_learning_network if learning_too else _dyadic_network)(backend)
        net.build()
        rec = net._recorder(200)
        rec = rec._replace(spike_step=np.zeros(12 if learning_too else 40, np.int64),
                           spike_index=np.zeros(12 if learning_too else 40, np.int64))
        done[backend] = [net.sim.run(rec, 0, 200), rec.spike_step.copy(), rec.spike_index.copy(),
                         rec.pop_counts.copy(), rec.spike_count.copy()] + (learning(net) if learning_too else [])
    assert 0 < done["cuda"][0] < 200
    (assert_to_rounding if learning_too else assert_identical)(done["numba"], done["cuda"])


def learning(net: Network) -> list:
    """What plasticity leaves: weights and every array of the learning state, the history as its live entries
    (each slot's first hist_n, sorted on both backends; what lies past them is left from earlier steps, in the
    order each backend wrote it, and never read)."""
    pl = net.sim.pl
    live = [pl.hist[pl.group_off[l] + slot * (hi - lo):][:pl.hist_n[pl.slot_off[l] + slot]].copy()
            for l, (lo, hi) in enumerate(pl.pre_range) for slot in range(pl.depth[l])]
    return [net.sim.syn.weight.copy(), live] + [getattr(pl, name).copy() for name in cuda_backend.DYNAMIC
                                                if name != "hist"]


def assert_to_rounding(a, b) -> None:
    """Integers (spikes, steps, counts) equal; floats to 1e-9: plastic weights are not dyadic, so the float64
    atomics' order rounds each target's sum its own way (docs/cuda.md)."""
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_to_rounding(x, y)
    elif np.issubdtype(np.asarray(a).dtype, np.floating):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-9)
    else:
        np.testing.assert_array_equal(a, b)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(network_specs(max_populations=3, max_size=16, max_duration=4.0, plastic=True), st.floats(0.0, 3.0))
def test_plastic_networks_learn_as_on_the_numba_backend(spec, dopamine):
    results = []
    for backend in ("numba", "cuda"):
        net, monitors = build_network(spec, backend)
        net.run(spec.duration / 2)
        for proj in net.projections:  # dopamine from Python between runs, into R-STDP without a source too
            if isinstance(proj.plasticity, RSTDP):
                proj.deliver_dopamine(dopamine)
        net.run(spec.duration / 2)
        results.append([spike_record(monitors), [p.state.copy() for p in net.populations], learning(net),
                        net.syn_events])
    assert_to_rounding(results[0], results[1])


def _learning_network(backend: str):
    """A Poisson drive onto LIF cells through an STDP and an R-STDP projection (delays 0..2 steps; dopamine
    from a second Poisson population), and every kind of synapse sample."""
    drive, dop, cells = (Population(20, Poisson(rate=150.0), name="drive"), Population(3, Poisson(rate=40.0),
                         name="dopamine"), Population(8, LIF(), name="cells"))
    net = Network(drive, dop, cells, dt=DT, seed=2, backend=backend)
    delay = lambda rng, m: DT * rng.integers(0, 3, m)  # noqa: E731
    stdp = net.add(Sparse.fixed_probability(drive, cells, 0.5, 6.0, delay, plasticity=STDP(w_max=20.0), seed=1))
    rstdp = net.add(Sparse.fixed_probability(drive, cells, 0.5, 4.0, delay, seed=2, plasticity=RSTDP(
        w_max=20.0, tau_c=50.0, tau_n=20.0, dopamine=dop)))
    monitors = [net.add(SpikeMonitor(cells))]
    monitors += [net.add(SynapseMonitor(stdp, v, indices=[0, 5, 9])) for v in ("weight", "pre_trace", "post_trace")]
    monitors += [net.add(SynapseMonitor(rstdp, v, indices=[1, 4], every=3))
                 for v in ("weight", "eligibility", "dopamine")]
    return net, monitors


def _records(monitors: list) -> list:
    return [(m.steps, m.i) if isinstance(m, SpikeMonitor) else m.values for m in monitors]


def test_stdp_and_rstdp_with_every_synapse_sample_and_weight_writes_equal_the_numba_backend():
    results = []
    for backend in ("numba", "cuda"):
        net, monitors = _learning_network(backend)
        net.run(10.0)
        stdp, rstdp = net.projections
        rstdp.weight = np.clip(rstdp.weight + 0.5, 0.0, 20.0)  # an R-STDP write: its synapses caught up first
        stdp.weight = np.where(np.arange(stdp.n_synapses) % 3 == 0, 1.0, stdp.weight)
        rstdp.deliver_dopamine(2.0)
        net.run(10.0)
        results.append([_records(monitors), [p.state.copy() for p in net.populations], learning(net),
                        np.array(rstdp.weight), net.syn_events])
    assert results[0][0][0][0].size >= 10  # the cells fire, so both rules potentiate as well as depress
    assert not np.allclose(results[0][3], 4.5)  # the R-STDP weights moved
    assert_to_rounding(results[0], results[1])


@pytest.mark.parametrize("weight_dtype", ["float64", "float32"])
def test_projections_between_slices_several_rstdp_an_empty_one_and_float32_weights_learn_as_on_the_numba_backend(
        weight_dtype):
    results = []
    for backend in ("numba", "cuda"):
        drive, dop, cells = (Population(12, Poisson(rate=300.0), name="drive"), Population(6, Poisson(rate=80.0),
                             name="dopamine"), Population(10, LIF(), name="cells"))
        net = Network(drive, dop, cells, dt=DT, seed=3, backend=backend, weight_dtype=weight_dtype)
        delay = lambda rng, m: DT * rng.integers(0, 4, m)  # noqa: E731
        rule = dict(w_max=20.0, tau_c=30.0, tau_n=15.0)
        net.add(Sparse.fixed_probability(drive[2:9], cells[3:8], 0.8, 15.0, delay, seed=1,
                                         plasticity=STDP(w_max=20.0, pairing="nearest")),
                Sparse.fixed_probability(drive[5:12], cells[0:6], 0.8, 12.0, delay, seed=2,
                                         plasticity=RSTDP(**rule, dopamine=dop[1:4])),
                Sparse.fixed_probability(cells[0:5], cells[5:10], 0.5, 3.0, delay, seed=4, plasticity=RSTDP(**rule)),
                Sparse.fixed_probability(drive, cells, 0.0, 3.0, seed=5, plasticity=RSTDP(**rule, dopamine=dop)),
                Sparse.fixed_probability(drive, cells, 0.5, 6.0, 0.2, seed=6))
        monitors = [net.add(SpikeMonitor(cells)), net.add(SynapseMonitor(net.projections[1], "pre_trace", [0, 3]))]
        net.run(15.0)
        net.projections[2].deliver_dopamine(1.5)
        net.projections[3].deliver_dopamine(2.0)  # onto no synapse: n still rises
        net.run(15.0)
        results.append([_records(monitors), [p.state.copy() for p in net.populations], learning(net)])
    assert net.projections[3].n_synapses == 0 and results[0][0][0][0].size > 10
    assert_to_rounding(results[0], results[1])


def test_dopamine_from_python_and_from_the_source_in_one_step_is_released_as_on_the_cpu_exactly():
    dopamine = []
    for backend in ("numba", "cuda"):
        src = Population(2, SpikeGenerator([0, 1], [0.5, 0.5]), name="src")
        a, b = Population(1, LIF(), name="a"), Population(1, LIF(), name="b")
        net = Network(src, a, b, dt=DT, backend=backend)
        proj = net.add(Sparse.fixed_probability(a, b, 1.0, 1.0, plasticity=RSTDP(w_max=2.0, dopamine=src)))
        net.run(0.5)
        proj.deliver_dopamine(0.22)  # released at step 5 with the source's two spikes: 0.22 + 2, summed once
        net.run(0.2)
        dopamine.append(net.sim.pl.dopamine.copy())
    assert dopamine[0][0] > 0
    np.testing.assert_array_equal(dopamine[0], dopamine[1])


def test_a_weight_view_held_across_runs_still_writes_what_the_device_uses():
    results = []
    for backend in ("numba", "cuda"):
        net, monitors = _learning_network(backend)
        drive, _, cells = net.populations
        static = net.add(Sparse.fixed_probability(drive, cells, 0.5, 3.0, seed=9))
        net.build()
        held = static.weight  # the live block of the built network
        net.run(3.0)
        held[...] = 0.0  # after a run: the next must use it, and must not bring the old weights back
        net.run(3.0)
        results.append([_records(monitors), [p.state.copy() for p in net.populations], learning(net)])
        assert (static.weight == 0.0).all()
    assert_to_rounding(results[0], results[1])


def test_a_run_copies_to_the_device_only_the_weights_of_plastic_and_handed_out_projections(monkeypatch):
    net, _ = _learning_network("cuda")
    drive, _, cells = net.populations
    static = net.add(Sparse.fixed_probability(drive, cells, 0.5, 3.0, seed=9))
    net.run(0.3)  # builds the tables on the device: every weight once
    copied = []
    device_array = type(net.sim.tables.weight)
    copy = device_array.copy_to_device
    monkeypatch.setattr(device_array, "copy_to_device", lambda self, ary, *a: (copied.append(ary.size),
                                                                                copy(self, ary, *a))[1])
    stdp, rstdp, _ = net.projections
    net.run(0.3)
    assert copied == [stdp.n_synapses, rstdp.n_synapses]  # the host brings R-STDP's up to date between runs
    static.weight[0] = 1.0  # handed out: from now on before every run
    copied.clear()
    net.run(0.3)
    net.run(0.3)
    assert copied == 2 * [stdp.n_synapses, rstdp.n_synapses, static.n_synapses]


@pytest.mark.parametrize("first, then", [("cuda", "numba"), ("numba", "cuda")])
def test_a_learning_checkpoint_continues_on_the_other_backend(tmp_path, first, then):
    straight, _, resumed = continued(_learning_network, tmp_path, first, then, 8.0)
    assert_to_rounding([p.state for p in resumed.populations] + learning(resumed),
                       [p.state for p in straight.populations] + learning(straight))
    assert_to_rounding(_records(resumed.monitors), _records(straight.monitors))


def test_two_generators_with_more_events_in_a_step_than_the_grid_has_threads_equal_the_numpy_backend():
    results = []
    for backend in ("numpy", "cuda"):
        burst = Population(40, SpikeGenerator(np.arange(40), np.full(40, 0.3)), name="burst")  # 40 at step 3
        trains = Population(7, SpikeGenerator(np.repeat(np.arange(7), 3), np.tile([0.0, 0.5, 1.0], 7)), name="trains")
        cells = Population(5, LIF(), name="cells")
        net = Network(burst, trains, cells, dt=DT, seed=1, backend=backend)
        net.add(Sparse.fixed_probability(burst, cells, 0.5, 0.25, DT, seed=1),
                Sparse.fixed_probability(trains, cells, 0.5, 0.5, 2 * DT, seed=2))
        monitors = [net.add(SpikeMonitor(p)) for p in (burst, trains)] + [net.add(RateMonitor(p))
                                                                          for p in (burst, trains)]
        net.run(0.7)  # the second run starts from the cursors the first left
        net.run(1.0)
        results.append(outcome(net, monitors))
    assert results[0][0][0][1].size == 40 and results[0][0][1][1].size == 21
    assert_identical(results[0], results[1])


def test_mpi_is_refused_naming_the_ranks(monkeypatch):
    class Comm:
        def Get_rank(self):
            return 0

        def Get_size(self):
            return 3

    monkeypatch.setattr(Layout, "current", classmethod(lambda cls: cls(Comm())))
    with pytest.raises(ValueError, match="mpiexec started 3 ranks"):
        Network(Population(2, LIF()), backend="cuda").run(1.0)


def test_without_a_gpu_the_error_says_what_to_install(monkeypatch):
    from eventsnn.kernels.cuda import arrays

    monkeypatch.setattr(_cuda.cuda, "is_available", lambda: False)
    arrays.require_device.cache_clear()  # the GPU (simulator) found by earlier tests in this process
    with pytest.raises(RuntimeError, match=r'no CUDA GPU.*pip install "\.\[cuda\]"'):
        Network(Population(2, LIF()), backend="cuda").run(1.0)
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        cuda_backend.device_kernels()
    from eventsnn.kernels.cuda import event_linear
    from eventsnn.lm.cuda_engine import CudaEngine

    simulator_hint = "NUMBA_ENABLE_CUDASIM=1 in the environment before numba is imported"
    with pytest.raises(RuntimeError, match=f"no CUDA GPU.*{simulator_hint}"):
        event_linear.event_matmul(np.ones((1, 1), np.float32), np.ones((1, 1), np.float32))
    with pytest.raises(RuntimeError, match=f"no CUDA GPU.*{simulator_hint}"):
        CudaEngine(None)  # checked before anything else


@pytest.mark.parametrize("projection, monitor", [(False, True), (True, False)])
def test_a_network_without_projections_or_without_a_spike_monitor_equals_the_numpy_backend(projection, monitor):
    results = []  # propagation and the spike record share a kernel: each must work without the other
    for backend in ("numpy", "cuda"):
        drive, lif = Population(8, Poisson(rate=600.0), name="drive"), Population(5, LIF(v_rest=-52.0), name="lif")
        net = Network(drive, lif, dt=DT, seed=2, backend=backend)
        if projection:
            net.add(Sparse.fixed_probability(drive, lif, 0.5, 2.25, DT, seed=1))
        monitors = [net.add(SpikeMonitor(p)) for p in (drive, lif)] if monitor else []
        net.run(2.0)
        results.append(outcome(net, monitors))
    assert results[0][-2] > 0  # spikes
    assert_identical(results[0], results[1])
