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
    # Rows are indexed as weight[i, j], not taken as views weight[i]: each view
    # costs atomic reference-count updates (NRT_incref/decref were 7% of a
    # token's time in a perf profile of the small LM).
    while k + 8 <= n:
        i0, i1, i2, i3 = active[k], active[k + 1], active[k + 2], active[k + 3]
        i4, i5, i6, i7 = active[k + 4], active[k + 5], active[k + 6], active[k + 7]
        s0, s1, s2, s3 = scale[i0], scale[i1], scale[i2], scale[i3]
        s4, s5, s6, s7 = scale[i4], scale[i5], scale[i6], scale[i7]
        for j in range(out.size):
            out[j] += ((s0 * weight[i0, j] + s1 * weight[i1, j]) + (s2 * weight[i2, j] + s3 * weight[i3, j])) + \
                      ((s4 * weight[i4, j] + s5 * weight[i5, j]) + (s6 * weight[i6, j] + s7 * weight[i7, j]))
        k += 8
    while k < n:
        i, s = active[k], scale[active[k]]
        for j in range(out.size):
            out[j] += s * weight[i, j]
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
def neuron_step(current, state, constants):
    """One step of the (A)LIF of ``eventsnn.kernels.bptt`` (subtract reset) for B streams, in place.

        a = rho a + s_prev,  th = thr + gamma a,  mem = beta mem + I - s_prev th,  s = H(mem - th)

    current [B, n]; state [3, B, n] holds membrane, last spikes, adaptation;
    constants [4, n] hold beta, threshold, rho, gamma. Arrays are indexed
    in place, not sliced into per-stream views (each view costs atomic
    reference-count updates). Returns the new spikes as events:
    (indptr [B+1], active indices).
    """
    n_streams, n = current.shape
    indptr = np.zeros(n_streams + 1, np.int64)
    active = np.empty(n_streams * n, np.int64)
    count = 0
    for b in range(n_streams):
        for k in range(n):
            r = state[1, b, k]
            a = constants[2, k] * state[2, b, k] + r
            th = constants[1, k] + constants[3, k] * a
            v = constants[0, k] * state[0, b, k] + current[b, k] - r * th
            state[0, b, k], state[2, b, k] = v, a
            state[1, b, k] = np.float32(1.0) if v - th > 0 else np.float32(0.0)
        for k in range(n):  # branch-free compaction: write always, advance on a spike
            active[count] = k
            count += state[1, b, k] != 0
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
def token_steps(dense, tokens, steps_per_token, tables, memory_bias, memory_w, memory_s, block_w, block_s,
                gate_w, gate_s, readout_w, readout_s, readout_mw, readout_ms, norm, eps, head_w, head_b,
                block_pop, memory_pop, block_state, memory_state, spike_count):
    """Feed tokens [T, B] to B streams of the spiking LM (``eventsnn.lm.engine``), one row per step.

    Returns the logits after each row, [T, B, vocab]. One call runs all T
    tokens, so a token costs no Python and no dispatch.
    ``dense`` is None for the event engine and True for the dense one (see :func:`project`).
    Blocks l >= 1 are stacked: block_w [L-1, H, H], gate_w [L-1, M, H];
    neuron constants block_pop [L, 4, H] and memory_pop [4, M] hold beta,
    threshold, rho, gamma; states block_state [L, 3, B, H] and
    memory_state [3, B, M] hold membrane, last spikes, adaptation.
    spike_count [L + 1] (blocks, then memory) accumulates spikes. A token
    outside [0, vocab) leaves everything untouched and returns an empty array.
    """
    n_tokens, batch = tokens.shape
    for t in range(n_tokens):
        for b in range(batch):
            if tokens[t, b] < 0 or tokens[t, b] >= tables.shape[1]:
                return np.empty((0, 0, 0), np.float32)
    logits = np.empty((n_tokens, batch, head_b.size), np.float32)
    scratch = token_scratch(batch, tables, memory_bias, readout_w)
    for t in range(n_tokens):
        token_step(dense, tokens[t], steps_per_token, tables, memory_bias, memory_w, memory_s, block_w, block_s,
                   gate_w, gate_s, readout_w, readout_s, readout_mw, readout_ms, norm, eps, head_w, head_b,
                   block_pop, memory_pop, block_state, memory_state, spike_count, scratch, logits[t])
    return logits


@njit(cache=True)
def token_scratch(batch, tables, memory_bias, readout_w):
    """The buffers :func:`token_step` works in for ``batch`` streams: input currents of a block and of the
    memory, the readout."""
    return (np.empty((batch, tables.shape[2]), np.float32), np.empty((batch, memory_bias.size), np.float32),
            np.empty((batch, readout_w.shape[1]), np.float32))


@njit(cache=True)
def token_step(dense, tokens, steps_per_token, tables, memory_bias, memory_w, memory_s, block_w, block_s,
               gate_w, gate_s, readout_w, readout_s, readout_mw, readout_ms, norm, eps, head_w, head_b,
               block_pop, memory_pop, block_state, memory_state, spike_count, scratch, logits):
    """One row of :func:`token_steps`: tokens [B] (in range), its logits into ``logits`` [B, vocab]; ``scratch``
    from :func:`token_scratch` (a caller feeding one token at a time allocates it once)."""
    current, m_current, z = scratch
    batch, n_layers = tokens.size, tables.shape[0]
    z[:] = 0.0
    for _ in range(steps_per_token):
        for b in range(batch):
            current[b] = tables[0, tokens[b]]
            m_current[b] = memory_bias
        ptr, act = neuron_step(current, block_state[0], block_pop[0])
        spike_count[0] += act.size
        project(block_state[0, 1], ptr, act, memory_w, memory_s, m_current, dense)
        m_ptr, m_act = neuron_step(m_current, memory_state, memory_pop)
        spike_count[n_layers] += m_act.size
        for l in range(1, n_layers):
            for b in range(batch):
                current[b] = tables[l, tokens[b]]
            project(block_state[l - 1, 1], ptr, act, block_w[l - 1], block_s[l - 1], current, dense)
            project(memory_state[1], m_ptr, m_act, gate_w[l - 1], gate_s[l - 1], current, dense)
            ptr, act = neuron_step(current, block_state[l], block_pop[l])
            spike_count[l] += act.size
        project(block_state[n_layers - 1, 1], ptr, act, readout_w, readout_s, z, dense)
        project(memory_state[1], m_ptr, m_act, readout_mw, readout_ms, z, dense)
    layer_norm_head(z, norm, eps, head_w, head_b, logits)


@njit(cache=True)
def layer_norm_head(z, norm, eps, head_w, head_b, logits):
    """logits[b] = LayerNorm(z[b]; gamma = norm[0], beta = norm[1]) @ head_w + head_b, into ``logits`` [B, vocab].

    Written as loops into one buffer: the array expressions allocated six
    temporaries per stream, a tenth of a token's time at batch 1.
    """
    n = z.shape[1]
    x = np.empty(n, np.float32)
    for b in range(z.shape[0]):  # moments summed in float64: n float32 terms would lose digits
        mu = 0.0
        for k in range(n):
            mu += z[b, k]
        mu /= n
        var = 0.0
        for k in range(n):
            var += (z[b, k] - mu) ** 2
        inv = np.float32(1.0 / np.sqrt(var / n + eps))
        centre = np.float32(mu)
        for k in range(n):
            x[k] = (z[b, k] - centre) * inv * norm[0, k] + norm[1, k]
        np.dot(x, head_w, logits[b])
        logits[b] += head_b
