"""Numba CPU kernels: the per-step operations of ``backends.state``, compiled.

Each kernel performs the arithmetic of its twin in
``eventsnn.backends.numpy_backend`` in the same order (so results are
bit-identical), looping instead of vectorising. ``run_network`` runs the
whole step loop in compiled code; it calls each population's generated
kernel (``kernels.codegen``) through a tuple of first-class functions, so it
is compiled once per number of populations, whatever the models.
"""
import numpy as np
from numba import njit

from .codegen import SIGNATURE
from .plasticity import learn, record_synapses


@njit(SIGNATURE, cache=True)
def no_dynamics(S, ref, cs, ca, spikes, n, lo, step, seed):
    """The kernel of a population without dynamics (a spike generator's events are emitted elsewhere)."""
    return n


@njit(cache=True)
def apply_drive(state, inputs, t):
    if inputs.drive_index.size:
        row = inputs.drive[min(t, inputs.drive.shape[0] - 1)]
        for c in range(inputs.drive_index.size):
            state[inputs.drive_pop[c]][inputs.drive_row[c], inputs.drive_index[c]] = row[c]


@njit(cache=True)
def emit_generated(inputs, p, t, spikes, n):
    e = inputs.gen_cursor[p]
    while e < inputs.gen_end[p] and inputs.gen_step[e] <= t:
        spikes[n] = inputs.gen_index[e]
        n += 1
        e += 1
    inputs.gen_cursor[p] = e
    return n


@njit(cache=True)
def propagate(state, bounds, syn, spikes, first, t):
    """Each projection adds the weights of the synapses of the neurons that fired to its target
    variable (delay 0) or to the ring slot of step t + delay. Returns the synapses reached."""
    reached = 0
    for k in range(syn.pre_pop.size):
        if syn.plastic[k]:  # transmits when its spikes arrive, in the learn step
            continue
        p, g = syn.pre_pop[k], syn.target[k]
        lo, hi = bounds[p] + syn.pre_lo[k], bounds[p] + syn.pre_hi[k]
        target = state[syn.target_pop[g]][syn.target_row[g]]
        depth, size, ring0 = syn.depth[g], target.size, syn.ring_off[g]
        indptr = syn.indptr[syn.ptr[k]:syn.ptr[k + 1]]
        base, post_lo = syn.syn[k], syn.post_lo[k]
        for s in range(first[p], first[p + 1]):
            i = spikes[s]
            if i < lo or i >= hi:
                continue
            a, b = base + indptr[i - lo], base + indptr[i - lo + 1]
            reached += b - a
            if depth == 1:  # nothing into this variable is delayed
                for q in range(a, b):
                    target[post_lo + syn.post[q]] += syn.weight[q]
            else:
                for q in range(a, b):
                    d = syn.delay[q]
                    if d == 0:
                        target[post_lo + syn.post[q]] += syn.weight[q]
                    else:
                        syn.ring[ring0 + ((t + d) % depth) * size + post_lo + syn.post[q]] += syn.weight[q]
    return reached


@njit(cache=True)
def deliver(state, syn, t):
    for g in range(syn.target_pop.size):
        depth = syn.depth[g]
        if depth == 1:
            continue
        row = state[syn.target_pop[g]][syn.target_row[g]]
        start = syn.ring_off[g] + (t % depth) * row.size
        for j in range(row.size):
            row[j] += syn.ring[start + j]
            syn.ring[start + j] = 0.0


@njit(cache=True)
def record_state(state, rec, t):
    for m in range(rec.state_row.size):
        if t % rec.state_every[m] == 0:
            rec.state_values[m, rec.state_count[m]] = state[rec.state_pop[m]][rec.state_row[m], rec.state_index[m]]
            rec.state_count[m] += 1


@njit(cache=True)
def record_spikes(rec, spikes, n, t):
    c = rec.spike_count[0]
    for s in range(n):
        if rec.spike_mask[spikes[s]]:
            rec.spike_index[c] = spikes[s]
            rec.spike_step[c] = t
            c += 1
    rec.spike_count[0] = c


@njit(cache=True)
def run_network(pops, syn, pl, inputs, rec, seed, t0, n_steps):
    """Advance ``n_steps`` from step ``t0``; returns the steps done (see backends.state)."""
    spikes = np.empty(pops.bounds[-1], np.int64)
    first = np.zeros(pops.bounds.size, np.int64)  # population p's spikes are spikes[first[p]:first[p + 1]]
    worst = 0
    for k in range(rec.spike_mask.size):
        worst += rec.spike_mask[k]
    for s in range(n_steps):
        if rec.spike_count[0] + worst > rec.spike_step.size:
            return s
        t = t0 + s
        record_state(pops.state, rec, t)
        if rec.syn_l.size:  # (a call passes every array of syn and pl: skipped when there is nothing to do)
            record_synapses(syn, pl, rec, t)
        apply_drive(pops.state, inputs, t)
        n = 0
        for p in range(pops.generator.size):
            first[p] = n
            if pops.generator[p]:
                n = emit_generated(inputs, p, t, spikes, n)
            else:
                n = pops.kernels[p](pops.state[p], pops.refractory[p], pops.scalars[p], pops.arrays[p],
                                    spikes, n, pops.bounds[p], t, seed)
            rec.pop_counts[s, p] = n - first[p]
        first[pops.generator.size] = n
        rec.syn_events[0] += propagate(pops.state, pops.bounds, syn, spikes, first, t)
        if pl.proj.size:
            rec.syn_events[0] += learn(pops.state, syn, pl, spikes, first, t)
        deliver(pops.state, syn, t)
        record_spikes(rec, spikes, n, t)
    return n_steps
