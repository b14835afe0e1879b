"""Memory per synapse: one owner of the synapse table, narrow types, no float64 temporaries while building."""
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import eventsnn as esnn
from eventsnn import LIF, Network, Population, Sparse, SpikeMonitor


def _cuba_like(n: int, out_degree: float, weight_dtype: str, delay: float = 0.0, backend: str = "numba"):
    pop = Population(n, LIF(tau_m=20.0, tau_e=5.0, tau_i=10.0, v_rest=-49.0, v_th=-50.0, v_reset=-60.0, t_ref=5.0))
    pop["v"] = np.random.default_rng(0).uniform(-60.0, -50.0, n)
    n_exc = int(0.8 * n)
    exc = Sparse.fixed_probability(pop[:n_exc], pop, out_degree / n, 1.62, delay, target="exc", seed=1)
    inh = Sparse.fixed_probability(pop[n_exc:], pop, out_degree / n, -9.0, delay, target="inh", seed=2)
    monitor = SpikeMonitor(pop)
    return Network(pop, exc, inh, monitor, weight_dtype=weight_dtype, backend=backend), monitor


def _bytes_per_synapse(net) -> float:
    syn = net.sim.syn
    return sum(a.nbytes for a in (syn.post, syn.weight, syn.delay, syn.indptr)) / syn.post.size


@pytest.mark.parametrize("weight_dtype, limit", [("float32", 10.0), ("float64", 14.0)])
def test_a_static_synapse_takes_at_most_ten_bytes_with_float32_weights(weight_dtype, limit):
    net, _ = _cuba_like(4000, 80.0, weight_dtype)
    net.build()
    assert net.sim.syn.weight.dtype == np.dtype(weight_dtype)
    assert net.sim.syn.delay.dtype == np.uint8
    assert _bytes_per_synapse(net) <= limit


@pytest.mark.parametrize("delay_ms, dtype", [(25.5, np.uint8), (30.0, np.uint16), (7000.0, np.int32)])
def test_delays_are_stored_in_the_narrowest_type_that_holds_them(delay_ms, dtype):
    pre, post = Population(3, LIF()), Population(2, LIF())
    net = Network(pre, post, Sparse.from_arrays(pre, post, [0, 1, 2], [1, 0, 1], 1.0, [0.0, delay_ms, 0.1]))
    net.build()
    assert net.sim.syn.delay.dtype == dtype
    np.testing.assert_allclose(net.projections[0].delay, [0.0, delay_ms, 0.1])


def test_the_backend_is_the_one_owner_of_a_built_projections_synapses():
    net, _ = _cuba_like(500, 20.0, "float32")
    exc = net.projections[0]
    indptr, indices = exc.indptr.copy(), exc.indices.copy()
    net.build()
    assert exc._indptr is None and exc._indices is None and exc._weight is None and exc._delay is None
    assert np.shares_memory(exc.indices, net.sim.syn.post) and np.shares_memory(exc.weight, net.sim.syn.weight)
    np.testing.assert_array_equal(exc.indices, indices)
    np.testing.assert_array_equal(exc.indptr, indptr)
    for name in ("indices", "indptr"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(exc, name)[0] = 1
    exc.weight = 2.5  # weights stay writable, rounded to the network's type
    assert exc.weight.dtype == np.float32 and np.all(exc.weight == 2.5)


def test_building_makes_no_float64_copy_of_scalar_weights_and_delays():
    net, _ = _cuba_like(20000, 100.0, "float32", delay=1.0)
    m = sum(pr.n_synapses for pr in net.projections)
    assert all(pr.weight.strides == (0,) and pr.delay.strides == (0,) for pr in net.projections)  # one number each
    tracemalloc.start()
    net.build()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    per_neuron = net.sim.syn.ring.nbytes  # pending input: 11 slots of 20000 neurons, 2 variables
    assert peak - per_neuron < 10.0 * m  # the table: 4 + 4 + 1 bytes per synapse (+ row pointers), no 8-byte temporary


def test_float32_weights_give_the_same_spikes_in_numpy_and_numba_and_survive_a_checkpoint(tmp_path):
    runs = {}
    for backend in ("numpy", "numba"):
        net, monitor = _cuba_like(400, 40.0, "float32", delay=0.5, backend=backend)
        net.run(30.0)
        if backend == "numba":
            esnn.save(net, tmp_path / "net.h5")
            net.run(30.0)
        runs[backend] = (monitor.steps, monitor.i)
    np.testing.assert_array_equal(runs["numpy"][0], runs["numba"][0][:runs["numpy"][0].size])
    loaded = esnn.load(tmp_path / "net.h5")
    assert loaded.weight_dtype == np.float32 and loaded.sim.syn.weight.dtype == np.float32
    loaded.run(30.0)
    np.testing.assert_array_equal(loaded.monitors[0].steps, runs["numba"][0])
    np.testing.assert_array_equal(loaded.monitors[0].i, runs["numba"][1])
    assert runs["numba"][0].size > 0


def test_a_checkpoint_written_before_weight_dtype_loads_as_float64():
    net, _ = _cuba_like(200, 20.0, "float64")
    snap = net.checkpoint_state()
    del snap.config["weight_dtype"]
    assert Network.from_checkpoint(snap).weight_dtype == np.float64


@pytest.mark.parametrize("bad", ["int32", "float16", None, 3])
def test_a_bad_weight_dtype_is_named(bad):
    with pytest.raises(ValueError, match="weight_dtype"):
        Network(weight_dtype=bad)


def test_the_scale_benchmark_reports_build_run_and_bytes_per_synapse(tmp_path):
    out = tmp_path / "scale.json"
    script = Path(__file__).parents[1] / "benchmarks" / "scale.py"
    subprocess.run([sys.executable, str(script), "--synapses", "2e5", "--peer-synapses", "2e5", "--out-degree", "100",
                    "--duration", "5", "--json", str(out)], check=True, capture_output=True, timeout=600)
    ours = [r for r in json.loads(out.read_text())["runs"] if r["simulator"] == "eventsnn"]
    assert len(ours) == 1 and ours[0]["n"] == 2000 and abs(ours[0]["synapses"] - 2e5) < 5e3
    assert ours[0]["build_s"] > 0 and ours[0]["run_s"] > 0 and ours[0]["rate_hz"] > 0
    assert ours[0]["table_bytes_per_synapse"] <= 10.0 and ours[0]["weight_dtype"] == "float32"
    assert ours[0]["resident_bytes_per_synapse"] > 0 and ours[0]["peak_bytes_per_synapse"] > 0


def test_a_weight_beyond_float32_is_refused_not_stored_as_infinity():
    pre, post = Population(2, LIF()), Population(2, LIF())
    built = Sparse.fixed_probability(pre, post, 1.0, weight=-1e39, seed=1)
    with pytest.raises(ValueError, match=r"projection 0's weight .*float32.*got -1e\+39"):
        Network(built, backend="numpy", weight_dtype="float32").build()
    proj = Sparse.fixed_probability(Population(2, LIF()), Population(2, LIF()), 1.0, weight=0.5, seed=1)
    net = Network(proj, backend="numpy", weight_dtype="float32")
    net.run(0.2)
    with pytest.raises(ValueError, match=r"projection 0's weight .*got 1e\+39"):
        proj.weight = 1e39
    assert np.all(proj.weight == np.float32(0.5))
    proj.weight = 3e38  # within float32's range
    assert np.all(np.isfinite(proj.weight))
