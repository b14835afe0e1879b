"""The language model's topology, described once: its populations and projections.

:meth:`Topology.of` turns an :class:`~eventsnn.lm.config.LMConfig` into the
network that the rest of :mod:`eventsnn.lm` works from: the training model
(:mod:`.model`) finds its populations by the module names given here, the
metrics (:mod:`.metrics`) count neurons, fan-outs and MACs from it, the
inference export (:mod:`.engine`) folds, names and packs each projection's
weights by it, and both checkpoint kinds store their arrays under its names.
It imports no autodiff, so inference uses it without the training stack.

Populations, in the order they run within a sub-step: ``block.0``,
``memory``, ``block.1``, ..., ``block.(L-1)``. Projections, in the order
they are computed (a population's input current is the sum of the
projections into it, in this order), with their symbols in
``docs/language-model.md``:

    source      target    input         runs              symbol
    embedding   block.l   dense         once per token    E W_l + b_l  (the current is held for the K sub-steps)
    block.0     memory    spikes        every sub-step    M, b_m
    block.l-1   block.l   spikes        every sub-step    V_l          (l >= 1)
    memory      block.l   spikes        every sub-step    U_l, gated by g_l = sigmoid(a_l)  (l >= 1)
    block.L-1   readout   spike counts  once per token    R_s
    memory      readout   spike counts  once per token    R_m
    readout     logits    dense         once per token    W_out, b_out (after the LayerNorm)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .config import LMConfig

EMBEDDING, MEMORY, READOUT, LOGITS = "embedding", "memory", "readout", "logits"
EMBED_WEIGHT = "embed.weight"  # the token embedding E [vocab, d_embed]
NORM = "readout.norm"  # the readout's LayerNorm: NORM.gamma, NORM.beta [readout]
NORM_EPS = 1e-5


def block(l: int) -> str:
    """The name of block ``l``'s population."""
    return f"block.{l}"


@dataclass(frozen=True)
class Population:
    """A spiking population: its name, its size and its ``Neurons`` module in a SpikingLM."""

    name: str
    size: int
    module: str  # its decays are the parameter f"{module}.beta_logit"


@dataclass(frozen=True)
class Projection:
    """A weight matrix W[fan_in, fan_out] from ``source`` to ``target``."""

    key: str  # its name in an inference export (a table ``tables.l`` for the embedding's)
    module: str  # its Linear in a SpikingLM: parameters f"{module}.weight" (and f"{module}.bias")
    source: str  # a population, EMBEDDING or READOUT
    target: str  # a population, READOUT or LOGITS
    fan_in: int
    fan_out: int
    spiking: bool  # fed by spikes (spike counts into the readout), run event-driven; else dense
    per_substep: bool  # runs every sub-step; else once per token
    bias: bool
    gate: str | None = None  # the parameter a of a gate sigmoid(a) per target neuron, if any


class Parameter(NamedTuple):
    """A parameter's shape and whether it belongs to the dense part of the model."""

    shape: tuple[int, ...]
    dense: bool


@dataclass(frozen=True)
class Topology:
    """The populations and projections of the spiking LM with configuration ``config``."""

    config: LMConfig
    populations: tuple[Population, ...]  # in the order they run within a sub-step
    projections: tuple[Projection, ...]  # in the order they are computed

    @classmethod
    def of(cls, config: LMConfig) -> "Topology":
        """The topology of the model ``config`` describes (see the module docstring)."""
        if not isinstance(config, LMConfig):
            raise ValueError(f"config must be an LMConfig, got {config!r}")
        c, last = config, block(config.n_layers - 1)

        def neurons(l: int) -> Population:
            return Population(block(l), c.hidden, f"blocks.{l}.neurons")

        def embedding_in(l: int) -> Projection:
            return Projection(f"tables.{l}", f"blocks.{l}.embed_in", EMBEDDING, block(l), c.d_embed, c.hidden,
                              spiking=False, per_substep=False, bias=True)

        populations = [neurons(0), Population(MEMORY, c.memory, "memory.neurons")]
        projections = [embedding_in(0), Projection("memory_in", "memory.spikes_in", block(0), MEMORY, c.hidden,
                                                   c.memory, spiking=True, per_substep=True, bias=True)]
        for l in range(1, c.n_layers):
            populations.append(neurons(l))
            projections += [
                embedding_in(l),
                Projection(f"spikes_in.{l}", f"blocks.{l}.spikes_in", block(l - 1), block(l), c.hidden, c.hidden,
                           spiking=True, per_substep=True, bias=False),
                Projection(f"memory_to_block.{l}", f"blocks.{l}.memory_in", MEMORY, block(l), c.memory, c.hidden,
                           spiking=True, per_substep=True, bias=False, gate=f"blocks.{l}.gate_logit"),
            ]
        projections += [
            Projection("readout_spikes", "readout.spikes_in", last, READOUT, c.hidden, c.readout,
                       spiking=True, per_substep=False, bias=False),
            Projection("readout_memory", "readout.memory_in", MEMORY, READOUT, c.memory, c.readout,
                       spiking=True, per_substep=False, bias=False),
            Projection("head", "readout.head", READOUT, LOGITS, c.readout, c.vocab_size,
                       spiking=False, per_substep=False, bias=True),
        ]
        return cls(config, tuple(populations), tuple(projections))

    def projection(self, source: str, target: str) -> Projection:
        """The projection from ``source`` to ``target``."""
        for p in self.projections:
            if (p.source, p.target) == (source, target):
                return p
        raise ValueError(f"no projection from {source!r} to {target!r}")

    def fan_out(self, source: str) -> int:
        """Synapses per spike of population ``source``: the summed fan-out of the projections it drives."""
        return sum(p.fan_out for p in self.projections if p.source == source)

    def parameters(self) -> dict[str, Parameter]:
        """Every parameter of a SpikingLM of this topology, by its name in ``state_dict`` and training
        checkpoints. Dense: the embedding, the dense projections (embedding inputs, head) and the
        readout's LayerNorm; everything else is spiking."""
        c = self.config
        params = {EMBED_WEIGHT: Parameter((c.vocab_size, c.d_embed), True)}
        for p in self.projections:
            params[f"{p.module}.weight"] = Parameter((p.fan_in, p.fan_out), not p.spiking)
            if p.bias:
                params[f"{p.module}.bias"] = Parameter((p.fan_out,), not p.spiking)
            if p.gate is not None:
                params[p.gate] = Parameter((p.fan_out,), False)
        for pop in self.populations:
            params[f"{pop.module}.beta_logit"] = Parameter((pop.size,), False)
        params.update({f"{NORM}.{name}": Parameter((c.readout,), True) for name in ("gamma", "beta")})
        return params
