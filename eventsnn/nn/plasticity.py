r"""Three-factor learning for spike-driven projections of ``eventsnn.nn`` models: R-STDP as a pure step.

``rstdp_step(pre, post, weight, state, reward, params) -> (weight, state)``
advances one time step of the simulator's :class:`eventsnn.RSTDP` rule
(NEST's ``stdp_dopamine_synapse``) on a dense weight matrix ``weight``
[n_pre, n_post] whose inputs are spikes, in the style of Norse's
``stdp_step``. With dt the step (ms), per step and in the simulator's order:

1. the weights and eligibility integrate over the step just ended, in closed
   form: w <- clip(w - c·(n/r·expm1(-r·dt) - b·tau_c·expm1(-dt/tau_c))),
   c <- c·exp(-dt/tau_c), n <- n·exp(-dt/tau_n), r = 1/tau_c + 1/tau_n;
2. dopamine: n += reward / tau_n (a reward of k is k dopamine spikes; a
   negative reward lowers n, so paired synapses are weakened);
3. presynaptic spikes: x_pre <- x_pre·exp(-dt/tau_plus) + pre, then
   c -= A_minus · pre ⊗ x_post (x_post not yet holding this step's spikes);
4. postsynaptic spikes: x_post <- x_post·exp(-dt/tau_minus) + post, then
   c += A_plus · x_pre ⊗ post.

This is the simulator's rule for synapses without delay, its traces decayed
step by step instead of between events (equal to ~1e-12). Use it beside
surrogate-gradient training or alone (``examples/digits_rstdp.py``).
:class:`EventRSTDP` is the same rule event-driven and in place (Numba), whose
cost follows the spikes.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._validation import check_array, check_finite
from ..kernels.nn_plasticity import N as DOPAMINE
from ..kernels.nn_plasticity import Synapses, move_origin, rstdp_events, settle
from ..plasticity import RSTDP


class RSTDPParams(NamedTuple):
    """The rule (an :class:`eventsnn.RSTDP`, ms and 1/ms) and the step dt (ms)."""

    rule: RSTDP
    dt: float = 1.0


class RSTDPState(NamedTuple):
    """Traces of one projection: x_pre [n_pre], x_post [n_post], eligibility c [n_pre, n_post], dopamine n
    (1/ms, a 0-d array)."""

    x_pre: np.ndarray
    x_post: np.ndarray
    elig: np.ndarray
    dopamine: np.ndarray

    @classmethod
    def initial(cls, n_pre: int, n_post: int) -> "RSTDPState":
        return cls(np.zeros(n_pre), np.zeros(n_post), np.zeros((n_pre, n_post)), np.zeros(()))


def _spikes(name: str, value, n: int) -> np.ndarray:
    arr = check_array(name, value, shape=(n,))
    if np.any((arr != 0) & (arr != 1)):
        raise ValueError(f"{name} must be spikes (0 or 1): R-STDP needs a spike-driven projection, got values "
                         f"{np.unique(arr)[:5]!r}")
    return arr


def _check_step(pre, post, weight, reward, params: RSTDPParams) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Validated (pre, post, weight, reward) of one step (see :func:`rstdp_step`)."""
    rule, dt = params
    if not isinstance(rule, RSTDP):
        raise ValueError(f"params.rule must be an eventsnn.RSTDP, got {rule!r}")
    dt = check_finite("dt", dt)
    if dt <= 0:
        raise ValueError(f"dt must be > 0 ms, got {dt}")
    w = check_array("weight", weight, ndim=2)
    n_pre, n_post = w.shape
    pre, post = _spikes("pre", pre, n_pre), _spikes("post", post, n_post)
    if isinstance(reward, (bool, str, bytes)):
        raise ValueError(f"reward must be a number, got {reward!r}")
    return pre, post, w, check_finite("reward", reward)


def _check_state(state: RSTDPState, n_pre: int, n_post: int) -> RSTDPState:
    """``state`` with finite traces of a (n_pre, n_post) projection, x_pre and x_post >= 0 (sums of decaying
    spikes), as float64 arrays."""
    if not isinstance(state, RSTDPState):
        raise ValueError(f"state must be an RSTDPState (e.g. RSTDPState.initial(n_pre, n_post)), got {state!r:.80}")
    if np.shape(state.dopamine) != ():
        raise ValueError(f"state.dopamine must be a single value, got shape {np.shape(state.dopamine)}")
    x_pre = check_array("state.x_pre", state.x_pre, shape=(n_pre,))
    x_post = check_array("state.x_post", state.x_post, shape=(n_post,))
    for name, trace in (("state.x_pre", x_pre), ("state.x_post", x_post)):
        if np.any(trace < 0):
            raise ValueError(f"{name} must be >= 0 (a spike trace), got {trace.min()!r}")
    return RSTDPState(x_pre, x_post, check_array("state.elig", state.elig, shape=(n_pre, n_post)),
                      np.asarray(check_finite("state.dopamine", state.dopamine)))


def rstdp_step(pre, post, weight: np.ndarray, state: RSTDPState, reward: float,
               params: RSTDPParams) -> tuple[np.ndarray, RSTDPState]:
    """One step of R-STDP (see the module docstring). ``pre`` [n_pre] and ``post`` [n_post] are this step's
    spikes, ``reward`` the dopamine released at this step (in spikes; 0 for none). Returns the new weights
    (a new array) and state; nothing is modified in place."""
    pre, post, w, reward = _check_step(pre, post, weight, reward, params)
    rule, dt = params
    state = _check_state(state, *w.shape)
    r = 1.0 / rule.tau_c + 1.0 / rule.tau_n
    n = float(state.dopamine)
    c = state.elig
    w = np.clip(w - c * (n / r * math.expm1(-r * dt) - rule.b * rule.tau_c * math.expm1(-dt / rule.tau_c)),
                rule.w_min, rule.w_max)
    c = c * math.exp(-dt / rule.tau_c)
    n = n * math.exp(-dt / rule.tau_n) + reward / rule.tau_n
    x_pre = state.x_pre * math.exp(-dt / rule.tau_plus) + pre
    c = c - rule.A_minus * np.outer(pre, state.x_post * math.exp(-dt / rule.tau_minus))
    x_post = state.x_post * math.exp(-dt / rule.tau_minus) + post
    c = c + rule.A_plus * np.outer(x_pre, post)
    return w, RSTDPState(x_pre, x_post, c, np.asarray(n))


class EventRSTDP:
    """:func:`rstdp_step` event-driven and in place: the Numba twin (:mod:`eventsnn.kernels.nn_plasticity`).

    ``weight`` [n_pre, n_post] (float32 or float64, C-contiguous) is the
    projection's own array: :meth:`step` changes it in place, row by row at
    their presynaptic spikes, so a step costs (spiking inputs) x n_post
    synapse updates plus n_post instead of n_pre x n_post (postsynaptic
    spikes are kept as column sums that reach a row when it is next written).
    Between its row's writes a synapse's stored weight lags its exact value;
    :meth:`state` brings every synapse to the present. With the same
    spikes and rewards it equals ``rstdp_step`` while no weight bound is
    reached (weights are clipped when their row is written).
    """

    def __init__(self, weight: np.ndarray, params: RSTDPParams):
        if not isinstance(weight, np.ndarray) or weight.ndim != 2 or weight.dtype not in (np.float32, np.float64) \
                or not weight.flags.c_contiguous or not weight.flags.writeable:
            raise ValueError("weight must be a writable C-contiguous 2-d float32 or float64 array (it is learned in "
                             f"place), got {type(weight).__name__} {getattr(weight, 'dtype', '')} "
                             f"{getattr(weight, 'shape', '')}")
        _check_step(np.zeros(weight.shape[0]), np.zeros(weight.shape[1]), weight, 0.0, params)
        self.weight, self.params = weight, params
        n_pre, n_post = weight.shape
        self.constants = params.rule.constants(params.dt)
        self.synapses = Synapses.initial(n_pre, n_post, self.constants)  # c~ and the lazy rows (kernels.nn_plasticity)
        self.x_pre, self.x_post = np.zeros(n_pre), np.zeros(n_post)
        self.clock = np.zeros(4)  # t, t_0, F, n

    def step(self, pre, post, reward: float) -> None:
        """One step: this step's spikes ``pre`` [n_pre], ``post`` [n_post] (0/1) and the ``reward`` (dopamine
        spikes) released at it."""
        pre, post, _, reward = _check_step(pre, post, self.weight, reward, self.params)
        rstdp_events(pre.astype(np.float64), post.astype(np.float64), self.weight, self.synapses, self.x_pre,
                     self.x_post, self.clock, reward, self.constants)

    def state(self) -> RSTDPState:
        """Every synapse brought to the present (``weight`` is then exact); the traces as :class:`RSTDPState`."""
        settle(self.weight, self.synapses, self.x_pre, self.clock, self.constants)
        move_origin(self.clock)
        return RSTDPState(self.x_pre.copy(), self.x_post.copy(), self.synapses.elig.copy(),
                          np.asarray(self.clock[DOPAMINE]))
