"""The NumPy reference backend: the readable specification of each operation.

Vectorised over neurons, a Python loop over steps. The Numba kernels in
``eventsnn.kernels.cpu`` perform the same arithmetic in the same order and
must give bit-identical results (tests/test_backends_agree.py).
"""
from __future__ import annotations

import math

import numpy as np

from ..kernels import layout as L
from ..kernels.random import uniform
from .state import Recorder, SimState

# NumPy's SIMD exp differs from the C library's in the last bit; the reference
# uses the C library's, as the kernels do, so both give identical spike trains.
_libm_exp = np.frompyfunc(math.exp, 1, 1)


# --- 1. drive ---------------------------------------------------------------
def apply_drive(sim: SimState, t: int) -> None:
    if sim.drive_index.size:
        sim.state[L.ROW_X, sim.drive_index] = sim.drive[min(t, sim.drive.shape[0] - 1)]


# --- 2. update, 3. threshold: one pair per model code -----------------------
def update_lif(S, refractory, c) -> None:
    """Exact step of the current-based LIF family.

    The refractory count (set to n_ref at a spike) falls by one each step;
    v holds while it is still positive, so v is clamped for n_ref - 1 steps
    and spikes are at least n_ref steps apart (Brian2's convention).
    """
    v, i_e, i_i, a, x = S
    v_new = c[L.LIF_CV] * v + c[L.LIF_C0] + c[L.LIF_CX] * x + c[L.LIF_PE] * i_e + c[L.LIF_PI] * i_i
    refractory[refractory > 0] -= 1
    v[:] = np.where(refractory > 0, v, v_new)
    i_e *= c[L.LIF_AE]
    i_i *= c[L.LIF_AI]
    if c[L.LIF_BETA] != 0.0:  # adaptation is active (ALIF) only when beta != 0
        a *= c[L.LIF_AA]


def threshold_lif(S, refractory, c) -> np.ndarray:
    """Spike where v >= theta = v_th + beta·a; reset; start the refractory count."""
    v, a = S[L.ROW_V], S[L.ROW_A]
    theta = c[L.LIF_VTH] + c[L.LIF_BETA] * a
    fired = np.flatnonzero((refractory == 0) & (v >= theta))
    if c[L.LIF_SUBTRACT]:
        v[fired] -= theta[fired] - c[L.LIF_VRESET]
    else:
        v[fired] = c[L.LIF_VRESET]
    if c[L.LIF_BETA] != 0.0:
        a[fired] += 1.0
    refractory[fired] = int(c[L.LIF_NREF])
    return fired


def update_coba(S, refractory, c) -> None:
    """Exponential-Euler step of the conductance-based LIF."""
    v, g_e, g_i, _, x = S
    g = 1.0 + g_e + g_i
    v_inf = (c[L.COBA_EL] + g_e * c[L.COBA_EE] + g_i * c[L.COBA_EI] + x) / g
    v_new = v_inf + (v - v_inf) * _libm_exp(-g * c[L.COBA_DT_TAU]).astype(np.float64)
    refractory[refractory > 0] -= 1
    v[:] = np.where(refractory > 0, v, v_new)
    g_e *= c[L.COBA_AE]
    g_i *= c[L.COBA_AI]


def threshold_coba(S, refractory, c) -> np.ndarray:
    v = S[L.ROW_V]
    fired = np.flatnonzero((refractory == 0) & (v >= c[L.COBA_VTH]))
    if c[L.COBA_SUBTRACT]:
        v[fired] -= c[L.COBA_VTH] - c[L.COBA_VRESET]
    else:
        v[fired] = c[L.COBA_VRESET]
    refractory[fired] = int(c[L.COBA_NREF])
    return fired


def update_izhikevich(S, refractory, c) -> None:
    """Forward-Euler step of the Izhikevich model (v and u from the old values)."""
    v, i_e, i_i, u, x = S
    current = i_e + i_i + x
    dv = 0.04 * v * v + 5.0 * v + 140.0 - u + current
    du = c[L.IZH_A] * (c[L.IZH_B] * v - u)
    v += c[L.IZH_DT] * dv
    u += c[L.IZH_DT] * du
    i_e *= c[L.IZH_AE]
    i_i *= c[L.IZH_AI]


def threshold_izhikevich(S, refractory, c) -> np.ndarray:
    v, u = S[L.ROW_V], S[L.ROW_A]
    fired = np.flatnonzero(v >= c[L.IZH_VPEAK])
    v[fired] = c[L.IZH_C]
    u[fired] += c[L.IZH_D]
    return fired


def update_none(S, refractory, c) -> None:
    """Input populations have no dynamics."""


def threshold_poisson(S, refractory, c, seed: int, t: int, lo: int) -> np.ndarray:
    """Neuron k fires when uniform(seed, t, lo + k) < rate_k · dt."""
    index = np.arange(lo, lo + S.shape[1], dtype=np.uint64)
    u = uniform(np.array([seed], np.uint64), np.array([t], np.uint64), index)
    return np.flatnonzero(u < S[L.ROW_X] * c[L.POISSON_DT_S])


UPDATE = {L.CODE_LIF: update_lif, L.CODE_COBA: update_coba, L.CODE_IZHIKEVICH: update_izhikevich,
          L.CODE_POISSON: update_none, L.CODE_GENERATOR: update_none}
THRESHOLD = {L.CODE_LIF: threshold_lif, L.CODE_COBA: threshold_coba, L.CODE_IZHIKEVICH: threshold_izhikevich}


def emit_generated(sim: SimState, p: int, t: int) -> np.ndarray:
    """Global indices of population p's generator events up to step t; advances its cursor."""
    start, end = int(sim.gen_cursor[p]), int(sim.gen_end[p])
    stop = start + int(np.searchsorted(sim.gen_step[start:end], t, side="right"))
    sim.gen_cursor[p] = stop
    return sim.gen_index[start:stop]


# --- 4. propagate, 5. deliver -----------------------------------------------
def propagate(sim: SimState, spikes: np.ndarray, t: int) -> int:
    """Add each spike's synaptic weights to the state now (delay 0) or to ring slot (t + delay) % D.

    ``dest = row * N + neuron`` indexes the flattened state matrix directly.
    ``np.add.at`` is unbuffered: repeated targets accumulate in synapse order.
    Returns the number of synapses reached.
    """
    starts, stops = sim.indptr[spikes], sim.indptr[spikes + 1]
    syn = np.concatenate([np.arange(a, b) for a, b in zip(starts, stops)]) if spikes.size else np.zeros(0, np.int64)
    now = sim.delay[syn] == 0
    np.add.at(sim.state.reshape(-1), sim.dest[syn[now]], sim.weight[syn[now]])
    later = syn[~now]
    slots = (t + sim.delay[later]) % sim.ring.shape[0]
    np.add.at(sim.ring, (slots, sim.dest[later]), sim.weight[later])
    return syn.size


def deliver(sim: SimState, t: int) -> None:
    """Add this step's pending delayed input to the targeted rows and clear the slot."""
    pending = sim.ring[t % sim.ring.shape[0]].reshape(L.N_TARGET_ROWS, -1)
    sim.state[sim.ring_rows] += pending[sim.ring_rows]
    pending[:] = 0.0


# --- 6. record ----------------------------------------------------------------
def record_state(sim: SimState, rec: Recorder, t: int) -> None:
    due = np.flatnonzero(t % rec.state_every == 0)
    rec.state_values[due, rec.state_count[due]] = sim.state[rec.state_row[due], rec.state_index[due]]
    rec.state_count[due] += 1


def record_spikes(rec: Recorder, spikes: np.ndarray, t: int) -> None:
    kept = spikes[rec.spike_mask[spikes]]
    n = int(rec.spike_count[0])
    rec.spike_index[n : n + kept.size] = kept
    rec.spike_step[n : n + kept.size] = t
    rec.spike_count[0] = n + kept.size


def run(sim: SimState, rec: Recorder, t0: int, n_steps: int) -> int:
    """Advance ``n_steps`` steps from step ``t0``; see ``backends.state`` for the order."""
    capacity, worst = rec.spike_step.size, rec.max_spikes_per_step
    for s in range(n_steps):
        if rec.spike_count[0] + worst > capacity:
            return s
        t = t0 + s
        record_state(sim, rec, t)
        apply_drive(sim, t)
        fired = []
        for p, code in enumerate(sim.pop_code):
            lo, hi = sim.pop_bounds[p], sim.pop_bounds[p + 1]
            S, refractory, c = sim.state[:, lo:hi], sim.refractory[lo:hi], sim.coef[p]
            UPDATE[code](S, refractory, c)
            if code == L.CODE_POISSON:
                local = threshold_poisson(S, refractory, c, sim.seed, t, lo)
            elif code == L.CODE_GENERATOR:
                local = emit_generated(sim, p, t) - lo
            else:
                local = THRESHOLD[code](S, refractory, c)
            rec.pop_counts[s, p] = local.size
            fired.append(local + lo)
        spikes = np.concatenate(fired).astype(np.int64)
        rec.syn_events[0] += propagate(sim, spikes, t)
        deliver(sim, t)
        record_spikes(rec, spikes, t)
    return n_steps
