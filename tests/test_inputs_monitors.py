"""Inputs (Poisson, spike generators, timed currents) and monitors."""
import numpy as np
import pytest

import eventsnn as esnn

DT = 0.1


def test_poisson_population_fires_at_its_rate():
    pop = esnn.Population(1000, esnn.Poisson(rate=20.0))
    mon, rate = esnn.SpikeMonitor(pop), esnn.RateMonitor(pop)
    esnn.Network(pop, mon, rate, dt=DT, seed=5).run(1000.0)
    expected, sd = 1000 * 20.0, np.sqrt(1000 * 20.0)
    assert abs(mon.num_spikes - expected) < 5 * sd
    assert rate.counts.sum() == mon.num_spikes
    assert abs(rate.rate.mean() - 20.0) < 1.0
    isi = np.diff(np.sort(mon.t[mon.i == 0]))
    assert isi.size > 5


def test_spike_generator_emits_exactly_its_spikes():
    gen = esnn.SpikeGenerator(indices=[2, 0, 2, 1], times=[0.5, 0.0, 3.0, 0.5])
    pop = esnn.Population(3, gen)
    mon = esnn.SpikeMonitor(pop)
    esnn.Network(pop, mon, dt=DT).run(5.0)
    assert list(zip(mon.steps.tolist(), mon.i.tolist())) == [(0, 0), (5, 1), (5, 2), (30, 2)]
    np.testing.assert_allclose(mon.t, [0.0, 0.5, 0.5, 3.0])


def test_spike_generator_rejects_two_spikes_in_one_step():
    pop = esnn.Population(1, esnn.SpikeGenerator(indices=[0, 0], times=[1.0, 1.02]))
    with pytest.raises(ValueError, match="twice"):
        esnn.Network(pop, dt=DT).run(2.0)


def test_timed_current_applies_each_value_in_its_interval_and_holds_the_last():
    pop = esnn.Population(2, esnn.IF(tau_m=1.0, v_th=1e6, v_reset=0.0))
    drive = esnn.TimedCurrent(pop, [1.0, 0.0, 2.0], dt=0.2)  # 2 steps each
    v = esnn.StateMonitor(pop, "v")
    esnn.Network(pop, drive, v, dt=DT).run(1.0)
    dv = np.diff(v.values[:, 0]) / DT  # dv/dt = I/tau_m
    np.testing.assert_allclose(dv, [1, 1, 0, 0, 2, 2, 2, 2, 2], atol=1e-12)


def test_timed_rate_drives_a_poisson_population():
    pop = esnn.Population(500, esnn.Poisson(rate=0.0))
    drive = esnn.TimedCurrent(pop, [0.0, 100.0], dt=100.0, variable="rate")
    rate = esnn.RateMonitor(pop)
    esnn.Network(pop, drive, rate, dt=DT).run(200.0)
    assert rate.counts[:1000].sum() == 0
    assert 30.0 < rate.rate[1000:].mean() < 170.0


def test_state_monitor_samples_every_k_steps_across_runs():
    pop = esnn.Population(3, esnn.IF(tau_m=1.0, v_th=1e6, v_reset=0.0))
    pop["I_ext"] = 1.0
    v = esnn.StateMonitor(pop, "v", indices=[0, 2], every=3)
    net = esnn.Network(pop, v, dt=DT)
    net.run(1.0)
    net.run(1.0)
    np.testing.assert_allclose(v.t, np.arange(0, 20, 3) * DT)
    np.testing.assert_allclose(v.values[:, 0], v.t * 1.0, atol=1e-12)
    assert v.values.shape == (7, 2)


def test_rate_monitor_of_a_slice_counts_only_that_slice():
    gen = esnn.SpikeGenerator(indices=[0, 1, 3, 3], times=[0.0, 0.0, 0.0, 0.2])
    pop = esnn.Population(4, gen)
    part = esnn.RateMonitor(pop[2:])
    esnn.Network(pop, part, dt=DT).run(0.3)
    np.testing.assert_array_equal(part.counts, [1, 0, 1])


def test_spike_record_grows_past_its_first_buffer():
    pop = esnn.Population(2000, esnn.Poisson(rate=1000.0))
    mon = esnn.SpikeMonitor(pop)
    net = esnn.Network(pop, mon, dt=DT, seed=1)
    net.run(100.0)  # about 200000 spikes, several buffer refills
    assert mon.num_spikes == net.spike_count
    assert np.all(np.diff(mon.steps) >= 0)


def test_population_variables_are_live_views():
    pop = esnn.Population(3, esnn.LIF(v_rest=-70.0))
    net = esnn.Network(pop, dt=DT)
    net.run(0.1)
    pop["v"] = [-60.0, -61.0, -62.0]
    assert net.sim.state(pop)[0].tolist() == [-60.0, -61.0, -62.0]  # the backend holds what was written
    with pytest.raises(ValueError, match="v"):
        pop["v"] = [1.0, 2.0]
    with pytest.raises(ValueError, match="variable"):
        pop["w"] = 1.0
    for bad in (True, None, "a"):
        with pytest.raises(ValueError, match=f"v must be a number or an array of numbers, got {bad!r}"):
            pop["v"] = bad
    with pytest.raises(ValueError, match="name must be a string or None, got 5"):
        esnn.Population(3, esnn.LIF(), name=5)


@pytest.mark.parametrize("kwargs, name", [
    ({"dt": -0.1}, "dt"), ({"seed": -1}, "seed"), ({"backend": "opencl"}, "backend"),
    ({"seed": 2**63}, f"seed must be <= {2**63 - 1}, got {2**63}"), ({"seed": 1.0}, "seed"),
    ({"dt": "0.1"}, "dt must be a real number, got '0.1'"), ({"dt": True}, "dt must be a real number, got True"),
])
def test_network_rejects_bad_settings(kwargs, name):
    with pytest.raises(ValueError, match=name):
        esnn.Network(**kwargs)


def test_run_rejects_bad_duration():
    net = esnn.Network(esnn.Population(1, esnn.LIF()))
    for bad in (-1.0, float("nan"), "5", True, None):
        with pytest.raises(ValueError, match="duration"):
            net.run(bad)


def test_a_duration_off_the_dt_grid_is_rounded_up_as_in_brian2():
    net = esnn.Network(esnn.Population(1, esnn.LIF()), dt=0.1)
    for _ in range(10):
        net.run(0.04)  # never a run that does nothing
    assert net.step == 10
    net.run(0.15)
    assert net.step == 12
    net.run(0.3)  # 2.9999999999999996 steps: on the grid
    assert net.step == 15


@pytest.mark.parametrize("start, stop, name", [(-5, 3, "start"), (5, 2, "stop"), (8, 30, "stop"), (0.0, 1, "start")])
def test_a_view_outside_its_population_is_refused(start, stop, name):
    pop = esnn.Population(10, esnn.LIF())
    with pytest.raises(ValueError, match=rf"{name} must .*got {stop if name == 'stop' else start}"):
        esnn.PopulationView(pop, start, stop)


def test_slices_clamp_as_numpy_and_a_slice_of_a_view_is_a_view_of_the_population():
    pop = esnn.Population(10, esnn.LIF())
    assert (pop[5:100].start, pop[5:100].stop) == (5, 10)
    inner = pop[2:8][1:100]
    assert (inner.population, inner.start, inner.stop) == (pop, 3, 8)
    assert (pop[2:8][-2:].start, pop[2:8][-2:].stop) == (6, 8)
    for bad in (lambda: pop[1.5:3], lambda: pop[2:8][4:4], lambda: pop[2:8][3]):
        with pytest.raises(ValueError, match="slice"):
            bad()


def test_a_projection_or_monitor_added_twice_is_refused():
    source = esnn.Population(1, esnn.SpikeGenerator([0], [0.5]), name="gen")
    target = esnn.Population(1, esnn.IF(tau_e=5.0), name="cell")
    proj = esnn.Sparse.from_arrays(source, target, [0], [0], 1.0, target="v")
    mon = esnn.SpikeMonitor(source)
    for twice, name in (((proj, proj), r"Sparse\(gen\[0:1\] -> cell\[0:1\], target='v'\)"),
                        ((mon, mon), r"SpikeMonitor\(gen\[0:1\]\)")):
        with pytest.raises(ValueError, match=f"added once each, got {name} a second time"):
            esnn.Network(source, target, *twice)
    net = esnn.Network(source, target, proj, mon, dt=DT)
    with pytest.raises(ValueError, match="second time"):
        net.add(mon)
    net.run(2.0)  # a population added again (or through a view) is kept once
    assert mon.num_spikes == 1


@pytest.mark.parametrize("rates, bad", [([5.0, -3.0], "-3.0"), ([5.0, 1e9], "1000000000.0")])
def test_a_timed_rate_is_checked_as_a_poisson_rate(rates, bad):
    pop = esnn.Population(2, esnn.Poisson(rate=1.0))
    net = esnn.Network(pop, esnn.TimedCurrent(pop, rates, dt=DT, variable="rate"), dt=DT, backend="numpy")
    with pytest.raises(ValueError, match=rf"rate must lie in \[0, 10000\] Hz .*got {bad}"):
        net.run(1.0)
    assert net.step == 0


def test_fractional_indices_and_non_numeric_values_are_refused_by_name():
    pop = esnn.Population(5, esnn.LIF())
    proj = esnn.Sparse.from_arrays(pop, pop, [0, 1], [1, 2], 0.5, plasticity=esnn.STDP())
    with pytest.raises(ValueError, match="indices must hold whole numbers .*1.7"):
        esnn.StateMonitor(pop, "v", indices=[1.7])
    with pytest.raises(ValueError, match="indices must hold whole numbers .*0.9"):
        esnn.SynapseMonitor(proj, indices=[0.9])
    with pytest.raises(ValueError, match="indices must hold integer indices, not bools"):
        esnn.StateMonitor(pop, "v", indices=True)
    with pytest.raises(ValueError, match="values must be convertible"):
        esnn.TimedCurrent(pop, ["a"], dt=DT)
