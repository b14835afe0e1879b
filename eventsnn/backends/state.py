"""The plain arrays a backend advances: a built network, and what it records.

Every backend implements one function, ``run(sim, rec, t0, n_steps) -> int``,
out of the same per-step operations, in this order:

1. drive        time-varying inputs overwrite their variable (row X)
2. update       each population advances its state by one step (per model)
3. threshold    each population emits the indices that fired, and resets them
4. propagate    each spike adds its synapses' weights to the state (delay 0)
                or into the delay ring slot of its arrival step
5. deliver      the ring slot of this step is added to the state and cleared
6. record       spikes, population counts; sampled state before step 1

``run`` returns the number of steps done, fewer than ``n_steps`` only when
the spike record is too full for another step (the caller empties it and
calls again).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SimState:
    """A network as arrays. Global neuron index = population offset + local index."""

    seed: int
    state: np.ndarray  # (N_ROWS, N) float64, see kernels.layout
    refractory: np.ndarray  # (N,) int32: steps left clamped
    pop_bounds: np.ndarray  # (P+1,) int64: population p holds neurons pop_bounds[p]:pop_bounds[p+1]
    pop_code: np.ndarray  # (P,) int64: model code
    coef: np.ndarray  # (P, N_COEF) float64: model coefficients
    indptr: np.ndarray  # (N+1,) int64: synapses of pre neuron i are indptr[i]:indptr[i+1]
    dest: np.ndarray  # (M,) int32: target_row * N + post neuron
    weight: np.ndarray  # (M,) float64
    delay: np.ndarray  # (M,) int32: delay in steps
    ring: np.ndarray  # (D, N_TARGET_ROWS * N) float64: pending input, slot = step % D
    ring_rows: np.ndarray  # (R,) int64: the state rows some synapse targets (the rows deliver adds)
    gen_step: np.ndarray  # (G,) int64: spike-generator events, by population then step
    gen_index: np.ndarray  # (G,) int64: global neuron of each event
    gen_cursor: np.ndarray  # (P,) int64: population p's next event not yet emitted
    gen_end: np.ndarray  # (P,) int64: end of population p's events
    drive: np.ndarray  # (T, C) float64: timed values per step (last row holds)
    drive_index: np.ndarray  # (C,) int64: global neuron of each drive column


@dataclass
class Recorder:
    """Buffers one ``run`` call writes into; the network empties them after it."""

    spike_mask: np.ndarray  # (N,) bool: record this neuron's spikes
    spike_step: np.ndarray  # (capacity,) int64
    spike_index: np.ndarray  # (capacity,) int64 global neuron
    spike_count: np.ndarray  # (1,) int64
    state_row: np.ndarray  # (K,) int64: sampled variable's row
    state_index: np.ndarray  # (K,) int64: sampled global neuron
    state_every: np.ndarray  # (K,) int64: sample when step % every == 0
    state_values: np.ndarray  # (K, cap) float64
    state_count: np.ndarray  # (K,) int64
    pop_counts: np.ndarray  # (n_steps, P) int64: spikes per population per step
    syn_events: np.ndarray  # (1,) int64: synapses reached by spikes so far

    @property
    def max_spikes_per_step(self) -> int:
        return int(self.spike_mask.sum())
