"""Tape ops: every VJP against central finite differences (float64), plus error paths."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import eventsnn.autodiff as ad
from eventsnn.autodiff import Tensor

FAST = settings(max_examples=15, deadline=None)
values = st.floats(-2, 2, allow_nan=False, width=64)


def arrays(shape):
    return hnp.arrays(np.float64, shape, elements=values)


small_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


@FAST
@given(st.data())
def test_broadcasting_binary_ops(data):
    shape = data.draw(small_shapes)
    # the second operand drops leading axes and/or squeezes some to 1
    other = tuple(1 if data.draw(st.booleans()) else n for n in shape[data.draw(st.integers(0, len(shape) - 1)):])
    a, b = data.draw(arrays(shape)), data.draw(arrays(other))
    for op in (ad.add, ad.sub, ad.mul):
        assert ad.gradcheck(op, [a, b])
        assert ad.gradcheck(lambda x, y: op(y, x), [a, b])
    assert ad.gradcheck(ad.div, [a, np.abs(b) + 0.5])


@FAST
@given(hnp.arrays(np.float64, small_shapes, elements=values))
def test_unary_ops(x):
    for op in (ad.neg, ad.exp, ad.tanh, ad.sigmoid):
        assert ad.gradcheck(op, [x])
    assert ad.gradcheck(ad.log, [np.abs(x) + 0.5])
    assert ad.gradcheck(ad.relu, [np.where(np.abs(x) < 1e-3, 0.5, x)])  # avoid the kink


@FAST
@given(st.data())
def test_reductions_and_shapes(data):
    x = data.draw(arrays(data.draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4))))
    axis = data.draw(st.integers(0, x.ndim - 1))
    keep = data.draw(st.booleans())
    assert ad.gradcheck(lambda t: ad.sum(t, axis=axis, keepdims=keep), [x])
    assert ad.gradcheck(lambda t: ad.mean(t, axis=axis, keepdims=keep), [x])
    assert ad.gradcheck(lambda t: ad.mean(t), [x])
    assert ad.gradcheck(lambda t: ad.reshape(t, (-1,)), [x])
    perm = data.draw(st.permutations(range(x.ndim)))
    assert ad.gradcheck(lambda t: ad.transpose(t, perm), [x])
    assert ad.gradcheck(lambda t, u: ad.concatenate([t, u, t], axis=axis), [x, x * 0.5])
    assert ad.gradcheck(lambda t, u: ad.stack([t, u], axis=1), [x, -x])
    assert ad.gradcheck(lambda t: t[..., ::2], [x])
    assert ad.gradcheck(lambda t: t[np.array([0, 0, x.shape[0] - 1])], [x])  # repeats accumulate


@FAST
@given(st.data())
def test_matmul_and_linear(data):
    m, k, n = (data.draw(st.integers(1, 4)) for _ in range(3))
    x, w, b = data.draw(arrays((2, m, k))), data.draw(arrays((k, n))), data.draw(arrays((n,)))
    assert ad.gradcheck(ad.matmul, [x, w])
    assert ad.gradcheck(ad.linear, [x, w, b])
    assert ad.gradcheck(ad.linear, [x[0], w])
    np.testing.assert_allclose(ad.linear(Tensor(x), Tensor(w), Tensor(b)).data, x @ w + b)


@FAST
@given(st.data())
def test_embedding_layer_norm_losses(data):
    v, d, n = data.draw(st.integers(2, 5)), data.draw(st.integers(2, 4)), data.draw(st.integers(1, 5))
    table = data.draw(arrays((v, d)))
    idx = np.array(data.draw(st.lists(st.integers(0, v - 1), min_size=n, max_size=n)))
    assert ad.gradcheck(lambda w: ad.embedding(w, idx), [table])
    x = data.draw(arrays((n, d))) + np.arange(d)  # keep the variance away from 0
    assert ad.gradcheck(lambda t, g, b: ad.layer_norm(t, g, b), [x, np.ones(d) + x[0] * 0.1, x[-1]])
    targets = np.array(data.draw(st.lists(st.integers(0, d - 1), min_size=n, max_size=n)))
    targets[0] = -100
    assert ad.gradcheck(lambda z: ad.cross_entropy(z, targets), [x])
    assert ad.gradcheck(lambda p, q: ad.mse(p, q), [x, x[::-1].copy()])


def test_cross_entropy_value_and_ignore_index():
    z = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5], [9.0, 9.0, 9.0]])
    t = np.array([0, 2, -100])
    want = -np.mean([np.log(np.exp(2) / np.exp(z[0]).sum()), np.log(1 / 3)])
    assert ad.cross_entropy(Tensor(z), t).item() == pytest.approx(want)
    zt = Tensor(z, requires_grad=True)
    ad.cross_entropy(zt, t).backward()
    assert np.all(zt.grad[2] == 0)


def test_gradient_accumulates_over_reuse_and_calls():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 5.0])
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad, [5.0, 7.0])


def test_long_chain_does_not_recurse():
    x = Tensor(np.ones(3), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 1.0)


def test_no_grad_records_nothing():
    x = Tensor(np.ones(2), requires_grad=True)
    with ad.no_grad():
        y = x * 3
    assert not y.requires_grad and ad.is_grad_enabled()


def test_float32_is_kept():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    y = (x * 2.5 + 1).sum()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("call", [
    lambda: ad.add(Tensor(np.ones((2, 3))), Tensor(np.ones((4,)))),
    lambda: ad.matmul(Tensor(np.ones((2, 3))), Tensor(np.ones((4, 5)))),
    lambda: ad.linear(Tensor(np.ones((2, 3))), Tensor(np.ones((4, 5)))),
    lambda: ad.mse(Tensor(np.ones((2, 3))), np.ones((3, 2))),
    lambda: ad.cross_entropy(Tensor(np.ones((2, 3))), np.zeros(3, int)),
])
def test_bad_shapes_name_both(call):
    with pytest.raises(ValueError, match=r"\(2, 3\).*\((4|3)"):
        call()


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_loss_refused(bad):
    x = Tensor(np.array([1.0, bad]), requires_grad=True)
    with pytest.raises(FloatingPointError, match="not finite"):
        x.sum().backward()
    assert x.grad is None


def test_gradcheck_catches_a_wrong_vjp():
    from eventsnn.autodiff.tensor import record

    def bad_square(t):
        return record("bad", t.data ** 2, (t,), lambda g: (g * t.data,))  # missing factor 2

    with pytest.raises(AssertionError, match="finite difference"):
        ad.gradcheck(bad_square, [np.array([1.0, 2.0])])


@pytest.mark.parametrize("data", [None, "0.9", np.array([1 + 2j]), [object()]])
def test_tensor_refuses_what_is_not_real_numbers(data):
    with pytest.raises(ValueError, match="Tensor data must be real numbers"):
        Tensor(data)


@pytest.mark.parametrize("op", [ad.neg, ad.exp, ad.log, ad.tanh, ad.sigmoid, ad.relu, ad.sum, ad.mean, ad.transpose,
                                lambda a: ad.reshape(a, (6,)), lambda a: ad.getitem(a, 1), ad.spike, ad.layer_norm])
def test_unary_ops_take_array_likes_as_constants(op):
    x = np.arange(1.0, 7.0).reshape(2, 3)
    np.testing.assert_array_equal(op(x.tolist()).data, op(Tensor(x)).data)
    assert not op(x).requires_grad


def test_array_weights_are_constants_that_backward_skips():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    w = np.arange(6.0).reshape(3, 2)
    for op in (ad.linear, ad.event_linear):
        x.grad = None
        op(x, w.tolist(), [1.0, 2.0]).sum().backward()
        np.testing.assert_allclose(x.grad, np.tile(w.sum(axis=1), (2, 1)))
    np.testing.assert_array_equal(ad.embedding(w, [2]).data, [[4.0, 5.0]])
    assert ad.cross_entropy(np.zeros((2, 4)), [0, 3]).item() == pytest.approx(np.log(4))
    assert ad.mse([1.0, 1.0], np.zeros(2)).item() == 1.0


@pytest.mark.parametrize("call, match", [
    (lambda a: ad.sum(a, axis=5), r"sum: axis 5 .*\(2, 3\)"),
    (lambda a: ad.mean(a, axis=(0, 2)), r"mean: axis \(0, 2\)"),
    (lambda a: a.sum(axis=1.5), "sum: axis 1.5"), (lambda a: ad.stack([a, a], axis=9), r"stack: axis 9 .*\(2, 3\)"),
])
def test_bad_axis_names_the_op_and_axis(call, match):
    with pytest.raises(ValueError, match=match):
        call(Tensor(np.ones((2, 3))))


def test_out_of_range_index_names_the_index_and_shape():
    a = Tensor(np.ones((2, 3)))
    with pytest.raises(IndexError, match=r"getitem: index 5 does not fit shape \(2, 3\)"):
        a[5]
    assert len(list(a)) == 2  # an IndexError still ends iteration


def test_gradcheck_refuses_a_function_that_returns_no_tensor():
    with pytest.raises(ValueError, match="fn must return a Tensor, got 3.0"):
        ad.gradcheck(lambda x: 3.0, [np.ones(2)])
