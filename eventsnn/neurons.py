"""The built-in neuron models, each declared as a user would declare one (see ``eventsnn.neuron_model``).

Units: time in ms, potentials in mV; for the LIF family synaptic and injected
currents in mV (the product R·I, as in Brian2's CUBA example) and
conductances relative to the leak (dimensionless); for AdEx currents in pA,
capacitance in pF and conductances in nS. Parameters are numbers or per-neuron
arrays. Adding a model means adding a class here (or anywhere else).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from .neuron_model import NeuronModel, Variable, choice, elementwise, exp, expm1, parameter, refractory_steps, require

RESETS = ("hard", "subtract")


def current_to_leaky_membrane(dt: float, tau_m, tau_s):
    """Exact one-step contribution of an exponential current to a leaky membrane.

    For dv/dt = (-v + I)/tau_m, dI/dt = -I/tau_s and v(0) = 0, I(0) = 1:
    v(dt) = tau_s/(tau_s - tau_m) · (exp(-dt/tau_s) - exp(-dt/tau_m)).
    Written as exp(-dt/tau_m)·(dt/tau_m)·expm1(x)/x with
    x = dt·(tau_s - tau_m)/(tau_m·tau_s), which stays accurate as tau_s -> tau_m.
    """
    def one(tau_m: float, tau_s: float) -> float:
        x = dt * (tau_s - tau_m) / (tau_m * tau_s)
        ratio = 1.0 if x == 0.0 else math.expm1(x) / x
        return math.exp(-dt / tau_m) * (dt / tau_m) * ratio

    return elementwise(one, tau_m, tau_s)


def current_to_perfect_membrane(dt: float, tau_m, tau_s):
    """Exact one-step contribution of an exponential current to dv/dt = I/tau_m:
    v(dt) = (tau_s/tau_m)·(1 - exp(-dt/tau_s))."""
    return -(tau_s / tau_m) * expm1(-dt / tau_s)


@dataclass(frozen=True, eq=False)
class _CurrentBased(NeuronModel):
    """Shared part of the current-based integrate-and-fire family (LIF, IF, ALIF)."""

    tau_m: float = parameter(20.0, "ms", positive=True)
    tau_e: float = parameter(5.0, "ms", positive=True)
    tau_i: float = parameter(10.0, "ms", positive=True)
    v_th: float = parameter(-50.0, "mV")
    v_reset: float = parameter(-65.0, "mV")
    t_ref: float = parameter(0.0, "ms", nonnegative=True)
    reset: str = choice("hard", RESETS)

    variables: ClassVar = (Variable("v", "mV", "v_reset"), Variable("I_e", "mV"), Variable("I_i", "mV"),
                           Variable("I_ext", "mV"))
    targets: ClassVar = {"exc": "I_e", "inh": "I_i", "I_e": "I_e", "I_i": "I_i", "v": "v"}
    clamped: ClassVar = ("v",)

    def check(self) -> None:
        require("v_reset", self.v_reset < self.v_th, f"must be below v_th = {self.v_th} mV (or the neuron "
                "fires every step)", self.v_reset)

    def _membrane(self, dt: float) -> dict:
        """cv, c0, cx, pe, pi of v' = cv·v + c0 + cx·I_ext + pe·I_e + pi·I_i."""
        raise NotImplementedError

    def constants(self, dt: float) -> dict:
        return {**self._membrane(dt), "ae": exp(-dt / self.tau_e), "ai": exp(-dt / self.tau_i),
                "v_th": self.v_th, "v_reset": self.v_reset, "n_ref": refractory_steps(self.t_ref, dt),
                "subtract": float(self.reset == "subtract")}

    @staticmethod
    def update(v, I_e, I_i, I_ext, cv, c0, cx, pe, pi, ae, ai):
        return cv * v + c0 + cx * I_ext + pe * I_e + pi * I_i, I_e * ae, I_i * ai, I_ext

    @staticmethod
    def threshold(v, v_th):
        return v >= v_th

    @staticmethod
    def after_spike(v, I_e, I_i, I_ext, v_th, v_reset, subtract):
        return (v - (v_th - v_reset) if subtract else v_reset), I_e, I_i, I_ext


@dataclass(frozen=True, eq=False)
class LIF(_CurrentBased):
    r"""Leaky integrate-and-fire neuron with exponential current synapses.

    .. math::
        \tau_m \frac{dv}{dt} = (v_{rest} - v) + I_e + I_i + I_{ext}, \quad
        \tau_e \frac{dI_e}{dt} = -I_e, \quad \tau_i \frac{dI_i}{dt} = -I_i

    (ms, mV). Integrated exactly over each step with I_ext held constant.
    When v >= v_th the neuron spikes; ``reset="hard"`` sets v = v_reset,
    ``reset="subtract"`` lowers v by (v_th - v_reset). Refractoriness, as in
    Brian2: with n_ref = round(t_ref/dt), spikes are at least n_ref steps
    apart and v is not integrated in the n_ref - 1 steps between (synaptic
    currents keep decaying; input to v still adds). Incoming spikes add
    their weight (mV) to I_e, I_i or v.
    """

    v_rest: float = parameter(-65.0, "mV")

    variables: ClassVar = (Variable("v", "mV", "v_rest"),) + _CurrentBased.variables[1:]

    def _membrane(self, dt: float) -> dict:
        a_m = exp(-dt / self.tau_m)
        return {"cv": a_m, "c0": self.v_rest * (1.0 - a_m), "cx": 1.0 - a_m,
                "pe": current_to_leaky_membrane(dt, self.tau_m, self.tau_e),
                "pi": current_to_leaky_membrane(dt, self.tau_m, self.tau_i)}


@dataclass(frozen=True, eq=False)
class IF(_CurrentBased):
    r"""Non-leaky (perfect) integrate-and-fire neuron with exponential current synapses.

    .. math::
        \tau_m \frac{dv}{dt} = I_e + I_i + I_{ext}

    ``tau_m`` (ms) sets how fast a current of 1 mV charges the membrane.
    Threshold, reset, refractoriness and synapses as in :class:`LIF`; the
    membrane starts at v_reset.
    """

    def _membrane(self, dt: float) -> dict:
        return {"cv": 1.0, "c0": 0.0, "cx": dt / self.tau_m,
                "pe": current_to_perfect_membrane(dt, self.tau_m, self.tau_e),
                "pi": current_to_perfect_membrane(dt, self.tau_m, self.tau_i)}


@dataclass(frozen=True, eq=False)
class ALIF(LIF):
    r"""Adaptive LIF: the threshold rises with each spike and relaxes back.

    .. math::
        \theta = v_{th} + \beta a, \quad \tau_a \frac{da}{dt} = -a, \quad
        a \leftarrow a + 1 \text{ at each spike}

    ``beta`` in mV, ``tau_a`` in ms; the membrane is that of :class:`LIF`.
    A subtractive reset lowers v by (theta - v_reset).
    """

    tau_a: float = parameter(200.0, "ms", positive=True)
    beta: float = parameter(1.6, "mV")

    variables: ClassVar = LIF.variables[:3] + (Variable("a", "1"),) + LIF.variables[3:]

    def constants(self, dt: float) -> dict:
        return {**super().constants(dt), "aa": exp(-dt / self.tau_a), "beta": self.beta}

    @staticmethod
    def update(v, I_e, I_i, a, I_ext, cv, c0, cx, pe, pi, ae, ai, aa):
        return cv * v + c0 + cx * I_ext + pe * I_e + pi * I_i, I_e * ae, I_i * ai, a * aa, I_ext

    @staticmethod
    def threshold(v, a, v_th, beta):
        return v >= v_th + beta * a

    @staticmethod
    def after_spike(v, I_e, I_i, a, I_ext, v_th, v_reset, beta, subtract):
        theta = v_th + beta * a
        return (v - (theta - v_reset) if subtract else v_reset), I_e, I_i, a + 1.0, I_ext


@dataclass(frozen=True, eq=False)
class CondLIF(NeuronModel):
    r"""Conductance-based LIF (the COBA model of Brette et al. 2007).

    .. math::
        \tau_m \frac{dv}{dt} = (E_L - v) + g_e (E_e - v) + g_i (E_i - v) + I_{ext},
        \quad \tau_e \frac{dg_e}{dt} = -g_e, \quad \tau_i \frac{dg_i}{dt} = -g_i

    Conductances are relative to the leak conductance (dimensionless); an
    incoming spike adds its weight to g_e or g_i. v is advanced by exponential
    Euler with the conductances of the step's start (exact for constant g):
    g = 1 + g_e + g_i, v_inf = (E_L + g_e E_e + g_i E_i + I_ext)/g,
    v <- v_inf + (v - v_inf)·exp(-g·dt/tau_m). Threshold, reset and
    refractoriness as in :class:`LIF`.
    """

    tau_m: float = parameter(20.0, "ms", positive=True)
    tau_e: float = parameter(5.0, "ms", positive=True)
    tau_i: float = parameter(10.0, "ms", positive=True)
    v_rest: float = parameter(-60.0, "mV")
    E_e: float = parameter(0.0, "mV")
    E_i: float = parameter(-80.0, "mV")
    v_th: float = parameter(-50.0, "mV")
    v_reset: float = parameter(-60.0, "mV")
    t_ref: float = parameter(0.0, "ms", nonnegative=True)
    reset: str = choice("hard", RESETS)

    variables: ClassVar = (Variable("v", "mV", "v_rest"), Variable("g_e", "1"), Variable("g_i", "1"),
                           Variable("I_ext", "mV"))
    targets: ClassVar = {"exc": "g_e", "inh": "g_i", "g_e": "g_e", "g_i": "g_i", "v": "v"}
    clamped: ClassVar = ("v",)

    check = _CurrentBased.check

    def constants(self, dt: float) -> dict:
        return {"dt_tau": dt / self.tau_m, "E_L": self.v_rest, "E_e": self.E_e, "E_i": self.E_i,
                "ae": exp(-dt / self.tau_e), "ai": exp(-dt / self.tau_i), "v_th": self.v_th,
                "v_reset": self.v_reset, "n_ref": refractory_steps(self.t_ref, dt),
                "subtract": float(self.reset == "subtract")}

    @staticmethod
    def update(v, g_e, g_i, I_ext, dt_tau, E_L, E_e, E_i, ae, ai):
        g = 1.0 + g_e + g_i
        v_inf = (E_L + g_e * E_e + g_i * E_i + I_ext) / g
        return v_inf + (v - v_inf) * math.exp(-g * dt_tau), g_e * ae, g_i * ai, I_ext

    threshold = staticmethod(_CurrentBased.threshold)

    @staticmethod
    def after_spike(v, g_e, g_i, I_ext, v_th, v_reset, subtract):
        return (v - (v_th - v_reset) if subtract else v_reset), g_e, g_i, I_ext


@dataclass(frozen=True, eq=False)
class Izhikevich(NeuronModel):
    r"""Izhikevich (2003) neuron with exponential current synapses.

    .. math::
        \frac{dv}{dt} = 0.04 v^2 + 5 v + 140 - u + I, \quad
        \frac{du}{dt} = a (b v - u), \quad I = I_e + I_i + I_{ext}

    (v in mV, t in ms, I in mV/ms as in the original paper), forward Euler.
    When v >= v_peak: v <- c, u <- u + d. Defaults are the regular-spiking cell.
    """

    a: float = parameter(0.02, "1/ms")
    b: float = parameter(0.2, "1/ms")
    c: float = parameter(-65.0, "mV")
    d: float = parameter(8.0, "mV/ms")
    v_peak: float = parameter(30.0, "mV")
    tau_e: float = parameter(5.0, "ms", positive=True)
    tau_i: float = parameter(10.0, "ms", positive=True)

    variables: ClassVar = (Variable("v", "mV", "c"), Variable("I_e", "mV/ms"), Variable("I_i", "mV/ms"),
                           Variable("u", "mV/ms"), Variable("I_ext", "mV/ms"))
    targets: ClassVar = {"exc": "I_e", "inh": "I_i", "I_e": "I_e", "I_i": "I_i", "v": "v"}

    def check(self) -> None:
        require("c", self.c < self.v_peak, f"(the reset) must be below v_peak = {self.v_peak} mV", self.c)

    def initial_state(self, n: int):
        state = super().initial_state(n)
        state[3] = self.b * self.c  # u at rest
        return state

    def constants(self, dt: float) -> dict:
        return {"dt": dt, "a": self.a, "b": self.b, "c": self.c, "d": self.d, "v_peak": self.v_peak,
                "ae": exp(-dt / self.tau_e), "ai": exp(-dt / self.tau_i)}

    @staticmethod
    def update(v, I_e, I_i, u, I_ext, dt, a, b, ae, ai):
        current = I_e + I_i + I_ext
        dv = 0.04 * v * v + 5.0 * v + 140.0 - u + current
        du = a * (b * v - u)
        return v + dt * dv, I_e * ae, I_i * ai, u + dt * du, I_ext

    @staticmethod
    def threshold(v, v_peak):
        return v >= v_peak

    @staticmethod
    def after_spike(v, I_e, I_i, u, I_ext, c, d):
        return c, I_e, I_i, u + d, I_ext


@dataclass(frozen=True, eq=False)
class AdEx(NeuronModel):
    r"""Adaptive exponential integrate-and-fire neuron (Brette & Gerstner 2005).

    .. math::
        C \frac{dv}{dt} = -g_L (v - E_L) + g_L \Delta_T e^{(v - V_T)/\Delta_T} - w + I_e + I_i + I_{ext},
        \quad \tau_w \frac{dw}{dt} = a (v - E_L) - w

    C in pF, g_L and a in nS, potentials in mV, tau_w in ms, w, b and the
    currents in pA (pA/pF = mV/ms). v and w advance by forward Euler (Brian2's
    ``method="euler"``); the synaptic currents decay exactly with tau_e and
    tau_i (ms). When v >= V_peak: v <- V_reset, w <- w + b, and v is clamped
    for t_ref as in :class:`LIF`. Incoming spikes add their weight in pA to
    I_e or I_i (targets ``"exc"``, ``"inh"``), in mV to v, or in pA to w.
    """

    C: float = parameter(281.0, "pF", positive=True)
    g_L: float = parameter(30.0, "nS", positive=True)
    E_L: float = parameter(-70.6, "mV")
    V_T: float = parameter(-50.4, "mV")
    Delta_T: float = parameter(2.0, "mV", positive=True)
    tau_w: float = parameter(144.0, "ms", positive=True)
    a: float = parameter(4.0, "nS")
    b: float = parameter(80.5, "pA")
    V_reset: float = parameter(-70.6, "mV")
    V_peak: float = parameter(20.0, "mV")
    t_ref: float = parameter(0.0, "ms", nonnegative=True)
    tau_e: float = parameter(5.0, "ms", positive=True)
    tau_i: float = parameter(10.0, "ms", positive=True)

    variables: ClassVar = (Variable("v", "mV", "E_L"), Variable("w", "pA"), Variable("I_e", "pA"),
                           Variable("I_i", "pA"), Variable("I_ext", "pA"))
    targets: ClassVar = {"exc": "I_e", "inh": "I_i", "I_e": "I_e", "I_i": "I_i", "v": "v", "w": "w"}
    clamped: ClassVar = ("v",)

    def check(self) -> None:
        require("V_reset", self.V_reset < self.V_peak, f"must be below V_peak = {self.V_peak} mV", self.V_reset)
        require("V_T", self.V_T < self.V_peak, f"must be below V_peak = {self.V_peak} mV", self.V_T)

    def constants(self, dt: float) -> dict:
        return {"dt_C": dt / self.C, "dt_tau_w": dt / self.tau_w, "g_L": self.g_L, "E_L": self.E_L,
                "V_T": self.V_T, "Delta_T": self.Delta_T, "a": self.a, "b": self.b, "V_reset": self.V_reset,
                "V_peak": self.V_peak, "ae": exp(-dt / self.tau_e), "ai": exp(-dt / self.tau_i),
                "n_ref": refractory_steps(self.t_ref, dt)}

    @staticmethod
    def update(v, w, I_e, I_i, I_ext, dt_C, dt_tau_w, g_L, E_L, V_T, Delta_T, a, ae, ai):
        # The exponent is capped so that a membrane pushed far above V_peak by an input gives a huge
        # but finite slope (and a spike) instead of an overflow.
        spike_current = g_L * Delta_T * math.exp(min((v - V_T) / Delta_T, 500.0))
        dv = -g_L * (v - E_L) + spike_current - w + I_e + I_i + I_ext
        dw = a * (v - E_L) - w
        return v + dt_C * dv, w + dt_tau_w * dw, I_e * ae, I_i * ai, I_ext

    @staticmethod
    def threshold(v, V_peak):
        return v >= V_peak

    @staticmethod
    def after_spike(v, w, I_e, I_i, I_ext, V_reset, b):
        return V_reset, w + b, I_e, I_i, I_ext
