"""Numba CPU kernels: the per-step operations of ``backends.state``, compiled.

Each kernel performs the arithmetic of its twin in
``eventsnn.backends.numpy_backend`` in the same order (so results are
bit-identical), looping instead of vectorising. ``run_network`` runs the
whole step loop in compiled code; it calls each population's generated
kernel (``kernels.codegen``) through a tuple of first-class functions, so it
is compiled once per number of populations, whatever the models.

On T > 1 threads (``backends.state``, "Threads") a step has one parallel
region per population with dynamics (inside its kernel) and one for
propagation and delivery (two with plasticity, whose learn step stays
serial between them); on one thread it launches none. (A parallel region
cannot take the tuple of kernels, so the loop itself stays serial.)

Numba's cache keys a compiled function on the text of its own file only, and
the cached ``run_network`` holds compiled copies of the learn step
(``kernels.plasticity``) and the equations (``eventsnn.plasticity``): a change
there must come with a change here, or a cached loop keeps running the old
ones. The last: a synapse sample finds its row by ``plasticity.row_of`` (for the CUDA
backend's sake).
"""
import numpy as np
from numba import njit, prange

from . import borrowing
from .codegen import SIGNATURE, piece
from .plasticity import learn, record_synapses


@njit(SIGNATURE, cache=True)
def no_dynamics(S, ref, cs, ca, spikes, counts, lo, step, seed):
    """The kernel of a population without dynamics (a spike generator's events are emitted elsewhere)."""


@borrowing
def apply_drive(state, inputs, t):
    if inputs.drive_index.size:
        row = inputs.drive[min(t, inputs.drive.shape[0] - 1)]
        for c in range(inputs.drive_index.size):
            state[inputs.drive_pop[c]][inputs.drive_row[c], inputs.drive_index[c]] = row[c]


@borrowing
def emit_generated(inputs, p, t, spikes, n):
    e = inputs.gen_cursor[p]
    while e < inputs.gen_end[p] and inputs.gen_step[e] <= t:
        spikes[n] = inputs.gen_index[e]
        n += 1
        e += 1
    inputs.gen_cursor[p] = e
    return n


@borrowing
def gather_spikes(inputs, pops, rec, s, t, scratch, counts, spikes, first):
    """Population by population, its pieces' spikes (counts[p, c] of them in ``scratch`` from the
    global index of piece c's first neuron) in piece order or its generator's events, into ``spikes``
    (so they ascend within each population); population p's are spikes[first[p]:first[p + 1]].
    Returns how many."""
    n, threads = 0, counts.shape[1]
    for p in range(pops.generator.size):
        first[p] = n
        if pops.generator[p]:
            n = emit_generated(inputs, p, t, spikes, n)
        else:
            for c in range(threads):
                at = pops.lo[p] + piece(pops.state[p].shape[1], c, threads)[0]
                for k in range(counts[p, c]):  # (a loop: a slice copy would need reference counting)
                    spikes[n + k] = scratch[at + k]
                n += counts[p, c]
        rec.pop_counts[s, p] = n - first[p]
    first[pops.generator.size] = n
    return n


@njit(cache=True)
def first_at_least(post, a, b, value):
    """The first q in [a, b) with post[q] >= value (b if none); post[a:b] does not decrease."""
    while a < b:
        mid = (a + b) // 2
        if post[mid] < value:
            a = mid + 1
        else:
            b = mid
    return a


@borrowing
def propagate(state, bounds, syn, spikes, first, t, c, threads):
    """Each projection adds the weights of the synapses of the neurons that fired to its target
    variable (delay 0) or to the ring slot of step t + delay, for the targets in thread c's piece
    of the variable (in the same order as one thread: spike by spike, each row in order; a thread
    finds its part of an ascending row by bisection, and scans any other row). Returns the synapses
    reached."""
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
        j_lo, j_hi = piece(size, c, threads)
        j_lo, j_hi = j_lo - post_lo, j_hi - post_lo  # the piece in the projection's post indices
        bisect, scan = threads > 1 and syn.ascending[k], threads > 1 and not syn.ascending[k]
        for s in range(first[p], first[p + 1]):
            i = spikes[s]
            if i < lo or i >= hi:
                continue
            a, b = base + indptr[i - lo], base + indptr[i - lo + 1]
            if bisect:
                a = first_at_least(syn.post, a, b, j_lo)
                b = first_at_least(syn.post, a, b, j_hi)
            for q in range(a, b):
                j = syn.post[q]
                if scan and (j < j_lo or j >= j_hi):
                    continue
                reached += 1
                d = syn.delay[q] if depth > 1 else 0  # depth 1: nothing into this variable is delayed
                if d == 0:
                    target[post_lo + j] += syn.weight[q]
                else:
                    syn.ring[ring0 + ((t + d) % depth) * size + post_lo + j] += syn.weight[q]
    return reached


@borrowing
def deliver(state, syn, t, c, threads):
    """Each delayed target adds this step's ring slot to thread c's piece of the variable, and clears it."""
    for g in range(syn.target_pop.size):
        depth = syn.depth[g]
        if depth == 1:
            continue
        row = state[syn.target_pop[g]][syn.target_row[g]]
        lo, hi = piece(row.size, c, threads)
        start = syn.ring_off[g] + (t % depth) * row.size + lo
        mine, pending = row[lo:hi], syn.ring[start:start + hi - lo]  # views from 0: no wraparound checks
        for j in range(hi - lo):
            mine[j] += pending[j]
            pending[j] = 0.0


@borrowing
def transmit_piece(state, bounds, syn, spikes, first, t, c, threads, propagate_now, deliver_now):
    """Thread c's part of ``transmit``."""
    reached = propagate(state, bounds, syn, spikes, first, t, c, threads) if propagate_now else 0
    if deliver_now:
        deliver(state, syn, t, c, threads)
    return reached


@borrowing
def transmit(state, bounds, syn, spikes, first, t, reached, propagate_now, deliver_now):
    """Propagation and/or delivery, thread c of T = reached.size on its piece of every target
    (one parallel region; none on one thread); reached[c]: the synapses its piece reached."""
    if reached.size == 1:
        reached[0] = transmit_piece(state, bounds, syn, spikes, first, t, 0, 1, propagate_now, deliver_now)
    else:
        transmit_threads(state, bounds, syn, spikes, first, t, reached, propagate_now, deliver_now)


@njit(parallel=True, cache=True)
def transmit_threads(state, bounds, syn, spikes, first, t, reached, propagate_now, deliver_now):
    """``transmit`` on T > 1 threads: its parallel region."""
    threads = reached.size
    for c in prange(threads):
        reached[c] = transmit_piece(state, bounds, syn, spikes, first, t, c, threads, propagate_now, deliver_now)


@njit(cache=True)
def propagate_events(state, bounds, syn, steps, spikes, reached):
    """Step 4 (``transmit``, on reached.size threads) for spikes of earlier steps, sorted by step then global
    neuron, each step's spikes as in their own step. Returns the synapses reached."""
    total = 0
    first = np.empty(bounds.size, np.int64)  # population p's spikes of the step are spikes[first[p]:first[p + 1]]
    a = 0
    while a < steps.size:
        b = a
        while b < steps.size and steps[b] == steps[a]:
            b += 1
        for p in range(bounds.size):
            first[p] = a + np.searchsorted(spikes[a:b], bounds[p])
        transmit(state, bounds, syn, spikes, first, steps[a], reached, True, False)
        total += reached.sum()
        a = b
    return total


@njit(cache=True)
def rows_ascend(indptr, post):
    """Whether every row's post indices do not decrease."""
    for i in range(indptr.size - 1):
        for q in range(indptr[i] + 1, indptr[i + 1]):
            if post[q] < post[q - 1]:
                return False
    return True


@borrowing
def record_state(state, rec, t):
    for m in range(rec.state_row.size):
        if t % rec.state_every[m] == 0:
            rec.state_values[m, rec.state_count[m]] = state[rec.state_pop[m]][rec.state_row[m], rec.state_index[m]]
            rec.state_count[m] += 1


@borrowing
def record_spikes(rec, spikes, n, t):
    c = rec.spike_count[0]
    for s in range(n):
        if rec.spike_mask[spikes[s]]:
            rec.spike_index[c] = spikes[s]
            rec.spike_step[c] = t
            c += 1
    rec.spike_count[0] = c


@njit(cache=True)
def run_network(pops, syn, pl, inputs, rec, seed, t0, n_steps, threads, defer_propagation):
    """Advance ``n_steps`` from step ``t0``, each step's work split in ``threads`` pieces (run on Numba's
    threads); returns the steps done (see backends.state). ``defer_propagation``: step 4 is left to
    ``propagate_events`` (under MPI, after the spikes are exchanged)."""
    spikes = np.empty(pops.bounds[-1], np.int64)
    scratch = np.empty(pops.bounds[-1], np.int64)
    first = np.zeros(pops.bounds.size, np.int64)  # population p's spikes are spikes[first[p]:first[p + 1]]
    counts = np.zeros((pops.generator.size, threads), np.int64)  # spikes of each population's pieces
    reached = np.zeros(threads, np.int64)
    plastic = pl.proj.size > 0
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
        for p in range(pops.generator.size):
            if not pops.generator[p]:
                pops.kernels[p](pops.state[p], pops.refractory[p], pops.scalars[p], pops.arrays[p], scratch,
                                counts[p], pops.lo[p], t, seed)
        n = gather_spikes(inputs, pops, rec, s, t, scratch, counts, spikes, first)
        transmit(pops.state, pops.bounds, syn, spikes, first, t, reached, not defer_propagation, not plastic)
        rec.syn_events[0] += reached.sum()
        if plastic:  # serial; its arrivals come before the ring's delivery
            rec.syn_events[0] += learn(pops.state, syn, pl, spikes, first, t)
            transmit(pops.state, pops.bounds, syn, spikes, first, t, reached, False, True)
        record_spikes(rec, spikes, n, t)
    return n_steps
