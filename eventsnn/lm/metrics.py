"""Activity and quality metrics of a :class:`~eventsnn.lm.model.SpikingLM`: one definition, used everywhere.

Neurons, fan-outs, MACs and the parameter split are read from the model's
:class:`~eventsnn.lm.topology.Topology`.

Over the evaluated tokens (B streams x L tokens x K sub-steps each):

- firing rate of population p:   r_p = spikes_p / (n_p * steps),   steps = tokens * K
- network-wide firing rate:      r = sum_p spikes_p / sum_p (n_p * steps)
- sparsity:                      1 - r
- synaptic operations per token: sum over spike-driven projections of spikes(source) * fan_out, / tokens
- dense MACs per token:          the same network run densely: sum over all projections of
                                 fan_in * fan_out, times K for projections that run every sub-step
- dense-part MACs per token:     the MACs the model itself still does densely (embedding
                                 projections and head: fan_in * fan_out each)
- parameter split:               spiking = projections fed by spikes, neuron decays and memory
                                 gates; dense = embedding, embedding projections, readout norm, head
- memory share:                  sum |u_t R_m| / (sum |n_t R_s| + sum |u_t R_m|), elementwise over
                                 readout units and tokens: the fraction of the readout's synaptic
                                 input that arrives through the memory path
- validation loss:               mean cross-entropy in nats per token; bits per character =
                                 nats * tokens / (chars * ln 2), where chars counts the decoded
                                 text plus one per end-of-text token (so char-level: bits = nats / ln 2)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import autodiff as ad
from .._validation import check_int
from .data import Streams
from .model import LMOutput, SpikingLM
from .tokenizer import Tokenizer


@dataclass
class Activity:
    """Spike totals of a model's populations, accumulated over forward passes with :meth:`add`."""

    steps_per_token: int
    neurons: dict[str, int]
    fan_out: dict[str, int]  # per population: summed fan-out of the projections it drives
    tokens: int = 0
    spikes: dict[str, float] = field(default_factory=dict)
    readout_spikes: float = 0.0  # sum |n_t R_s|
    readout_memory: float = 0.0  # sum |u_t R_m|

    @classmethod
    def of(cls, model: SpikingLM) -> "Activity":
        topology = model.topology
        neurons = {pop.name: pop.size for pop in topology.populations}
        fan_out = {name: topology.fan_out(name) for name in neurons}
        return cls(model.config.steps_per_token, neurons, fan_out, spikes=dict.fromkeys(neurons, 0.0))

    def add(self, out: LMOutput) -> None:
        """Count the spikes and readout input of one forward pass."""
        self.tokens += out.logits.shape[0] * out.logits.shape[1]
        for name, s in out.spikes.items():
            self.spikes[name] += float(s.data.sum(dtype=np.float64))
        self.readout_spikes += float(np.abs(out.readout_spikes.data).sum(dtype=np.float64))
        self.readout_memory += float(np.abs(out.readout_memory.data).sum(dtype=np.float64))

    @property
    def steps(self) -> int:
        return self.tokens * self.steps_per_token

    @property
    def firing_rates(self) -> dict[str, float]:
        return {name: self.spikes[name] / (n * max(self.steps, 1)) for name, n in self.neurons.items()}

    @property
    def firing_rate(self) -> float:
        return sum(self.spikes.values()) / (sum(self.neurons.values()) * max(self.steps, 1))

    @property
    def sparsity(self) -> float:
        return 1.0 - self.firing_rate

    @property
    def synops_per_token(self) -> float:
        return sum(self.spikes[p] * self.fan_out[p] for p in self.spikes) / max(self.tokens, 1)

    @property
    def memory_share(self) -> float:
        total = self.readout_spikes + self.readout_memory
        return self.readout_memory / total if total else 0.0


def dense_macs_per_token(model: SpikingLM) -> int:
    """MACs per token of the same network with every projection run densely."""
    k = model.config.steps_per_token
    return sum(p.fan_in * p.fan_out * (k if p.per_substep else 1) for p in model.topology.projections)


def dense_part_macs_per_token(model: SpikingLM) -> int:
    """MACs per token the model does densely: projections of the embedding and the head."""
    return sum(p.fan_in * p.fan_out for p in model.topology.projections if not p.spiking)


def parameter_split(model: SpikingLM) -> tuple[int, int]:
    """(spiking, dense) parameter counts (see :meth:`~eventsnn.lm.topology.Topology.parameters`)."""
    sizes = {dense: 0 for dense in (False, True)}
    for shape, dense in model.topology.parameters().values():
        sizes[dense] += math.prod(shape)
    return sizes[False], sizes[True]


@dataclass(frozen=True)
class Evaluation:
    """Validation loss and the activity it was measured with."""

    loss_nats: float
    bits_per_char: float
    tokens: int
    activity: Activity


def evaluate(model: SpikingLM, tokens: np.ndarray, tokenizer: Tokenizer, *, batch: int = 16,
             seq_len: int = 128, max_tokens: int | None = None) -> Evaluation:
    """Loss and activity on ``tokens`` (at most ``max_tokens`` of them), read as ``batch``
    contiguous streams (fewer if the text is short) with the state carried between chunks,
    starting at rest."""
    if max_tokens is not None:
        tokens = tokens[:check_int("max_tokens", max_tokens, 1) + 1]
    batch = max(1, min(check_int("batch", batch, 1), (len(tokens) - 1) // check_int("seq_len", seq_len, 1)))
    streams = Streams(tokens, batch, seq_len)
    activity = Activity.of(model)
    nats, targets, state = 0.0, [], None
    with ad.no_grad():
        for x, y in streams:
            out = model(x, state)
            state = out.state
            nats += ad.cross_entropy(out.logits, y).item() * y.size
            activity.add(out)
            targets.append(y.T.reshape(-1))
    seen = np.concatenate(targets)
    chars = len(tokenizer.decode(seen)) + int(np.count_nonzero(seen == tokenizer.eot_id))
    loss = nats / seen.size
    return Evaluation(loss, loss * seen.size / (max(chars, 1) * math.log(2)), int(seen.size), activity)
