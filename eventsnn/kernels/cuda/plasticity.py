"""The learn step (``backends.state``, step 5) and the synapse samples on a CUDA device (``backend="cuda"``).

Twins of ``kernels.plasticity``: the same scalar equations (:mod:`eventsnn.plasticity`, compiled for the
device), with a step's work split among threads by event, in the CPU's order:

1. :func:`begin_learning` (a thread per plastic projection): empties this step's slot of the projection's
   presynaptic history and its count of dopamine spikes;
2. :func:`remember_spikes` (a thread per spike of the step's list): a presynaptic spike joins the history
   slot (in no particular order; the host sorts each slot's entries after a run, so the live history is
   the CPU's), a dopamine spike adds 1 to the count (an integer atomic);
3. R-STDP, at a step with dopamine (the spikes delivered from Python plus the count, added once as on the
   CPU): :func:`catch_up_synapses` (a thread per synapse) brings every synapse of the projection to step t,
   then :func:`release_dopamine` (a thread per projection) raises n;
4. :func:`arrive` (a group of LANES threads per arriving presynaptic neuron and delay): the group's first
   lane bumps the group's presynaptic trace; the lanes share its synapses, each transmitting (a float64
   atomic add into the target variable) then depressed with the postsynaptic trace;
5. :func:`postsynaptic` (a group per spike of the step's list): for each projection onto the neuron, the
   first lane bumps its trace and the lanes potentiate its incoming synapses with the presynaptic traces.

Within a kernel no two threads write one synapse, trace or dopamine value: a synapse arrives through one
(presynaptic neuron, delay) group, visited once a step, and a neuron spikes at most once a step. So every
synapse's arithmetic is the CPU's, in the CPU's order (on a device, up to the multiply-adds NVVM fuses);
only the sums into the target variables are reordered (the simulator's determinism contract, docs/cuda.md).
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from ...plasticity import NEAREST, POST, PRE, RATE_MINUS, RATE_PLUS, RSTDP_, bump, catch_up, dopamine_at, \
    on_arrival, on_post_spike, trace_at
from ..plasticity import synapse_value
from .launch import LANES, running


@cuda.jit(device=True)
def released(pl, count, l):
    """Projection l's dopamine spikes of the step: those delivered from Python and its source's (the CPU's
    sum)."""
    return pl.pending[l] + count[l]


@cuda.jit
def begin_learning(pl, count, t0, clock):
    """Slot t % depth of each projection's history emptied, and its count of the step's dopamine spikes."""
    s = running(clock)
    if s < 0:
        return
    t = t0 + s
    for l in range(cuda.grid(1), pl.proj.size, cuda.gridsize(1)):
        pl.hist_n[pl.slot_off[l] + t % pl.depth[l]] = 0
        count[l] = 0


@cuda.jit
def remember_spikes(pl, count, spikes, step_spikes, t0, clock):
    """Each spike of the step: into the history slot of the projections it leaves, into the dopamine count of
    those it releases dopamine onto."""
    s = running(clock)
    if s < 0:
        return
    t = t0 + s
    for x in range(cuda.grid(1), step_spikes[s], cuda.gridsize(1)):
        i = spikes[x]
        for l in range(pl.proj.size):
            lo, hi = pl.pre_range[l, 0], pl.pre_range[l, 1]
            if lo <= i < hi:
                slot = t % pl.depth[l]
                c = cuda.atomic.add(pl.hist_n, pl.slot_off[l] + slot, 1)
                pl.hist[pl.group_off[l] + slot * (hi - lo) + c] = i - lo
            if pl.dopamine_range[l, 0] <= i < pl.dopamine_range[l, 1]:
                cuda.atomic.add(count, l, 1)


@cuda.jit
def catch_up_synapses(tables, pl, count, t0, clock):
    """Every synapse of an R-STDP projection with dopamine this step brought to step t."""
    s = running(clock)
    if s < 0:
        return
    t = t0 + s
    for l in range(pl.proj.size):
        if released(pl, count, l) == 0.0:  # (an STDP projection has no eligibility block: nothing to do anyway)
            continue
        w0, e0 = tables.syn[pl.proj[l]], pl.elig_off[l]
        for q in range(cuda.grid(1), pl.elig_off[l + 1] - e0, cuda.gridsize(1)):
            tables.weight[w0 + q], pl.elig[e0 + q] = catch_up(tables.weight[w0 + q], pl.elig[e0 + q],
                                                              pl.t_elig[e0 + q], pl.dopamine[l], pl.t_dopamine[l],
                                                              t, pl.rule[l], pl.decay[l])
            pl.t_elig[e0 + q] = t


@cuda.jit
def release_dopamine(pl, count, t0, clock):
    """Each R-STDP projection's dopamine n raised by this step's dopamine spikes (after the catch-up)."""
    s = running(clock)
    if s < 0:
        return
    t = t0 + s
    for l in range(cuda.grid(1), pl.proj.size, cuda.gridsize(1)):
        amount = released(pl, count, l)
        if pl.rule[l, RSTDP_] != 0.0 and amount != 0.0:
            pl.dopamine[l] = dopamine_at(pl.dopamine[l], pl.t_dopamine[l], t, amount, pl.rule[l])
            pl.t_dopamine[l] = t
            pl.pending[l] = 0.0


@cuda.jit
def arrive(tables, state, pl, t0, rec):
    """The synapses whose presynaptic spike (emitted d steps ago) arrives at step t: each adds its weight to the
    target variable, then is depressed; their groups' presynaptic traces are bumped. Counts them in
    ``rec.syn_events``."""
    s = running(rec.clock)
    if s < 0:
        return
    t = t0 + s
    lane, group, groups = cuda.grid(1) % LANES, cuda.grid(1) // LANES, cuda.gridsize(1) // LANES
    for l in range(pl.proj.size):
        k, proj, decay = pl.rule[l], pl.proj[l], pl.decay[l]
        rstdp = k[RSTDP_] != 0.0
        at = tables.target_at[tables.target[proj]] + tables.post_lo[proj]
        w0, s0, e0, p0, g0 = tables.syn[proj], pl.syn_off[l], pl.elig_off[l], pl.post_off[l], pl.group_off[l]
        depth, n_pre = pl.depth[l], pl.pre_range[l, 1] - pl.pre_range[l, 0]
        for d in range(depth):
            slot = (t - d) % depth
            for x in range(group, pl.hist_n[pl.slot_off[l] + slot], groups):
                g = pl.hist[g0 + slot * n_pre + x] * depth + d
                a, b = pl.arrival_ptr[g0 + l + g], pl.arrival_ptr[g0 + l + g + 1]
                if lane == 0:
                    pl.x_pre[g0 + g] = bump(pl.x_pre[g0 + g], pl.t_pre[g0 + g], t, k[RATE_PLUS], k[NEAREST], decay,
                                            PRE)
                    pl.t_pre[g0 + g] = t
                    cuda.atomic.add(rec.syn_events, 0, b - a)
                for pos in range(a + lane, b, LANES):
                    q = pl.arrival[s0 + pos]
                    j = tables.post[w0 + q]
                    w, c = np.float64(tables.weight[w0 + q]), 0.0
                    if rstdp:
                        w, c = catch_up(w, pl.elig[e0 + q], pl.t_elig[e0 + q], pl.dopamine[l], pl.t_dopamine[l], t,
                                        k, decay)
                    cuda.atomic.add(state, at + j, w)
                    x_post = trace_at(pl.x_post[p0 + j], pl.t_post[p0 + j], t, k[RATE_MINUS], decay, POST)
                    tables.weight[w0 + q], c = on_arrival(w, c, x_post, k)
                    if rstdp:
                        pl.elig[e0 + q], pl.t_elig[e0 + q] = c, t


@cuda.jit
def postsynaptic(tables, pl, spikes, step_spikes, t0, clock):
    """Each postsynaptic neuron that fired at step t bumps its trace and potentiates its incoming synapses."""
    s = running(clock)
    if s < 0:
        return
    t = t0 + s
    lane, group, groups = cuda.grid(1) % LANES, cuda.grid(1) // LANES, cuda.gridsize(1) // LANES
    for x in range(group, step_spikes[s], groups):
        i = spikes[x]
        for l in range(pl.proj.size):
            if i < pl.post_range[l, 0] or i >= pl.post_range[l, 1]:
                continue
            k, decay = pl.rule[l], pl.decay[l]
            rstdp = k[RSTDP_] != 0.0
            j = i - pl.post_range[l, 0]
            w0, s0, e0, p0, g0 = tables.syn[pl.proj[l]], pl.syn_off[l], pl.elig_off[l], pl.post_off[l], pl.group_off[l]
            if lane == 0:
                pl.x_post[p0 + j] = bump(pl.x_post[p0 + j], pl.t_post[p0 + j], t, k[RATE_MINUS], k[NEAREST], decay,
                                         POST)
                pl.t_post[p0 + j] = t
            for pos in range(pl.incoming_ptr[p0 + l + j] + lane, pl.incoming_ptr[p0 + l + j + 1], LANES):
                q, g = pl.incoming[s0 + pos], g0 + pl.incoming_group[s0 + pos]
                w, c = np.float64(tables.weight[w0 + q]), 0.0
                if rstdp:
                    w, c = catch_up(w, pl.elig[e0 + q], pl.t_elig[e0 + q], pl.dopamine[l], pl.t_dopamine[l], t, k,
                                    decay)
                x_pre = trace_at(pl.x_pre[g], pl.t_pre[g], t, k[RATE_PLUS], decay, PRE)
                tables.weight[w0 + q], c = on_post_spike(w, c, x_pre, k)
                if rstdp:
                    pl.elig[e0 + q], pl.t_elig[e0 + q] = c, t


@cuda.jit
def record_synapses(tables, pl, samples, t0, clock):
    """Each synapse sample due at step t (t % every == 0) appends its value (a thread each)."""
    s = running(clock)
    if s < 0:
        return
    t = t0 + s
    for m in range(cuda.grid(1), samples.syn_l.size, cuda.gridsize(1)):
        if t % samples.syn_every[m] == 0:
            samples.syn_values[m, samples.syn_count[m]] = synapse_value(tables, pl, samples.syn_l[m], samples.syn_q[m],
                                                                        samples.syn_var[m], t)
            samples.syn_count[m] += 1
