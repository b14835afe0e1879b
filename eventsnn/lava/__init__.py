"""Hand-off to Lava: eventsnn's Loihi chains as Lava processes, run on Lava's bit-accurate CPU models.

A chain is source -> Dense -> LIF -> Dense -> LIF ... with the parameters
of :mod:`eventsnn.loihi.fixed_point`, the format ``run_layers`` takes.

- :func:`to_lava` builds its Lava process graph (``io.source.RingBuffer``
  input, ``Dense``, ``LIF``, ``io.sink.RingBuffer`` spikes, Monitors on u
  and v) and returns a :class:`LavaChain`; :func:`run_lava` runs it on
  ``Loihi2SimCfg(select_tag="fixed_pt")`` and returns run_layers' traces.
- :func:`run_in_subprocess` does that for many chains in a process of its
  own (importing Lava switches multiprocessing to "fork").
- ``python -m eventsnn.lava.check --cases N --steps T --seed S`` runs random
  chains in Lava and in eventsnn and counts those that agree bit for bit.

Lava is imported inside functions only: without it everything imports, and
building or running a chain raises ImportError naming
``scripts/install_lava.py`` (docs/loihi.md). Names load their module on
first use (PEP 562), so ``python -m eventsnn.lava.isolated`` runs cleanly.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .chain import Chain, check_chain, load_chains, load_traces, save_chains, save_traces
    from .isolated import run_in_subprocess
    from .process import LavaChain, require_lava, run_lava, to_lava

_MODULE_OF = {name: "chain" for name in ("Chain", "check_chain", "load_chains", "load_traces", "save_chains",
                                         "save_traces")}
_MODULE_OF.update(run_in_subprocess="isolated", LavaChain="process", require_lava="process", run_lava="process",
                  to_lava="process")

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use (PEP 562)."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
