"""NIR cross-checks: graphs snnTorch and Norse export from their own networks run in eventsnn with their spikes,
and eventsnn's exports run in both with eventsnn's spikes.

Runs where torch, snntorch and norse are installed (the bench extra), e.g.
    /work/benchvenv/bin/python -m pytest tests/test_nir_peers.py
The exporters' traps (docs/nir.md): both need per-neuron (vector) parameters, snnTorch ``ignore_dims=[0]`` and
Norse an unbatched sample; snnTorch writes its graphs for dt = 1e-4 s and resets only to zero
(``reset_mechanism="zero", reset_delay=False``); Norse writes tau = dt/tau_inv, so it exports with dt=1.0 and its
graphs import with the step its cells ran at (Norse's ``dt``, 1e-3 s here).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the NIR peer checks need torch (pip install 'eventsnn[bench]')")
snn = pytest.importorskip("snntorch", reason="the NIR peer checks need snntorch (pip install 'eventsnn[bench]')")
norse = pytest.importorskip("norse.torch", reason="the NIR peer checks need norse (pip install 'eventsnn[bench]')")
nir = pytest.importorskip("nir", reason="the NIR peer checks need nir (pip install 'eventsnn[nir]')")
from snntorch import utils as snn_utils  # noqa: E402
from snntorch.export_nir import export_to_nir  # noqa: E402
from snntorch.import_nir import import_from_nir  # noqa: E402

from eventsnn import nn  # noqa: E402
from eventsnn.autodiff import Tensor  # noqa: E402
from eventsnn.nir import from_nir, to_nir  # noqa: E402

T, N_IN, N_HID, N_OUT = 50, 6, 10, 4
SNNTORCH_DT, NORSE_DT = 1e-4, 1e-3


def inputs(seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((T, N_IN)) < 0.3).astype(np.float32)


def run_snntorch(net, x: np.ndarray) -> np.ndarray:
    """Step an snnTorch network (hidden state inside, init_hidden=True) over x[T, n_in]; output spikes [T, n_out]."""
    snn_utils.reset(net)
    out = []
    with torch.no_grad():
        for xt in x:
            y = net(torch.from_numpy(xt))
            out.append(y[0] if isinstance(y, tuple) else y)
    return torch.stack(out).numpy().astype(np.float64)


def run_norse(net, x: np.ndarray) -> np.ndarray:
    """Step a Norse (SequentialState-like) network over x[T, n_in]; output spikes [T, n_out]."""
    state, out = None, []
    with torch.no_grad():
        for xt in x:
            z, state = net(torch.from_numpy(xt), state)
            out.append(z)
    return torch.stack(out).numpy().astype(np.float64)


def scaled_linear(n_in: int, n_out: int, scale: float) -> torch.nn.Linear:
    layer = torch.nn.Linear(n_in, n_out)
    with torch.no_grad():
        layer.weight.mul_(scale)
    return layer


def assert_same_spikes(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert 0 < theirs.mean() < 1  # the comparison crosses spikes, not only silence or saturation
    np.testing.assert_array_equal(ours, theirs)


def leaky(n: int, beta: float, output: bool = False):
    """snnTorch Leaky with NIR's reset: to zero, in the step of the spike; vector parameters."""
    return snn.Leaky(beta=torch.full((n,), beta), threshold=torch.full((n,), 0.5), init_hidden=True, output=output,
                     reset_mechanism="zero", reset_delay=False)


@pytest.mark.parametrize("seed, beta", [(0, 0.8), (1, 0.5), (3, 0.95)])
def test_snntorch_leaky_graphs_run_in_eventsnn_with_snntorchs_spikes(seed, beta, tmp_path):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(scaled_linear(N_IN, N_HID, 3.0), leaky(N_HID, beta),
                              scaled_linear(N_HID, N_OUT, 3.0), leaky(N_OUT, beta, output=True))
    x = inputs(seed)
    graph = export_to_nir(net, torch.zeros(1, N_IN), ignore_dims=[0])
    nir.write(tmp_path / "leaky.nir", graph)
    assert_same_spikes(from_nir(tmp_path / "leaky.nir", SNNTORCH_DT)(x), run_snntorch(net, x))


@pytest.mark.parametrize("seed", [0, 1])
def test_snntorch_synaptic_graphs_run_as_cubalif_in_eventsnn_and_in_norse(seed, tmp_path):
    """snnTorch writes Synaptic (syn <- alpha syn + x, mem <- beta mem + syn) as a CubaLIF with w_in = tau_syn/dt;
    Norse's importer reads the same graph as NIR's equations, and so does eventsnn."""
    torch.manual_seed(seed)

    def synaptic(n, output=False):
        return snn.Synaptic(alpha=torch.full((n,), 0.6), beta=torch.full((n,), 0.8), threshold=torch.full((n,), 0.5),
                            init_hidden=True, output=output, reset_mechanism="zero", reset_delay=False)

    net = torch.nn.Sequential(scaled_linear(N_IN, N_HID, 1.0), synaptic(N_HID),
                              scaled_linear(N_HID, N_OUT, 1.0), synaptic(N_OUT, output=True))
    x = inputs(seed)
    graph = export_to_nir(net, torch.zeros(1, N_IN), ignore_dims=[0])
    assert {type(v).__name__ for v in graph.nodes.values()} >= {"CubaLIF"}
    nir.write(tmp_path / "synaptic.nir", graph)
    expected = run_snntorch(net, x)
    assert_same_spikes(from_nir(tmp_path / "synaptic.nir", SNNTORCH_DT)(x), expected)
    in_norse = norse.from_nir(nir.read(tmp_path / "synaptic.nir"), dt=SNNTORCH_DT)
    np.testing.assert_array_equal(run_norse(in_norse, x), expected)


def test_snntorch_recurrent_graphs_run_in_eventsnn_with_snntorchs_spikes():
    """RLeaky: mem <- beta mem + x + W_rec spk[t-1] + b_rec; its graph closes the cycle lif -> w_rec -> lif."""
    torch.manual_seed(3)
    recurrent = snn.RLeaky(beta=torch.full((N_HID,), 0.8), threshold=torch.full((N_HID,), 0.5),
                           linear_features=N_HID, init_hidden=True, output=True, reset_mechanism="zero",
                           reset_delay=False)
    with torch.no_grad():
        recurrent.recurrent.weight.mul_(1.5)
    net = torch.nn.Sequential(scaled_linear(N_IN, N_HID, 2.0), recurrent)
    x = inputs(3)
    graph = export_to_nir(net, torch.zeros(1, N_IN), ignore_dims=[0])
    assert ("1.w_rec", "1.lif") in graph.edges and ("1.lif", "1.w_rec") in graph.edges
    assert_same_spikes(from_nir(graph, SNNTORCH_DT)(x), run_snntorch(net, x))


def lif_box(n: int, tau_mem_inv: float = 200.0):
    p = norse.LIFBoxParameters(tau_mem_inv=torch.full((n,), tau_mem_inv), v_th=torch.full((n,), 0.3),
                               v_leak=torch.zeros(n), v_reset=torch.zeros(n))
    return norse.LIFBoxCell(p, dt=NORSE_DT)


@pytest.mark.parametrize("seed, tau_mem_inv", [(0, 200.0), (1, 100.0)])
def test_norse_lif_graphs_run_in_eventsnn_with_norses_spikes(seed, tau_mem_inv, tmp_path):
    torch.manual_seed(seed)
    net = norse.SequentialState(scaled_linear(N_IN, N_HID, 3.0), lif_box(N_HID, tau_mem_inv),
                                scaled_linear(N_HID, N_OUT, 3.0), lif_box(N_OUT, tau_mem_inv))
    x = inputs(seed)
    graph = norse.to_nir(net, torch.zeros(N_IN), dt=1.0)  # tau = dt / tau_mem_inv: with dt = 1, 1/tau_mem_inv
    np.testing.assert_allclose(graph.nodes["1"].tau, 1.0 / tau_mem_inv)
    nir.write(tmp_path / "norse.nir", graph)
    assert_same_spikes(from_nir(tmp_path / "norse.nir", NORSE_DT)(x), run_norse(net, x))


def test_norse_cubalif_graphs_run_in_eventsnn_once_w_in_is_corrected():
    """Norse's LIFCell adds each input to its current (i <- i + x, then decays it), but its exporter writes
    w_in = 1, which by NIR's tau_syn di/dt = -i + w_in x adds only x dt/tau_syn: eventsnn runs Norse's cell
    when w_in = tau_syn/dt, as snnTorch writes it."""
    torch.manual_seed(4)
    p = norse.LIFParameters(tau_syn_inv=torch.full((N_HID,), 200.0), tau_mem_inv=torch.full((N_HID,), 100.0),
                            v_th=torch.full((N_HID,), 0.3), v_leak=torch.zeros(N_HID), v_reset=torch.zeros(N_HID))
    net = norse.SequentialState(scaled_linear(N_IN, N_HID, 3.0), norse.LIFCell(p, dt=NORSE_DT))
    x = inputs(4)
    graph = norse.to_nir(net, torch.zeros(N_IN), dt=1.0)
    cuba = graph.nodes["1"]
    cuba.w_in = np.asarray(cuba.tau_syn) / NORSE_DT
    assert_same_spikes(from_nir(graph, NORSE_DT)(x), run_norse(net, x))


def eventsnn_mlp(seed: int) -> nn.Sequential:
    model = nn.Sequential(nn.Linear(N_IN, N_HID, seed=seed), nn.LIF(N_HID, beta=0.85, threshold=0.3, reset="zero"),
                          nn.Linear(N_HID, N_OUT, seed=seed + 1), nn.LIF(N_OUT, beta=0.7, threshold=0.2, reset="zero"))
    for layer in (model[0], model[2]):
        layer.weight.data *= 2.0
    return model


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eventsnn_graphs_run_in_snntorch_and_norse_with_eventsnns_spikes(seed, tmp_path):
    model = eventsnn_mlp(seed)
    x = inputs(seed + 10)
    expected = model(Tensor(x[:, None, :].astype(np.float64))).data[:, 0, :]
    nir.write(tmp_path / "mlp_snntorch.nir", to_nir(model, SNNTORCH_DT))  # snnTorch's importer assumes 1e-4 s
    in_snntorch = import_from_nir(nir.read(tmp_path / "mlp_snntorch.nir"))
    assert_same_spikes(run_snntorch(in_snntorch, x), expected)
    nir.write(tmp_path / "mlp_norse.nir", to_nir(model, NORSE_DT))
    in_norse = norse.from_nir(nir.read(tmp_path / "mlp_norse.nir"), dt=NORSE_DT)
    assert_same_spikes(run_norse(in_norse, x), expected)
