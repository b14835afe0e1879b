"""Loihi 2 as Lava simulates it: a bit-exact fixed-point model of lava-nc 0.10's LIF and Dense.

- :mod:`.fixed_point`: the NumPy reference (``lif_step``, ``dense_step``,
  ``run_layers``), its integer semantics and the Lava source lines each
  constant mirrors; :mod:`eventsnn.kernels.loihi` is its Numba twin.
- :mod:`.model`: :class:`LoihiLIF`, the same arithmetic as a neuron model
  of the simulator (any projections, both backends, checkpoints).
- :mod:`.quantize`: float weights to Lava's integers; a chain as a Network.
- :mod:`.convert`: a float LIF/IF network as a Loihi network (``to_loihi``),
  and how far their spikes agree (``spike_agreement``).

Lava itself is never imported here; ``scripts/install_lava.py`` installs it
for the parity tests (``docs/loihi.md``). The names below load their module
on first use.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fixed_point import (DenseParams, LayerTrace, LIFParams, LIFState, SignMode, clip_weights, dense_step,
                              lif_step, run_layers)
    from .model import LoihiLIF
    from .convert import spike_agreement, to_loihi
    from .quantize import effective_weights, network_from_layers, quantize_weights

_MODULE_OF = {name: "fixed_point" for name in (
    "DenseParams", "LayerTrace", "LIFParams", "LIFState", "SignMode", "clip_weights", "dense_step", "lif_step",
    "run_layers")}
_MODULE_OF.update(LoihiLIF="model", quantize_weights="quantize", effective_weights="quantize",
                  network_from_layers="quantize", to_loihi="convert", spike_agreement="convert")

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use (PEP 562)."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
