"""Neuron models: immutable, self-validating parameter sets.

Units throughout: time in ms, potentials in mV, synaptic and injected
currents in mV (the product R·I of membrane resistance and current, as in
Brian2's CUBA example), conductances relative to the leak conductance
(dimensionless), rates in Hz.

A model does not step itself. It hands the backends a coefficient vector
(``coefficients(dt)``: the exact propagators of its linear ODE for one step)
and says which row of the state matrix holds each of its variables (see
``eventsnn.kernels.layout``). The NumPy backend documents the update each
model code performs; the Numba kernels do the same arithmetic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ._validation import check_choice, check_finite, check_nonnegative, check_positive
from .kernels import layout as L

RESETS = ("hard", "subtract")


def refractory_steps(t_ref: float, dt: float) -> int:
    """Number of steps a neuron stays clamped after a spike: round(t_ref / dt)."""
    return int(round(t_ref / dt))


def exp_decay(dt: float, tau: float) -> float:
    """Exact one-step decay factor exp(-dt/tau) of dx/dt = -x/tau."""
    return math.exp(-dt / tau)


def current_to_leaky_membrane(dt: float, tau_m: float, tau_s: float) -> float:
    """Exact one-step contribution of an exponential current to a leaky membrane.

    For dv/dt = (-v + I)/tau_m, dI/dt = -I/tau_s and v(0) = 0, I(0) = 1:
    v(dt) = tau_s/(tau_s - tau_m) · (exp(-dt/tau_s) - exp(-dt/tau_m)).
    Written as exp(-dt/tau_m)·(dt/tau_m)·expm1(x)/x with
    x = dt·(tau_s - tau_m)/(tau_m·tau_s), which stays accurate as tau_s -> tau_m.
    """
    x = dt * (tau_s - tau_m) / (tau_m * tau_s)
    ratio = 1.0 if x == 0.0 else math.expm1(x) / x
    return math.exp(-dt / tau_m) * (dt / tau_m) * ratio


def current_to_perfect_membrane(dt: float, tau_m: float, tau_s: float) -> float:
    """Exact one-step contribution of an exponential current to dv/dt = I/tau_m:
    v(dt) = (tau_s/tau_m)·(1 - exp(-dt/tau_s))."""
    return -(tau_s / tau_m) * math.expm1(-dt / tau_s)


class NeuronModel:
    """What every population model provides to a network.

    ``code`` selects the kernel branch, ``variables`` maps user-facing names to
    state rows, ``targets`` maps the names a projection may drive to rows.
    """

    code: ClassVar[int]
    variables: ClassVar[dict[str, int]]
    targets: ClassVar[dict[str, int]] = {}

    def coefficients(self, dt: float) -> np.ndarray:
        """Coefficient vector (length ``layout.N_COEF``) for time step ``dt`` (ms)."""
        return np.zeros(L.N_COEF)

    def initial_state(self, n: int) -> np.ndarray:
        """State matrix block of shape (N_ROWS, n) at rest."""
        return np.zeros((L.N_ROWS, n))

    def check_size(self, n: int) -> None:
        """Raise ValueError if a population of ``n`` neurons cannot hold this model."""

    def _check_fields(self, positive: tuple = (), finite: tuple = (), nonnegative: tuple = ()) -> None:
        """Validate the named fields (ValueError naming the field and value)."""
        for name in positive:
            check_positive(name, getattr(self, name))
        for name in finite:
            check_finite(name, getattr(self, name))
        for name in nonnegative:
            check_nonnegative(name, getattr(self, name))
        if hasattr(self, "reset"):
            check_choice("reset", self.reset, RESETS)


@dataclass(frozen=True)
class _CurrentBased(NeuronModel):
    """Shared fields of the current-based integrate-and-fire family."""

    tau_m: float = 20.0
    tau_e: float = 5.0
    tau_i: float = 10.0
    v_th: float = -50.0
    v_reset: float = -65.0
    t_ref: float = 0.0
    reset: str = "hard"

    code: ClassVar[int] = L.CODE_LIF
    variables: ClassVar[dict[str, int]] = {"v": L.ROW_V, "I_e": L.ROW_E, "I_i": L.ROW_I, "I_ext": L.ROW_X}
    targets: ClassVar[dict[str, int]] = {"exc": L.ROW_E, "inh": L.ROW_I, "I_e": L.ROW_E, "I_i": L.ROW_I, "v": L.ROW_V}

    def __post_init__(self) -> None:
        self._check_fields(positive=("tau_m", "tau_e", "tau_i"), finite=("v_th", "v_reset"), nonnegative=("t_ref",))

    def _membrane(self, dt: float) -> tuple[float, float, float, float, float]:
        """(c_v, c_0, c_x, p_e, p_i): v' = c_v·v + c_0 + c_x·I_ext + p_e·I_e + p_i·I_i."""
        raise NotImplementedError

    def _adaptation(self, dt: float) -> tuple[float, float]:
        """(decay of a per step, beta in mV per unit of a); no adaptation by default."""
        return 1.0, 0.0

    def coefficients(self, dt: float) -> np.ndarray:
        c = np.zeros(L.N_COEF)
        c[L.LIF_CV], c[L.LIF_C0], c[L.LIF_CX], c[L.LIF_PE], c[L.LIF_PI] = self._membrane(dt)
        c[L.LIF_AE] = exp_decay(dt, self.tau_e)
        c[L.LIF_AI] = exp_decay(dt, self.tau_i)
        c[L.LIF_AA], c[L.LIF_BETA] = self._adaptation(dt)
        c[L.LIF_VTH] = self.v_th
        c[L.LIF_VRESET] = self.v_reset
        c[L.LIF_NREF] = refractory_steps(self.t_ref, dt)
        c[L.LIF_SUBTRACT] = self.reset == "subtract"
        return c


@dataclass(frozen=True)
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

    v_rest: float = -65.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_fields(finite=("v_rest",))

    def _membrane(self, dt: float) -> tuple[float, float, float, float, float]:
        a_m = exp_decay(dt, self.tau_m)
        return (
            a_m,
            self.v_rest * (1.0 - a_m),
            1.0 - a_m,
            current_to_leaky_membrane(dt, self.tau_m, self.tau_e),
            current_to_leaky_membrane(dt, self.tau_m, self.tau_i),
        )

    def initial_state(self, n: int) -> np.ndarray:
        s = np.zeros((L.N_ROWS, n))
        s[L.ROW_V] = self.v_rest
        return s


@dataclass(frozen=True)
class IF(_CurrentBased):
    r"""Non-leaky (perfect) integrate-and-fire neuron with exponential current synapses.

    .. math::
        \tau_m \frac{dv}{dt} = I_e + I_i + I_{ext}

    ``tau_m`` (ms) sets how fast a current of 1 mV charges the membrane.
    Threshold, reset, refractoriness and synapses as in :class:`LIF`; the
    membrane starts at v_reset.
    """

    def _membrane(self, dt: float) -> tuple[float, float, float, float, float]:
        return (
            1.0,
            0.0,
            dt / self.tau_m,
            current_to_perfect_membrane(dt, self.tau_m, self.tau_e),
            current_to_perfect_membrane(dt, self.tau_m, self.tau_i),
        )

    def initial_state(self, n: int) -> np.ndarray:
        s = np.zeros((L.N_ROWS, n))
        s[L.ROW_V] = self.v_reset
        return s


@dataclass(frozen=True)
class ALIF(LIF):
    r"""Adaptive LIF: the threshold rises with each spike and relaxes back.

    .. math::
        \theta = v_{th} + \beta a, \quad \tau_a \frac{da}{dt} = -a, \quad
        a \leftarrow a + 1 \text{ at each spike}

    ``beta`` in mV, ``tau_a`` in ms; the membrane is that of :class:`LIF`.
    A subtractive reset lowers v by (theta - v_reset).
    """

    tau_a: float = 200.0
    beta: float = 1.6

    variables: ClassVar[dict[str, int]] = {**_CurrentBased.variables, "a": L.ROW_A}

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_fields(positive=("tau_a",), finite=("beta",))

    def _adaptation(self, dt: float) -> tuple[float, float]:
        return exp_decay(dt, self.tau_a), self.beta


@dataclass(frozen=True)
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

    tau_m: float = 20.0
    tau_e: float = 5.0
    tau_i: float = 10.0
    v_rest: float = -60.0
    E_e: float = 0.0
    E_i: float = -80.0
    v_th: float = -50.0
    v_reset: float = -60.0
    t_ref: float = 0.0
    reset: str = "hard"

    code: ClassVar[int] = L.CODE_COBA
    variables: ClassVar[dict[str, int]] = {"v": L.ROW_V, "g_e": L.ROW_E, "g_i": L.ROW_I, "I_ext": L.ROW_X}
    targets: ClassVar[dict[str, int]] = {"exc": L.ROW_E, "inh": L.ROW_I, "g_e": L.ROW_E, "g_i": L.ROW_I, "v": L.ROW_V}

    def __post_init__(self) -> None:
        self._check_fields(positive=("tau_m", "tau_e", "tau_i"), finite=("v_rest", "E_e", "E_i", "v_th", "v_reset"),
                           nonnegative=("t_ref",))

    def coefficients(self, dt: float) -> np.ndarray:
        c = np.zeros(L.N_COEF)
        c[L.COBA_DT_TAU] = dt / self.tau_m
        c[L.COBA_EL], c[L.COBA_EE], c[L.COBA_EI] = self.v_rest, self.E_e, self.E_i
        c[L.COBA_AE] = exp_decay(dt, self.tau_e)
        c[L.COBA_AI] = exp_decay(dt, self.tau_i)
        c[L.COBA_VTH], c[L.COBA_VRESET] = self.v_th, self.v_reset
        c[L.COBA_NREF] = refractory_steps(self.t_ref, dt)
        c[L.COBA_SUBTRACT] = self.reset == "subtract"
        return c

    def initial_state(self, n: int) -> np.ndarray:
        s = np.zeros((L.N_ROWS, n))
        s[L.ROW_V] = self.v_rest
        return s


@dataclass(frozen=True)
class Izhikevich(NeuronModel):
    r"""Izhikevich (2003) neuron with exponential current synapses.

    .. math::
        \frac{dv}{dt} = 0.04 v^2 + 5 v + 140 - u + I, \quad
        \frac{du}{dt} = a (b v - u), \quad I = I_e + I_i + I_{ext}

    (v in mV, t in ms, I in mV/ms as in the original paper), forward Euler.
    When v >= v_peak: v <- c, u <- u + d. Defaults are the regular-spiking cell.
    """

    a: float = 0.02
    b: float = 0.2
    c: float = -65.0
    d: float = 8.0
    v_peak: float = 30.0
    tau_e: float = 5.0
    tau_i: float = 10.0

    code: ClassVar[int] = L.CODE_IZHIKEVICH
    variables: ClassVar[dict[str, int]] = {"v": L.ROW_V, "I_e": L.ROW_E, "I_i": L.ROW_I, "u": L.ROW_A, "I_ext": L.ROW_X}
    targets: ClassVar[dict[str, int]] = {"exc": L.ROW_E, "inh": L.ROW_I, "I_e": L.ROW_E, "I_i": L.ROW_I, "v": L.ROW_V}

    def __post_init__(self) -> None:
        self._check_fields(positive=("tau_e", "tau_i"), finite=("a", "b", "c", "d", "v_peak"))

    def coefficients(self, dt: float) -> np.ndarray:
        c = np.zeros(L.N_COEF)
        c[L.IZH_DT], c[L.IZH_A], c[L.IZH_B], c[L.IZH_C], c[L.IZH_D] = dt, self.a, self.b, self.c, self.d
        c[L.IZH_VPEAK] = self.v_peak
        c[L.IZH_AE] = exp_decay(dt, self.tau_e)
        c[L.IZH_AI] = exp_decay(dt, self.tau_i)
        return c

    def initial_state(self, n: int) -> np.ndarray:
        s = np.zeros((L.N_ROWS, n))
        s[L.ROW_V] = self.c
        s[L.ROW_A] = self.b * self.c
        return s
