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
        m, s, ad, i = mem[b], spk[b], adapt[b], current[b]
        for k in range(n):  # the update vectorises; the compaction below cannot
            r = s[k]
            a = rho[k] * ad[k] + r
            th = thr[k] + gamma[k] * a
            v = beta[k] * m[k] + i[k] - r * th
            m[k], ad[k] = v, a
            s[k] = np.float32(1.0) if v - th > 0 else np.float32(0.0)
        for k in range(n):
            active[count] = k
            count += s[k] != 0
        indptr[b + 1] = count
    return indptr, active[:count]


@njit(cache=True)
def project(spikes, indptr, active, weight, scale, out, dense):
    """out += spikes W.

    ``dense is None`` (event engine): sum only the rows of the inputs that
    spiked (the event lists). Otherwise (dense engine): one BLAS product over
    all inputs, ``weight`` float32 with the scale folded in. Numba prunes the
    branch not taken at compile time, so int8 weights never meet the product.
    """
    if dense is None:
        accumulate_rows_batch(indptr, active, weight, scale, out)
    else:
        out += spikes @ weight


@njit(cache=True)
def token_step(dense, tokens, steps_per_token, tables, memory_bias, memory_w, memory_s, block_w, block_s,
               gate_w, gate_s, readout_w, readout_s, readout_mw, readout_ms, norm, eps, head_w, head_b,
               block_pop, memory_pop, block_state, memory_state, spike_count):
    """One token for B streams of the spiking LM (``eventsnn.lm.engine``); returns logits [B, vocab].

    ``dense`` is None for the event engine and True for the dense one (see :func:`project`).
    Blocks l >= 1 are stacked: block_w [L-1, H, H], gate_w [L-1, M, H];
    neuron constants block_pop [4, L, H] and memory_pop [4, M] hold beta,
    threshold, rho, gamma; states block_state [L, 3, B, H] and
    memory_state [3, B, M] hold membrane, last spikes, adaptation.
    spike_count [L + 1] (blocks, then memory) accumulates spikes. A token
    outside [0, vocab) leaves everything untouched and returns an empty array.
    """
    n_layers, batch = tables.shape[0], tokens.size
    for b in range(batch):
        if tokens[b] < 0 or tokens[b] >= tables.shape[1]:
            return np.empty((0, 0), np.float32)
    z = np.zeros((batch, readout_w.shape[1]), np.float32)
    for _ in range(steps_per_token):
        current = np.empty((batch, tables.shape[2]), np.float32)
        for b in range(batch):
            current[b] = tables[0, tokens[b]]
        s = block_state[0]
        ptr, act = neuron_step(current, s[0], s[1], s[2], block_pop[0, 0], block_pop[1, 0], block_pop[2, 0], block_pop[3, 0])
        spike_count[0] += act.size
        m_current = np.empty((batch, memory_bias.size), np.float32)
        for b in range(batch):
            m_current[b] = memory_bias
        project(s[1], ptr, act, memory_w, memory_s, m_current, dense)
        m = memory_state
        m_ptr, m_act = neuron_step(m_current, m[0], m[1], m[2], memory_pop[0], memory_pop[1], memory_pop[2], memory_pop[3])
        spike_count[n_layers] += m_act.size
        for l in range(1, n_layers):
            for b in range(batch):
                current[b] = tables[l, tokens[b]]
            project(s[1], ptr, act, block_w[l - 1], block_s[l - 1], current, dense)
            project(m[1], m_ptr, m_act, gate_w[l - 1], gate_s[l - 1], current, dense)
            s = block_state[l]
            ptr, act = neuron_step(current, s[0], s[1], s[2], block_pop[0, l], block_pop[1, l], block_pop[2, l],
                                   block_pop[3, l])
            spike_count[l] += act.size
        project(s[1], ptr, act, readout_w, readout_s, z, dense)
        project(m[1], m_ptr, m_act, readout_mw, readout_ms, z, dense)
    logits = np.empty((batch, head_b.size), np.float32)
    for b in range(batch):  # LayerNorm, then the dense head
        mu = np.float32(z[b].mean())
        centred = z[b] - mu
        inv = np.float32(1.0 / np.sqrt((centred * centred).mean() + eps))
        logits[b] = np.dot(centred * inv * norm[0] + norm[1], head_w) + head_b
    return logits
