"""CUDA twins of :mod:`eventsnn.kernels.bptt`: the (A)LIF layer over T steps, forward and BPTT backward.

The equations are those of :mod:`eventsnn.kernels.bptt`. One thread owns
one neuron of one batch row, (b, n), and runs its whole time loop: the
recursions are sequential in t and independent across (b, n), so no two
threads touch the same output and there are no atomics. Each thread does
the CPU kernel's arithmetic in the CPU kernel's order, so results agree to
float32 rounding (the device may fuse a multiply and an add into one FMA);
a spike can differ only where a membrane lies within that rounding of its
threshold. Parameter gradients are returned per batch row, [B, N], as the
CPU kernel returns them (sum over axis 0 for the parameter's gradient).
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import cuda, float32

from ..._validation import check_choice, check_positive
from ..bptt import ATAN, FAST_SIGMOID, NONE, SIGMOID, SUBTRACT, TRIANGLE, ZERO
from .arrays import THREADS, blocks, device_array, on_device, returned


class NeuronParams(NamedTuple):
    """Per-neuron constants [N] (float32): decays beta, rho in [0, 1], threshold, threshold increase per
    spike gamma (gamma = 0: LIF); ``reset`` is bptt.SUBTRACT, ZERO or NONE."""

    beta: Any
    thr: Any
    rho: Any
    gamma: Any
    reset: int = SUBTRACT


class NeuronTrace(NamedTuple):
    """The forward pass: spikes, membrane [T, B, N] and adaptation a[t], [T, B, N] or, when not kept, [0, B, N]."""

    spk: Any
    mem: Any
    adapt: Any


class NeuronGrads(NamedTuple):
    """dL/dI [T, B, N] and the parameters' gradients per batch row, [B, N] each."""

    current: Any
    beta: Any
    thr: Any
    rho: Any
    gamma: Any


@cuda.jit(device=True)
def surrogate(kind, slope, x):
    """sigma'(x) of :func:`eventsnn.kernels.bptt.surrogate_grad` for one float32 x (its families and float32 steps)."""
    one, k = float32(1.0), float32(slope)
    if kind == FAST_SIGMOID:
        d = k * abs(x) + one
        return one / (d * d)
    if kind == ATAN:
        u = float32(0.5 * math.pi * slope) * x
        return float32(0.5 * slope) / (one + u * u)
    if kind == SIGMOID:
        s = one / (one + math.exp(-k * x))
        return k * s * (one - s)
    return k * max(float32(0.0), one - k * abs(x))


@cuda.jit
def _forward(current, beta, thr, rho, gamma, reset, mem0, spk0, a0, spk, mem, ad):
    T, B, N = current.shape
    keep = ad.shape[0] == T
    i = cuda.grid(1)
    if i >= B * N:
        return
    b, n = i // N, i % N
    m, s, a = mem0[b, n], spk0[b, n], a0[b, n]
    for t in range(T):  # the CPU loop body, with the state in registers
        r = s
        a = rho[n] * a + r
        th = thr[n] + gamma[n] * a
        if reset == SUBTRACT:
            v = beta[n] * m + current[t, b, n] - r * th
        elif reset == ZERO:
            v = beta[n] * (1 - r) * m + current[t, b, n]
        else:
            v = beta[n] * m + current[t, b, n]
        s = float32(1.0) if v - th > 0 else float32(0.0)
        m = float32(v)
        mem[t, b, n] = m
        spk[t, b, n] = s
        if keep:
            ad[t, b, n] = a


@cuda.jit
def _backward(g_spk, spk, mem, ad, beta, thr, rho, gamma, reset, detach_reset, kind, slope, mem0, spk0, a0,
              g_in, d_beta, d_thr, d_rho, d_gamma):
    T, B, N = g_spk.shape
    adaptive = ad.shape[0] == T  # else gamma = 0: a enters only as gamma a = 0 (no gamma or rho gradient)
    i = cuda.grid(1)
    if i >= B * N:
        return
    b, n = i // N, i % N
    one, zero = float32(1.0), float32(0.0)
    sub = one if reset == SUBTRACT else zero
    zer = one if reset == ZERO else zero
    feedback = zero if detach_reset else one
    gm_next, ga_next, th_next = zero, zero, zero
    db, dth, drho, dgamma = zero, zero, zero, zero
    for t in range(T - 1, -1, -1):
        r = spk[t - 1, b, n] if t > 0 else spk0[b, n]
        m_prev = mem[t - 1, b, n] if t > 0 else mem0[b, n]
        a_t = ad[t, b, n] if adaptive else zero
        m_t = mem[t, b, n]
        th = thr[n] + gamma[n] * a_t
        h = surrogate(kind, slope, m_t - th)
        h *= g_spk[t, b, n] + ga_next - feedback * gm_next * (sub * th_next + zer * beta[n] * m_t)
        gm = h + gm_next * beta[n] * (one - zer * spk[t, b, n])
        g_in[t, b, n] = gm
        g_th = -h - sub * r * gm
        db += gm * (one - zer * r) * m_prev
        dth += g_th
        if adaptive:
            a_prev = ad[t - 1, b, n] if t > 0 else a0[b, n]
            dgamma += g_th * a_t
            ga_next = gamma[n] * g_th + rho[n] * ga_next
            drho += ga_next * a_prev
        gm_next, th_next = gm, th
    d_beta[b, n], d_thr[b, n], d_rho[b, n], d_gamma[b, n] = db, dth, drho, dgamma


def _params(params: NeuronParams, n: int) -> tuple:
    if not isinstance(params, NeuronParams):
        raise ValueError(f"params must be a NeuronParams, got {params!r}")
    check_choice("params.reset", params.reset, (SUBTRACT, ZERO, NONE))
    arrays = tuple(device_array(f"params.{f}", p, (n,)) for f, p in zip(NeuronParams._fields[:4], params[:4]))
    for name in ("beta", "rho"):  # decays; checked on the host only (a device array is not copied back to look)
        value = getattr(params, name)
        if not on_device(value):
            value = np.asarray(value, np.float64)
            outside = value[(value < 0) | (value > 1)]
            if outside.size:
                raise ValueError(f"params.{name} must lie in [0, 1], got {float(outside[0])!r}")
    return arrays


def _state(state: Any, batch: int, n: int) -> tuple:
    """(mem, spk, adapt) [B, N] on the device; zeros for None (rest)."""
    if state is None:
        return tuple(cuda.to_device(np.zeros((batch, n), np.float32)) for _ in range(3))
    if len(state) != 3:
        raise ValueError(f"state must be (mem, spk, adapt), got {len(state)} arrays")
    return tuple(device_array(f"state.{f}", x, (batch, n)) for f, x in zip(("mem", "spk", "adapt"), state))


def neuron_forward(current: Any, params: NeuronParams, state: Any = None, keep_adaptation: bool = True) -> NeuronTrace:
    """Run T steps of :mod:`eventsnn.kernels.bptt`'s (A)LIF for current [T, B, N] from ``state``
    ((mem, spk, adapt) [B, N], e.g. an ``eventsnn.autodiff.NeuronState``; rest if None).

    The trace equals ``bptt.neuron_run``'s: NumPy arrays for NumPy
    ``current``, device arrays for a device ``current``. Without
    ``keep_adaptation`` the adaptation history is not stored (``adapt`` is
    [0, B, N]): with gamma = 0 the backward pass does not read it.
    """
    device = on_device(current)
    current = device_array("current", current, (None, None, None))
    T, B, N = current.shape
    beta, thr, rho, gamma = _params(params, N)
    mem0, spk0, a0 = _state(state, B, N)
    trace = NeuronTrace(*(cuda.device_array((T if keep else 0, B, N), np.float32)
                          for keep in (True, True, keep_adaptation)))
    if T and B * N:
        _forward[blocks(B * N), THREADS](current, beta, thr, rho, gamma, params.reset, mem0, spk0, a0, *trace)
    return NeuronTrace(*(returned(x, device) for x in trace))


def neuron_backward(g_spk: Any, trace: NeuronTrace, params: NeuronParams, state: Any = None,
                    detach_reset: bool = True, kind: int = FAST_SIGMOID, slope: float = 25.0) -> NeuronGrads:
    """BPTT for :func:`neuron_forward` given dL/dspk [T, B, N]: ``bptt.neuron_backward``'s results.
    A trace without the adaptation history (``keep_adaptation=False``) serves only gamma = 0 (LIF), where
    dL/dgamma and dL/drho are 0; with another gamma it is refused.

    ``kind`` and ``slope`` pick the surrogate derivative (``bptt.FAST_SIGMOID``, ...;
    an ``eventsnn.autodiff`` surrogate carries both); the starting ``state`` is a constant.
    """
    device = on_device(g_spk)
    g_spk = device_array("g_spk", g_spk, (None, None, None))
    T, B, N = g_spk.shape
    if not isinstance(trace, NeuronTrace):
        raise ValueError(f"trace must be a NeuronTrace, got {trace!r}")
    spk, mem = (device_array(f"trace.{f}", x, (T, B, N)) for f, x in zip(NeuronTrace._fields, trace[:2]))
    ad = device_array("trace.adapt", trace.adapt, (None, B, N))
    if ad.shape[0] not in (0, T):
        raise ValueError(f"trace.adapt must hold {T} or 0 time steps, got {ad.shape[0]}")
    beta, thr, rho, gamma = _params(params, N)
    if T and ad.shape[0] == 0 and gamma.copy_to_host().any():  # its gradients need a[t]: refuse, not guess
        raise ValueError("trace.adapt holds no time steps (neuron_forward(..., keep_adaptation=False)), but "
                         "params.gamma is not 0: the backward pass of an adaptive neuron needs the history")
    mem0, spk0, a0 = _state(state, B, N)
    check_choice("kind", kind, (FAST_SIGMOID, ATAN, SIGMOID, TRIANGLE))
    slope = check_positive("slope", slope)  # float64, rounded in the kernel as the CPU rounds it
    grads = NeuronGrads(cuda.device_array((T, B, N), np.float32),
                        *(cuda.to_device(np.zeros((B, N), np.float32)) for _ in range(4)))
    if T and B * N:
        _backward[blocks(B * N), THREADS](g_spk, spk, mem, ad, beta, thr, rho, gamma, params.reset,
                                          bool(detach_reset), kind, slope, mem0, spk0, a0, *grads)
    return NeuronGrads(*(returned(x, device) for x in grads))
