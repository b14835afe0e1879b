"""Simulations saved and restored continue exactly; bad files are refused."""
import zlib

import h5py
import numpy as np
import pytest
from hypothesis import given, settings

import eventsnn as esnn
from eventsnn.checkpoint import load, save
from eventsnn.testing import build_network, network_specs, spike_record


@settings(max_examples=15)
@given(network_specs())
def test_run_save_restore_run_equals_one_long_run(tmp_path_factory, spec):
    path = tmp_path_factory.mktemp("ckpt") / "net.h5"
    whole, whole_monitors = build_network(spec)
    whole.run(2 * spec.duration)

    first, _ = build_network(spec)
    first.run(spec.duration)
    save(first, path)
    resumed = load(path)
    resumed.run(spec.duration)

    for a, b in zip(spike_record(whole_monitors), spike_record(resumed.monitors)):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    for a, b in zip(whole.populations, resumed.populations):
        np.testing.assert_array_equal(a.state, b.state)
        np.testing.assert_array_equal(a.refractory, b.refractory)
    np.testing.assert_array_equal(whole.sim.syn.ring, resumed.sim.syn.ring)
    assert (whole.step, whole.spike_count, whole.syn_events) == (resumed.step, resumed.spike_count, resumed.syn_events)


def test_pending_delayed_spikes_survive_a_checkpoint(tmp_path):
    src = esnn.Population(1, esnn.SpikeGenerator(indices=[0], times=[0.0]))
    dst = esnn.Population(1, esnn.IF(v_th=1e6, v_reset=0.0))
    proj = esnn.Sparse.from_arrays(src, dst, [0], [0], weight=2.5, delay=3.0, target="v")
    v = esnn.StateMonitor(dst, "v")
    net = esnn.Network(src, dst, proj, v, dt=0.1)
    net.run(1.0)  # the spike is still in flight (it arrives at 3 ms)
    assert net.sim.syn.ring.any()
    save(net, tmp_path / "inflight.h5")
    restored = load(tmp_path / "inflight.h5")
    restored.run(3.0)
    assert restored.populations[1]["v"][0] == 2.5
    assert restored.monitors[0].values.shape[0] == 40  # 10 samples before saving, 30 after


def test_a_network_saved_on_one_backend_continues_on_another_through_load(tmp_path):
    spec = _small_spec()
    whole, whole_monitors = build_network(spec)
    whole.run(2 * spec.duration)
    first, _ = build_network(spec)
    first.run(spec.duration)
    save(first, tmp_path / "net.h5")
    resumed = load(tmp_path / "net.h5", backend="numpy")
    assert resumed.backend == "numpy" and type(resumed.sim).name == "numpy"
    resumed.run(spec.duration)
    assert whole.spike_count > 0
    for a, b in zip(spike_record(whole_monitors), spike_record(resumed.monitors)):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    for a, b in zip(whole.populations, resumed.populations):
        np.testing.assert_allclose(a.state, b.state, rtol=0, atol=1e-12)


def test_load_refuses_an_unknown_option_or_backend_by_name(tmp_path):
    net, _ = build_network(_small_spec())
    save(net, tmp_path / "net.h5")
    with pytest.raises(ValueError, match="backend.*'gpu'"):
        load(tmp_path / "net.h5", backend="gpu")
    with pytest.raises(ValueError, match="no option 'threads'.*backend"):
        load(tmp_path / "net.h5", threads=2)


def test_a_changed_synapse_table_is_refused(tmp_path):
    net, _ = build_network(_small_spec())
    save(net, tmp_path / "net.h5")
    with h5py.File(tmp_path / "net.h5", "r+") as f:
        name = next(k for k in f["parameters"] if k.endswith(".indices"))
        data = f["parameters"][name][()]
        del f["parameters"][name]
        f["parameters"].create_dataset(name, data=data[:-1])
    with pytest.raises(esnn.CheckpointError, match="indices"):
        load(tmp_path / "net.h5")


def test_synapse_tables_saved_with_int64_indices_still_load(tmp_path):
    net, _ = build_network(_small_spec())
    save(net, tmp_path / "net.h5")
    with h5py.File(tmp_path / "net.h5", "r+") as f:
        for name in [k for k in f["parameters"] if k.endswith(".indices")]:
            data = np.ascontiguousarray(f["parameters"][name][()].astype(np.int64))
            del f["parameters"][name]
            f["parameters"].create_dataset(name, data=data).attrs["crc32"] = zlib.crc32(data.data)
    restored = load(tmp_path / "net.h5")
    assert restored.projections[0].indices.dtype == np.int32
    np.testing.assert_array_equal(restored.projections[0].indices, net.projections[0].indices)


def _small_spec():
    from eventsnn.testing import NetworkSpec

    return NetworkSpec(models=(esnn.Poisson(rate=100.0), esnn.LIF()), sizes=(5, 4),
                       projections=((0, 1, 0.5, 5.0, 1.0, "exc", 3),), seed=1, duration=5.0)


def test_save_refuses_a_weight_or_state_that_load_would_refuse(tmp_path):
    pop = esnn.Population(3, esnn.LIF(), name="p")
    proj = esnn.Sparse.fixed_probability(pop, pop, 1.0, weight=0.5, seed=1)
    net = esnn.Network(pop, proj, backend="numpy")
    net.run(0.2)
    proj.weight[1] = np.nan  # written into the live array, which the setter would have refused
    with pytest.raises(ValueError, match="projection 0's weight must be finite to be saved, got nan"):
        save(net, tmp_path / "w.h5")
    proj.weight = 0.5
    pop["v"][2] = np.inf
    with pytest.raises(ValueError, match="population 'p''s v must be finite to be saved, got inf"):
        save(net, tmp_path / "v.h5")
    assert not any(tmp_path.iterdir())
    pop["v"] = -65.0
    assert load(save(net, tmp_path / "ok.h5")).step == net.step
    snap = net.checkpoint_state()  # and load refuses such a state written by other means
    snap.groups["dynamic"]["state.0"] = snap.groups["dynamic"]["state.0"].copy()
    snap.groups["dynamic"]["state.0"][0, 1] = np.nan
    with pytest.raises(esnn.CheckpointError, match="/dynamic/state.0: must be finite, found nan"):
        esnn.Network.from_checkpoint(snap)
