"""CUDA twin of :func:`eventsnn.kernels.inference.token_steps`: the spiking LM for B streams at once.

Streams are independent, so one thread block owns one stream for the whole
call (all T tokens, all sub-steps): its threads split every vector of the
stream and meet at a barrier after each phase; no grid-wide
synchronisation is needed, and a call is one kernel launch however many
tokens it feeds. After each neuron step the block lists the neurons that
spiked, in increasing order (:mod:`.scan`), and the projections read only
those weight rows: a silent input costs nothing, as on the CPU.

Every output entry is computed by one thread in the CPU kernel's order: a
projection sums the listed rows eight per group with the grouping of
``accumulate_rows``; the layer norm's moments are summed in float64 in
order by one thread. So the logits equal the CPU engine's up to the head's
dot products (the CPU calls BLAS) and the device's fused multiply-adds:
1e-5 relative, and the same spikes unless a membrane lies within float32
rounding of its threshold. Spike counts are integer atomics (exact).
"""
from __future__ import annotations

import math

from numba import cuda, float32, int32, int64

from .scan import chunk, chunk_start

MAX_THREADS = 1024  # threads per block (CUDA's limit): the size of the shared scan array
MAX_POPULATIONS = 32  # per-block spike counters: n_layers + 1 (the memory) of them at most


@cuda.jit(device=True)
def _neuron_step(current, state, constants, b, tid, nt):
    """One (A)LIF step of stream b, ``inference.neuron_step``'s arithmetic; neuron k is thread k mod nt's."""
    for k in range(tid, current.shape[1], nt):
        r = state[1, b, k]
        a = constants[2, k] * state[2, b, k] + r
        th = constants[1, k] + constants[3, k] * a
        v = constants[0, k] * state[0, b, k] + current[b, k] - r * th
        state[0, b, k], state[2, b, k] = v, a
        state[1, b, k] = float32(1.0) if v - th > 0 else float32(0.0)
    cuda.syncthreads()


@cuda.jit(device=True)
def _list_events(spikes, events, b, partial, tid, nt):
    """events[b, :n] = the neurons k with spikes[b, k] != 0, increasing; returns n (to every thread)."""
    lo, hi = chunk(spikes.shape[1], tid, nt)
    own = 0
    for k in range(lo, hi):
        if spikes[b, k] != 0:
            own += 1
    at, total = chunk_start(partial, own, tid, nt)
    for k in range(lo, hi):
        if spikes[b, k] != 0:
            events[b, at] = k
            at += 1
    cuda.syncthreads()
    return total


@cuda.jit(device=True)
def _project(events, n_events, weight, scale, out, b, tid, nt):
    """out[b] += sum of scale[i] weight[i, :] over the listed inputs i, eight per group as ``accumulate_rows``."""
    for j in range(tid, out.shape[1], nt):
        acc = out[b, j]
        k = 0
        while k + 8 <= n_events:
            i0, i1, i2, i3 = events[b, k], events[b, k + 1], events[b, k + 2], events[b, k + 3]
            i4, i5, i6, i7 = events[b, k + 4], events[b, k + 5], events[b, k + 6], events[b, k + 7]
            acc = float32(acc + (((scale[i0] * weight[i0, j] + scale[i1] * weight[i1, j])
                                  + (scale[i2] * weight[i2, j] + scale[i3] * weight[i3, j]))
                                 + ((scale[i4] * weight[i4, j] + scale[i5] * weight[i5, j])
                                    + (scale[i6] * weight[i6, j] + scale[i7] * weight[i7, j]))))
            k += 8
        while k < n_events:
            i = events[b, k]
            acc = float32(acc + scale[i] * weight[i, j])
            k += 1
        out[b, j] = acc


@cuda.jit
def token_steps(tokens, steps_per_token, tables, memory_bias, memory_w, memory_s, block_w, block_s, gate_w, gate_s,
                readout_w, readout_s, readout_mw, readout_ms, norm, eps, head_w, head_b, block_pop, memory_pop,
                block_state, memory_state, spike_count, current, m_current, z, block_events, memory_events, logits):
    """Feed tokens [T, B] to B streams (block b: stream b); logits [T, B, vocab] after each row.

    Arguments as the CPU ``token_steps`` (without ``dense``), plus device
    scratch: current [B, hidden], m_current [B, memory], z [B, readout] and
    the event lists block_events [B, hidden], memory_events [B, memory]
    (int32). Tokens must lie in [0, vocab) (the host checks), blockDim.x
    <= MAX_THREADS. spike_count [L + 1] accumulates spikes (blocks, then memory).
    """
    b, tid, nt = cuda.blockIdx.x, cuda.threadIdx.x, cuda.blockDim.x
    n_layers = tables.shape[0]
    partial = cuda.shared.array(MAX_THREADS, int32)
    stats = cuda.shared.array(2, float32)  # the layer norm's centre and 1 / sd for this stream
    spikes = cuda.local.array(MAX_POPULATIONS, int64)  # thread 0's tally for this stream
    for p in range(n_layers + 1):
        spikes[p] = 0
    for t in range(tokens.shape[0]):
        token = tokens[t, b]
        for j in range(tid, z.shape[1], nt):
            z[b, j] = 0.0
        for _ in range(steps_per_token):
            for k in range(tid, current.shape[1], nt):
                current[b, k] = tables[0, token, k]
            for k in range(tid, m_current.shape[1], nt):
                m_current[b, k] = memory_bias[k]
            cuda.syncthreads()
            _neuron_step(current, block_state[0], block_pop[0], b, tid, nt)
            n_block = _list_events(block_state[0, 1], block_events, b, partial, tid, nt)
            spikes[0] += n_block
            _project(block_events, n_block, memory_w, memory_s, m_current, b, tid, nt)
            cuda.syncthreads()
            _neuron_step(m_current, memory_state, memory_pop, b, tid, nt)
            n_memory = _list_events(memory_state[1], memory_events, b, partial, tid, nt)
            spikes[n_layers] += n_memory
            for l in range(1, n_layers):
                for k in range(tid, current.shape[1], nt):
                    current[b, k] = tables[l, token, k]
                _project(block_events, n_block, block_w[l - 1], block_s[l - 1], current, b, tid, nt)
                _project(memory_events, n_memory, gate_w[l - 1], gate_s[l - 1], current, b, tid, nt)
                cuda.syncthreads()
                _neuron_step(current, block_state[l], block_pop[l], b, tid, nt)
                n_block = _list_events(block_state[l, 1], block_events, b, partial, tid, nt)
                spikes[l] += n_block
            _project(block_events, n_block, readout_w, readout_s, z, b, tid, nt)
            _project(memory_events, n_memory, readout_mw, readout_ms, z, b, tid, nt)
            cuda.syncthreads()
        if tid == 0:  # moments in float64, in order, as ``layer_norm_head``
            n = z.shape[1]
            mu = 0.0
            for k in range(n):
                mu += z[b, k]
            mu /= n
            var = 0.0
            for k in range(n):
                var += (z[b, k] - mu) ** 2
            stats[0], stats[1] = float32(mu), float32(1.0 / math.sqrt(var / n + eps))
        cuda.syncthreads()
        for k in range(tid, z.shape[1], nt):
            z[b, k] = (z[b, k] - stats[0]) * stats[1] * norm[0, k] + norm[1, k]
        cuda.syncthreads()
        for v in range(tid, head_b.size, nt):
            acc = float32(0.0)
            for k in range(z.shape[1]):
                acc += z[b, k] * head_w[k, v]
            logits[t, b, v] = acc + head_b[v]
        cuda.syncthreads()  # z is cleared for the next token only once every thread has read it
    if tid == 0:
        for p in range(n_layers + 1):
            if spikes[p]:
                cuda.atomic.add(spike_count, p, spikes[p])
