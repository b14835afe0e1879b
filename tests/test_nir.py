"""NIR export and import (eventsnn.nir): round trips, the node equations, and bad input.

Round trips are property-tested: random ``eventsnn.nn`` models and random simulator networks, exported with
``to_nir`` and run by ``from_nir`` (directly and through a .nir file), give the spikes of eventsnn's own run.
Weights come from seeded generators, so no membrane sits exactly on its threshold, where the two computations'
different rounding could decide a spike differently (see eventsnn/nir.py).
"""
import subprocess
import sys

import h5py
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

nir = pytest.importorskip("nir", reason="the NIR tests need the nir package (pip install 'eventsnn[nir]')")

import eventsnn as esnn  # noqa: E402
from eventsnn import nn  # noqa: E402
from eventsnn.autodiff import Tensor  # noqa: E402
from eventsnn.nir import NIRModel, from_nir, to_nir  # noqa: E402

DT_MS = 0.1


def nn_spikes(model, x):
    """eventsnn's own run of an nn model on x[T, n_in] (batch of one)."""
    return model(Tensor(x[:, None, :])).data[:, 0, :]


def through_file(graph, tmp_path, name="g.nir"):
    path = tmp_path / name
    nir.write(path, graph)
    return path


# --- nn models ---------------------------------------------------------------------------------------------


@st.composite
def nn_models(draw):
    """Sequential models of 1-3 (Linear, LIF) pairs, some LIF first or a Linear last, zero or no reset,
    per-layer or per-neuron beta and threshold."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_in = width = draw(st.integers(1, 6))
    layers = []
    if draw(st.booleans()):  # a LIF straight on the input
        layers.append(nn.LIF(width, beta=draw(st.floats(0.05, 0.95)), threshold=draw(st.floats(0.05, 0.6)),
                             reset=draw(st.sampled_from(["zero", "none"]))))
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 6))
        fc = nn.Linear(width, n, bias=draw(st.booleans()), seed=rng)
        fc.weight.data *= draw(st.floats(1.0, 6.0))
        lif = nn.LIF(n, beta=draw(st.floats(0.05, 0.95)), threshold=draw(st.floats(0.05, 0.6)),
                     reset=draw(st.sampled_from(["zero", "none"])), learn_beta=draw(st.booleans()),
                     learn_threshold=draw(st.booleans()))
        if lif.beta_logit is not None:
            lif.beta_logit.data[:] = rng.normal(0.5, 1.5, n)
        if isinstance(lif.threshold, Tensor):
            lif.threshold.data[:] = rng.uniform(0.05, 1.0, n)
        layers += [fc, lif]
        width = n
    if draw(st.booleans()):  # a Linear readout: the graph's output is then a current
        layers.append(nn.Linear(width, draw(st.integers(1, 4)), seed=rng))
    x = (rng.random((draw(st.integers(1, 30)), n_in)) < draw(st.floats(0.1, 0.9))).astype(np.float64)
    return nn.Sequential(*layers), x


@settings(max_examples=40, deadline=None)
@given(nn_models(), st.sampled_from([1e-4, 1e-3, 0.5]))
def test_nn_models_round_trip_through_nir(tmp_path_factory, model_and_x, dt):
    model, x = model_and_x
    expected = nn_spikes(model, x)
    graph = to_nir(model, dt)
    np.testing.assert_allclose(from_nir(graph, dt)(x), expected, rtol=1e-12, atol=1e-12)
    path = through_file(graph, tmp_path_factory.mktemp("nir"))
    np.testing.assert_allclose(from_nir(path, dt)(x), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(from_nir(nir.read(path), dt)(x), expected, rtol=1e-12, atol=1e-12)


def test_nn_export_maps_lif_layers_to_nir_lif_and_folds_the_gain_into_the_layer_before():
    model = nn.Sequential(nn.Linear(3, 2, seed=0), nn.LIF(2, beta=0.75, threshold=0.4, reset="zero"),
                          nn.Linear(2, 2, bias=False, seed=1), nn.LIF(2, beta=0.5, threshold=0.3, reset="none"))
    graph = to_nir(model, 1e-3)
    assert [type(graph.nodes[k]).__name__ for k in ("input", "0", "1", "2", "3", "3.spike", "output")] == \
        ["Input", "Affine", "LIF", "Linear", "LI", "Threshold", "Output"]
    lif = graph.nodes["1"]
    np.testing.assert_allclose(lif.tau, [4e-3, 4e-3])  # dt / (1 - beta)
    np.testing.assert_array_equal(lif.r, [1.0, 1.0])
    np.testing.assert_array_equal(lif.v_threshold, [0.4, 0.4])
    np.testing.assert_array_equal(lif.v_reset, [0.0, 0.0])
    np.testing.assert_allclose(graph.nodes["0"].weight, model[0].weight.data.T * 4.0)  # 1 / (1 - beta)
    np.testing.assert_allclose(graph.nodes["0"].bias, model[0].bias.data * 4.0)
    np.testing.assert_allclose(graph.nodes["2"].weight, model[2].weight.data.T * 2.0)
    assert set(graph.edges) == {("input", "0"), ("0", "1"), ("1", "2"), ("2", "3"), ("3", "3.spike"),
                                ("3.spike", "output")}


def test_a_lif_layer_on_the_input_keeps_its_gain_in_r():
    graph = to_nir(nn.LIF(3, beta=0.8, reset="zero"), 1e-3)
    np.testing.assert_allclose(graph.nodes["0"].r, [5.0] * 3)
    x = np.array([[0.5, 1.2, 0.0], [0.6, 0.0, 0.0], [0.0, 0.0, 2.0]])
    # mem = 0.8 mem + x: 0.5, 1.2 -> spike; 1.0 (not > 1); 2.0 -> spike
    expected = [[0, 1, 0], [0, 0, 0], [0, 0, 1]]
    np.testing.assert_array_equal(from_nir(graph, 1e-3)(x), expected)
    np.testing.assert_array_equal(nn_spikes(nn.LIF(3, beta=0.8, reset="zero"), x), expected)


# --- simulator networks ------------------------------------------------------------------------------------


def generator(n: int, steps: int, rng: np.random.Generator, rate: float = 0.5):
    """A SpikeGenerator population "gen" firing at random steps, and its spikes as x[steps, n]."""
    x = (rng.random((steps, n)) < rate).astype(np.float64)
    k, i = np.nonzero(x)
    return esnn.Population(n, esnn.SpikeGenerator(indices=i, times=k * DT_MS), name="gen"), x


@st.composite
def networks(draw):
    """A SpikeGenerator feeding a chain of 1-3 LIF or IF populations (the last one is the output), with
    random extra projections onto exc, inh or v, delays of 0-3 steps, some per-neuron time constants and,
    for some LIF populations, tau_i = tau_e (exported as one CubaLIF)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    steps = draw(st.integers(5, 40))
    n_gen = draw(st.integers(1, 5))
    gen, x = generator(n_gen, steps, rng)
    pops = []
    for k in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 5))
        tau_m = draw(st.floats(1.0, 30.0))
        if draw(st.booleans()):
            tau_m = rng.uniform(1.0, 30.0, n)
        tau_e = draw(st.floats(0.5, 10.0))
        tau_i = tau_e if draw(st.booleans()) else draw(st.floats(0.5, 10.0))
        v_th = draw(st.floats(-60.0, -50.0))
        common = dict(tau_m=tau_m, tau_e=tau_e, tau_i=tau_i, v_th=v_th, v_reset=v_th - draw(st.floats(1.0, 15.0)),
                      t_ref=draw(st.sampled_from([0.0, DT_MS])))
        model = (esnn.LIF(v_rest=v_th - draw(st.floats(0.5, 10.0)), **common) if draw(st.booleans())
                 else esnn.IF(**common))
        pops.append(esnn.Population(n, model, name=f"p{k}"))
    projections = []

    def project(pre, post, target):
        sign = -1.0 if target == "inh" else 1.0
        delay = (lambda r, m: DT_MS * r.integers(0, 4, m)) if draw(st.booleans()) else DT_MS * draw(st.integers(0, 3))
        weight = lambda r, m: sign * r.uniform(0.0, 20.0, m)  # noqa: E731
        if draw(st.booleans()):
            projections.append(esnn.Sparse.fixed_probability(pre, post, draw(st.floats(0.3, 1.0)), weight, delay,
                                                             target=target, seed=rng))
        else:
            d = delay(rng, 1)[0] if callable(delay) else delay
            projections.append(esnn.Dense(pre, post, weight(rng, pre.n * post.n).reshape(pre.n, post.n), d,
                                          target=target))

    for pre, post in zip([gen] + pops[:-1], pops):
        project(pre, post, draw(st.sampled_from(["exc", "v"])))
    for _ in range(draw(st.integers(0, 3))):
        project(draw(st.sampled_from([gen] + pops)), draw(st.sampled_from(pops)),
                draw(st.sampled_from(["exc", "inh", "v"])))
    return gen, pops, projections, x


def simulate(gen, pops, projections, x, output):
    """The network's own run: spikes of ``output`` as [T, n]."""
    monitor = esnn.SpikeMonitor(output)
    net = esnn.Network(gen, *pops, *projections, monitor, dt=DT_MS, backend="numpy")
    graph = to_nir(net, DT_MS / 1000.0, output=output)
    net.run(x.shape[0] * DT_MS)
    spikes = np.zeros((x.shape[0], output.n))
    spikes[monitor.steps, monitor.i] = 1.0
    return graph, spikes


@settings(max_examples=40, deadline=None)
@given(networks())
def test_simulator_networks_round_trip_through_nir(tmp_path_factory, network):
    gen, pops, projections, x = network
    graph, expected = simulate(gen, pops, projections, x, pops[-1])
    np.testing.assert_array_equal(from_nir(graph, DT_MS / 1000.0)(x), expected)
    path = through_file(graph, tmp_path_factory.mktemp("nir"))
    np.testing.assert_array_equal(from_nir(path, DT_MS / 1000.0)(x), expected)


def fixed_network():
    """Generator -> a (LIF: exc with delays, recurrent inh) -> b (IF: v from a, exc from the generator)
    -> c (LIF, exc only: one CubaLIF)."""
    rng = np.random.default_rng(5)
    gen, x = generator(4, 80, rng, rate=0.4)
    a = esnn.Population(5, esnn.LIF(tau_m=10.0, tau_e=3.0, tau_i=6.0, v_rest=-65.0, v_th=-60.0, v_reset=-70.0),
                        name="a")
    b = esnn.Population(3, esnn.IF(tau_m=5.0, v_th=-55.0, v_reset=-65.0), name="b")
    c = esnn.Population(4, esnn.LIF(tau_m=8.0, tau_e=2.0, v_rest=-65.0, v_th=-62.0, v_reset=-66.0), name="c")
    projections = [
        esnn.Sparse.fixed_probability(gen, a, 0.7, weight=8.0, delay=lambda r, m: DT_MS * r.integers(0, 3, m), seed=1),
        esnn.Sparse.fixed_probability(a, a, 0.4, weight=-3.0, target="inh", seed=2),
        esnn.Dense(a, b, rng.uniform(0.0, 6.0, (5, 3)), target="v"),
        esnn.Sparse.fixed_probability(gen, b, 0.5, weight=3.0, target="exc", seed=3),
        esnn.Dense(b, c, rng.uniform(2.0, 8.0, (3, 4)), delay=0.2),
    ]
    return gen, [a, b, c], projections, x


@pytest.mark.parametrize("output", [0, 1, 2])
def test_a_network_of_every_kind_of_node_spikes_everywhere_and_round_trips(tmp_path, output):
    gen, pops, projections, x = fixed_network()
    graph, expected = simulate(gen, pops, projections, x, pops[output])
    assert expected.sum() >= 3  # the comparison crosses spikes, not only silence
    kinds = {"a": "LIF", "a.I_e": "LI", "a.I_i": "LI", "b": "IF", "b.I_e": "LI", "c": "CubaLIF"}
    assert {k: type(v).__name__ for k, v in graph.nodes.items() if k in kinds} == \
        {k: v for k, v in kinds.items() if k.split(".")[0] <= "abc"[output]}  # populations past the output are left out
    assert type(graph.nodes["gen>a.I_e.2.delay"]).__name__ == "Delay"
    np.testing.assert_allclose(graph.nodes["gen>a.I_e.2.delay"].delay, 3 * 1e-4)  # 2 steps of delay + 1
    np.testing.assert_array_equal(from_nir(through_file(graph, tmp_path), 1e-4)(x), expected)


# --- the node equations, by hand -----------------------------------------------------------------------------


def chain(*nodes, type_check=True):
    """Input -> nodes ... -> Output (from_list names them after their types)."""
    return nir.NIRGraph.from_list(nir.Input(input_type=np.array(nodes[0].input_type["input"])), *nodes,
                                  nir.Output(output_type=np.array(nodes[-1].output_type["output"])),
                                  type_check=type_check)


def one(value):
    return np.array([value], dtype=np.float64)


def test_li_is_an_euler_step_from_v_leak():
    # dt/tau = 0.5: v <- v + 0.5 (0.5 - v + 2 u) = 0.5 v + 0.25 + u, from v = v_leak = 0.5
    graph = chain(nir.LI(tau=one(2e-3), r=one(2.0), v_leak=one(0.5)))
    np.testing.assert_allclose(from_nir(graph, 1e-3)(np.array([[0.3], [0.6], [0.0]]))[:, 0], [0.8, 1.25, 0.875])


def test_lif_fires_strictly_above_threshold_and_resets_to_v_reset_in_the_same_step():
    graph = chain(nir.LIF(tau=one(2e-3), r=one(2.0), v_leak=one(0.5), v_threshold=one(1.0), v_reset=one(-0.25)))
    # v: 0.5 + 0.5 = 1.0 (not above 1), 0.5 + 0.25 + 0.5 = 1.25 -> spike, reset to -0.25; -0.125 + 0.25 + 0.9 = 1.025
    x = np.array([[0.5], [0.5], [0.9]])
    np.testing.assert_array_equal(from_nir(graph, 1e-3)(x)[:, 0], [0.0, 1.0, 1.0])


def test_cuba_membrane_sees_the_synaptic_current_of_the_same_step():
    # dt/tau_syn = dt/tau_mem = 0.5, w_in = r = 2: i <- 0.5 i + u, v <- 0.5 v + i
    graph = chain(nir.CubaLI(tau_syn=one(2e-3), tau_mem=one(2e-3), r=one(2.0), v_leak=one(0.0), w_in=one(2.0)))
    x = np.array([[1.0], [0.0], [0.0], [0.0]])
    np.testing.assert_allclose(from_nir(graph, 1e-3)(x)[:, 0], [1.0, 1.0, 0.75, 0.5])
    spiking = chain(nir.CubaLIF(tau_syn=one(2e-3), tau_mem=one(2e-3), r=one(2.0), v_leak=one(0.0), w_in=one(2.0),
                                v_threshold=one(0.9), v_reset=one(0.0)))
    np.testing.assert_array_equal(from_nir(spiking, 1e-3)(x)[:, 0], [1.0, 0.0, 0.0, 0.0])  # 1 > 0.9, then 0.5, 0.5, ...


def test_if_starts_at_v_reset_and_i_at_zero():
    x = np.array([[0.4], [0.4], [0.4]])  # dt r u = 0.2 per step
    integrate_and_fire = chain(nir.IF(r=one(0.5), v_threshold=one(0.1), v_reset=one(-0.2)))
    np.testing.assert_array_equal(from_nir(integrate_and_fire, 1.0)(x)[:, 0], [0.0, 1.0, 0.0])  # 0, 0.2 -> -0.2, 0
    np.testing.assert_allclose(from_nir(chain(nir.I(r=one(0.5))), 1.0)(x)[:, 0], [0.2, 0.4, 0.6])


def test_delay_shifts_by_whole_steps_per_element():
    graph = chain(nir.Delay(delay=np.array([0.0, 2e-3, 3e-3])))
    x = np.arange(15, dtype=np.float64).reshape(5, 3) + 1
    expected = np.array([[1, 0, 0], [4, 0, 0], [7, 2, 0], [10, 5, 3], [13, 8, 6]], dtype=np.float64)
    np.testing.assert_array_equal(from_nir(graph, 1e-3)(x), expected)


def test_affine_scale_and_threshold():
    graph = chain(nir.Affine(weight=np.array([[1.0, -1.0], [0.5, 0.5]]), bias=np.array([0.1, 0.0])),
                  nir.Scale(scale=np.array([2.0, -1.0])), nir.Threshold(threshold=np.array([0.5, -0.6])))
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # affine: (1.1, 0.5), (-0.9, 0.5), (0.1, 1); scaled: (2.2, -0.5), (-1.8, -0.5), (0.2, -1)
    np.testing.assert_array_equal(from_nir(graph, 1e-3)(x), [[1, 1], [0, 1], [0, 0]])


def test_a_cycle_without_delay_carries_the_previous_step_and_starts_from_the_bias():
    """Input -> lif <-> rec (Affine), as snnTorch's recurrent layers: lif[t] sees rec(z[t-1]), rec(0) = bias."""
    w_rec, b_rec, beta, thr = np.array([[0.0, -2.0], [1.5, 0.0]]), np.array([0.3, 0.2]), 0.5, 0.6
    lif = nir.LIF(tau=np.full(2, 2e-3), r=np.full(2, 2.0), v_leak=np.zeros(2), v_threshold=np.full(2, thr),
                  v_reset=np.zeros(2))
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([2])), "lif": lif,
                                "rec": nir.Affine(weight=w_rec, bias=b_rec),
                                "output": nir.Output(output_type=np.array([2]))},
                         edges=[("input", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")])
    x = (np.random.default_rng(0).random((30, 2)) < 0.3) * 0.5
    v, z, expected = np.zeros(2), np.zeros(2), []
    for xt in x:  # the same network written out: v <- beta v + u, u = x + W z[t-1] + b
        v = beta * v + xt + w_rec @ z + b_rec
        z = (v > thr).astype(float)
        v = np.where(z > 0, 0.0, v)
        expected.append(z)
    got = from_nir(graph, 1e-3)(x)
    np.testing.assert_array_equal(got, expected)
    assert 0 < got.mean() < 1


def test_subgraphs_run_as_their_flattened_nodes():
    inner = chain(nir.Affine(weight=np.array([[2.0]]), bias=one(0.0)),
                  nir.LIF(tau=one(2e-3), r=one(2.0), v_leak=one(0.0), v_threshold=one(1.0), v_reset=one(0.0)))
    graph = nir.NIRGraph(nodes={"in": nir.Input(input_type=np.array([1])), "sub": inner,
                                "out": nir.Output(output_type=np.array([1]))}, edges=[("in", "sub"), ("sub", "out")])
    x = np.array([[0.3], [0.45], [0.0], [0.6]])
    np.testing.assert_array_equal(from_nir(graph, 1e-3)(x), from_nir(inner, 1e-3)(x))
    np.testing.assert_array_equal(from_nir(inner, 1e-3)(x)[:, 0], [0, 1, 0, 1])  # v <- v/2 + 2x: 0.6, 1.2 | 0, 1.2


# --- bad input -----------------------------------------------------------------------------------------------


def test_a_file_that_is_not_nir_is_refused_naming_it(tmp_path):
    text = tmp_path / "notes.nir"
    text.write_text("not a graph")
    with pytest.raises(ValueError, match=r"'.*notes\.nir' is not a NIR file"):
        from_nir(text, 1e-3)
    other = tmp_path / "model.h5"  # HDF5, but not a NIR graph
    with h5py.File(other, "w") as f:
        f.create_dataset("weights", data=np.ones(3))
    with pytest.raises(ValueError, match=r"'.*model\.h5' is not a NIR file"):
        from_nir(other, 1e-3)
    with pytest.raises(FileNotFoundError, match="missing.nir"):
        from_nir(tmp_path / "missing.nir", 1e-3)


@pytest.mark.parametrize("node, kind", [
    (nir.Flatten(input_type={"input": np.array([2])}, start_dim=0, end_dim=-1), "Flatten"),
    (nir.SumPool2d(kernel_size=np.array([1, 1]), stride=np.array([1, 1]), padding=np.array([0, 0])), "SumPool2d"),
])
def test_an_unsupported_node_is_named_with_its_type(node, kind):
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([2])), "odd": node,
                                "output": nir.Output(output_type=np.array([2]))},
                         edges=[("input", "odd"), ("odd", "output")], type_check=False)
    with pytest.raises(ValueError, match=f"NIR node 'odd' of type {kind} is not supported"):
        from_nir(graph, 1e-3)


def lif(n=2, **kw):
    p = dict(tau=np.full(n, 1e-3), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n))
    return nir.LIF(**{**p, **kw})


@pytest.mark.parametrize("make, message", [
    (lambda: chain(lif(tau=np.array([1e-3, -1e-3]))), r"NIR node 'lif' \(LIF\): tau must be finite and > 0"),
    (lambda: chain(lif(tau=np.array([1e-3, np.nan]))), r"NIR node 'lif' \(LIF\): tau must be finite"),
    (lambda: chain(nir.Delay(delay=np.full(2, 1.5e-3))), r"NIR node 'delay' \(Delay\): delay must be whole steps"),
    (lambda: nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([2])), "affine": nir.Affine(
        weight=np.ones((3, 4)), bias=np.zeros(3)), "output": nir.Output(output_type=np.array([3]))},
        edges=[("input", "affine"), ("affine", "output")], type_check=False), "edge \\('input', 'affine'\\) carries 2"),
    (lambda: nir.NIRGraph(nodes={"a": nir.Input(input_type=np.array([2])), "b": nir.Input(input_type=np.array([2])),
                                 "l": lif(), "o": nir.Output(output_type=np.array([2]))},
                          edges=[("a", "l"), ("b", "l"), ("l", "o")]), r"exactly one Input node, got \['a', 'b'\]"),
    (lambda: nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([1, 2])), "l": lif(),
                                 "output": nir.Output(output_type=np.array([2]))},
                          edges=[("input", "l"), ("l", "output")], type_check=False), "ignore_dims=.0."),
])
def test_bad_graphs_are_refused_naming_the_node(make, message):
    with pytest.raises(ValueError, match=message):
        from_nir(make(), 1e-3)


def test_bad_arguments_are_refused():
    graph = chain(lif())
    with pytest.raises(ValueError, match="dt must be > 0"):
        from_nir(graph, 0.0)
    with pytest.raises(ValueError, match="graph_or_path must be a nir.NIRGraph or the path"):
        from_nir(3, 1e-3)
    with pytest.raises(ValueError, match="graph must be a nir.NIRGraph, got 3"):
        NIRModel(3, 1e-3)
    with pytest.raises(ValueError, match=r"x must have shape \[T, 2\], got \(4, 3\)"):
        from_nir(graph, 1e-3)(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="x must have 2 dimension"):
        from_nir(graph, 1e-3)(np.zeros(4))


@pytest.mark.parametrize("make, message", [
    (lambda: nn.LIF(3, reset="subtract"), "layer 0 \\(LIF\\) has reset='subtract', which NIR cannot express"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.ALIF(3)), r"layer 1 \(ALIF\) has no NIR equivalent"),
    (lambda: nn.Sequential(nn.Embedding(4, 2)), r"layer 0 \(Embedding\) has no NIR equivalent"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.LIF(4, reset="zero")),
     r"layer 1 \(LIF\) takes 4 inputs but the layer before gives 3"),
    (lambda: nn.Sequential(), "at least one layer"),
    (lambda: "a model", "obj must be an eventsnn.Network or an eventsnn.nn model"),
])
def test_models_nir_cannot_express_are_refused_naming_the_layer(make, message):
    with pytest.raises(ValueError, match=message):
        to_nir(make(), 1e-3)


def test_to_nir_arguments_are_checked():
    with pytest.raises(ValueError, match="dt must be > 0"):
        to_nir(nn.LIF(2, reset="zero"), -1.0)
    with pytest.raises(ValueError, match="output names a population of a Network"):
        to_nir(nn.LIF(2, reset="zero"), 1e-3, output="x")


def small_network(model=None, *, target="exc", rule=None):
    gen = esnn.Population(2, esnn.SpikeGenerator(indices=[0, 1], times=[0.0, 0.1]), name="gen")
    pop = esnn.Population(3, model or esnn.LIF(), name="pop")
    proj = esnn.Sparse.fixed_probability(gen, pop, 1.0, 1.0, target=target, plasticity=rule, seed=0)
    return esnn.Network(gen, pop, proj, dt=DT_MS), gen, pop


def ran():
    net, *_ = small_network()
    net.run(1.0)
    return net


def not_at_rest():
    net, _, pop = small_network()
    pop["v"] = -60.0
    return net


def two_inputs():
    net, *_ = small_network()
    net.add(esnn.Population(1, esnn.SpikeGenerator(), name="gen2"))
    return net


def unreached_output():
    net, gen, pop = small_network()
    other = esnn.Population(2, esnn.LIF(), name="other")
    net.add(other, esnn.Sparse.fixed_probability(other, other, 1.0, 1.0, seed=0))
    return net, other


@pytest.mark.parametrize("make, message", [
    (lambda: small_network(esnn.LIF(reset="subtract"))[0], "population 'pop': reset='subtract' has no NIR equivalent"),
    (lambda: small_network(esnn.ALIF())[0], "population 'pop': ALIF has no NIR equivalent"),
    (lambda: small_network(esnn.CondLIF())[0], "population 'pop': CondLIF has no NIR equivalent"),
    (lambda: small_network(esnn.LIF(t_ref=0.3))[0], r"population 'pop': t_ref = 0.3 ms spans more than one step"),
    (lambda: small_network(rule=esnn.STDP())[0], r"a plastic projection \(STDP\) onto 'pop'"),
    (lambda: small_network(esnn.LIF(tau_m=1e30))[0], r"population 'pop': tau_m = 1e\+30 ms is too long for dt"),
    (ran, "the network must not have run yet"),
    (not_at_rest, "population 'pop' is not at rest"),
    (two_inputs, "exactly one SpikeGenerator population as its NIR input, got 2"),
])
def test_networks_nir_cannot_express_are_refused_naming_the_population(make, message):
    with pytest.raises(ValueError, match=message):
        to_nir(make(), DT_MS / 1000.0)


def test_a_poisson_population_driving_the_output_is_refused():
    net, gen, pop = small_network()
    noise = esnn.Population(2, esnn.Poisson(), name="noise")
    net.add(noise, esnn.Sparse.fixed_probability(noise, pop, 1.0, 1.0, seed=0))
    with pytest.raises(ValueError, match="population 'noise': Poisson has no NIR equivalent"):
        to_nir(net, DT_MS / 1000.0, output=pop)


def test_network_arguments_are_checked():
    net, gen, pop = small_network()
    with pytest.raises(ValueError, match=r"dt must be the network's step in seconds \(0.0001\), got 0.001"):
        to_nir(net, 1e-3)
    with pytest.raises(ValueError, match=r"output must be one of the network's populations \['pop'\], got 'pop'"):
        to_nir(net, 1e-4, output="pop")
    net, other = unreached_output()
    with pytest.raises(ValueError, match="the input population 'gen' does not reach the output 'other'"):
        to_nir(net, 1e-4, output=other)
    with pytest.raises(ValueError, match="output must be one of"):  # two candidates: the output must be named
        to_nir(net, 1e-4)


def test_without_nir_the_error_names_the_extra():
    result = subprocess.run([sys.executable, "-c",
                             "import sys\n"
                             "class NoNir:\n"
                             "    def find_spec(self, name, path=None, target=None):\n"
                             "        if name.split('.')[0] == 'nir':\n"
                             "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
                             "sys.meta_path.insert(0, NoNir())\n"
                             "from eventsnn.nir import to_nir\n"
                             "from eventsnn.errors import MissingDependencyError\n"
                             "from eventsnn import nn\n"
                             "try:\n"
                             "    to_nir(nn.LIF(2, reset='zero'), 1e-3)\n"
                             "except MissingDependencyError as err:\n"
                             "    assert isinstance(err, ImportError)\n"
                             "    print(err)\n"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "eventsnn.nir needs the optional package 'nir'" in result.stdout
    assert "pip install 'eventsnn[nir]'" in result.stdout
