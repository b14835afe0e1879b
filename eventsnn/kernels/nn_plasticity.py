r"""Numba kernels of the nn three-factor rule, event-driven: the twin of :func:`eventsnn.nn.plasticity.rstdp_step`.

``rstdp_step`` integrates every synapse at every step. Here the work of a
step follows its presynaptic spikes: a row (the synapses of one presynaptic
neuron) is written at that neuron's spikes and when the clock is rebased; a
postsynaptic spike writes one number per column of a short history. Between
its writes a synapse's eligibility decays, c(u) = c_s e^{-(u-s)/tau_c},
while the dopamine n(u) is shared by all, so with the **dopamine integral**
(one number per rule, advanced every step)

    F(t) = \int_{t_0}^{t} e^{-(u - t_0)/tau_c} (n(u) - b) du                      (ms, from the clock origin t_0)

and the **scaled eligibility** c~ = c e^{(s - t_0)/tau_c}, the weight a synapse
last written at step s has at step t, if nothing changed c~ in between, is

    w(t) = clip(w(s) + c~ (F(t) - F(s)), w_min, w_max),      c(t) = c~ e^{-(t - t_0)/tau_c}.

Over one step of length dt, with the dopamine n at its start, F grows by
e^{-(t - t_0)/tau_c} (n (1 - e^{-r dt})/r - b tau_c (1 - e^{-dt/tau_c})),
r = 1/tau_c + 1/tau_n: the integral ``rstdp_step`` takes.

**Postsynaptic spikes are lazy.** A spike of column j at step u adds
A_plus x_pre_i(u) e^{(u - t_0)/tau_c} to every c~_ij. Row i's trace since its
last write s (its last spike, or the last rebase) is x_pre_i(u) =
x_pre_i(s) e^{-rho (u - s)}, rho = dt/tau_plus, so all of those additions
follow from two sums per column over its spikes u since t_0,

    P_j(u) = sum e^{-rho (u - t_0)} e^{(u - t_0)/tau_c},      Q_j(u) = sum of the same terms times F(u),

kept as a history (one entry per step since t_0). When row i is written at
step t, with g = A_plus x_pre_i(s) e^{rho (s - t_0)}, dP = P_j(t) - P_j(s), dQ likewise:

    w <- clip(w + c~ (F(t) - F(s)) + g (F(t) dP - dQ)),      c~ <- c~ + g dP,

exactly what the column events would have done one by one (each c~ step
then integrated from its own step on), so a step costs (presynaptic spikes)
x n_post + n_post, all in contiguous rows, plus a rebase every few tau_plus.

c~ grows as e^{(t - t_0)/tau_c} and F(t) - F(s) loses digits as F
saturates; P(t) - P(s) loses up to e^{rho (t - t_0)}. So once (t - t_0) dt / tau_c
exceeds :data:`REBASE` or (t - t_0) rho exceeds :data:`REBASE_TRACE`, every
row is written at t and the origin moves to t (the cost of one dense pass,
amortised over that many steps).

Weights are clipped when their row is written (at its spikes and at
rebases), not every step: equal to ``rstdp_step`` while no bound is
reached. The traces x_pre, x_post are per neuron and stepped eagerly
(cheap). Constants are an :class:`eventsnn.RSTDP`'s
:meth:`~eventsnn.RSTDP.constants` vector.
"""
import math
from typing import NamedTuple

import numpy as np
from numba import njit

from ..plasticity import A_MINUS, A_PLUS, B, INV_R, RATE_C, RATE_CN, RATE_MINUS, RATE_N, RATE_PLUS, TAU_C, TAU_N, \
    W_MAX, W_MIN
from .inference import active_indices

# The clock of a rule, float64 [4]: the step t, the origin t_0, the dopamine integral F(t), the dopamine n(t).
T, T0, F, N = range(4)
REBASE = 4.0  # rebase once (t - t_0) dt / tau_c exceeds this: about 2 of 16 digits at stake
# A trace decays through the subnormal floats (below 2.2e-308) for ~700 dt/tau steps before it reaches 0; on x86
# every operation on one costs ~100 cycles, and a silent neuron's trace meets every row written (it made the LM's
# learning 3x slower). Cut there instead: 1e-300 of a spike is far below any weight's resolution.
TRACE_FLOOR = 1e-300
REBASE_TRACE = 16.0  # or once (t - t_0) rho exceeds this: P(t) - P(s) loses up to 7 of 16 digits


@njit(cache=True)
def advance(clock, reward, k):
    """Steps 1 and 2 of ``rstdp_step`` for the shared clock: F over the step just ended, then dopamine."""
    e = (clock[T] - clock[T0]) * k[RATE_C]
    clock[F] += math.exp(-e) * (-clock[N] * k[INV_R] * math.expm1(-k[RATE_CN])
                                + k[B] * k[TAU_C] * math.expm1(-k[RATE_C]))
    clock[N] = clock[N] * math.exp(-k[RATE_N]) + reward / k[TAU_N]
    clock[T] += 1.0


class Synapses(NamedTuple):
    """One projection's event-driven state besides its weights (module docstring)."""

    elig: np.ndarray  # [n_pre, n_post] float64: the scaled eligibility c~
    row_f: np.ndarray  # [n_pre] float64: F(s) at each row's last flush s
    row_g: np.ndarray  # [n_pre] float64: g = x_pre(s) e^{rho (s - t_0)}
    row_k: np.ndarray  # [n_pre] int64: the history index of s (its steps since t_0, less one)
    hist: np.ndarray  # [2, H, n_post] float64: P and Q of each column before each step since t_0

    @classmethod
    def initial(cls, n_pre: int, n_post: int, k: np.ndarray) -> "Synapses":
        """No eligibility, traces at zero, the clock at its origin; ``k`` the rule's constants (for H)."""
        steps = int(REBASE_TRACE / k[RATE_PLUS]) + 3  # (t - t_0) never exceeds REBASE_TRACE / rho + 1
        return cls(np.zeros((n_pre, n_post)), np.zeros(n_pre), np.zeros(n_pre), np.zeros(n_pre, np.int64),
                   np.zeros((2, steps, n_post)))


@njit(cache=True, fastmath={"contract"})  # fused multiply-adds: 3% of the LM stream's time
def flush_rows(rows, w, syn, x_pre, x_post, clock, k, depress):
    """Bring each of ``rows`` to now: apply the potentiation its column events left pending and the dopamine
    integral since its last flush; if ``depress`` (its presynaptic spikes), c~ -= A_minus x_post e^{(t - t_0)/tau_c}
    (x_post not yet bumped, x_pre bumped). Called by a step before :func:`record_columns`, by :func:`settle` after."""
    e = clock[T] - clock[T0]
    now = int(e) - depress  # a spike's own step is still to be recorded; at a settle it has been
    a = k[A_MINUS] * math.exp(e * k[RATE_C]) * depress  # c~ = c e^{(t - t_0)/tau_c}
    g_now = math.exp(e * k[RATE_PLUS])
    # constants in locals: read from arrays inside the loop, LLVM reloads them after every store (c might alias k)
    f, lo, hi, a_plus = clock[F], k[W_MIN], k[W_MAX], k[A_PLUS]
    c, p, q = syn.elig, syn.hist[0], syn.hist[1]
    for i in rows:
        g, df, s = a_plus * syn.row_g[i], f - syn.row_f[i], syn.row_k[i]
        for j in range(w.shape[1]):
            dp = p[now, j] - p[s, j]
            w[i, j] = min(max(w[i, j] + c[i, j] * df + g * (f * dp - (q[now, j] - q[s, j])), lo), hi)
            c[i, j] += g * dp - a * x_post[j]
        syn.row_f[i], syn.row_g[i], syn.row_k[i] = f, x_pre[i] * g_now, now


@njit(cache=True)
def record_columns(active, syn, clock, k):
    """Postsynaptic spikes (every step, after the rows): P_j += e^{-rho (t - t_0)} e^{(t - t_0)/tau_c}, Q_j += that
    F(t), into the history's next entry."""
    e = clock[T] - clock[T0]
    now = int(e)
    term = math.exp(e * (k[RATE_C] - k[RATE_PLUS]))
    f = clock[F]
    hist = syn.hist
    hist[:, now] = hist[:, now - 1]
    for j in active:
        hist[0, now, j] += term
        hist[1, now, j] += term * f


@njit(cache=True)
def settle(w, syn, x_pre, clock, k):
    """Bring every synapse to now and express the state from the origin now (call :func:`move_origin` after
    settling every projection of the clock)."""
    flush_rows(np.arange(w.shape[0]), w, syn, x_pre, np.zeros(w.shape[1]), clock, k, 0)
    elig = syn.elig
    elig *= math.exp(-(clock[T] - clock[T0]) * k[RATE_C])
    syn.row_f[:], syn.row_g[:], syn.row_k[:] = 0.0, x_pre, 0
    syn.hist[:, 0] = 0.0


@njit(cache=True)
def move_origin(clock):
    clock[T0], clock[F] = clock[T], 0.0


@njit(cache=True)
def due(clock, k):
    """Whether the clock must be rebased (see the module docstring)."""
    e = clock[T] - clock[T0]
    return e * k[RATE_C] > REBASE or e * k[RATE_PLUS] > REBASE_TRACE


@njit(cache=True)
def decay_traces(x, spikes, rate):
    """x <- x e^{-rate} + spikes (spikes may be empty: decay only); a trace below :data:`TRACE_FLOOR` becomes 0."""
    d = math.exp(-rate)
    for i in range(x.size):
        v = x[i] * d + (spikes[i] if spikes.size else 0.0)
        x[i] = v if v >= TRACE_FLOOR else 0.0


@njit(cache=True)
def rstdp_events(pre, post, w, syn, x_pre, x_post, clock, reward, k):
    """One step of ``rstdp_step`` on one projection, in place: pre [n_pre] and post [n_post] spikes (0/1)."""
    advance(clock, reward, k)
    decay_traces(x_pre, pre, k[RATE_PLUS])
    decay_traces(x_post, np.empty(0), k[RATE_MINUS])
    flush_rows(active_indices(pre), w, syn, x_pre, x_post, clock, k, 1)
    x_post += post
    record_columns(active_indices(post), syn, clock, k)
    if due(clock, k):
        settle(w, syn, x_pre, clock, k)
        move_origin(clock)
