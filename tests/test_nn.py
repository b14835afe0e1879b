"""Modules, state dicts, optimizers, clipping, schedules, regularisers, event linear."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import eventsnn.autodiff as ad
from eventsnn import nn
from eventsnn.autodiff import Tensor


class Block(nn.Module):
    def __init__(self, seed):
        self.fc = nn.Linear(3, 4, seed=seed)
        self.norm = nn.LayerNorm(4)

    def forward(self, x):
        return self.norm(self.fc(x))


class Net(nn.Module):
    def __init__(self):
        self.embed = nn.Embedding(5, 3, seed=0)
        self.blocks = nn.ModuleList([Block(1), Block(2)])
        self.lif = nn.LIF(4, learn_beta=True, learn_threshold=True)


def test_named_parameters_and_counting():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["embed.weight", "blocks.0.fc.weight", "blocks.0.fc.bias", "blocks.0.norm.gamma",
                     "blocks.0.norm.beta", "blocks.1.fc.weight", "blocks.1.fc.bias", "blocks.1.norm.gamma",
                     "blocks.1.norm.beta", "lif.beta_logit", "lif.threshold"]
    assert net.num_parameters() == 15 + 2 * (12 + 4 + 4 + 4) + 4 + 4
    assert net.eval().blocks[1].norm.training is False
    assert net.train().blocks[0].fc.training is True


def test_state_dict_round_trip_and_strictness():
    a, b = Net(), Net()
    for p in b.parameters():
        p.data[...] = 7.0
    b.load_state_dict(a.state_dict())
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)
    state = a.state_dict()
    with pytest.raises(ValueError, match="missing.*lif.threshold"):
        b.load_state_dict({k: v for k, v in state.items() if k != "lif.threshold"})
    with pytest.raises(ValueError, match="unexpected.*extra"):
        b.load_state_dict(state | {"extra": np.zeros(1)})
    with pytest.raises(ValueError, match=r"embed.weight.*\(5, 3\).*\(3, 5\)"):
        b.load_state_dict(state | {"embed.weight": np.zeros((3, 5))})
    b.load_state_dict({"embed.weight": np.ones((5, 3))}, strict=False)
    assert np.all(b.embed.weight.data == 1)


def _quadratic_problem(opt_cls, **kwargs):
    w = Tensor(np.array([3.0, -2.0]), requires_grad=True)
    opt = opt_cls([w], **kwargs)
    for _ in range(300):
        opt.zero_grad()
        ((w - 1.0) * (w - 1.0)).sum().backward()
        opt.step()
    return w.data


@pytest.mark.parametrize("opt_cls, kwargs", [(nn.SGD, dict(lr=0.05, momentum=0.9)), (nn.Adam, dict(lr=0.05)),
                                             (nn.AdamW, dict(lr=0.05, weight_decay=0.0))])
def test_optimizers_minimise(opt_cls, kwargs):
    np.testing.assert_allclose(_quadratic_problem(opt_cls, **kwargs), 1.0, atol=1e-2)


def test_adam_first_step_matches_formula():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = nn.AdamW([w], lr=0.1, weight_decay=0.5)
    w.grad = np.array([0.3, -4.0])
    opt.step()
    # bias-corrected first step is lr * sign(g) (up to eps), after decay w *= 1 - lr wd
    np.testing.assert_allclose(w.data, np.array([1.0, 2.0]) * 0.95 - 0.1 * np.sign([0.3, -4.0]), rtol=1e-6)


def test_optimizer_state_round_trip():
    net = Net()
    opt = nn.Adam(net.named_parameters(), lr=0.01)
    for p in net.parameters():
        p.grad = np.ones_like(p.data)
    opt.step()
    state = opt.state_dict()
    assert state["step"] == 1 and set(state["exp_avg"]) == {n for n, _ in net.named_parameters()}
    fresh = nn.Adam(net.named_parameters(), lr=0.01)
    fresh.load_state_dict(state)
    assert fresh.step_count == 1
    np.testing.assert_array_equal(fresh.state["exp_avg_sq"]["lif.threshold"], state["exp_avg_sq"]["lif.threshold"])
    bad = state | {"exp_avg": state["exp_avg"] | {"embed.weight": np.zeros(2)}}
    with pytest.raises(ValueError, match="exp_avg.embed.weight"):
        fresh.load_state_dict(bad)


def test_non_finite_gradient_leaves_weights_untouched():
    a, b = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    opt = nn.SGD([a, b], lr=0.1)
    a.grad, b.grad = np.ones(2), np.array([np.nan, 0.0])
    with pytest.raises(FloatingPointError, match="not finite"):
        opt.step()
    assert np.all(a.data == 1) and opt.step_count == 0


def test_clip_grad_norm():
    a, b = Tensor(np.zeros(2), requires_grad=True), Tensor(np.zeros(1), requires_grad=True)
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([4.0])
    assert nn.clip_grad_norm([a, b], 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(np.concatenate([a.grad, b.grad]), [0.6, 0, 0.8])
    assert nn.clip_grad_norm([a, b], 10.0) == pytest.approx(1.0)


def test_warmup_cosine():
    lrs = [nn.warmup_cosine(s, 1.0, 4, 14) for s in range(16)]
    np.testing.assert_allclose(lrs[:4], [0.25, 0.5, 0.75, 1.0])
    assert lrs[4] == 1.0 and lrs[9] == pytest.approx(0.5) and lrs[14] == lrs[15] == 0.0
    assert all(x >= y for x, y in zip(lrs[4:], lrs[5:]))
    with pytest.raises(ValueError, match="total_steps"):
        nn.warmup_cosine(0, 1.0, 10, 5)


def test_firing_rate_loss_pushes_towards_target():
    spikes = Tensor(np.zeros((5, 2, 3)), requires_grad=True)
    spikes.data[:, :, 0] = 1
    loss = nn.firing_rate_loss(spikes, 0.25, strength=2.0)
    assert loss.item() == pytest.approx(2.0 * (0.75 ** 2 + 2 * 0.25 ** 2) / 3)
    loss.backward()
    assert np.all(spikes.grad[..., 0] > 0) and np.all(spikes.grad[..., 1:] < 0)
    with pytest.raises(ValueError, match="target"):
        nn.firing_rate_loss(spikes, 1.5)


def test_learnable_decay_stays_in_range_and_gets_gradient():
    lif = nn.LIF(3, beta=0.9, learn_beta=True, learn_threshold=True)
    x = Tensor(np.random.default_rng(0).normal(0.5, 1, (10, 2, 3)))
    lif(x).sum().backward()
    assert np.any(lif.beta_logit.grad != 0) and np.any(lif.threshold.grad != 0)
    lif.beta_logit.data[...] = 50.0  # any raw value maps inside (0, 1)
    assert np.all(lif.beta.data <= 1) and lif(x).shape == (10, 2, 3)
    alif = nn.ALIF(3, learn_rho=True)
    alif(x).sum().backward()
    assert alif.rho_logit.grad is not None


@pytest.mark.parametrize("kwargs, match", [(dict(beta=1.0), "beta"), (dict(threshold=-1.0), "threshold"),
                                           (dict(reset="x"), "reset"), (dict(surrogate="atan"), "surrogate")])
def test_lif_layer_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.LIF(3, **kwargs)
    with pytest.raises(ValueError, match=r"\[T, B, 3\]"):
        nn.LIF(3)(Tensor(np.zeros((2, 2, 4))))


@settings(max_examples=20, deadline=None)
@given(M=st.integers(1, 6), K=st.integers(1, 9), N=st.integers(1, 5), p=st.floats(0, 1),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**31))
def test_event_linear_equals_dense(M, K, N, p, dtype, seed):
    rng = np.random.default_rng(seed)
    x_data = (rng.random((2, M, K)) < p).astype(dtype)
    w_data, b_data = rng.standard_normal((K, N)).astype(dtype), rng.standard_normal(N).astype(dtype)
    g = rng.standard_normal((2, M, N)).astype(dtype)
    results = []
    for op in (ad.event_linear, ad.linear):
        x, w, b = (Tensor(a, requires_grad=True) for a in (x_data, w_data, b_data))
        y = op(x, w, b)
        y.backward(g)
        results.append((y.data, x.grad, w.grad, b.grad))
    tol = 1e-4 if dtype == np.float32 else 1e-12
    for ev, dense in zip(*results):
        np.testing.assert_allclose(ev, dense, rtol=tol, atol=tol)
    inactive = x_data.reshape(-1, K).sum(axis=0) == 0
    assert np.all(results[0][2][inactive] == 0)  # rows of silent inputs untouched


def test_event_linear_gradcheck_and_shapes():
    x = (np.random.default_rng(0).random((4, 5)) < 0.5).astype(float)
    assert ad.gradcheck(lambda w, b: ad.event_linear(x, w, b), [np.ones((5, 3)), np.zeros(3)])
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(6, 3\)"):
        ad.event_linear(Tensor(x), Tensor(np.ones((6, 3))))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_kernel_matches_numpy_twin(dtype, decoupled):
    """Three fused Adam / AdamW steps equal the operator-by-operator NumPy update, also for a strided parameter."""
    rng = np.random.default_rng(4)
    lr, b1, b2, eps, wd = 0.01, 0.9, 0.99, 1e-8, 0.1
    w0 = rng.standard_normal((6, 5)).astype(dtype)
    grads = [rng.standard_normal((6, 5)).astype(dtype) for _ in range(3)]
    for data in (w0.copy(), w0.copy().T.copy().T):  # C-contiguous, then a Fortran-ordered view
        p = Tensor(data, requires_grad=True)
        opt = (nn.AdamW if decoupled else nn.Adam)([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
        w, m, v = w0.copy(), np.zeros_like(w0), np.zeros_like(w0)
        for t, g in enumerate(grads, start=1):
            p.grad = g
            opt.step()
            if decoupled:
                w *= 1 - lr * wd
            else:
                g = g + wd * w
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            w -= lr / (1 - b1 ** t) * m / (np.sqrt(v / (1 - b2 ** t)) + eps)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        assert p.data.dtype == dtype
        np.testing.assert_allclose(p.data, w, rtol=tol, atol=tol)
        np.testing.assert_allclose(opt.state["exp_avg"]["0"], m, rtol=tol, atol=tol)


@pytest.mark.parametrize("opt_cls", [nn.SGD, nn.Adam, nn.AdamW])
@pytest.mark.parametrize("grad", [np.ones((2, 3)), np.ones(2), np.ones(6)])
def test_gradient_of_another_shape_is_refused(opt_cls, grad):
    lin = nn.Linear(3, 2, seed=0)
    opt = opt_cls(lin.named_parameters(), lr=0.1)
    lin.weight.grad, lin.bias.grad = grad, np.ones(2)
    before = lin.state_dict()
    with pytest.raises(ValueError, match=r"gradient of weight has shape .* parameter has shape \(3, 2\)"):
        opt.step()
    assert opt.step_count == 0 and all(np.array_equal(a, before[n]) for n, a in lin.state_dict().items())


@pytest.mark.parametrize("call, match", [
    (lambda w: nn.SGD([w, w], lr=0.1), "parameter 1 is the same Tensor as parameter 0"),
    (lambda w: nn.SGD([("a", w), ("a", w * 1)], lr=0.1), "parameter names must be distinct"),
    (lambda w: nn.Adam(nn.Linear(3, 2)), "module Linear"),
    (lambda w: nn.Adam([np.ones(3)]), "params must hold Tensors, got ndarray"),
    (lambda w: nn.clip_grad_norm([np.ones(3)], 1.0), "params must hold Tensors, got ndarray"),
    (lambda w: nn.Adam([w], betas=0.9), "betas"), (lambda w: nn.Adam([w], betas=(0.9,)), "betas"),
    (lambda w: nn.AdamW([w], betas=(0.9, 0.99, 0.999)), "betas"),
    (lambda w: nn.SGD([w], lr=0.1, momentum=1.0), r"momentum must lie in \[0, 1\)"),
    (lambda w: nn.warmup_cosine(40, 1e-3, 0, 50, min_lr=1.0), "min_lr must be <= base_lr"),
])
def test_bad_optimizer_arguments_are_refused_by_name(call, match):
    with pytest.raises(ValueError, match=match):
        call(Tensor(np.ones(3), requires_grad=True))


def test_negative_second_moment_is_refused_on_load():
    opt = nn.Adam([Tensor(np.ones(3), requires_grad=True)])
    state = opt.state_dict()
    state["exp_avg_sq"]["0"] = -np.ones(3)
    with pytest.raises(ValueError, match=r"exp_avg_sq.0 must be >= 0"):
        opt.load_state_dict(state)
    assert np.all(opt.state["exp_avg_sq"]["0"] == 0)


@pytest.mark.parametrize("dtype", [np.int32, np.float16, "banana"])
def test_linear_dtype_must_be_float32_or_float64(dtype):
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        nn.Linear(3, 2, dtype=dtype)
    assert nn.Linear(3, 2, dtype=np.float32).weight.dtype == np.float32


@pytest.mark.parametrize("seed", ["a", -1, 1.5])
def test_layer_seed_is_refused_by_name(seed):
    with pytest.raises(ValueError, match="seed"):
        nn.Linear(3, 2, seed=seed)
    with pytest.raises(ValueError, match="seed"):
        nn.Embedding(3, 2, seed=seed)


def test_layers_and_losses_take_array_likes():
    x = np.full((4, 1, 3), 0.6)
    np.testing.assert_array_equal(nn.LIF(3)(x.tolist()).data, nn.LIF(3)(Tensor(x)).data)
    np.testing.assert_array_equal(nn.ALIF(3)(x.tolist()).data, nn.ALIF(3)(Tensor(x)).data)
    assert nn.firing_rate_loss(np.ones((2, 3)), 0.1).item() == pytest.approx(0.81)
