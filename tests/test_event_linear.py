"""Event-linear kernels (active-input index, its transpose, sparse x dense) against NumPy twins."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from eventsnn.kernels.event_linear import active_index, event_matmul, sparse_matmul, transpose_index


def spikes(rng, shape, p, dtype=np.float64, graded=False):
    """Binary spikes with probability p, or graded values on the same support."""
    x = (rng.random(shape) < p).astype(dtype)
    return x * rng.uniform(0.5, 2.0, shape).astype(dtype) if graded else x


@settings(max_examples=30, deadline=None)
@given(M=st.integers(0, 7), K=st.integers(1, 11), p=st.floats(0, 1), graded=st.booleans(), seed=st.integers(0, 2**31))
def test_index_and_transpose_list_the_nonzeros(M, K, p, graded, seed):
    x = spikes(np.random.default_rng(seed), (M, K), p, graded=graded)
    for index, dense in ((active_index(x), x), (transpose_index(*active_index(x), K), x.T)):
        indptr, indices, values = index
        rows, cols = np.nonzero(dense)  # row-major order: rows increasing, columns increasing within a row
        np.testing.assert_array_equal(indptr, np.r_[0, np.cumsum(np.bincount(rows, minlength=dense.shape[0]))])
        np.testing.assert_array_equal(indices, cols)
        np.testing.assert_array_equal(values, dense[rows, cols])


def test_index_of_a_strided_view():
    x = spikes(np.random.default_rng(0), (6, 10), 0.3)
    view = x[::2, 1::3]
    indptr, indices, values = active_index(view)
    np.testing.assert_array_equal(sparse_matmul(indptr, indices, values, np.eye(view.shape[1])), view)


@settings(max_examples=30, deadline=None)
@given(M=st.integers(0, 9), K=st.integers(1, 9), N=st.integers(1, 40), p=st.floats(0, 1),
       dtype=st.sampled_from([np.float32, np.float64]), graded=st.booleans(), seed=st.integers(0, 2**31))
def test_sparse_matmul_equals_dense(M, K, N, p, dtype, graded, seed):
    """Forward x @ W and weight gradient x^T g, both through the one kernel (rows with 0-7 entries hit every unroll tail)."""
    rng = np.random.default_rng(seed)
    x = spikes(rng, (M, K), p, dtype, graded)
    w, g = rng.standard_normal((K, N)).astype(dtype), rng.standard_normal((M, N)).astype(dtype)
    index = active_index(x)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    y = sparse_matmul(*index, w)
    gw = sparse_matmul(*transpose_index(*index, K), g)
    assert y.dtype == gw.dtype == dtype
    np.testing.assert_allclose(y, x @ w, rtol=tol, atol=tol)
    np.testing.assert_allclose(gw, x.T @ g, rtol=tol, atol=tol)
    np.testing.assert_allclose(event_matmul(x, w), x @ w, rtol=tol, atol=tol)


def test_event_matmul_rejects_misaligned_shapes():
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5, 2\)"):
        event_matmul(np.zeros((3, 4)), np.zeros((5, 2)))
