"""Numba kernels: LIF / ALIF layers over T time steps, forward and BPTT backward.

One call runs the whole time loop (instead of T small tape ops). Per neuron,
with r[t] = spk[t-1] the reset signal, starting from a given state
(mem[-1], spk[-1], a[-1]) (zero for a fresh sequence):

    a[t]   = rho a[t-1] + r[t]                        adaptation (ALIF; unused when gamma = 0)
    th[t]  = thr + gamma a[t]                         effective threshold
    mem[t] = beta mem[t-1] + I[t] - r[t] th[t]        reset="subtract" (code 0)
    mem[t] = beta (1 - r[t]) mem[t-1] + I[t]          reset="zero"     (code 1)
    mem[t] = beta mem[t-1] + I[t]                     reset="none"     (code 2)
    spk[t] = H(mem[t] - th[t]),  H(x) = 1 if x > 0 else 0

LIF is the case gamma = 0, which is exactly snnTorch ``Leaky`` (reset from the
previous step's spike). In the backward pass dH/dx is replaced by a surrogate
derivative sigma'(x); with ``detach_reset`` the r[t] inside the membrane
update is treated as a constant, as snnTorch does (the adaptation path a[t]
always carries gradient).

Reverse recursion, with gm, ga, gs the total gradients of mem[t], a[t], spk[t]:

    gs[t] = dL/dspk[t] + ga[t+1] + [not detached] gm[t+1] dmem[t+1]/dr[t+1]
    h[t]  = gs[t] sigma'(mem[t] - th[t])
    gm[t] = h[t] + gm[t+1] dmem[t+1]/dmem[t]
    gth[t] = -h[t] - [subtract] r[t] gm[t]            dL/dth[t]
    ga[t] = gamma gth[t] + rho ga[t+1]

and dL/dI[t] = gm[t], dL/dthr = sum gth, dL/dgamma = sum gth a[t],
dL/drho = sum ga[t] a[t-1], dL/dbeta = sum gm[t] dmem[t]/dbeta.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

SUBTRACT, ZERO, NONE = 0, 1, 2
FAST_SIGMOID, ATAN, SIGMOID, TRIANGLE = 0, 1, 2, 3


@njit(cache=True, error_model="numpy", inline="always")
def surrogate_grad(kind: int, slope: float, x: np.ndarray, out: np.ndarray) -> None:
    """out[i] = sigma'(x[i]) for 1-D x, in x's dtype; ``kind`` picks the family.

    The family is chosen once per call, so each loop is branch-free and
    vectorises. Callers use ``error_model="numpy"``: Numba's per-division zero
    check would block that (no denominator here can be 0). Inlined because a
    call per row of 512 neurons cost more than the row's arithmetic.
    """
    one, zero, k = x.dtype.type(1), x.dtype.type(0), x.dtype.type(slope)
    if kind == FAST_SIGMOID:  # SuperSpike: 1 / (k|x| + 1)^2
        for i in range(x.size):
            d = k * abs(x[i]) + one
            out[i] = one / (d * d)
    elif kind == ATAN:  # (k/2) / (1 + (pi k x / 2)^2)
        c, half_k = x.dtype.type(0.5 * math.pi * slope), x.dtype.type(0.5 * slope)
        for i in range(x.size):
            u = c * x[i]
            out[i] = half_k / (one + u * u)
    elif kind == SIGMOID:  # k s (1 - s), s = 1 / (1 + e^{-kx})
        for i in range(x.size):
            s = one / (one + np.exp(-k * x[i]))
            out[i] = k * s * (one - s)
    else:  # triangle of unit area
        for i in range(x.size):
            out[i] = k * max(zero, one - k * abs(x[i]))


@njit(cache=True, error_model="numpy")
def surrogate_grad_array(kind: int, slope: float, x: np.ndarray) -> np.ndarray:
    """sigma'(x) elementwise."""
    out = np.empty(x.size, x.dtype)
    surrogate_grad(kind, slope, x.ravel(), out)
    return out.reshape(x.shape)


@njit(cache=True, parallel=True)
def neuron_run(current, beta, thr, rho, gamma, reset, mem0, spk0, a0, keep_adaptation):
    """Run T steps for current[T, B, N] from state (mem0, spk0, a0) [B, N].

    Returns spk, mem [T, B, N], the adaptation history a [T, B, N] (or [0, B, N]
    unless ``keep_adaptation``: with gamma = 0 nothing downstream reads it) and
    the final adaptation a[T-1] [B, N]. (Unlike the backward pass, this loop
    was not faster split into branch-free single-array loops: measured, it
    was 20-40 % slower, so it keeps the reset dispatch per element.)
    """
    T, B, N = current.shape
    spk = np.empty_like(current)
    mem = np.empty_like(current)
    ad = np.empty((T if keep_adaptation else 0, B, N), current.dtype)
    a_last = np.empty((B, N), current.dtype)
    for b in prange(B):
        m = mem0[b].copy()
        a = a0[b].copy()
        s = spk0[b].copy()
        for t in range(T):
            for n in range(N):
                r = s[n]
                a_n = rho[n] * a[n] + r
                th = thr[n] + gamma[n] * a_n
                if reset == SUBTRACT:
                    v = beta[n] * m[n] + current[t, b, n] - r * th
                elif reset == ZERO:
                    v = beta[n] * (1 - r) * m[n] + current[t, b, n]
                else:
                    v = beta[n] * m[n] + current[t, b, n]
                sp = 1.0 if v - th > 0 else 0.0
                mem[t, b, n] = v
                spk[t, b, n] = sp
                m[n] = v
                a[n] = a_n
                s[n] = sp
            if keep_adaptation:
                ad[t, b] = a
        a_last[b] = a
    return spk, mem, ad, a_last


@njit(cache=True)
def neuron_forward(current, beta, thr, rho, gamma, reset, mem0, spk0, a0):
    """Run T steps for current[T, B, N] from state (mem0, spk0, a0) [B, N]; returns spk, mem, a ([T, B, N])."""
    spk, mem, ad, _ = neuron_run(current, beta, thr, rho, gamma, reset, mem0, spk0, a0, True)
    return spk, mem, ad


@njit(cache=True, parallel=True, error_model="numpy")
def neuron_backward(g_spk, spk, mem, ad, beta, thr, rho, gamma, reset, detach_reset, kind, slope, mem0, spk0, a0):
    """BPTT for :func:`neuron_forward` (the initial state is a constant: truncated BPTT).

    ``ad`` may be empty along T (:func:`neuron_run` without ``keep_adaptation``)
    when gamma = 0: a then only enters through gamma a = 0, and the returned
    dL/dgamma is 0. Returns dL/dI [T, B, N] and per-batch-row parameter
    gradients [B, N] for beta, thr, rho, gamma (summed over b by the caller;
    rows keep prange race-free).

    Written for the vectoriser: the reset mode and ``detach_reset`` enter as
    0/1 coefficients, the surrogate is evaluated per row first, and each loop
    over neurons writes one array (LLVM gives up on loops that write several
    arrays it cannot prove distinct), so every loop is branch-free and vectorises.
    """
    T, B, N = g_spk.shape
    if ad.shape[0] not in (0, T):
        raise ValueError("ad must hold T or 0 time steps")
    adaptive = ad.shape[0] == T
    dt = g_spk.dtype.type
    one = dt(1)
    sub, zer, feedback = dt(reset == SUBTRACT), dt(reset == ZERO), dt(not detach_reset)
    g_in = np.empty_like(g_spk)
    d_beta = np.zeros((B, N), g_spk.dtype)
    d_thr = np.zeros((B, N), g_spk.dtype)
    d_rho = np.zeros((B, N), g_spk.dtype)
    d_gamma = np.zeros((B, N), g_spk.dtype)
    for b in prange(B):
        zeros = np.zeros(N, g_spk.dtype)  # gm, ga, th at t = T (no future) and a without adaptation
        gm_next, ga_next, th_next = zeros, np.zeros(N, g_spk.dtype), np.zeros(N, g_spk.dtype)
        th = np.empty(N, g_spk.dtype)
        h = np.empty(N, g_spk.dtype)
        g_th = np.empty(N, g_spk.dtype)
        db, dth, drho, dgamma = d_beta[b], d_thr[b], d_rho[b], d_gamma[b]
        for t in range(T - 1, -1, -1):
            r = spk[t - 1, b] if t > 0 else spk0[b]
            m_prev = mem[t - 1, b] if t > 0 else mem0[b]
            a_t = ad[t, b] if adaptive else zeros
            m_t, s_t, gs_t, gm = mem[t, b], spk[t, b], g_spk[t, b], g_in[t, b]
            for n in range(N):
                th[n] = thr[n] + gamma[n] * a_t[n]
            for n in range(N):
                h[n] = m_t[n] - th[n]
            surrogate_grad(kind, slope, h, h)
            for n in range(N):  # h = gs sigma'
                h[n] *= gs_t[n] + ga_next[n] - feedback * gm_next[n] * (sub * th_next[n] + zer * beta[n] * m_t[n])
            for n in range(N):
                gm[n] = h[n] + gm_next[n] * beta[n] * (one - zer * s_t[n])
            for n in range(N):
                g_th[n] = -h[n] - sub * r[n] * gm[n]
            for n in range(N):
                db[n] += gm[n] * (one - zer * r[n]) * m_prev[n]
            for n in range(N):
                dth[n] += g_th[n]
            if adaptive:  # without adaptation ga = 0 and no gamma / rho gradient is asked for
                a_prev = ad[t - 1, b] if t > 0 else a0[b]
                for n in range(N):
                    dgamma[n] += g_th[n] * a_t[n]
                for n in range(N):
                    ga_next[n] = gamma[n] * g_th[n] + rho[n] * ga_next[n]
                for n in range(N):
                    drho[n] += ga_next[n] * a_prev[n]
            gm_next = gm
            th, th_next = th_next, th
    return g_in, d_beta, d_thr, d_rho, d_gamma
