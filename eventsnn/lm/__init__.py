"""The spiking language model: tokenizer, data streams, model, metrics, training, generation, report.

- :mod:`.tokenizer`: characters (default) or byte-level BPE, plus ``<|endoftext|>``;
- :mod:`.data`: corpus, token stream, 90/10 split, contiguous training streams;
- :mod:`.tokenfile`: the token stream written once, read by memory map (corpora larger than memory);
- :mod:`.config`: :class:`LMConfig` and the presets;
- :mod:`.topology`: the populations and projections, described once for every module below;
- :mod:`.model`: :class:`SpikingLM` (equations in its module docstring);
- :mod:`.metrics`: firing rates, sparsity, synaptic operations, memory share, validation loss;
- :mod:`.train`: :class:`Trainer`, whose checkpoint holds the whole run;
- :mod:`.parallel`: data-parallel training over MPI ranks;
- :mod:`.engine`: the event-driven and dense inference engines;
- :mod:`.generate`: sampling with carried state;
- :mod:`.report`: the ``eventsnn report`` table, JSON and plots.

The names below load their module on first use, so inference (``engine``,
``generate``) runs without importing the training code (``model``,
``train``, ``eventsnn.autodiff``, ``eventsnn.nn``). See ``docs/language-model.md``.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Bound now, not on first use: the submodule of the same name would otherwise replace the function as this
# package's ``generate`` once anything imports it (``eventsnn.lm.generate``). It loads no training code.
from .generate import generate, sample

if TYPE_CHECKING:
    from .config import PRESETS, LMConfig
    from .metrics import Activity, Evaluation, evaluate
    from .model import SpikingLM
    from .report import build_report
    from .tokenizer import EOT, BPETokenizer, CharTokenizer
    from .train import TrainConfig, Trainer, load_trainer

_MODULE_OF = {
    "PRESETS": "config", "LMConfig": "config", "Activity": "metrics", "Evaluation": "metrics", "evaluate": "metrics", "SpikingLM": "model",
    "build_report": "report", "EOT": "tokenizer", "BPETokenizer": "tokenizer", "CharTokenizer": "tokenizer",
    "TrainConfig": "train", "Trainer": "train", "load_trainer": "train",
}

__all__ = sorted([*_MODULE_OF, "generate", "sample"])


def __getattr__(name: str) -> Any:
    """Load the module that defines ``name`` on first use (PEP 562)."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
