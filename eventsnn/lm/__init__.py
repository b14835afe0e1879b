"""The spiking language model: tokenizer, data streams, model, metrics, training, generation, report.

- :mod:`.tokenizer`: characters (default) or byte-level BPE, plus ``<|endoftext|>``;
- :mod:`.data`: corpus, token stream, 90/10 split, contiguous training streams;
- :mod:`.model`: :class:`SpikingLM` (equations in its module docstring);
- :mod:`.metrics`: firing rates, sparsity, synaptic operations, memory share, validation loss;
- :mod:`.train`: :class:`Trainer`, whose checkpoint holds the whole run;
- :mod:`.generate`: sampling with carried state;
- :mod:`.report`: the ``eventsnn report`` table, JSON and plots.

See ``docs/language-model.md``.
"""
from .generate import generate, sample
from .metrics import Activity, Evaluation, evaluate
from .model import PRESETS, LMConfig, SpikingLM
from .report import build_report
from .tokenizer import EOT, BPETokenizer, CharTokenizer
from .train import TrainConfig, Trainer, load_trainer

__all__ = [
    "EOT", "PRESETS", "Activity", "BPETokenizer", "CharTokenizer", "Evaluation", "LMConfig", "SpikingLM",
    "TrainConfig", "Trainer", "build_report", "evaluate", "generate", "load_trainer", "sample",
]
