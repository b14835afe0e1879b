"""The open core: a neuron model declared outside the package, per-neuron parameters, live weights."""
from dataclasses import dataclass
from typing import ClassVar

import math

import numpy as np
import pytest

import eventsnn as esnn
from eventsnn import Variable, parameter


@dataclass(frozen=True, eq=False)
class QuadraticIF(esnn.NeuronModel):
    """Quadratic integrate-and-fire (Latham et al. 2000), forward Euler, current synapse:
    tau dv/dt = (v - v_rest)(v - v_c)/delta + I_syn + I_ext (mV, ms)."""

    tau: float = parameter(10.0, "ms", positive=True)
    v_rest: float = parameter(-65.0, "mV")
    v_c: float = parameter(-50.0, "mV")
    delta: float = parameter(15.0, "mV", positive=True)
    v_peak: float = parameter(20.0, "mV")
    v_reset: float = parameter(-70.0, "mV")
    tau_s: float = parameter(5.0, "ms", positive=True)
    t_ref: float = parameter(2.0, "ms", nonnegative=True)

    variables: ClassVar = (Variable("v", "mV", "v_rest"), Variable("I_syn", "mV"), Variable("I_ext", "mV"))
    targets: ClassVar = {"exc": "I_syn", "inh": "I_syn"}
    clamped: ClassVar = ("v",)

    def constants(self, dt):
        return {"dt_tau": dt / self.tau, "v_rest": self.v_rest, "v_c": self.v_c, "delta": self.delta,
                "v_peak": self.v_peak, "v_reset": self.v_reset, "decay": esnn.neuron_model.exp(-dt / self.tau_s),
                "n_ref": esnn.neuron_model.refractory_steps(self.t_ref, dt)}

    @staticmethod
    def update(v, I_syn, I_ext, dt_tau, v_rest, v_c, delta, decay):
        dv = (v - v_rest) * (v - v_c) / delta + I_syn + I_ext
        return v + dt_tau * dv, I_syn * decay, I_ext

    @staticmethod
    def threshold(v, v_peak):
        return v >= v_peak

    @staticmethod
    def after_spike(v, I_syn, I_ext, v_reset):
        return v_reset, I_syn, I_ext


def _network(backend: str, model, n: int = 20, duration: float = 200.0):
    drive = esnn.Population(30, esnn.Poisson(rate=200.0))
    pop = esnn.Population(n, model)
    pop["I_ext"] = np.linspace(0.0, 8.0, n)
    proj = esnn.Sparse.fixed_probability(drive, pop, 0.3, weight=3.0, delay=lambda rng, m: 0.1 * rng.integers(0, 20, m),
                                         seed=4)
    spikes = esnn.SpikeMonitor(pop)
    v = esnn.StateMonitor(pop, "v", [0, n - 1], every=3)
    net = esnn.Network(drive, pop, proj, spikes, v, dt=0.1, seed=7, backend=backend)
    net.run(duration)
    return net, spikes, v


def test_a_model_defined_outside_the_package_runs_identically_on_both_backends():
    runs = {b: _network(b, QuadraticIF()) for b in ("numpy", "numba")}
    (net_a, spk_a, v_a), (net_b, spk_b, v_b) = runs["numpy"], runs["numba"]
    assert spk_a.num_spikes > 20  # the model fires
    np.testing.assert_array_equal(spk_a.steps, spk_b.steps)
    np.testing.assert_array_equal(spk_a.i, spk_b.i)
    np.testing.assert_array_equal(v_a.values, v_b.values)
    np.testing.assert_array_equal(net_a.populations[1].state, net_b.populations[1].state)


def test_the_generated_kernel_follows_the_model_equations():
    """One neuron, no input: v follows the Euler recurrence of the model's own equation."""
    model = QuadraticIF(t_ref=0.0)
    pop = esnn.Population(1, model)
    pop["v"] = -60.0
    pop["I_ext"] = 1.0
    v = esnn.StateMonitor(pop, "v")
    esnn.Network(pop, v, dt=0.1).run(5.0)
    expected = [-60.0]
    for _ in range(49):
        x = expected[-1]
        expected.append(x + 0.01 * ((x - model.v_rest) * (x - model.v_c) / model.delta + 0.0 + 1.0))
    np.testing.assert_allclose(v.values[:, 0], expected, rtol=1e-12)


def test_user_model_survives_a_checkpoint(tmp_path):
    whole, spk_whole, _ = _network("numba", QuadraticIF())
    net = _network("numba", QuadraticIF(), duration=80.0)[0]
    esnn.save(net, tmp_path / "q.h5")
    resumed = esnn.load(tmp_path / "q.h5")
    resumed.run(120.0)
    np.testing.assert_array_equal(resumed.monitors[0].steps, spk_whole.steps)
    np.testing.assert_array_equal(resumed.populations[1].state, whole.populations[1].state)


def test_heterogeneous_parameters_equal_separate_populations():
    taus = np.array([5.0, 10.0, 20.0, 40.0])
    thresholds = np.array([-52.0, -50.0, -48.0, -51.0])
    hetero = esnn.Population(4, esnn.LIF(tau_m=taus, v_th=thresholds, v_rest=-65.0, t_ref=np.array([1.0, 2.0, 0.0, 3.0])))
    hetero["I_ext"] = 20.0
    mon = esnn.SpikeMonitor(hetero)
    esnn.Network(hetero, mon, dt=0.1).run(300.0)
    for k in range(4):
        single = esnn.Population(1, esnn.LIF(tau_m=taus[k], v_th=thresholds[k], v_rest=-65.0,
                                             t_ref=[1.0, 2.0, 0.0, 3.0][k]))
        single["I_ext"] = 20.0
        m = esnn.SpikeMonitor(single)
        esnn.Network(single, m, dt=0.1).run(300.0)
        assert m.num_spikes > 3
        np.testing.assert_array_equal(mon.steps[mon.i == k], m.steps)


def test_per_neuron_parameters_must_match_the_population_size():
    with pytest.raises(ValueError, match="tau_m"):
        esnn.Population(5, esnn.LIF(tau_m=np.ones(4) * 10.0))


def test_weights_changed_between_runs_are_used_and_survive_save_and_load(tmp_path):
    src = esnn.Population(2, esnn.SpikeGenerator(indices=[0, 1, 0, 1], times=[1.0, 1.0, 6.0, 6.0]))
    dst = esnn.Population(1, esnn.IF(v_th=1e6, v_reset=-1.0))
    proj = esnn.Sparse.from_arrays(src, dst, [0, 1], [0, 0], weight=1.0, target="v")
    net = esnn.Network(src, dst, proj, dt=0.1)
    net.run(5.0)
    assert dst["v"][0] == pytest.approx(1.0)  # IF starts at v_reset = -1; two spikes of weight 1
    np.testing.assert_array_equal(proj.weight, [1.0, 1.0])  # what the simulation used
    proj.weight[:] = [2.0, -0.5]  # live: the next run uses it
    net.run(5.0)
    assert dst["v"][0] == pytest.approx(2.5)  # 1 + 2 - 0.5
    esnn.save(net, tmp_path / "w.h5")
    restored = esnn.load(tmp_path / "w.h5")
    np.testing.assert_array_equal(restored.projections[0].weight, [2.0, -0.5])
    proj.weight = 0.25  # assignment broadcasts and validates
    np.testing.assert_array_equal(proj.weight, [0.25, 0.25])
    with pytest.raises(ValueError, match="weight"):
        proj.weight = [np.nan, 1.0]


def test_dense_weights_are_live():
    src = esnn.Population(2, esnn.SpikeGenerator(indices=[0, 1], times=[0.0, 0.0]))
    dst = esnn.Population(3, esnn.IF(v_th=1e6, v_reset=0.0))
    proj = esnn.Dense(src, dst, np.ones((2, 3)), target="v")
    net = esnn.Network(src, dst, proj, dt=0.1)
    net.run(0.1)
    proj.weights[1, 2] = 5.0
    np.testing.assert_array_equal(net.sim.synapse_block(proj, "weight"), [1, 1, 1, 1, 1, 5])


def test_a_model_function_with_an_unknown_argument_is_refused():
    @dataclass(frozen=True, eq=False)
    class Broken(QuadraticIF):
        @staticmethod
        def threshold(v, v_top):
            return v >= v_top

    with pytest.raises(ValueError, match="v_top"):
        esnn.Network(esnn.Population(1, Broken())).run(0.1)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_model_function_returning_too_few_values_is_refused(backend):
    @dataclass(frozen=True, eq=False)
    class Short(QuadraticIF):
        @staticmethod
        def update(v, I_syn, I_ext, dt_tau):
            return v + dt_tau * I_ext, I_syn

    @dataclass(frozen=True, eq=False)
    class LongReset(QuadraticIF):
        @staticmethod
        def after_spike(v, I_syn, I_ext, v_reset):
            return v_reset, I_syn, I_ext, 0.0

    for model, message in ((Short(), r"Short.update must return 3 values, .*got 2"),
                           (LongReset(), r"LongReset.after_spike must return 3 values, .*got 4")):
        pop = esnn.Population(2, model)
        with pytest.raises(ValueError, match=message):
            esnn.Network(pop, backend=backend).run(0.1)
        assert np.all(np.isfinite(pop.state))


def test_a_variable_starting_at_a_missing_parameter_is_refused():
    @dataclass(frozen=True, eq=False)
    class Unstarted(QuadraticIF):
        variables: ClassVar = (Variable("v", "mV", "v_start"), Variable("I_syn", "mV"), Variable("I_ext", "mV"))

    with pytest.raises(ValueError, match="'v' starts at parameter 'v_start'"):
        esnn.Population(1, Unstarted())


def test_old_network_checkpoints_are_refused_naming_the_layout(tmp_path):
    import h5py
    import json

    net = esnn.Network(esnn.Population(2, esnn.LIF()), dt=0.1)
    esnn.save(net, tmp_path / "n.h5")
    with h5py.File(tmp_path / "n.h5", "r+") as f:
        config = json.loads(f.attrs["config"])
        del config["layout"]
        f.attrs["config"] = json.dumps(config)
    with pytest.raises(esnn.CheckpointError, match="layout 1.*format_version 1"):
        esnn.load(tmp_path / "n.h5")


@pytest.mark.parametrize("make, name", [
    (lambda: esnn.LIF(v_reset=-50.0, v_th=-50.0), "v_reset"),
    (lambda: esnn.LIF(v_reset=-40.0, v_th=-50.0), "v_reset"),
    (lambda: esnn.CondLIF(v_reset=-45.0, v_th=-50.0), "v_reset"),
    (lambda: esnn.Izhikevich(c=40.0, v_peak=30.0), "c"),
    (lambda: esnn.LIF(tau_m="20"), "tau_m"),
    (lambda: esnn.LIF(tau_m=-1.0), "tau_m"),
    (lambda: esnn.LIF(v_th=math.nan), "v_th"),
    (lambda: esnn.AdEx(V_reset=30.0, V_peak=20.0), "V_reset"),
    (lambda: esnn.Poisson(rate=-1.0), "rate"),
    (lambda: esnn.Sparse.from_arrays(esnn.Population(3, esnn.LIF()), esnn.Population(3, esnn.LIF()),
                                     [0.5, 1.0], [0, 1], weight=1.0), "i"),
    (lambda: esnn.SpikeGenerator(indices=[0.5], times=[1.0]), "indices"),
])
def test_physically_meaningless_parameters_are_refused(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_a_poisson_rate_above_one_spike_per_step_is_refused():
    pop = esnn.Population(3, esnn.Poisson(rate=20000.0))
    with pytest.raises(ValueError, match="rate"):
        esnn.Network(pop, dt=0.1).run(1.0)
    ok = esnn.Population(3, esnn.Poisson(rate=50.0))
    net = esnn.Network(ok, dt=0.1)
    net.run(1.0)
    ok["rate"] = 1e5  # changed between runs: checked before the next
    with pytest.raises(ValueError, match="rate"):
        net.run(1.0)


def test_delays_and_refractory_periods_off_the_dt_grid_warn():
    a, b = esnn.Population(2, esnn.LIF(t_ref=0.25)), esnn.Population(2, esnn.LIF())
    proj = esnn.Sparse.from_arrays(a, b, [0], [1], weight=1.0, delay=0.33)
    with pytest.warns(UserWarning, match="t_ref = 0.25"):
        with pytest.warns(UserWarning, match="delay 0.33"):
            esnn.Network(a, b, proj, dt=0.1).build()
