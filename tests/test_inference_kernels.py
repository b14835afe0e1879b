"""Event-driven accumulation equals its dense twin."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from eventsnn.kernels.inference import accumulate_rows, active_indices


@given(st.integers(1, 40), st.integers(1, 33), st.floats(0.0, 1.0), st.booleans(), st.integers(0, 2**31))
def test_event_accumulation_equals_the_dense_product(n_in, n_out, activity, quantised, seed):
    rng = np.random.default_rng(seed)
    x = (rng.random(n_in) < activity).astype(np.float32)
    if quantised:
        weight = rng.integers(-127, 128, (n_in, n_out), dtype=np.int8)
        scale = rng.random(n_in, dtype=np.float32)
    else:
        weight = rng.standard_normal((n_in, n_out), dtype=np.float32)
        scale = np.ones(n_in, np.float32)
    bias = rng.standard_normal(n_out, dtype=np.float32)
    out = np.empty(n_out, np.float32)
    accumulate_rows(active_indices(x), weight, scale, bias, out)
    dense = bias + x @ (scale[:, None] * weight.astype(np.float32))
    np.testing.assert_allclose(out, dense, rtol=1e-5, atol=1e-4 * max(1, int(x.sum())))


@given(st.lists(st.sampled_from([0.0, 1.0]), max_size=200))
def test_active_indices_lists_the_spikes(values):
    x = np.array(values, np.float32)
    np.testing.assert_array_equal(active_indices(x), np.flatnonzero(x))
