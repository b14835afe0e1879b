r"""Synaptic plasticity: pair-based STDP and dopamine-modulated STDP (R-STDP).

A rule is a frozen dataclass of parameters given to a projection
(``Sparse.fixed_probability(..., plasticity=STDP(...))``); that projection's
synapses then learn while the network runs. Times in ms; weights in the unit
of the variable the projection drives.

**Traces.** Each synapse has a presynaptic trace :math:`x_{pre}` (shared by
the synapses of one presynaptic neuron with one delay: they see the same
arrivals), each postsynaptic neuron of the projection a trace :math:`x_{post}`:

.. math::
    \frac{dx_{pre}}{dt} = -\frac{x_{pre}}{\tau_+}, \qquad \frac{dx_{post}}{dt} = -\frac{x_{post}}{\tau_-}

(dimensionless), solved exactly between the spikes that bump them by 1
(``pairing="all_to_all"``) or set them to 1 (``"nearest"``: only the nearest
earlier spike pairs).

**Events of step t**, after the neurons have fired (Brian2's order: its
``on_pre`` pathway before ``on_post``):

1. dopamine (R-STDP): the spikes of the dopamine source at step t, and those
   delivered from Python since the last step, raise n by 1/tau_n each;
2. arrivals: each synapse whose presynaptic spike (emitted at step t - delay)
   arrives now adds its weight to the target variable, then bumps x_pre and
   is depressed with x_post;
3. postsynaptic spikes: each bumps x_post and potentiates every synapse onto
   its neuron with x_pre.

So one pair Δt = t_post − t_arrival ≥ 0 apart changes the weight by
A_plus·exp(−Δt/tau_plus), one with Δt < 0 by −A_minus·exp(Δt/tau_minus).

**STDP** changes the weight at once:
depression :math:`w \leftarrow \mathrm{clip}(w - A_- x_{post} f_-(w))`,
potentiation :math:`w \leftarrow \mathrm{clip}(w + A_+ x_{pre} f_+(w))`,
clipped to [w_min, w_max]; additive: f = 1; multiplicative (soft bounds):
:math:`f_+ = (w_{max} - w)/(w_{max} - w_{min})`, :math:`f_- = (w - w_{min})/(w_{max} - w_{min})`.

**R-STDP** (NEST's ``stdp_dopamine_synapse``) changes an eligibility trace c
instead (c −= A_minus·x_post at an arrival, c += A_plus·x_pre at a
postsynaptic spike), and dopamine n turns it into weight:

.. math::
    \frac{dc}{dt} = -\frac{c}{\tau_c}, \qquad \frac{dn}{dt} = -\frac{n}{\tau_n} + \sum_k \frac{\delta(t - t_k)}{\tau_n},
    \qquad \frac{dw}{dt} = c\,(n - b)

(n and b in 1/ms). Between events c and n are exponentials, so w is
integrated in closed form (:func:`catch_up`) and clipped to [w_min, w_max]
at the end of each piece, as NEST does.

**Cost.** Work happens at spikes only: a synapse at its arrivals, the
synapses onto a neuron at its spikes. R-STDP synapses are brought up to date
lazily (at their own events), all of them at a step with dopamine (NEST's
volume transmitter does the same) and when their weights are written. The
decay factors of gaps shorter than :data:`DECAY_STEPS` steps come from a table
(:func:`decay_table`) holding the bits an equation would compute.
Reading ``proj.weight`` of an R-STDP projection gives a read-only copy
integrated to the current step: observing changes nothing.

The scalar functions below are the rules' equations; the NumPy backend
applies them element by element and Numba compiles the same functions into
its kernel, so the backends agree bit for bit.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba.extending import register_jitable

from .neuron_model import check_fields, choice, parameter
from .population import Population, PopulationView

# The per-step constants of a rule, one float64 vector per plastic projection, in this order.
CONSTANTS = ("rstdp", "A_plus", "A_minus", "rate_plus", "rate_minus", "w_min", "w_max", "soft", "nearest",
             "rate_c", "rate_n", "rate_cn", "inv_r", "tau_c", "tau_n", "b")
(RSTDP_, A_PLUS, A_MINUS, RATE_PLUS, RATE_MINUS, W_MIN, W_MAX, SOFT, NEAREST,
 RATE_C, RATE_N, RATE_CN, INV_R, TAU_C, TAU_N, B) = range(len(CONSTANTS))

# The decay factors of gaps shorter than this many steps are tabulated, per rule (decay_table), in these columns.
DECAY_STEPS = 4096
DECAY_COLUMNS = ("pre", "post", "dopamine", "expm1_r", "expm1_c", "exp_c")
PRE, POST, DOPAMINE, EXPM1_R, EXPM1_C, EXP_C = range(len(DECAY_COLUMNS))

# What a SynapseMonitor can sample, by code.
SYNAPSE_VARIABLES = ("weight", "eligibility", "pre_trace", "post_trace", "dopamine")


class PlasticityRule:
    """Base of the rules: parameters declared with :func:`~eventsnn.parameter` / :func:`~eventsnn.choice`."""

    def __post_init__(self) -> None:
        check_fields(self)
        for f in dataclasses.fields(self):
            if "check" in f.metadata and isinstance(getattr(self, f.name), np.ndarray):
                raise ValueError(f"{f.name} must be one number for all synapses, got an array")
        if not self.w_min < self.w_max:
            raise ValueError(f"w_min must be < w_max = {self.w_max}, got {self.w_min}")
        self.check()

    def check(self) -> None:
        """Further relations between parameters."""

    def constants(self, dt: float) -> np.ndarray:
        """The rule's per-step constants for time step ``dt`` (ms), in :data:`CONSTANTS` order."""
        raise NotImplementedError

    def parameters(self) -> dict[str, Any]:
        """The numeric and choice parameters by name (a dopamine source is not one)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.metadata}

    def check_weights(self, weight: np.ndarray) -> None:
        """Refuse initial weights outside [w_min, w_max] (the rule could not keep them there)."""
        if weight.size and (weight.min() < self.w_min or weight.max() > self.w_max):
            bad = weight.min() if weight.min() < self.w_min else weight.max()
            raise ValueError(f"weight must lie in [w_min, w_max] = [{self.w_min}, {self.w_max}] for "
                             f"{type(self).__name__}, got {bad}")


def _pack(**values: float) -> np.ndarray:
    out = np.zeros(len(CONSTANTS))
    for name, value in values.items():
        out[CONSTANTS.index(name)] = value
    return out


@dataclass(frozen=True)
class STDP(PlasticityRule):
    """Pair-based STDP with exponential traces (Brian2's STDP example, NEST's ``stdp_synapse``).

    ``A_plus``/``A_minus`` are the weight changes of a pair at Δt = 0 (weight
    units); ``tau_plus``/``tau_minus`` (ms) the widths of the potentiation and
    depression windows. Defaults: Song, Miller & Abbott (2000) for weights in [0, 1].
    """

    tau_plus: float = parameter(20.0, "ms", positive=True)
    tau_minus: float = parameter(20.0, "ms", positive=True)
    A_plus: float = parameter(0.01, "weight")
    A_minus: float = parameter(0.0105, "weight")
    w_min: float = parameter(0.0, "weight")
    w_max: float = parameter(1.0, "weight")
    weight_dependence: str = choice("additive", ("additive", "multiplicative"))
    pairing: str = choice("all_to_all", ("all_to_all", "nearest"))

    def constants(self, dt: float) -> np.ndarray:
        return _pack(A_plus=self.A_plus, A_minus=self.A_minus, rate_plus=dt / self.tau_plus,
                     rate_minus=dt / self.tau_minus, w_min=self.w_min, w_max=self.w_max,
                     soft=float(self.weight_dependence == "multiplicative"), nearest=float(self.pairing == "nearest"))


@dataclass(frozen=True)
class RSTDP(PlasticityRule):
    """Dopamine-modulated STDP with an eligibility trace (NEST's ``stdp_dopamine_synapse``; Izhikevich 2007).

    Parameters and defaults are NEST's: ``A_plus``, ``A_minus`` (eligibility
    per pair), ``tau_plus``, ``tau_minus``, ``tau_c`` (eligibility), ``tau_n``
    (dopamine), all ms; ``b`` (1/ms) the dopamine baseline; weight bounds.
    ``dopamine``: the population (or slice) whose spikes release dopamine,
    or None for dopamine delivered only from Python
    (:meth:`~eventsnn.Projection.deliver_dopamine`).
    """

    A_plus: float = parameter(1.0, "1")
    A_minus: float = parameter(1.5, "1")
    tau_plus: float = parameter(20.0, "ms", positive=True)
    tau_minus: float = parameter(20.0, "ms", positive=True)
    tau_c: float = parameter(1000.0, "ms", positive=True)
    tau_n: float = parameter(200.0, "ms", positive=True)
    b: float = parameter(0.0, "1/ms")
    w_min: float = parameter(0.0, "weight")
    w_max: float = parameter(200.0, "weight")
    dopamine: Any = None

    def check(self) -> None:
        if self.dopamine is not None and not isinstance(self.dopamine, (Population, PopulationView)):
            raise ValueError(f"dopamine must be a Population, a slice of one, or None, got {self.dopamine!r}")

    def constants(self, dt: float) -> np.ndarray:
        r = 1.0 / self.tau_c + 1.0 / self.tau_n  # 1/ms: decay rate of c·n
        return _pack(rstdp=1.0, A_plus=self.A_plus, A_minus=self.A_minus, rate_plus=dt / self.tau_plus,
                     rate_minus=dt / self.tau_minus, w_min=self.w_min, w_max=self.w_max, rate_c=dt / self.tau_c,
                     rate_n=dt / self.tau_n, rate_cn=dt * r, inv_r=1.0 / r, tau_c=self.tau_c, tau_n=self.tau_n,
                     b=self.b)


RULES = {cls.__name__: cls for cls in (STDP, RSTDP)}


# --- the equations, as scalar functions (both backends) ---------------------------------------------
@register_jitable
def decay_factors(e, k):
    """The factors of a gap of e steps (T = e·dt), in :data:`DECAY_COLUMNS` order: exp(−T/tau_plus),
    exp(−T/tau_minus), exp(−T/tau_n), expm1(−r·T), expm1(−T/tau_c), exp(−T/tau_c)."""
    return (math.exp(-(e * k[RATE_PLUS])), math.exp(-(e * k[RATE_MINUS])), math.exp(-(e * k[RATE_N])),
            math.expm1(-(e * k[RATE_CN])), math.expm1(-(e * k[RATE_C])), math.exp(-(e * k[RATE_C])))


def decay_table(k: np.ndarray, steps: int = DECAY_STEPS) -> np.ndarray:
    """(steps, 6): :func:`decay_factors` of 0 .. steps - 1 steps, computed here by Python's math: the C
    library functions the kernels call, so an equation looking a factor up gets the bits it would compute
    (the exponentials are the costliest part of a synapse's visit)."""
    table = np.array([decay_factors(e, k) for e in range(steps)], dtype=np.float64)
    return table.reshape(steps, len(DECAY_COLUMNS))


@register_jitable
def decayed(e, rate, decay, column):
    """exp(−e·rate), from column ``column`` of the rule's :func:`decay_table` ``decay`` (of that rate) if e < its
    length."""
    return decay[e, column] if e < decay.shape[0] else math.exp(-(e * rate))


@register_jitable
def trace_at(x, since, t, rate, decay, column):
    """A trace last changed at step ``since``, at step t: x·exp(−(t − since)·dt/tau) (``rate`` = dt/tau, its
    factors in column ``column`` of ``decay``)."""
    return x * decayed(t - since, rate, decay, column)


@register_jitable
def bump(x, since, t, rate, nearest, decay, column):
    """The trace at step t just after a spike: decayed + 1, or 1 with nearest-spike pairing."""
    if nearest != 0.0:
        return 1.0
    return x * decayed(t - since, rate, decay, column) + 1.0


@register_jitable
def dopamine_at(n, since, t, spikes, k):
    """Dopamine at step t after ``spikes`` dopamine spikes there: decayed + spikes/tau_n."""
    return n * math.exp(-((t - since) * k[RATE_N])) + spikes / k[TAU_N]


@register_jitable
def catch_up(w, c, since, n, n_since, t, k, decay):
    """An R-STDP synapse (weight w, eligibility c, both at step ``since``) at step t, given dopamine n at step
    ``n_since`` <= since and no dopamine spike in between:

    w(t) = w − c·(n₀/r·expm1(−r·T) − b·tau_c·expm1(−T/tau_c)),  c(t) = c·exp(−T/tau_c),

    with T = (t − since)·dt, n₀ the dopamine at ``since`` and r = 1/tau_c + 1/tau_n;
    w clipped to [w_min, w_max]. An STDP synapse is returned unchanged. ``decay``: the rule's
    :func:`decay_table`.
    """
    e = t - since
    if k[RSTDP_] == 0.0 or e == 0:
        return w, c
    n0 = trace_at(n, n_since, since, k[RATE_N], decay, DOPAMINE)
    if e < decay.shape[0]:
        expm1_r, expm1_c, exp_c = decay[e, EXPM1_R], decay[e, EXPM1_C], decay[e, EXP_C]
    else:
        expm1_r, expm1_c, exp_c = decay_factors(e, k)[EXPM1_R:]
    w = w - c * (n0 * k[INV_R] * expm1_r - k[B] * k[TAU_C] * expm1_c)
    return min(max(w, k[W_MIN]), k[W_MAX]), c * exp_c


@register_jitable
def on_arrival(w, c, x_post, k):
    """Depression when a presynaptic spike arrives: (w, c) after pairing with the postsynaptic trace."""
    if k[RSTDP_] != 0.0:
        return w, c - k[A_MINUS] * x_post
    f = (w - k[W_MIN]) / (k[W_MAX] - k[W_MIN]) if k[SOFT] != 0.0 else 1.0
    return min(max(w - k[A_MINUS] * x_post * f, k[W_MIN]), k[W_MAX]), c


@register_jitable
def on_post_spike(w, c, x_pre, k):
    """Potentiation when the postsynaptic neuron spikes: (w, c) after pairing with the presynaptic trace."""
    if k[RSTDP_] != 0.0:
        return w, c + k[A_PLUS] * x_pre
    f = (k[W_MAX] - w) / (k[W_MAX] - k[W_MIN]) if k[SOFT] != 0.0 else 1.0
    return min(max(w + k[A_PLUS] * x_pre * f, k[W_MIN]), k[W_MAX]), c
