"""Threads in the Numba backend: the spikes and state of one thread and of the NumPy reference, for any count."""
import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventsnn import LIF, Network, Population, Sparse, SpikeGenerator, SpikeMonitor, spike_digest
from eventsnn.reference_networks import coba, cuba
from eventsnn.testing import build_network, network_specs, spike_record

from _examples import load_example


def _outcome(net, monitors) -> tuple:
    """Everything a run leaves behind: spikes, state, refractory counters, delay rings, weights, counters."""
    return (spike_record(monitors), [p.state.copy() for p in net.populations],
            [p.refractory.copy() for p in net.populations], net.sim.syn.ring.copy(), net.sim.syn.weight.copy(),
            net.sim.pl.x_pre.copy(), net.sim.pl.elig.copy(), net.syn_events, net.spike_count)


def _assert_same(a, b) -> None:
    (spikes_a, *arrays_a, events_a, count_a), (spikes_b, *arrays_b, events_b, count_b) = a, b
    for (steps_a, i_a), (steps_b, i_b) in zip(spikes_a, spikes_b):
        np.testing.assert_array_equal(steps_a, steps_b)
        np.testing.assert_array_equal(i_a, i_b)
    for x, y in zip(arrays_a, arrays_b):
        for u, v in zip(x, y) if isinstance(x, list) else [(x, y)]:
            np.testing.assert_array_equal(u, v)
    assert (events_a, count_a) == (events_b, count_b)


@settings(max_examples=25)
@given(network_specs(plastic=True), st.integers(2, 5), st.sampled_from(["float64", "float32"]))
def test_threads_give_the_spikes_and_state_of_one_thread_and_of_numpy(spec, threads, weight_dtype):
    outcomes = []
    for backend, n_threads in (("numpy", 1), ("numba", 1), ("numba", threads)):
        net, monitors = build_network(spec, backend)
        net.threads, net.weight_dtype = n_threads, np.dtype(weight_dtype)
        net.run(spec.duration)
        outcomes.append(_outcome(net, monitors))
    _assert_same(outcomes[0], outcomes[1])
    _assert_same(outcomes[1], outcomes[2])


def test_rows_in_any_order_and_repeated_targets_agree_across_threads():
    """Rows whose targets do not ascend (threads scan them) and repeated synapses onto one neuron, with delays."""
    rng = np.random.default_rng(3)
    i, j = rng.integers(0, 40, 3000), rng.integers(0, 25, 3000)  # many repeated pairs
    outcomes = []
    for backend, threads in (("numpy", 1), ("numba", 1), ("numba", 2), ("numba", 3)):
        drive = Population(40, SpikeGenerator(np.repeat(np.arange(40), 5), np.tile(np.arange(5) * 3.0 + 0.1, 40)))
        post = Population(25, LIF(tau_m=10.0, v_th=-50.0, v_reset=-65.0, v_rest=-65.0))
        proj = Sparse.from_arrays(drive, post, i, j, lambda r, m: r.uniform(0.0, 0.5, m),
                                  lambda r, m: 0.1 * r.integers(0, 20, m), seed=4)
        monitors = [SpikeMonitor(post)]
        net = Network(drive, post, proj, *monitors, threads=threads, backend=backend)
        net.run(40.0)
        assert not net.sim.syn.ascending[0]
        outcomes.append(_outcome(net, monitors))
    assert outcomes[0][0][0][0].size > 0
    for other in outcomes[1:]:
        _assert_same(outcomes[0], other)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_a_bad_thread_count_is_named(bad):
    with pytest.raises(ValueError, match="threads"):
        Network(threads=bad)
    net = Network()
    with pytest.raises(ValueError, match="threads"):
        net.threads = bad


@pytest.mark.parametrize("build, name", [(cuba, "CUBA"), (coba, "COBA")])
def test_the_examples_write_one_digest_for_one_and_two_threads(build, name, tmp_path, monkeypatch):
    example = load_example("cuba")
    digests = []
    for threads in (1, 2):
        out = tmp_path / f"{threads}.json"
        monkeypatch.setattr("sys.argv", ["cuba.py", "--n", "1000", "--duration", "100", "--threads", str(threads),
                                         "--json", str(out)])
        example.main(build, name)
        summary = json.loads(out.read_text())
        assert summary["spikes"] > 0 and summary["threads"] == threads
        digests.append(summary["spike_digest"])
    assert digests[0] == digests[1]
    reference = build(1000, seed=1, backend="numpy")
    reference.network.run(100.0)
    assert digests[0] == spike_digest(reference.spikes.steps, reference.spikes.i)


def test_the_digest_is_sha256_of_sorted_little_endian_pairs():
    import hashlib

    pairs = np.array([[0, 3], [1, 2], [1, 5]], "<i8")
    expected = hashlib.sha256(pairs.tobytes()).hexdigest()
    assert spike_digest([1, 0, 1], [5, 3, 2]) == expected
    assert spike_digest([0, 1, 1], [3, 2, 6]) != expected
    with pytest.raises(ValueError, match="neurons"):
        spike_digest([0, 1], [3])
    with pytest.raises(ValueError, match="steps"):
        spike_digest([-1], [3])


def test_the_thread_benchmark_measures_each_thread_count_with_the_same_spikes():
    path = Path(__file__).parents[1] / "benchmarks" / "cuba.py"
    spec = importlib.util.spec_from_file_location("cuba_benchmark", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    args = argparse.Namespace(duration=0.02, backend="numba", seed=1, compare=[], rounds=1, threads=[1, 2])
    rec = benchmark.measure_threads(500, args)
    runs = rec["runs"]["eventsnn"]
    assert set(runs) == {"1", "2"} and runs["1"]["spikes"] == runs["2"]["spikes"] > 0
    assert rec["speedup"]["eventsnn"]["1"] == 1.0 and rec["speedup"]["eventsnn"]["2"] > 0
