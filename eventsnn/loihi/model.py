r"""Lava's bit-accurate LIF as a neuron model of the simulator: Loihi networks on eventsnn's backends.

:class:`LoihiLIF` runs the integer arithmetic of :mod:`.fixed_point`
(``PyLifModelBitAcc`` of lava-nc 0.10) inside ``eventsnn.Network``, so a
Loihi network is built from ordinary populations and (sparse or dense)
projections, monitored, checkpointed and run on both CPU backends. Per step,
with A the sum of what the projections delivered since the last step::

    a <- wrap32(floor(A))
    u <- wrap24(decay(u, du + 1) + wrap32(a << 6))
    v <- clip24(wrap32(decay(v, dv) + u + (bias_mant << bias_exp)))
    spike where v > vth << 6, then v <- 0

(:mod:`.fixed_point` defines decay, wrap24, clip24 and cites Lava's source.)

State is stored in the simulator's float64 arrays: u and v hold integers
below 2**37 in magnitude, which float64 holds exactly, so the products,
truncating shifts, wraps and saturations below are exact integer arithmetic.
A projection onto a LoihiLIF drives ``a_in`` with weights ``w·2**weight_exp``
(w: Lava's truncated 8-bit weight), so ``a_in`` holds a sum of dyadic
numbers, also exact, and ``floor`` applies Lava's arithmetic shift for a
negative exponent. That equals Lava's Dense, which shifts each Dense's sum,
when at most one projection with a negative exponent drives a population
(a chain, as :func:`~eventsnn.loihi.quantize.network_from_layers` builds);
with two, floor(a + b) may exceed floor(a) + floor(b) by one. A projection
with delay 0 reproduces Lava's one-step Dense delay: a spike of step t is
added after the update of step t and reaches u in step t + 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba.extending import register_jitable

from ..neuron_model import NeuronModel, Variable, parameter, require
from .fixed_point import (ACT_SHIFT, BIAS_EXP_BITS, BIAS_MANT_BITS, DECAY_BITS, DECAY_UNITY, DM_OFFSET, DS_OFFSET,
                          INT32_MIN, MAX_UV, VTH_BITS, VTH_SHIFT)

_TWO32 = 4294967296.0  # 2**32


@register_jitable
def wrap32(x):
    """x (an integer in a float) as int32 arithmetic leaves it: wrapped into [-2**31, 2**31)."""
    return (x - INT32_MIN) % _TWO32 + INT32_MIN


@register_jitable
def decay(x, d):
    """x·(4096 - d)/4096 rounded toward zero (Lava: sign(p)·(|p| >> 12); dividing by 4096 is exact)."""
    return float(math.trunc(x * (DECAY_UNITY - d) / DECAY_UNITY))


def _integers(name: str, value, lo: int, hi: int, what: str) -> None:
    arr = np.asarray(value, dtype=np.float64)
    require(name, (arr == np.round(arr)) & (arr >= lo) & (arr <= hi), f"must be {what}, an integer in [{lo}, {hi}]",
            value)


@dataclass(frozen=True, eq=False)
class LoihiLIF(NeuronModel):
    """Lava's LIF with bit-accurate fixed-point dynamics (defaults: Lava's ``LIF`` defaults).

    du, dv: current and voltage decays, unsigned 12-bit; vth: threshold mantissa, unsigned 17-bit
    (the neuron spikes when v > vth·64); bias_mant: signed 13-bit, bias_exp: unsigned 3-bit (the bias
    added to v each step is bias_mant·2**bias_exp). bias_mant and bias_exp may be per-neuron arrays.
    Units are Loihi's integers; one step is one Loihi time step, whatever the network's dt.
    """

    du: float = parameter(0.0, "1/4096 per step")
    dv: float = parameter(0.0, "1/4096 per step")
    vth: float = parameter(10.0, "v units / 64")
    bias_mant: float = parameter(0.0, "v units")
    bias_exp: float = parameter(0.0, "bits")

    variables: ClassVar = (Variable("u", "integer"), Variable("v", "integer"), Variable("a_in", "integer"))
    targets: ClassVar = {"exc": "a_in", "inh": "a_in", "a_in": "a_in"}

    def check(self) -> None:
        decay_max = (1 << DECAY_BITS) - 1
        _integers("du", self.du, 0, decay_max, "unsigned 12-bit")
        _integers("dv", self.dv, 0, decay_max, "unsigned 12-bit")
        _integers("vth", self.vth, 0, (1 << VTH_BITS) - 1, "unsigned 17-bit")
        half = 1 << (BIAS_MANT_BITS - 1)
        _integers("bias_mant", self.bias_mant, -half, half - 1, "signed 13-bit")
        _integers("bias_exp", self.bias_exp, 0, (1 << BIAS_EXP_BITS) - 1, "unsigned 3-bit")
        for name in ("du", "dv", "vth"):
            require(name, np.ndim(getattr(self, name)) == 0, "must be one number for the population",
                    getattr(self, name))

    def constants(self, dt: float) -> dict:
        bias = np.asarray(self.bias_mant) * np.exp2(self.bias_exp)
        return {"du": self.du + DS_OFFSET, "dv": self.dv + DM_OFFSET, "vth_eff": self.vth * (1 << VTH_SHIFT),
                "bias": float(bias) if bias.ndim == 0 else bias}

    def check_state(self, state: np.ndarray, dt: float) -> None:
        u, v = state[0], state[1]
        require("u", (u == np.round(u)) & (u > -MAX_UV) & (u <= MAX_UV), "must hold 24-bit integers", u)
        require("v", (v == np.round(v)) & (np.abs(v) < MAX_UV), "must hold 24-bit integers", v)

    @staticmethod
    def update(u, v, a_in, du, dv, bias):
        a = wrap32(float(math.floor(a_in)))
        u = wrap32(decay(u, du) + wrap32(a * (1 << ACT_SHIFT)))
        if u > MAX_UV:
            u -= 2 * MAX_UV
        elif u <= -MAX_UV:
            u += 2 * MAX_UV
        v = wrap32(decay(v, dv) + u + bias)
        return u, min(max(v, -MAX_UV + 1.0), MAX_UV - 1.0), 0.0

    @staticmethod
    def threshold(v, vth_eff):
        return v > vth_eff

    @staticmethod
    def after_spike(u, v, a_in):
        return u, 0.0, a_in

