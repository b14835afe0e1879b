"""From float weights and networks to Loihi's integers, and Loihi chains as simulator networks.

- :func:`quantize_weights`: float weights (in units of the activation a_in)
  to a Lava ``Dense``'s integers: one weight exponent per projection, chosen
  so that the largest weight fills the 8-bit range of its sign mode, weights
  rounded to the nearest value ``num_weight_bits`` can hold (Lava then keeps
  them unchanged).
- :func:`effective_weights`: what a Dense adds per spike, w·2**weight_exp,
  as a projection onto a :class:`~eventsnn.loihi.model.LoihiLIF` carries it.
- :func:`network_from_layers`: a chain source -> Dense -> LIF -> ... (what
  :func:`~eventsnn.loihi.fixed_point.run_layers` and Lava run) as an
  ``eventsnn.Network`` of LoihiLIF populations.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .._validation import check_array, check_int
from .fixed_point import (NUM_WEIGHT_BITS_RANGE, WEIGHT_BITS, WEIGHT_EXP_RANGE, WEIGHT_RANGE, DenseParams, LIFParams,
                          LIFState, SignMode, check_chain, check_dense_params, check_lif_params, resolve_sign_mode,
                          truncate_weights)
from .model import LoihiLIF


def quantize_weights(weights, num_weight_bits: int = 8) -> DenseParams:
    """Dense parameters whose effective weights w·2**weight_exp approximate ``weights`` [n_out, n_in].

    The exponent is the smallest that fits the largest |weight| into the sign mode's 8-bit range
    (within [-8, 7]); each weight is rounded to the nearest multiple of 2**(8 - num_weight_bits (+1 if
    mixed)), the precision Lava keeps. The error is at most half a step of that grid, or the clipping at
    the exponent limits.
    """
    w = check_array("weights", weights, ndim=2)
    bits = check_int("num_weight_bits", num_weight_bits, minimum=NUM_WEIGHT_BITS_RANGE[0])
    if bits > NUM_WEIGHT_BITS_RANGE[1]:
        raise ValueError(f"num_weight_bits must be <= {NUM_WEIGHT_BITS_RANGE[1]}, got {bits}")
    sign_mode = resolve_sign_mode(w, None)
    lo, hi = WEIGHT_RANGE[sign_mode]
    step = 1 << (WEIGHT_BITS - bits + (sign_mode == SignMode.MIXED))
    limit = {SignMode.EXCITATORY: hi, SignMode.INHIBITORY: -lo}.get(sign_mode, min(hi, -lo))
    top = limit - limit % step  # the largest magnitude a truncated weight keeps on both sides
    if top == 0:
        raise ValueError(f"num_weight_bits must be >= 2 for weights of both signs (one bit holds only the sign), "
                         f"got {bits}")
    peak = float(np.abs(w).max(initial=0.0))
    exp = WEIGHT_EXP_RANGE[0] if peak == 0.0 else math.ceil(math.log2(peak / top))
    exp = min(max(exp, WEIGHT_EXP_RANGE[0]), WEIGHT_EXP_RANGE[1])
    ints = np.clip(np.rint(w / 2.0 ** exp / step) * step, -top, top).astype(np.int64)
    return DenseParams(ints, exp, bits, sign_mode)


def effective_weights(params: DenseParams) -> np.ndarray:
    """The activation one spike of each input adds, w·2**weight_exp [n_out, n_in] (w as Lava truncates it)."""
    weights, exp, bits, sign_mode = check_dense_params(params)
    return truncate_weights(weights, sign_mode, bits) * 2.0 ** exp


def network_from_layers(inputs, layers: Sequence[tuple[DenseParams, LIFParams]],
                        states: Sequence[LIFState] | None = None, *, backend: str = "numba", monitor: bool = True):
    """The chain ``run_layers`` runs, as a Network: a SpikeGenerator for ``inputs`` [T, n_in] (row t fires at
    step t), then per layer a Dense projection (delay 0: Lava's one-step Dense delay) onto a LoihiLIF
    population starting from ``states`` (rest if None). Returns (network, populations, monitors): per layer
    a SpikeMonitor and StateMonitors of u and v (a sample at step t + 1 is the state after step t), when
    ``monitor``.
    """
    from ..inputs import SpikeGenerator
    from ..monitors import SpikeMonitor, StateMonitor
    from ..network import Network
    from ..population import Population
    from ..projections import Dense

    x, layers, states = check_chain(inputs, layers, states)
    steps, index = np.nonzero(x)
    source = Population(x.shape[1], SpikeGenerator(index, steps.astype(np.float64)), name="source")
    net = Network(source, dt=1.0, backend=backend)
    pops, monitors, pre = [], [], source
    for k, ((dense, lif), state) in enumerate(zip(layers, states)):
        weights = effective_weights(dense)
        _, _, _, bias_mant, bias_exp = check_lif_params(lif, weights.shape[0])
        pop = Population(weights.shape[0], LoihiLIF(du=lif.du, dv=lif.dv, vth=lif.vth, bias_mant=bias_mant,
                                                    bias_exp=bias_exp), name=f"lif{k}")
        pop["u"], pop["v"] = state.u, state.v
        net.add(pop, Dense(pre, pop, weights.T, target="a_in"))
        if monitor:
            monitors.append((SpikeMonitor(pop), StateMonitor(pop, "u"), StateMonitor(pop, "v")))
            net.add(*monitors[-1])
        pops.append(pop)
        pre = pop
    return net, pops, monitors
