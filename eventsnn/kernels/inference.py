"""Numba kernels for event-driven inference: a silent input costs nothing.

Weights are stored input-major, W[in, out], so the contribution of one
active input is one contiguous row. For a binary spike vector x,

    y = b + x (diag(s) W) = b + sum_{i : x_i = 1} s_i W[i, :]

with per-row scales s (all 1 for float32 weights, the dequantisation scales
for int8 weights). Only the rows of active inputs are read: the bytes
touched per step are (active inputs) x (row bytes), against (all inputs) x
(row bytes) for the dense product, whose NumPy twin is ``x @ (s[:, None] * W)``
(tests/test_inference_kernels.py).
"""
import numpy as np
from numba import njit


@njit(cache=True)
def accumulate_rows(active, weight, scale, bias, out):
    """out[:] = bias + sum over k of scale[i] * weight[i, :], i = active[k]; sums in float32.

    ``bias`` may be ``out`` itself, to add into what ``out`` holds.

    Eight rows are summed per pass over ``out``: eight independent streams
    keep the memory system busy (one row at a time is latency-bound on the
    first cache miss of each row) and ``out`` is read and written 8x less.
    """
    out[:] = bias
    n = active.size
    k = 0
    while k + 8 <= n:
        i0, i1, i2, i3 = active[k], active[k + 1], active[k + 2], active[k + 3]
        i4, i5, i6, i7 = active[k + 4], active[k + 5], active[k + 6], active[k + 7]
        r0, r1, r2, r3, r4, r5, r6, r7 = weight[i0], weight[i1], weight[i2], weight[i3], weight[i4], weight[i5], weight[i6], weight[i7]
        s0, s1, s2, s3, s4, s5, s6, s7 = scale[i0], scale[i1], scale[i2], scale[i3], scale[i4], scale[i5], scale[i6], scale[i7]
        for j in range(out.size):
            out[j] += ((s0 * r0[j] + s1 * r1[j]) + (s2 * r2[j] + s3 * r3[j])) + \
                      ((s4 * r4[j] + s5 * r5[j]) + (s6 * r6[j] + s7 * r7[j]))
        k += 8
    while k < n:
        i = active[k]
        row, s = weight[i], scale[i]
        for j in range(out.size):
            out[j] += s * row[j]
        k += 1


@njit(cache=True)
def active_indices(x):
    """Indices of the nonzero entries of a spike vector: its event list."""
    idx = np.empty(x.size, np.int64)
    n = 0
    for i in range(x.size):  # branch-free compaction: write always, advance on a spike
        idx[n] = i
        n += x[i] != 0
    return idx[:n]


@njit(cache=True)
def accumulate_rows_batch(indptr, active, weight, scale, out):
    """For every stream b: out[b] += sum of scale[i] * weight[i, :] over its events active[indptr[b]:indptr[b+1]]."""
    for b in range(out.shape[0]):
        accumulate_rows(active[indptr[b]:indptr[b + 1]], weight, scale, out[b], out[b])


@njit(cache=True)
def neuron_step(current, mem, spk, adapt, beta, thr, rho, gamma):
    """One step of the (A)LIF of ``eventsnn.kernels.bptt`` (subtract reset) for [B, n] streams, in place.

        a = rho a + s_prev,  th = thr + gamma a,  mem = beta mem + I - s_prev th,  s = H(mem - th)

    Returns the new spikes as events: (indptr [B+1], active indices).
    """
    n_streams, n = current.shape
    indptr = np.zeros(n_streams + 1, np.int64)
    active = np.empty(n_streams * n, np.int64)
    count = 0
    for b in range(n_streams):
        for k in range(n):
            r = spk[b, k]
            a = rho[k] * adapt[b, k] + r
            th = thr[k] + gamma[k] * a
            v = beta[k] * mem[b, k] + current[b, k] - r * th
            fired = v - th > 0
            mem[b, k], adapt[b, k], spk[b, k] = v, a, fired
            active[count] = k
            count += fired
        indptr[b + 1] = count
    return indptr, active[:count]
