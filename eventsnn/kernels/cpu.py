"""Numba CPU kernels: the per-step operations of ``backends.state``, compiled.

Each kernel performs the arithmetic of its twin in
``eventsnn.backends.numpy_backend`` in the same order (so results are
bit-identical), looping over neurons instead of vectorising. ``run_network``
runs the whole step loop in compiled code, so a step costs no Python.
"""
import math

import numpy as np
from numba import njit

from . import layout as L
from .random import uniform


@njit(cache=True)
def apply_drive(S, drive, drive_index, t):
    if drive_index.size:
        row = min(t, drive.shape[0] - 1)
        for col in range(drive_index.size):
            S[L.ROW_X, drive_index[col]] = drive[row, col]


# Loops run over row slices with range(n) so that LLVM can prove indices are
# non-negative and vectorise; clamping is a select rather than a branch.


@njit(cache=True)
def update_lif(S, refractory, lo, hi, c):
    cv, c0, cx, pe, pi = c[L.LIF_CV], c[L.LIF_C0], c[L.LIF_CX], c[L.LIF_PE], c[L.LIF_PI]
    ae, ai, aa = c[L.LIF_AE], c[L.LIF_AI], c[L.LIF_AA]
    v, i_e, i_i, a, x = S[L.ROW_V, lo:hi], S[L.ROW_E, lo:hi], S[L.ROW_I, lo:hi], S[L.ROW_A, lo:hi], S[L.ROW_X, lo:hi]
    ref = refractory[lo:hi]
    for k in range(hi - lo):
        ref[k] -= ref[k] > 0
        v_new = cv * v[k] + c0 + cx * x[k] + pe * i_e[k] + pi * i_i[k]
        v[k] = v[k] if ref[k] > 0 else v_new
        i_e[k] *= ae
        i_i[k] *= ai
    if c[L.LIF_BETA] != 0.0:  # adaptation is active (ALIF) only when beta != 0
        for k in range(hi - lo):
            a[k] *= aa


@njit(cache=True)
def threshold_lif(S, refractory, lo, hi, c, spikes, n):
    vth, beta, vreset = c[L.LIF_VTH], c[L.LIF_BETA], c[L.LIF_VRESET]
    subtract, nref, adaptive = c[L.LIF_SUBTRACT] != 0.0, int(c[L.LIF_NREF]), beta != 0.0
    v, a, ref = S[L.ROW_V, lo:hi], S[L.ROW_A, lo:hi], refractory[lo:hi]
    for k in range(hi - lo):
        theta = vth + beta * a[k]
        if ref[k] == 0 and v[k] >= theta:
            if subtract:
                v[k] -= theta - vreset
            else:
                v[k] = vreset
            if adaptive:
                a[k] += 1.0
            ref[k] = nref
            spikes[n] = lo + k
            n += 1
    return n


@njit(cache=True)
def update_coba(S, refractory, lo, hi, c):
    dt_tau, el, ee, ei = c[L.COBA_DT_TAU], c[L.COBA_EL], c[L.COBA_EE], c[L.COBA_EI]
    ae, ai = c[L.COBA_AE], c[L.COBA_AI]
    v, g_e, g_i, x, ref = S[L.ROW_V, lo:hi], S[L.ROW_E, lo:hi], S[L.ROW_I, lo:hi], S[L.ROW_X, lo:hi], refractory[lo:hi]
    for k in range(hi - lo):
        ref[k] -= ref[k] > 0
        g = 1.0 + g_e[k] + g_i[k]
        v_inf = (el + g_e[k] * ee + g_i[k] * ei + x[k]) / g
        v_new = v_inf + (v[k] - v_inf) * math.exp(-g * dt_tau)
        v[k] = v[k] if ref[k] > 0 else v_new
        g_e[k] *= ae
        g_i[k] *= ai


@njit(cache=True)
def threshold_coba(S, refractory, lo, hi, c, spikes, n):
    vth, vreset = c[L.COBA_VTH], c[L.COBA_VRESET]
    subtract, nref = c[L.COBA_SUBTRACT] != 0.0, int(c[L.COBA_NREF])
    v, ref = S[L.ROW_V, lo:hi], refractory[lo:hi]
    for k in range(hi - lo):
        if ref[k] == 0 and v[k] >= vth:
            if subtract:
                v[k] -= vth - vreset
            else:
                v[k] = vreset
            ref[k] = nref
            spikes[n] = lo + k
            n += 1
    return n


@njit(cache=True)
def update_izhikevich(S, lo, hi, c):
    dt, a, b = c[L.IZH_DT], c[L.IZH_A], c[L.IZH_B]
    ae, ai = c[L.IZH_AE], c[L.IZH_AI]
    v, i_e, i_i, u, x = S[L.ROW_V, lo:hi], S[L.ROW_E, lo:hi], S[L.ROW_I, lo:hi], S[L.ROW_A, lo:hi], S[L.ROW_X, lo:hi]
    for k in range(hi - lo):
        current = i_e[k] + i_i[k] + x[k]
        dv = 0.04 * v[k] * v[k] + 5.0 * v[k] + 140.0 - u[k] + current
        du = a * (b * v[k] - u[k])
        v[k] += dt * dv
        u[k] += dt * du
        i_e[k] *= ae
        i_i[k] *= ai


@njit(cache=True)
def threshold_izhikevich(S, lo, hi, c, spikes, n):
    vpeak, reset_v, d = c[L.IZH_VPEAK], c[L.IZH_C], c[L.IZH_D]
    v, u = S[L.ROW_V, lo:hi], S[L.ROW_A, lo:hi]
    for k in range(hi - lo):
        if v[k] >= vpeak:
            v[k] = reset_v
            u[k] += d
            spikes[n] = lo + k
            n += 1
    return n


@njit(cache=True)
def threshold_poisson(S, lo, hi, c, seed, t, spikes, n):
    dt_s = c[L.POISSON_DT_S]
    useed, ut = np.uint64(seed), np.uint64(t)
    for k in range(lo, hi):
        if uniform(useed, ut, np.uint64(k)) < S[L.ROW_X, k] * dt_s:
            spikes[n] = k
            n += 1
    return n


@njit(cache=True)
def emit_generated(gen_step, gen_index, gen_cursor, gen_end, p, t, spikes, n):
    e = gen_cursor[p]
    while e < gen_end[p] and gen_step[e] <= t:
        spikes[n] = gen_index[e]
        n += 1
        e += 1
    gen_cursor[p] = e
    return n


@njit(cache=True)
def propagate(spikes, n, indptr, dest, weight, delay, S, ring, t):
    """Add each spike's weights to the state (delay 0) or to ring slot (t + delay) % D.

    Returns the number of synapses reached.
    """
    depth = ring.shape[0]
    now = S.reshape(-1)  # dest = row * N + neuron indexes the state matrix directly
    reached = 0
    for s in range(n):
        pre = spikes[s]
        lo, hi = indptr[pre], indptr[pre + 1]
        reached += hi - lo
        if depth == 1:  # no delays in this network
            for syn in range(lo, hi):
                now[dest[syn]] += weight[syn]
        else:
            for syn in range(lo, hi):
                d = delay[syn]
                if d == 0:
                    now[dest[syn]] += weight[syn]
                else:
                    ring[(t + d) % depth, dest[syn]] += weight[syn]
    return reached


@njit(cache=True)
def deliver(S, ring, ring_rows, t):
    if ring.shape[0] == 1:  # without delays nothing is ever pending
        return
    slot = ring[t % ring.shape[0]]
    n = S.shape[1]
    for r in ring_rows:
        row, pending = S[r], slot[r * n:(r + 1) * n]
        for k in range(n):
            row[k] += pending[k]
            pending[k] = 0.0


@njit(cache=True)
def record_state(S, state_row, state_index, state_every, state_values, state_count, t):
    for m in range(state_row.size):
        if t % state_every[m] == 0:
            state_values[m, state_count[m]] = S[state_row[m], state_index[m]]
            state_count[m] += 1


@njit(cache=True)
def record_spikes(spikes, n, spike_mask, spike_step, spike_index, spike_count, t):
    c = spike_count[0]
    for s in range(n):
        if spike_mask[spikes[s]]:
            spike_index[c] = spikes[s]
            spike_step[c] = t
            c += 1
    spike_count[0] = c


@njit(cache=True)
def run_network(seed, S, refractory, pop_bounds, pop_code, coef, indptr, dest, weight, delay, ring, ring_rows,
                gen_step, gen_index, gen_cursor, gen_end, drive, drive_index,
                spike_mask, spike_step, spike_index, spike_count,
                state_row, state_index, state_every, state_values, state_count,
                pop_counts, syn_events, t0, n_steps):
    """Advance ``n_steps`` from step ``t0``; returns the steps done (see backends.state)."""
    spikes = np.empty(S.shape[1], np.int64)
    worst = 0
    for k in range(spike_mask.size):
        worst += spike_mask[k]
    for s in range(n_steps):
        if spike_count[0] + worst > spike_step.size:
            return s
        t = t0 + s
        record_state(S, state_row, state_index, state_every, state_values, state_count, t)
        apply_drive(S, drive, drive_index, t)
        n = 0
        for p in range(pop_code.size):
            lo, hi, code, c = pop_bounds[p], pop_bounds[p + 1], pop_code[p], coef[p]
            first = n
            if code == L.CODE_LIF:
                update_lif(S, refractory, lo, hi, c)
                n = threshold_lif(S, refractory, lo, hi, c, spikes, n)
            elif code == L.CODE_COBA:
                update_coba(S, refractory, lo, hi, c)
                n = threshold_coba(S, refractory, lo, hi, c, spikes, n)
            elif code == L.CODE_IZHIKEVICH:
                update_izhikevich(S, lo, hi, c)
                n = threshold_izhikevich(S, lo, hi, c, spikes, n)
            elif code == L.CODE_POISSON:
                n = threshold_poisson(S, lo, hi, c, seed, t, spikes, n)
            else:
                n = emit_generated(gen_step, gen_index, gen_cursor, gen_end, p, t, spikes, n)
            pop_counts[s, p] = n - first
        syn_events[0] += propagate(spikes, n, indptr, dest, weight, delay, S, ring, t)
        deliver(S, ring, ring_rows, t)
        record_spikes(spikes, n, spike_mask, spike_step, spike_index, spike_count, t)
    return n_steps
