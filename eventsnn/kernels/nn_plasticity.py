r"""Numba kernels of the nn three-factor rule, event-driven: the twin of :func:`eventsnn.nn.plasticity.rstdp_step`.

``rstdp_step`` integrates every synapse at every step. Here a synapse is
touched only at its own events (its presynaptic neuron's spike: its row;
its target's spike: its column) and when the clock is rebased, so the cost
of a step follows the spikes. Between its events a synapse's eligibility
decays, c(u) = c_s e^{-(u-s)/tau_c}, while the dopamine n(u) is shared by all,
so with the **dopamine integral** (one number per rule, advanced every step)

    F(t) = \int_{t_0}^{t} e^{-(u - t_0)/tau_c} (n(u) - b) du                      (ms, from the clock origin t_0)

and the **scaled eligibility** c~ = c e^{(s - t_0)/tau_c}, the weight a synapse
last updated at step s has at step t is

    w(t) = clip(w(s) + c~ (F(t) - F(s)), w_min, w_max),      c(t) = c~ e^{-(t - t_0)/tau_c}.

Each synapse stores w, c~ and F(s); over one step of length dt, with the
dopamine n at its start, F grows by
e^{-(t - t_0)/tau_c} (n (1 - e^{-r dt})/r - b tau_c (1 - e^{-dt/tau_c})),
r = 1/tau_c + 1/tau_n: the integral ``rstdp_step`` takes. c~ grows as
e^{(t - t_0)/tau_c}, and F(t) - F(s) loses digits as F saturates, so once
(t - t_0) dt / tau_c exceeds :data:`REBASE` every synapse is brought to t and
the origin moves to t (cost amortised over tau_c REBASE / dt steps).

Weights are clipped at a synapse's events (as NEST and the simulator do),
not every step: equal to ``rstdp_step`` while no bound is reached. The
traces x_pre, x_post are per neuron and stepped eagerly (cheap). Constants
are an :class:`eventsnn.RSTDP`'s :meth:`~eventsnn.RSTDP.constants` vector.
"""
import math

import numpy as np
from numba import njit

from ..plasticity import A_MINUS, A_PLUS, B, INV_R, RATE_C, RATE_CN, RATE_MINUS, RATE_N, RATE_PLUS, TAU_C, TAU_N, \
    W_MAX, W_MIN
from .inference import active_indices

# The clock of a rule, float64 [4]: the step t, the origin t_0, the dopamine integral F(t), the dopamine n(t).
T, T0, F, N = range(4)
REBASE = 4.0  # rebase once (t - t_0) dt / tau_c exceeds this: about 2 of 16 digits at stake


@njit(cache=True)
def advance(clock, reward, k):
    """Steps 1 and 2 of ``rstdp_step`` for the shared clock: F over the step just ended, then dopamine."""
    e = (clock[T] - clock[T0]) * k[RATE_C]
    clock[F] += math.exp(-e) * (-clock[N] * k[INV_R] * math.expm1(-k[RATE_CN])
                                + k[B] * k[TAU_C] * math.expm1(-k[RATE_C]))
    clock[N] = clock[N] * math.exp(-k[RATE_N]) + reward / k[TAU_N]
    clock[T] += 1.0


@njit(cache=True)
def depress_rows(active, w, c, fs, x_post, clock, k):
    """Presynaptic spikes: bring each active row to now, then c -= A_minus x_post (x_post not yet bumped)."""
    # constants in locals: read from k inside the loop, LLVM reloads them after every store (c might alias k)
    a = k[A_MINUS] * math.exp((clock[T] - clock[T0]) * k[RATE_C])  # c~ = c e^{(t - t_0)/tau_c}
    f, lo, hi = clock[F], k[W_MIN], k[W_MAX]
    for i in active:
        for j in range(w.shape[1]):
            w[i, j] = min(max(w[i, j] + c[i, j] * (f - fs[i, j]), lo), hi)
            fs[i, j] = f
            c[i, j] -= a * x_post[j]


@njit(cache=True)
def potentiate_columns(active, w, c, fs, x_pre, clock, k):
    """Postsynaptic spikes: bring each active column to now, then c += A_plus x_pre (x_pre bumped)."""
    a = k[A_PLUS] * math.exp((clock[T] - clock[T0]) * k[RATE_C])
    f, lo, hi = clock[F], k[W_MIN], k[W_MAX]
    for i in range(w.shape[0]):
        dc = a * x_pre[i]
        for j in active:
            w[i, j] = min(max(w[i, j] + c[i, j] * (f - fs[i, j]), lo), hi)
            fs[i, j] = f
            c[i, j] += dc


@njit(cache=True)
def settle(w, c, fs, clock, k):
    """Bring every synapse to now and express c~ and F(s) from the origin now (call :func:`move_origin` after
    settling every projection of the clock)."""
    decay = math.exp(-(clock[T] - clock[T0]) * k[RATE_C])
    f, lo, hi = clock[F], k[W_MIN], k[W_MAX]
    for i in range(w.shape[0]):
        for j in range(w.shape[1]):
            w[i, j] = min(max(w[i, j] + c[i, j] * (f - fs[i, j]), lo), hi)
            fs[i, j] = 0.0
            c[i, j] *= decay


@njit(cache=True)
def move_origin(clock):
    clock[T0], clock[F] = clock[T], 0.0


@njit(cache=True)
def due(clock, k):
    """Whether the clock must be rebased (see the module docstring)."""
    return (clock[T] - clock[T0]) * k[RATE_C] > REBASE


@njit(cache=True)
def decay_traces(x, spikes, rate):
    """x <- x e^{-rate} + spikes (spikes may be empty: decay only)."""
    d = math.exp(-rate)
    for i in range(x.size):
        x[i] = x[i] * d + (spikes[i] if spikes.size else 0.0)


@njit(cache=True)
def rstdp_events(pre, post, w, c, fs, x_pre, x_post, clock, reward, k):
    """One step of ``rstdp_step`` on one projection, in place: pre [n_pre] and post [n_post] spikes (0/1)."""
    advance(clock, reward, k)
    decay_traces(x_pre, pre, k[RATE_PLUS])
    decay_traces(x_post, np.empty(0), k[RATE_MINUS])
    depress_rows(active_indices(pre), w, c, fs, x_post, clock, k)
    x_post += post
    potentiate_columns(active_indices(post), w, c, fs, x_pre, clock, k)
    if due(clock, k):
        settle(w, c, fs, clock, k)
        move_origin(clock)
