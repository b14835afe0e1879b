"""Numba kernels of the learn step (``backends.state``, step 5) and the synapse samples.

Each loops where its twin in ``backends.numpy_backend`` gathers index arrays,
visits the synapses in the same order and calls the same scalar equations
(:mod:`eventsnn.plasticity`), so both backends give the same bits.
"""
from numba import njit
from numba.extending import register_jitable

from ..plasticity import (NEAREST, RATE_MINUS, RATE_N, RATE_PLUS, RSTDP_, bump, catch_up, dopamine_at, on_arrival,
                          on_post_spike, trace_at)


@njit(cache=True)
def remember_presynaptic(pl, l, spikes, lo_s, hi_s, t):
    """Store which presynaptic neurons fired at step t in slot t % depth of the projection's history."""
    lo, hi = pl.pre_range[l, 0], pl.pre_range[l, 1]
    depth = pl.depth[l]
    base = pl.hist_off[l] + (t % depth) * (hi - lo)
    count = 0
    for s in range(lo_s, hi_s):
        i = spikes[s]
        if lo <= i < hi:
            pl.hist[base + count] = i - lo
            count += 1
    pl.hist_n[pl.slot_off[l] + t % depth] = count


@njit(cache=True)
def catch_up_all(syn, pl, l, t):
    """Bring every synapse of plastic projection l to step t (R-STDP weights are integrated lazily)."""
    k = pl.rule[l]
    w0, s0 = syn.syn[pl.proj[l]], pl.syn_off[l]
    for q in range(pl.syn_off[l + 1] - s0):
        s = s0 + q
        syn.weight[w0 + q], pl.elig[s] = catch_up(syn.weight[w0 + q], pl.elig[s], pl.t_elig[s],
                                                  pl.dopamine[l], pl.t_dopamine[l], t, k)
        pl.t_elig[s] = t


@njit(cache=True)
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


@njit(cache=True)
def arrive(state, syn, pl, l, t):
    """Synapses whose presynaptic spike arrives at step t transmit, then learn; returns how many."""
    k, proj = pl.rule[l], pl.proj[l]
    g = syn.target[proj]
    target = state[syn.target_pop[g]][syn.target_row[g]]
    w0, s0, p0, post_lo = syn.syn[proj], pl.syn_off[l], pl.post_off[l], syn.post_lo[proj]
    depth, n_pre, a0 = pl.depth[l], pl.pre_range[l, 1] - pl.pre_range[l, 0], pl.arrival_off[l]
    reached = 0
    for d in range(depth):
        slot = (t - d) % depth
        fired = pl.hist[pl.hist_off[l] + slot * n_pre:pl.hist_off[l] + slot * n_pre + pl.hist_n[pl.slot_off[l] + slot]]
        for i in fired:
            a, b = pl.arrival_ptr[a0 + i * depth + d], pl.arrival_ptr[a0 + i * depth + d + 1]
            reached += b - a
            for pos in range(a, b):
                q = pl.arrival[s0 + pos]
                s, j = s0 + q, syn.post[w0 + q]
                w, c = catch_up(syn.weight[w0 + q], pl.elig[s], pl.t_elig[s], pl.dopamine[l], pl.t_dopamine[l], t, k)
                target[post_lo + j] += w
                pl.x_pre[s] = bump(pl.x_pre[s], pl.t_pre[s], t, k[RATE_PLUS], k[NEAREST])
                pl.t_pre[s] = t
                x_post = trace_at(pl.x_post[p0 + j], pl.t_post[p0 + j], t, k[RATE_MINUS])
                syn.weight[w0 + q], pl.elig[s] = on_arrival(w, c, x_post, k)
                pl.t_elig[s] = t
    return reached


@njit(cache=True)
def postsynaptic(syn, pl, l, spikes, lo_s, hi_s, t):
    """Each postsynaptic neuron that fired at step t bumps its trace and potentiates its incoming synapses."""
    k, proj = pl.rule[l], pl.proj[l]
    lo, hi = pl.post_range[l, 0], pl.post_range[l, 1]
    w0, s0, p0, i0 = syn.syn[proj], pl.syn_off[l], pl.post_off[l], pl.incoming_off[l]
    for sp in range(lo_s, hi_s):
        if not lo <= spikes[sp] < hi:
            continue
        j = spikes[sp] - lo
        pl.x_post[p0 + j] = bump(pl.x_post[p0 + j], pl.t_post[p0 + j], t, k[RATE_MINUS], k[NEAREST])
        pl.t_post[p0 + j] = t
        for pos in range(pl.incoming_ptr[i0 + j], pl.incoming_ptr[i0 + j + 1]):
            q = pl.incoming[s0 + pos]
            s = s0 + q
            w, c = catch_up(syn.weight[w0 + q], pl.elig[s], pl.t_elig[s], pl.dopamine[l], pl.t_dopamine[l], t, k)
            x_pre = trace_at(pl.x_pre[s], pl.t_pre[s], t, k[RATE_PLUS])
            syn.weight[w0 + q], pl.elig[s] = on_post_spike(w, c, x_pre, k)
            pl.t_elig[s] = t


@njit(cache=True)
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
def synapse_value(syn, pl, l, q, what, t):
    """What a SynapseMonitor samples (plasticity.SYNAPSE_VARIABLES[what]) of synapse q of projection l at step t."""
    k, s = pl.rule[l], pl.syn_off[l] + q
    if what == 2:
        return trace_at(pl.x_pre[s], pl.t_pre[s], t, k[RATE_PLUS])
    if what == 3:
        p = pl.post_off[l] + syn.post[syn.syn[pl.proj[l]] + q]
        return trace_at(pl.x_post[p], pl.t_post[p], t, k[RATE_MINUS])
    if what == 4:
        return trace_at(pl.dopamine[l], pl.t_dopamine[l], t, k[RATE_N])
    w, c = catch_up(syn.weight[syn.syn[pl.proj[l]] + q], pl.elig[s], pl.t_elig[s], pl.dopamine[l],
                    pl.t_dopamine[l], t, k)
    return w if what == 0 else c


@njit(cache=True)
def record_synapses(syn, pl, rec, t):
    for m in range(rec.syn_l.size):
        if t % rec.syn_every[m] == 0:
            rec.syn_values[m, rec.syn_count[m]] = synapse_value(syn, pl, rec.syn_l[m], rec.syn_q[m], rec.syn_var[m], t)
            rec.syn_count[m] += 1

