"""The arrays a CPU backend advances, grouped into a few named structures.

Every backend implements the same per-step operations, in this order:

1. record       sampled state and synapses, before the step changes them
2. drive        time-varying inputs overwrite their variable
3. neurons      each population updates its neurons, tests the threshold,
                resets those that fired and emits their indices
                (one generated kernel per model, ``kernels.codegen``)
4. propagate    each projection adds the weights of its synapses from the
                neurons that fired to their target variable now (delay 0) or
                into the delay ring of that variable (slot of the arrival step);
                a plastic projection only remembers who fired (its synapses
                transmit when the spike arrives, in step 5)
5. learn        each plastic projection (``eventsnn.plasticity``): dopamine,
                then this step's arrivals (each adds its weight to the
                target variable, then learns), then the postsynaptic spikes
6. deliver      each delayed target adds this step's ring slot and clears it
7. record       spikes and spike counts

A run returns the number of steps done, fewer than asked only when the spike
record is too full for another step (the caller empties it and calls again).
Under MPI (``backends.distributed``) a run defers step 4: after every D steps
the ranks exchange their spikes and each propagates all of them, step by
step, into its rings (every delay is at least D, so none has arrived yet).

Threads (Numba backend, ``kernels.cpu``): thread c of T runs the same piece
c of every population, local neurons n·c//T .. n·(c+1)//T - 1, in step 3,
and owns the same piece of every target variable and its ring in steps 4
and 6, so no two threads write one number. Every target receives its
additions in the order of one thread (spikes in ascending global index,
then synapses in row order), so spikes and state are bit-identical for any
thread count. Steps 1, 2, 5 and 7 and the generators' events stay serial.

Indices: a neuron's global index is its population's offset plus its local
index; spikes are recorded as global indices. Under MPI a process holds a
block of each population: state arrays and rings cover that block, whose
first neuron is ``lo``, and the synapses onto it. A projection's synapses
form its own CSR block (``ptr``/``syn`` offsets into the concatenated
arrays), its post indices local to the first neuron it reaches (``post_lo``,
negative when that lies before this process's block). A target
is one variable of one population, with a delay ring of ``depth`` slots.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Populations(NamedTuple):
    """One entry per population, in network order."""

    kernels: tuple  # compiled population kernels (first-class functions); numpy: model plans
    state: tuple  # (variables, n) float64 each
    refractory: tuple  # (n,) int32 each: steps left clamped
    scalars: tuple  # (k,) float64 each: constants shared by the population
    arrays: tuple  # (k', n) float64 each: per-neuron constants
    bounds: np.ndarray  # (P+1,) int64: global index of each population's first neuron
    lo: np.ndarray  # (P,) int64: global index of the first neuron held here (bounds[:-1] in one process)
    generator: np.ndarray  # (P,) bool: emits the events of a spike generator instead of running a kernel


class Synapses(NamedTuple):
    """All projections (index k) and the variables they drive (index g)."""

    pre_pop: np.ndarray  # (K,) int64
    pre_lo: np.ndarray  # (K,) int64: the projection's presynaptic neurons are pre_lo..pre_hi-1 (local)
    pre_hi: np.ndarray  # (K,) int64
    post_lo: np.ndarray  # (K,) int64: local index of post index 0
    target: np.ndarray  # (K,) int64: the target g each projection drives
    ptr: np.ndarray  # (K+1,) int64: projection k's row pointers are indptr[ptr[k]:ptr[k+1]]
    syn: np.ndarray  # (K+1,) int64: its synapses are syn[k]:syn[k+1] (indptr is local to the block)
    indptr: np.ndarray  # int64
    post: np.ndarray  # (M,) int32
    weight: np.ndarray  # (M,) float64 or float32 (Network.weight_dtype; the arithmetic is float64)
    delay: np.ndarray  # (M,) in steps: uint8, uint16 or int32, the narrowest that holds the largest
    target_pop: np.ndarray  # (G,) int64
    target_row: np.ndarray  # (G,) int64: row of the variable in the population's state
    depth: np.ndarray  # (G,) int64: ring slots (1: nothing is ever delayed)
    ring_off: np.ndarray  # (G+1,) int64: target g's ring is ring[ring_off[g]:ring_off[g+1]], slot-major
    ring: np.ndarray  # float64: pending input
    plastic: np.ndarray  # (K,) bool: the projection learns (it transmits in the learn step, not through the ring)
    ascending: np.ndarray  # (K,) bool: within each row, post indices do not decrease (threads bisect their share)


class Plasticity(NamedTuple):
    """Plastic projections (index l) and the learning state of their synapses.

    Synapse q of plastic projection l is synapse q of its projection's CSR
    block (weight ``Synapses.weight[syn[proj[l]] + q]``). Its presynaptic
    trace is that of its presynaptic neuron i's spikes as they arrive after
    its delay d, shared by the synapses of group i*depth + d. Ranges of
    neurons are global [lo, hi); steps are absolute step numbers.
    """

    proj: np.ndarray  # (L,) int64: the projection k
    rule: np.ndarray  # (L, C) float64: the rule's constants (plasticity.CONSTANTS)
    pre_range: np.ndarray  # (L, 2) int64: presynaptic neurons
    post_range: np.ndarray  # (L, 2) int64: postsynaptic neurons
    dopamine_range: np.ndarray  # (L, 2) int64: neurons whose spikes release dopamine (empty: none)
    pop: np.ndarray  # (L, 3) int64: the populations of the pre, post and dopamine neurons (-1: no dopamine source)
    depth: np.ndarray  # (L,) int64: steps of presynaptic history kept (largest delay + 1)
    syn_off: np.ndarray  # (L+1,) int64: blocks of arrival, incoming, incoming_group (one per synapse)
    arrival: np.ndarray  # int64: local synapses ordered by group (pre, delay)
    arrival_ptr: np.ndarray  # int64: group g's synapses are arrival[syn_off + arrival_ptr[group_off + l + g] : ... + 1]
    incoming: np.ndarray  # int64: local synapses ordered by post
    incoming_group: np.ndarray  # int64: the group of each synapse in ``incoming``
    incoming_ptr: np.ndarray  # int64: post j's synapses are incoming[syn_off + incoming_ptr[post_off + l + j] : ... + 1]
    group_off: np.ndarray  # (L+1,) int64: blocks of x_pre, t_pre (pre neurons x depth)
    x_pre: np.ndarray  # float64: presynaptic trace of each group, as of step t_pre
    t_pre: np.ndarray  # int64
    post_off: np.ndarray  # (L+1,) int64: blocks of x_post, t_post
    x_post: np.ndarray  # float64: postsynaptic trace, as of step t_post
    t_post: np.ndarray  # int64
    elig_off: np.ndarray  # (L+1,) int64: blocks of elig, t_elig (one per synapse of an R-STDP projection, else empty)
    elig: np.ndarray  # float64: eligibility c (and the synapse's weight) as of step t_elig
    t_elig: np.ndarray  # int64
    decay: np.ndarray  # (L, DECAY_STEPS, 6) float64: each rule's decay factors of a gap of e steps (decay_table)
    hist: np.ndarray  # int64: local presynaptic neurons that fired, in blocks group_off, slot (step % depth)-major
    slot_off: np.ndarray  # (L+1,) int64: blocks of hist_n
    hist_n: np.ndarray  # int64: how many fired in each slot
    dopamine: np.ndarray  # (L,) float64: n (1/ms) as of step t_dopamine
    t_dopamine: np.ndarray  # (L,) int64
    pending: np.ndarray  # (L,) float64: dopamine spikes delivered from Python, released at the next step


class Inputs(NamedTuple):
    """Spike-generator events and timed drives."""

    gen_step: np.ndarray  # (E,) int64: events by population, then step
    gen_index: np.ndarray  # (E,) int64: global neuron of each event
    gen_cursor: np.ndarray  # (P,) int64: population p's next event not yet emitted
    gen_end: np.ndarray  # (P,) int64
    drive: np.ndarray  # (T, C) float64: timed values per step (the last row holds)
    drive_pop: np.ndarray  # (C,) int64
    drive_row: np.ndarray  # (C,) int64
    drive_index: np.ndarray  # (C,) int64 local neuron


class Recorder(NamedTuple):
    """Buffers one run call writes into; the network empties them after it."""

    spike_mask: np.ndarray  # (N,) bool: record this neuron's spikes
    spike_step: np.ndarray  # (capacity,) int64
    spike_index: np.ndarray  # (capacity,) int64 global neuron
    spike_count: np.ndarray  # (1,) int64
    state_pop: np.ndarray  # (S,) int64: sampled population
    state_row: np.ndarray  # (S,) int64: sampled variable's row
    state_index: np.ndarray  # (S,) int64: sampled local neuron
    state_every: np.ndarray  # (S,) int64: sample when step % every == 0
    state_values: np.ndarray  # (S, cap) float64
    state_count: np.ndarray  # (S,) int64
    pop_counts: np.ndarray  # (n_steps, P) int64: spikes per population per step
    syn_events: np.ndarray  # (1,) int64: synapses reached by spikes
    syn_l: np.ndarray  # (R,) int64: sampled plastic projection
    syn_q: np.ndarray  # (R,) int64: sampled synapse (local to the projection)
    syn_var: np.ndarray  # (R,) int64: what is sampled (plasticity.SYNAPSE_VARIABLES)
    syn_every: np.ndarray  # (R,) int64
    syn_values: np.ndarray  # (R, cap) float64
    syn_count: np.ndarray  # (R,) int64

    @property
    def max_spikes_per_step(self) -> int:
        return int(self.spike_mask.sum())
