"""The CUDA training kernels (under Numba's CUDA simulator without a GPU) give the CPU kernels' results."""
import numpy as np
import pytest
from _cuda import cuda, fast_simulator  # noqa: F401  (an autouse fixture)
from hypothesis import given, settings, strategies as st

from eventsnn.autodiff import NeuronState, Tensor
from eventsnn.kernels import bptt
from eventsnn.kernels import event_linear as cpu_linear
from eventsnn.kernels.cuda import bptt as gpu_bptt
from eventsnn.kernels.cuda import event_linear as gpu_linear
from eventsnn.kernels.cuda import optim as gpu_optim
from eventsnn.nn.optim import Adam, AdamW, adam_update

TOL = dict(rtol=1e-5, atol=1e-5)


def layer(rng, T, B, N, adaptive):
    """float32 current [T, B, N], NeuronParams without reset, a random starting NeuronState."""
    f = lambda a: np.asarray(a, np.float32)  # noqa: E731
    current = f(rng.normal(0.6, 1.0, (T, B, N)))
    params = [f(rng.uniform(0.3, 0.95, N)), f(rng.uniform(0.5, 1.5, N)), f(rng.uniform(0.2, 0.9, N)),
              f(rng.uniform(0.1, 0.5, N) if adaptive else np.zeros(N))]
    state = NeuronState(f(rng.normal(0, 1, (B, N))), f(rng.random((B, N)) < 0.5), f(rng.uniform(0, 1, (B, N))))
    return current, params, state


# The simulator evaluates exp in NumPy float32, which warns where e^{-kx} overflows to inf (sigma' = 0, as on a device).
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@settings(max_examples=20, deadline=None)
@given(T=st.integers(1, 6), B=st.integers(1, 3), N=st.integers(1, 5), reset=st.sampled_from([0, 1, 2]),
       adaptive=st.booleans(), detach=st.booleans(), kind=st.integers(0, 3), slope=st.floats(0.3, 30),
       seed=st.integers(0, 2**31))
def test_neuron_forward_and_backward_match_the_cpu(T, B, N, reset, adaptive, detach, kind, slope, seed):
    rng = np.random.default_rng(seed)
    current, params, state = layer(rng, T, B, N, adaptive)
    spk, mem, ad = bptt.neuron_forward(current, *params, reset, *state)
    trace = gpu_bptt.neuron_forward(current, gpu_bptt.NeuronParams(*params, reset), state)
    np.testing.assert_array_equal(trace.spk, spk)
    np.testing.assert_allclose(trace.mem, mem, **TOL)
    np.testing.assert_allclose(trace.adapt, ad, **TOL)
    g = rng.standard_normal((T, B, N)).astype(np.float32)
    want = bptt.neuron_backward(g, spk, mem, ad, *params, reset, detach, kind, slope, *state)
    got = gpu_bptt.neuron_backward(g, trace, gpu_bptt.NeuronParams(*params, reset), state, detach, kind, slope)
    for name, a, b in zip(gpu_bptt.NeuronGrads._fields, got, want):
        assert a.dtype == np.float32, name
        np.testing.assert_allclose(a, b, **TOL, err_msg=name)


@pytest.mark.parametrize("reset", [0, 1, 2])
def test_lif_without_the_adaptation_history_matches_the_cpu(reset):
    rng = np.random.default_rng(reset)
    current, params, state = layer(rng, 5, 2, 3, adaptive=False)
    p = gpu_bptt.NeuronParams(*params, reset)
    lean = gpu_bptt.neuron_forward(current, p, state, keep_adaptation=False)
    spk, mem, empty, _ = bptt.neuron_run(current, *params, reset, *state, False)
    assert lean.adapt.shape == empty.shape == (0, 2, 3)
    np.testing.assert_array_equal(lean.spk, spk)
    g = rng.standard_normal(current.shape).astype(np.float32)
    for detach in (True, False):
        want = bptt.neuron_backward(g, spk, mem, empty, *params, reset, detach, bptt.ATAN, 2.0, *state)
        got = gpu_bptt.neuron_backward(g, lean, p, state, detach, bptt.ATAN, 2.0)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, **TOL)
    with pytest.raises(ValueError, match="trace.adapt must hold 5 or 0 time steps, got 2"):
        gpu_bptt.neuron_backward(g, lean._replace(adapt=np.zeros((2, 2, 3), np.float32)), p, state)
    adaptive = p._replace(gamma=np.array([0.0, 0.2, 0.0], np.float32))  # its gradients would need a[t]
    for gamma in (adaptive.gamma, cuda.to_device(adaptive.gamma)):
        with pytest.raises(ValueError, match="trace.adapt holds no time steps .* params.gamma is not 0"):
            gpu_bptt.neuron_backward(g, lean, adaptive._replace(gamma=gamma), state)


def test_neuron_kernels_keep_device_arrays_on_the_device_and_start_from_rest():
    rng = np.random.default_rng(1)
    current, params, _ = layer(rng, 5, 2, 3, True)
    rest = NeuronState(*(np.zeros((2, 3), np.float32) for _ in range(3)))
    p = gpu_bptt.NeuronParams(*params, bptt.ZERO)
    trace = gpu_bptt.neuron_forward(cuda.to_device(current), p)
    assert all(not isinstance(x, np.ndarray) for x in trace)  # device arrays in, device arrays out
    np.testing.assert_array_equal(trace.spk.copy_to_host(), bptt.neuron_forward(current, *params, 1, *rest)[0])
    grads = gpu_bptt.neuron_backward(cuda.to_device(np.ones_like(current)), trace, p)
    assert not isinstance(grads.current, np.ndarray)


@pytest.mark.parametrize("call, match", [
    (lambda p, s: gpu_bptt.neuron_forward(np.zeros((2, 3)), p), "current"),  # not [T, B, N]
    (lambda p, s: gpu_bptt.neuron_forward(np.full((2, 1, 3), np.nan), p), "current must be finite"),
    (lambda p, s: gpu_bptt.neuron_forward(np.zeros((2, 1, 4)), p), r"params.beta must have shape \(4,\)"),
    (lambda p, s: gpu_bptt.neuron_forward(np.zeros((2, 1, 3)), p._replace(reset=5)), "params.reset"),
    (lambda p, s: gpu_bptt.neuron_forward(np.zeros((2, 1, 3)), p._replace(beta=np.full(3, 1.5))),
     r"params.beta must lie in \[0, 1\], got 1.5"),
    (lambda p, s: gpu_bptt.neuron_forward(np.zeros((2, 1, 3)), p._replace(rho=np.full(3, -0.1))), "params.rho"),
    (lambda p, s: gpu_bptt.neuron_forward(np.zeros((2, 1, 3)), p, s[:2]), "state"),
    (lambda p, s: gpu_bptt.neuron_forward(np.zeros((2, 1, 3)), tuple(p)), "NeuronParams"),
    (lambda p, s: gpu_bptt.neuron_backward(np.zeros((2, 1, 3)), gpu_bptt.neuron_forward(np.zeros((2, 1, 3)), p),
                                           p, slope=-1.0), "slope"),
    (lambda p, s: gpu_bptt.neuron_forward(cuda.to_device(np.zeros((2, 1, 3))), p), "float32"),
])
def test_bad_neuron_arguments_are_named(call, match):
    p = gpu_bptt.NeuronParams(*(np.full(3, v, np.float32) for v in (0.9, 1.0, 0.0, 0.0)))
    with pytest.raises(ValueError, match=match):
        call(p, NeuronState.zeros(1, 3, np.float32))


def spikes(rng, shape, p, graded):
    x = (rng.random(shape) < p).astype(np.float32)
    return x * rng.uniform(0.5, 2.0, shape).astype(np.float32) if graded else x


@settings(max_examples=10, deadline=None)  # each example builds four indices: ~1 s in the simulator
@given(M=st.integers(0, 7), K=st.integers(1, 9), N=st.integers(1, 12), p=st.floats(0, 1), graded=st.booleans(),
       seed=st.integers(0, 2**31))
def test_event_products_match_the_cpu(M, K, N, p, graded, seed):
    rng = np.random.default_rng(seed)
    x = spikes(rng, (M, K), p, graded)
    w, g = rng.standard_normal((K, N)).astype(np.float32), rng.standard_normal((M, N)).astype(np.float32)
    rows = cpu_linear.active_index(x)
    for got, want in ((gpu_linear.active_index(x), rows),
                      (gpu_linear.active_index(x, transpose=True), cpu_linear.transpose_index(*rows, K))):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(gpu_linear.event_matmul(x, w), cpu_linear.sparse_matmul(*rows, w), **TOL)
    np.testing.assert_allclose(gpu_linear.event_weight_grad(x, g),
                               cpu_linear.sparse_matmul(*cpu_linear.transpose_index(*rows, K), g), **TOL)
    np.testing.assert_allclose(gpu_linear.sparse_matmul(gpu_linear.CSR(*rows), w), x @ w, **TOL)


def test_event_product_of_device_arrays_stays_on_the_device():
    rng = np.random.default_rng(2)
    x = spikes(rng, (300, 20), 0.2, False)  # 300 rows: about 10 per scan thread
    w = rng.standard_normal((20, 3)).astype(np.float32)
    y = gpu_linear.event_matmul(cuda.to_device(x), cuda.to_device(w))
    assert not isinstance(y, np.ndarray)
    np.testing.assert_allclose(y.copy_to_host(), x @ w, **TOL)


def test_bad_event_product_arguments_are_named():
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5, 2\)"):
        gpu_linear.event_matmul(np.zeros((3, 4)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="CSR"):
        gpu_linear.sparse_matmul((np.zeros(1), np.zeros(0), np.zeros(0)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="x must be finite"):
        gpu_linear.active_index(np.array([[np.inf]]))


@pytest.mark.parametrize("indptr, indices, message", [
    ([0, 1], [-1], r"index.indices must lie in \[0, 2\) \(the rows of dense\), got -1"),
    ([0, 1], [2], r"index.indices must lie in \[0, 2\) \(the rows of dense\), got 2"),
    ([0, 2], [0], "index.indptr must run from 0 to 1 .*got 0 to 2"),
    ([0, 1, 0, 1], [0], "index.indptr must not decrease, got 1 then 0")])
def test_a_host_csr_that_would_read_outside_dense_is_refused(indptr, indices, message):
    index = gpu_linear.CSR(np.array(indptr, np.int64), np.array(indices, np.int32), np.ones(len(indices), np.float32))
    with pytest.raises(ValueError, match=message):
        gpu_linear.sparse_matmul(index, np.ones((2, 3), np.float32))


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 40), step=st.integers(1, 50), decoupled=st.booleans(), wd=st.floats(0, 0.5),
       lr=st.floats(1e-4, 0.1), seed=st.integers(0, 2**31))
def test_adam_update_matches_the_cpu(n, step, decoupled, wd, lr, seed):
    rng = np.random.default_rng(seed)
    w, g = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    m, v = rng.standard_normal(n).astype(np.float32), rng.random(n).astype(np.float32)
    opt = (AdamW if decoupled else Adam)([Tensor(w.copy())], lr=lr, weight_decay=wd)
    opt.step_count = step
    scalars = opt.scalars(np.float32)
    cpu = [a.copy() for a in (w, g, m, v)]
    adam_update(*cpu, *scalars)
    gpu = [a.copy() for a in (w, g, m, v)]
    gpu_optim.adam_update(*gpu, scalars)
    for a, b in zip(gpu, cpu):
        np.testing.assert_allclose(a, b, **TOL)


def test_adam_update_of_device_arrays_and_of_a_matrix():
    rng = np.random.default_rng(3)
    w, g, m, v = (rng.random((4, 5)).astype(np.float32) for _ in range(4))
    opt = Adam([Tensor(w)], lr=0.01)
    opt.step_count = 1  # as step() sets it before the first update
    scalars = opt.scalars(np.float32)
    cpu = [a.copy() for a in (w, g, m, v)]
    adam_update(*(a.reshape(-1) for a in cpu), *scalars)
    dev = [cuda.to_device(a) for a in (w, g, m, v)]
    gpu_optim.adam_update(*dev, scalars)
    for d, c in zip(dev, cpu):
        np.testing.assert_allclose(d.copy_to_host(), c, **TOL)
    with pytest.raises(ValueError, match="w must be a writeable float32"):
        gpu_optim.adam_update(w.astype(np.float64), g, m, v, scalars)
    with pytest.raises(ValueError, match=r"g must have shape \(4, 5\)"):
        gpu_optim.adam_update(w, g[:2], m, v, scalars)
    with pytest.raises(ValueError, match="v must be >= 0, got -1.0"):
        gpu_optim.adam_update(w, g, m, np.full_like(v, -1.0), scalars)
    with pytest.raises(ValueError, match="scalars.bias2 and scalars.eps must be > 0, got 0.0"):
        gpu_optim.adam_update(w, g, m, v, scalars._replace(bias2=np.float32(0)))
    with pytest.raises(ValueError, match="scalars.step must be finite, got nan"):
        gpu_optim.adam_update(w, g, m, v, scalars._replace(step=np.float32("nan")))
    opt.step_count = 0
    with pytest.raises(ValueError, match=r"step_count must be at least 1 .*got 0"):
        opt.scalars(np.float32)
