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


@njit(cache=True, inline="always")
def surrogate_grad(kind: int, slope: float, x: float) -> float:
    """Surrogate derivative sigma'(x) of the Heaviside step; ``kind`` picks the family."""
    if kind == FAST_SIGMOID:  # SuperSpike: 1 / (k|x| + 1)^2
        d = slope * abs(x) + 1.0
        return 1.0 / (d * d)
    if kind == ATAN:  # (k/2) / (1 + (pi k x / 2)^2)
        u = 0.5 * math.pi * slope * x
        return 0.5 * slope / (1.0 + u * u)
    if kind == SIGMOID:  # k s (1 - s), s = 1 / (1 + e^{-kx})
        s = 1.0 / (1.0 + math.exp(-slope * x))
        return slope * s * (1.0 - s)
    return slope * max(0.0, 1.0 - slope * abs(x))  # triangle of unit area


@njit(cache=True)
def surrogate_grad_array(kind: int, slope: float, x: np.ndarray) -> np.ndarray:
    """sigma'(x) elementwise."""
    out = np.empty_like(x)
    flat, res = x.ravel(), out.ravel()
    for i in range(flat.size):
        res[i] = surrogate_grad(kind, slope, flat[i])
    return out


@njit(cache=True, parallel=True)
def neuron_forward(current, beta, thr, rho, gamma, reset, mem0, spk0, a0):
    """Run T steps for current[T, B, N] from state (mem0, spk0, a0) [B, N]; returns spk, mem, a ([T, B, N])."""
    T, B, N = current.shape
    spk = np.empty_like(current)
    mem = np.empty_like(current)
    ad = np.empty_like(current)
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
                ad[t, b, n] = a_n
                spk[t, b, n] = sp
                m[n] = v
                a[n] = a_n
                s[n] = sp
    return spk, mem, ad


@njit(cache=True, parallel=True)
def neuron_backward(g_spk, spk, mem, ad, beta, thr, rho, gamma, reset, detach_reset, kind, slope, mem0, spk0, a0):
    """BPTT for :func:`neuron_forward` (the initial state is a constant: truncated BPTT).

    Returns dL/dI [T, B, N] and per-batch-row parameter gradients [B, N] for
    beta, thr, rho, gamma (summed over b by the caller; rows keep prange race-free).
    """
    T, B, N = g_spk.shape
    g_in = np.empty_like(g_spk)
    d_beta = np.zeros((B, N), g_spk.dtype)
    d_thr = np.zeros((B, N), g_spk.dtype)
    d_rho = np.zeros((B, N), g_spk.dtype)
    d_gamma = np.zeros((B, N), g_spk.dtype)
    for b in prange(B):
        gm_next = np.zeros(N, g_spk.dtype)
        ga_next = np.zeros(N, g_spk.dtype)
        for t in range(T - 1, -1, -1):
            for n in range(N):
                r = spk[t - 1, b, n] if t > 0 else spk0[b, n]
                m_prev = mem[t - 1, b, n] if t > 0 else mem0[b, n]
                a_prev = ad[t - 1, b, n] if t > 0 else a0[b, n]
                th = thr[n] + gamma[n] * ad[t, b, n]
                gs = g_spk[t, b, n] + ga_next[n]
                if not detach_reset and t + 1 < T:
                    if reset == SUBTRACT:
                        gs -= gm_next[n] * (thr[n] + gamma[n] * ad[t + 1, b, n])
                    elif reset == ZERO:
                        gs -= gm_next[n] * beta[n] * mem[t, b, n]
                h = gs * surrogate_grad(kind, slope, mem[t, b, n] - th)
                if reset == ZERO:
                    gm = h + gm_next[n] * beta[n] * (1 - spk[t, b, n])
                    d_beta[b, n] += gm * (1 - r) * m_prev
                else:
                    gm = h + gm_next[n] * beta[n]
                    d_beta[b, n] += gm * m_prev
                g_th = -h - r * gm if reset == SUBTRACT else -h
                ga = gamma[n] * g_th + rho[n] * ga_next[n]
                g_in[t, b, n] = gm
                d_thr[b, n] += g_th
                d_gamma[b, n] += g_th * ad[t, b, n]
                d_rho[b, n] += ga * a_prev
                gm_next[n] = gm
                ga_next[n] = ga
    return g_in, d_beta, d_thr, d_rho, d_gamma
