"""The simulator's step on a CUDA device (``backend="cuda"``): the operations of ``backends.state`` as kernels.

A step is a sequence of launches on one stream, with no copy to the host:
record state and synapses, drive, each population's neurons (one thread
per neuron running the model's generated device function,
``kernels.codegen``), the spike generators' events, propagation with the
spike record (one kernel: both read the step's spike list and write
apart), the learn step of plastic projections (``kernels.cuda.plasticity``),
delivery. Spikes of a step go to a list whose length is an integer atomic
counter (so in no particular order); propagation adds each spike's row (of
the projections that do not learn: plastic ones transmit when their spikes
arrive, in the learn step) with float64 atomics into the target variable
(delay 0) or its ring slot (t + delay), so each target's sum is reordered
(docs/cuda.md: the determinism contract). Every kernel loops over its items
with the whole grid's stride, so any launch size is correct
(``kernels.cuda.launch``). A step runs only if the spike record has room
for its worst case (:func:`begin_step`, the CPU backends' rule), so the
host queues a run's launches without waiting for them (it reads how many
steps ran only every CHECK_EVERY steps). The step's number lives on the
device (``Record.clock``, advanced by :func:`begin_step`), so every launch
of a run takes the same arguments, typed and packed once (``bind``).

The network's dynamic arrays live in flat device arrays: the populations'
state blocks (variables, n) one after another (each kernel that writes a
variable gets its flat address), their refractory counts by global
index. :func:`run` advances n steps; ``backends.cuda_backend`` owns the
copies to and from the host.
"""
from __future__ import annotations

import functools
import warnings
from typing import Callable, NamedTuple

import numpy as np
from numba import cuda

from . import plasticity
from .launch import LANES, bind, configure, running

# Steps queued between the host's reads of how many have run (each read waits for the device): a run that a
# full spike record ends early queues at most this many steps of launches that do nothing.
CHECK_EVERY = 256


class Tables(NamedTuple):
    """Kept on the device across runs: where neurons and targets live, the synapses (read-only during runs but
    for the weights of plastic projections)."""

    bounds: np.ndarray  # (P+1,) int64: global index of each population's first neuron
    pre_pop: np.ndarray  # (K,) int64 and the rest as in backends.state.Synapses
    pre_lo: np.ndarray
    pre_hi: np.ndarray
    post_lo: np.ndarray
    target: np.ndarray
    ptr: np.ndarray
    syn: np.ndarray
    indptr: np.ndarray
    post: np.ndarray
    weight: np.ndarray  # float32 or float64; added as float64
    delay: np.ndarray
    plastic: np.ndarray  # (K,) bool
    target_at: np.ndarray  # (G,) int64: where target g's variable of neuron 0 lies in the flat state
    target_off: np.ndarray  # (G+1,) int64: target g's neurons are target_off[g]:target_off[g+1] of all targets'
    depth: np.ndarray  # (G,) int64
    ring_off: np.ndarray  # (G+1,) int64


class Dynamic(NamedTuple):
    """What a run changes, copied in before it and out after it."""

    state: np.ndarray  # float64: every population's (variables, n) block, one after another
    refractory: np.ndarray  # (N,) int32
    ring: np.ndarray  # float64, as backends.state.Synapses.ring
    gen_cursor: np.ndarray  # (P,) int64


class Drive(NamedTuple):
    """Spike generators' events and timed drives (``backends.state.Inputs``), flat addresses resolved."""

    gen_pop: np.ndarray  # (P',) int64: the populations that are spike generators
    gen_step: np.ndarray  # (E,) int64
    gen_index: np.ndarray  # (E,) int64
    gen_end: np.ndarray  # (P,) int64
    drive: np.ndarray  # (T, C) float64
    drive_at: np.ndarray  # (C,) int64: where column c writes in the flat state (each place once)


class Record(NamedTuple):
    """``backends.state.Recorder`` on the device, flat addresses resolved, with a spike counter per step."""

    spike_mask: np.ndarray  # (N,) bool
    spike_step: np.ndarray  # (capacity,) int64
    spike_index: np.ndarray  # (capacity,) int64: within a step in no particular order
    spike_count: np.ndarray  # (1,) int64
    state_at: np.ndarray  # (S,) int64: where sample m reads in the flat state
    state_every: np.ndarray  # (S,) int64
    state_values: np.ndarray  # (S, cap) float64
    state_count: np.ndarray  # (S,) int64
    pop_counts: np.ndarray  # (n_steps, P) int64
    syn_events: np.ndarray  # (1,) int64
    step_spikes: np.ndarray  # (n_steps,) int64: the length of step s's spike list
    clock: np.ndarray  # (2,) int64: the run's step s now (-1 before the first) and the steps done (s + 1 if s runs)


class Samples(NamedTuple):
    """A run's synapse samples (``backends.state.Recorder``'s), apart from ``Record``: only one kernel reads them,
    and every array a kernel takes costs each launch on the host."""

    syn_l: np.ndarray  # (R,) int64
    syn_q: np.ndarray
    syn_var: np.ndarray
    syn_every: np.ndarray
    syn_values: np.ndarray
    syn_count: np.ndarray


class Population(NamedTuple):
    """One population with dynamics: its kernel (:func:`population_step`) and device views of its arrays."""

    kernel: Callable
    p: int  # its index
    first: int  # global index of its first neuron
    state: object  # (variables, n) view into Dynamic.state
    refractory: object  # (n,) view into Dynamic.refractory
    scalars: object  # (k,) float64
    arrays: object  # (k', n) float64


@functools.cache  # one kernel per model's function: a network built again reuses its compiled code
def population_step(neuron: Callable) -> Callable:
    """The kernel stepping each neuron k of a population by device function ``neuron`` (``codegen.device_neuron``)
    and appending those that fired to ``spikes`` (counted per step and per population)."""
    @cuda.jit
    def step(S, ref, cs, ca, first, t0, seed, p, clock, spikes, step_spikes, pop_counts):
        s = running(clock)
        if s < 0:
            return
        for k in range(cuda.grid(1), S.shape[1], cuda.gridsize(1)):
            if neuron(S, ref, cs, ca, first, k, t0 + s, seed):
                spikes[cuda.atomic.add(step_spikes, s, 1)] = first + k
                cuda.atomic.add(pop_counts, (s, p), 1)
    return step


@cuda.jit
def begin_step(rec, worst):
    """The next step s (``clock[0]``) runs (``clock[1]`` = s + 1) if the steps before it ran and the spike record
    has room for ``worst`` more spikes (every recorded neuron firing); else it and the rest of the run are
    skipped. One thread."""
    s = rec.clock[0] + 1
    rec.clock[0] = s
    if rec.clock[1] == s and rec.spike_count[0] + worst <= rec.spike_step.size:
        rec.clock[1] = s + 1


@cuda.jit
def record_state(state, rec, t0):
    """Each state sample due at step t (t % every == 0) appends its variable's value (one thread each)."""
    s = running(rec.clock)
    if s < 0:
        return
    t = t0 + s
    for m in range(cuda.grid(1), rec.state_at.size, cuda.gridsize(1)):
        if t % rec.state_every[m] == 0:
            rec.state_values[m, rec.state_count[m]] = state[rec.state_at[m]]
            rec.state_count[m] += 1


@cuda.jit
def apply_drive(state, drive, t0, clock):
    """Timed values overwrite their variables (the last row holds after the end)."""
    s = running(clock)
    if s < 0:
        return
    row = min(t0 + s, drive.drive.shape[0] - 1)
    for c in range(cuda.grid(1), drive.drive_at.size, cuda.gridsize(1)):
        state[drive.drive_at[c]] = drive.drive[row, c]


@cuda.jit
def reserve_generated(drive, cursor, span, t0, clock, step_spikes, pop_counts):
    """Each spike generator's events up to step t, from its cursor (found by bisection: its events ascend by
    step): ``span[x]`` = (first, end, their first place in the spike list); the cursor advances (a thread
    each)."""
    s = running(clock)
    if s < 0:
        return
    t = t0 + s
    for x in range(cuda.grid(1), drive.gen_pop.size, cuda.gridsize(1)):
        p = drive.gen_pop[x]
        first, lo, hi = cursor[p], cursor[p], drive.gen_end[p]
        while lo < hi:  # the first event after step t
            mid = (lo + hi) // 2
            if drive.gen_step[mid] <= t:
                lo = mid + 1
            else:
                hi = mid
        span[x, 0], span[x, 1] = first, lo
        span[x, 2] = cuda.atomic.add(step_spikes, s, lo - first)
        pop_counts[s, p] += lo - first
        cursor[p] = lo


@cuda.jit
def emit_generated(drive, span, clock, spikes):
    """The events :func:`reserve_generated` found join the spike list at their places (a thread per event)."""
    if running(clock) < 0:
        return
    for x in range(drive.gen_pop.size):
        first, end, place = span[x, 0], span[x, 1], span[x, 2]
        for e in range(first + cuda.grid(1), end, cuda.gridsize(1)):
            spikes[place + e - first] = drive.gen_index[e]


@cuda.jit
def propagate_and_record(tables, state, ring, spikes, rec, t0):
    """Each of step s's spikes, by a group of LANES threads: every projection from its neuron adds the row's
    weights (float64 atomics) to the target variable (delay 0) or to the ring slot of step t + delay, and the
    group's first lane records the spike if ``spike_mask`` marks it (in the order of the list)."""
    s = running(rec.clock)
    if s < 0:
        return
    t = t0 + s
    lane, group, groups = cuda.grid(1) % LANES, cuda.grid(1) // LANES, cuda.gridsize(1) // LANES
    for x in range(group, rec.step_spikes[s], groups):
        i = spikes[x]
        if lane == 0 and rec.spike_mask[i]:
            c = cuda.atomic.add(rec.spike_count, 0, 1)
            rec.spike_index[c] = i
            rec.spike_step[c] = t
        for k in range(tables.pre_pop.size):
            if tables.plastic[k]:  # transmits when its spikes arrive, in the learn step
                continue
            lo = tables.bounds[tables.pre_pop[k]] + tables.pre_lo[k]
            if i < lo or i >= tables.bounds[tables.pre_pop[k]] + tables.pre_hi[k]:
                continue
            g = tables.target[k]
            depth, size = tables.depth[g], tables.target_off[g + 1] - tables.target_off[g]
            row = tables.ptr[k] + i - lo
            a, b = tables.syn[k] + tables.indptr[row], tables.syn[k] + tables.indptr[row + 1]
            if lane == 0:
                cuda.atomic.add(rec.syn_events, 0, b - a)
            for q in range(a + lane, b, LANES):
                j = tables.post_lo[k] + tables.post[q]
                d = tables.delay[q] if depth > 1 else 0  # depth 1: nothing into this variable is delayed
                if d == 0:
                    cuda.atomic.add(state, tables.target_at[g] + j, np.float64(tables.weight[q]))
                else:
                    slot = tables.ring_off[g] + ((t + d) % depth) * size + j
                    cuda.atomic.add(ring, slot, np.float64(tables.weight[q]))


@cuda.jit
def deliver(tables, state, ring, t0, clock):
    """Each delayed target's neuron adds this step's ring slot and clears it (one thread per neuron)."""
    s = running(clock)
    if s < 0:
        return
    t = t0 + s
    for x in range(cuda.grid(1), tables.target_off[tables.target_off.size - 1], cuda.gridsize(1)):
        g = 0
        while x >= tables.target_off[g + 1]:
            g += 1
        depth = tables.depth[g]
        if depth > 1:
            j = x - tables.target_off[g]
            slot = tables.ring_off[g] + (t % depth) * (tables.target_off[g + 1] - tables.target_off[g]) + j
            state[tables.target_at[g] + j] += ring[slot]
            ring[slot] = 0.0


class Sizes(NamedTuple):
    """Host-side counts that size the launches."""

    neurons: int
    synapses: int
    delayed_neurons: int  # neurons of all targets when some target has a delay ring, else 0 (no delivery)
    recorded: int  # neurons whose spikes are recorded
    generated: int  # neurons of spike generators
    plastic: int  # plastic projections
    eligible: int  # synapses of R-STDP projections


def learn_step(tables: Tables, state, pl, spikes, rec: Record, sizes: Sizes, t0: int) -> list[Callable[[], None]]:
    """The learn step's launches (``kernels.cuda.plasticity``; ``pl``: ``backends.state.Plasticity`` on the
    device), bound."""
    count = cuda.device_array(sizes.plastic, np.int64)  # each projection's dopamine spikes of the step
    clock = rec.clock
    launches = [bind(configure(plasticity.begin_learning, sizes.plastic), pl, count, t0, clock),
                bind(configure(plasticity.remember_spikes, sizes.neurons), pl, count, spikes, rec.step_spikes, t0,
                     clock)]
    if sizes.eligible:
        launches.append(bind(configure(plasticity.catch_up_synapses, sizes.eligible), tables, pl, count, t0, clock))
    return launches + [
        bind(configure(plasticity.release_dopamine, sizes.plastic), pl, count, t0, clock),
        bind(configure(plasticity.arrive, sizes.neurons, LANES), tables, state, pl, t0, rec),
        bind(configure(plasticity.postsynaptic, sizes.neurons, LANES), tables, pl, spikes, rec.step_spikes, t0, clock)]


def run(populations: list[Population], tables: Tables, dyn: Dynamic, drive: Drive, rec: Record, samples: Samples,
        pl, spikes, sizes: Sizes, seed: int, t0: int, n_steps: int) -> None:
    """Launches steps t0 .. t0 + n_steps - 1 (rows 0.. of ``rec``; those that run are counted in ``rec.clock``);
    ``pl`` is the learning state (``backends.state.Plasticity`` on the device), ``spikes`` a device buffer of
    one int64 per neuron, the step's spike list. Every CHECK_EVERY steps the host reads ``rec.clock`` and stops
    queuing once a full spike record ended the run."""
    clock = rec.clock
    with warnings.catch_warnings():  # the simulator hashes the random numbers with NumPy scalars, which warn
        warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)  # when they wrap (on purpose)
        warnings.filterwarnings("ignore", "Grid size")  # numba-cuda's low-occupancy hint: small launches by design
        # the step's launches, in order, each bound once to its arguments (the same at every step)
        step = [bind(begin_step[1, 1], rec, sizes.recorded)]
        if rec.state_at.size:
            step.append(bind(configure(record_state, rec.state_at.size), dyn.state, rec, t0))
        if samples.syn_l.size:
            step.append(bind(configure(plasticity.record_synapses, samples.syn_l.size), tables, pl, samples, t0,
                             clock))
        if drive.drive_at.size:
            step.append(bind(configure(apply_drive, drive.drive_at.size), dyn.state, drive, t0, clock))
        step += [bind(configure(pop.kernel, pop.state.shape[1]), pop.state, pop.refractory, pop.scalars, pop.arrays,
                      pop.first, t0, seed, pop.p, clock, spikes, rec.step_spikes, rec.pop_counts)
                 for pop in populations]
        if drive.gen_pop.size:
            span = cuda.device_array((drive.gen_pop.size, 3), np.int64)
            step += [bind(configure(reserve_generated, drive.gen_pop.size), drive, dyn.gen_cursor, span, t0, clock,
                          rec.step_spikes, rec.pop_counts),
                     bind(configure(emit_generated, sizes.generated), drive, span, clock, spikes)]
        if sizes.synapses or sizes.recorded:
            step.append(bind(configure(propagate_and_record, sizes.neurons, LANES), tables, dyn.state, dyn.ring, spikes,
                             rec, t0))
        if sizes.plastic:
            step += learn_step(tables, dyn.state, pl, spikes, rec, sizes, t0)
        if sizes.delayed_neurons:
            step.append(bind(configure(deliver, sizes.delayed_neurons), tables, dyn.state, dyn.ring, t0, clock))
        for s in range(n_steps):
            for launch in step:
                launch()
            if s % CHECK_EVERY == CHECK_EVERY - 1 and clock.copy_to_host()[1] <= s:
                break
