"""``LMConfig``: the shape and neuron settings of the spiking language model, and its presets.

A checkpoint stores the configuration as ``/config/model``; training,
inference and the topology (:mod:`.topology`) are all built from it. This
module imports no autodiff, so inference can read it without the training
stack.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .._validation import check_choice, check_finite, check_int, check_positive

# The checkpoint kind of a training run (:mod:`.train`). Its /config/model is an LMConfig and its
# /parameters are the model's state_dict, which inference reads without importing the training code.
TRAINER_KIND = "eventsnn.lm.Trainer"

SURROGATE_NAMES = ("fast_sigmoid", "atan", "sigmoid", "triangle")

PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(d_embed=64, hidden=256, n_layers=2, memory=128, readout=256),
    "small": dict(d_embed=192, hidden=512, n_layers=3, memory=256, readout=384),
    "base": dict(d_embed=384, hidden=1024, n_layers=4, memory=512, readout=768, steps_per_token=2),
}


@dataclass(frozen=True)
class LMConfig:
    """Shape and neuron settings of a :class:`~eventsnn.lm.model.SpikingLM` (JSON-able, stored in checkpoints)."""

    vocab_size: int
    d_embed: int = 64
    hidden: int = 256  # neurons per block
    n_layers: int = 2
    memory: int = 128  # neurons of the persistent-memory population
    readout: int = 256  # width of the readout before the head
    steps_per_token: int = 1
    neuron: str = "lif"  # "lif" or "alif"
    threshold: float = 1.0
    beta_min: float = 0.5  # block betas start spread evenly over [beta_min, beta_max]
    beta_max: float = 0.95
    memory_beta: float = 0.98
    rho: float = 0.97  # ALIF adaptation decay
    gamma: float = 0.2  # ALIF threshold increase per spike
    surrogate: str = "fast_sigmoid"
    slope: float = 5.0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "d_embed", "hidden", "n_layers", "memory", "readout", "steps_per_token"):
            check_int(name, getattr(self, name), 2 if name == "vocab_size" else 1)
        check_choice("neuron", self.neuron, ("lif", "alif"))
        check_choice("surrogate", self.surrogate, SURROGATE_NAMES)
        for name in ("threshold", "slope", "gamma"):
            check_positive(name, getattr(self, name))
        for name in ("beta_min", "beta_max", "memory_beta", "rho"):
            value = check_finite(name, getattr(self, name))
            if not 0 < value < 1:
                raise ValueError(f"{name} must lie in (0, 1), got {value!r}")
        if self.beta_min > self.beta_max:
            raise ValueError(f"beta_min must be <= beta_max, got {self.beta_min!r} > {self.beta_max!r}")

    @classmethod
    def preset(cls, name: str, vocab_size: int, **overrides: Any) -> "LMConfig":
        """The named preset (``tiny``, ``small``, ``base``) with ``overrides``."""
        check_choice("preset", name, tuple(PRESETS))
        return cls(vocab_size=vocab_size, **{**PRESETS[name], **overrides})

    @property
    def adaptation(self) -> tuple[float, float]:
        """(rho, gamma) of every population: the ALIF adaptation, or (0, 0) for LIF."""
        return (self.rho, self.gamma) if self.neuron == "alif" else (0.0, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
