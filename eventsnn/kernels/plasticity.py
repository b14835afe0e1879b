"""Numba kernels of the learn step (``backends.state``, step 5) and the synapse samples.

Each loops where its twin in ``backends.numpy_backend`` gathers index arrays,
visits the synapses in the same order and calls the same scalar equations
(:mod:`eventsnn.plasticity`), so both backends give the same bits.
"""
import numpy as np
from numba import njit
from numba.extending import register_jitable

from . import borrowing, prefetch
from ..plasticity import (DOPAMINE, NEAREST, POST, PRE, RATE_MINUS, RATE_N, RATE_PLUS, RSTDP_, bump, catch_up,
                          dopamine_at, on_arrival, on_post_spike, trace_at)

AHEAD = 4  # synapses between a prefetch and the visit (R-STDP potentiation; 2-6 measured alike)


@borrowing
def remember_presynaptic(pl, l, spikes, lo_s, hi_s, t):
    """Store which presynaptic neurons fired at step t in slot t % depth of the projection's history."""
    lo, hi = pl.pre_range[l, 0], pl.pre_range[l, 1]
    slot = t % pl.depth[l]
    base = pl.group_off[l] + slot * (hi - lo)
    count = 0
    for s in range(lo_s, hi_s):
        i = spikes[s]
        if lo <= i < hi:
            pl.hist[base + count] = i - lo
            count += 1
    pl.hist_n[pl.slot_off[l] + slot] = count


@borrowing
def catch_up_all(syn, pl, l, t):
    """Bring every synapse of R-STDP projection l to step t (its weights are integrated lazily)."""
    k, decay = pl.rule[l], pl.decay[l]
    w0, e0 = syn.syn[pl.proj[l]], pl.elig_off[l]
    for q in range(pl.elig_off[l + 1] - e0):
        e = e0 + q
        syn.weight[w0 + q], pl.elig[e] = catch_up(syn.weight[w0 + q], pl.elig[e], pl.t_elig[e], pl.dopamine[l],
                                                  pl.t_dopamine[l], t, k, decay)
        pl.t_elig[e] = t


@njit(cache=True)
def weights_at(syn, pl, l, t):
    """The weights of R-STDP projection l integrated to step t, in a new array (nothing is stored)."""
    k, decay = pl.rule[l], pl.decay[l]
    w0, e0 = syn.syn[pl.proj[l]], pl.elig_off[l]
    out = np.empty(pl.elig_off[l + 1] - e0)
    for q in range(out.size):
        out[q] = catch_up(syn.weight[w0 + q], pl.elig[e0 + q], pl.t_elig[e0 + q], pl.dopamine[l],
                          pl.t_dopamine[l], t, k, decay)[0]
    return out


@borrowing
def release_dopamine(syn, pl, l, spikes, lo_s, hi_s, t):
    """Dopamine spikes of step t (the source's and those delivered from Python) raise n."""
    lo, hi = pl.dopamine_range[l, 0], pl.dopamine_range[l, 1]
    count = 0
    for s in range(lo_s, hi_s):
        if lo <= spikes[s] < hi:
            count += 1
    amount = pl.pending[l] + count
    if amount == 0.0:
        return
    catch_up_all(syn, pl, l, t)
    pl.dopamine[l] = dopamine_at(pl.dopamine[l], pl.t_dopamine[l], t, amount, pl.rule[l])
    pl.t_dopamine[l] = t
    pl.pending[l] = 0.0


@borrowing
def arrive(state, syn, pl, l, t):
    """Synapses whose presynaptic spike arrives at step t transmit, then learn; returns how many."""
    k, proj, decay = pl.rule[l], pl.proj[l], pl.decay[l]
    rstdp = k[RSTDP_] != 0.0
    g = syn.target[proj]
    target = state[syn.target_pop[g]][syn.target_row[g]]
    w0, s0, e0, p0, post_lo = syn.syn[proj], pl.syn_off[l], pl.elig_off[l], pl.post_off[l], syn.post_lo[proj]
    depth, n_pre, g0 = pl.depth[l], pl.pre_range[l, 1] - pl.pre_range[l, 0], pl.group_off[l]
    reached = 0
    for d in range(depth):  # spikes emitted d steps ago reach their synapses of delay d
        slot = (t - d) % depth
        start = g0 + slot * n_pre
        for i in pl.hist[start:start + pl.hist_n[pl.slot_off[l] + slot]]:
            group = i * depth + d
            pl.x_pre[g0 + group] = bump(pl.x_pre[g0 + group], pl.t_pre[g0 + group], t, k[RATE_PLUS], k[NEAREST], decay,
                                        PRE)
            pl.t_pre[g0 + group] = t
            a, b = pl.arrival_ptr[g0 + l + group], pl.arrival_ptr[g0 + l + group + 1]
            reached += b - a
            for pos in range(a, b):
                q = pl.arrival[s0 + pos]
                j = syn.post[w0 + q]
                w, c = syn.weight[w0 + q], 0.0
                if rstdp:
                    w, c = catch_up(w, pl.elig[e0 + q], pl.t_elig[e0 + q], pl.dopamine[l], pl.t_dopamine[l], t, k,
                                    decay)
                target[post_lo + j] += w
                x_post = trace_at(pl.x_post[p0 + j], pl.t_post[p0 + j], t, k[RATE_MINUS], decay, POST)
                syn.weight[w0 + q], c = on_arrival(w, c, x_post, k)
                if rstdp:
                    pl.elig[e0 + q], pl.t_elig[e0 + q] = c, t
    return reached


@borrowing
def postsynaptic(syn, pl, l, spikes, lo_s, hi_s, t):
    """Each postsynaptic neuron that fired at step t bumps its trace and potentiates its incoming synapses."""
    k, proj, decay = pl.rule[l], pl.proj[l], pl.decay[l]
    rstdp = k[RSTDP_] != 0.0
    lo, hi = pl.post_range[l, 0], pl.post_range[l, 1]
    w0, s0, e0, p0, g0 = syn.syn[proj], pl.syn_off[l], pl.elig_off[l], pl.post_off[l], pl.group_off[l]
    for sp in range(lo_s, hi_s):
        if not lo <= spikes[sp] < hi:
            continue
        j = spikes[sp] - lo
        pl.x_post[p0 + j] = bump(pl.x_post[p0 + j], pl.t_post[p0 + j], t, k[RATE_MINUS], k[NEAREST], decay, POST)
        pl.t_post[p0 + j] = t
        end = pl.incoming_ptr[p0 + l + j + 1]
        for pos in range(pl.incoming_ptr[p0 + l + j], end):
            if rstdp and pos + AHEAD < end:  # R-STDP visits three arrays at random places: start early
                ahead = pl.incoming[s0 + pos + AHEAD]
                prefetch(syn.weight, w0 + ahead)
                prefetch(pl.elig, e0 + ahead)
                prefetch(pl.t_elig, e0 + ahead)
            q, group = pl.incoming[s0 + pos], g0 + pl.incoming_group[s0 + pos]
            w, c = syn.weight[w0 + q], 0.0
            if rstdp:
                w, c = catch_up(w, pl.elig[e0 + q], pl.t_elig[e0 + q], pl.dopamine[l], pl.t_dopamine[l], t, k, decay)
            x_pre = trace_at(pl.x_pre[group], pl.t_pre[group], t, k[RATE_PLUS], decay, PRE)
            syn.weight[w0 + q], c = on_post_spike(w, c, x_pre, k)
            if rstdp:
                pl.elig[e0 + q], pl.t_elig[e0 + q] = c, t


@borrowing
def learn(state, syn, pl, spikes, first, t):
    """Step 5 for every plastic projection; returns the synapses reached by arriving spikes.

    Population p's spikes of step t are ``spikes[first[p]:first[p + 1]]``.
    """
    reached = 0
    for l in range(pl.proj.size):
        pre, post, dop = pl.pop[l, 0], pl.pop[l, 1], pl.pop[l, 2]
        remember_presynaptic(pl, l, spikes, first[pre], first[pre + 1], t)
        if pl.rule[l, RSTDP_] != 0.0:
            if dop >= 0:
                release_dopamine(syn, pl, l, spikes, first[dop], first[dop + 1], t)
            else:
                release_dopamine(syn, pl, l, spikes, 0, 0, t)
        reached += arrive(state, syn, pl, l, t)
        postsynaptic(syn, pl, l, spikes, first[post], first[post + 1], t)
    return reached


@register_jitable
def row_of(indptr, a, b, q):
    """The row of entry q of the CSR block whose row pointers are indptr[a:b]: the last r with indptr[a + r] <= q
    (a bisection written out, so that the device compiles it too)."""
    lo, hi = a, b
    while lo < hi:
        mid = (lo + hi) // 2
        if indptr[mid] <= q:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1 - a


@register_jitable
def synapse_value(syn, pl, l, q, what, t):
    """What a SynapseMonitor samples (plasticity.SYNAPSE_VARIABLES[what]) of synapse q of projection l at step t."""
    k, proj = pl.rule[l], pl.proj[l]
    w0 = syn.syn[proj]
    if what == 2:  # the trace of its group: its presynaptic neuron (row of the CSR block) and delay
        group = pl.group_off[l] + row_of(syn.indptr, syn.ptr[proj], syn.ptr[proj + 1], q) * pl.depth[l] + \
            syn.delay[w0 + q]
        return trace_at(pl.x_pre[group], pl.t_pre[group], t, k[RATE_PLUS], pl.decay[l], PRE)
    if what == 3:
        p = pl.post_off[l] + syn.post[w0 + q]
        return trace_at(pl.x_post[p], pl.t_post[p], t, k[RATE_MINUS], pl.decay[l], POST)
    if what == 4:
        return trace_at(pl.dopamine[l], pl.t_dopamine[l], t, k[RATE_N], pl.decay[l], DOPAMINE)
    if k[RSTDP_] == 0.0:
        return syn.weight[w0 + q]
    e = pl.elig_off[l] + q
    w, c = catch_up(syn.weight[w0 + q], pl.elig[e], pl.t_elig[e], pl.dopamine[l], pl.t_dopamine[l], t, k,
                    pl.decay[l])
    return w if what == 0 else c


@borrowing
def record_synapses(syn, pl, rec, t):
    for m in range(rec.syn_l.size):
        if t % rec.syn_every[m] == 0:
            rec.syn_values[m, rec.syn_count[m]] = synapse_value(syn, pl, rec.syn_l[m], rec.syn_q[m], rec.syn_var[m], t)
            rec.syn_count[m] += 1
