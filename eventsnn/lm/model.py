"""``SpikingLM``: a language model whose hidden layers talk only in spikes.

Per token x_t with embedding e_t = E[x_t] (dense, width d), over K =
``steps_per_token`` sub-steps k (the token's input current is held for all
K), with populations run in this order within each sub-step:

    block 1   I_1 = e_t W_1 + b_1                                     (dense input)
    memory    I_m = s_1 M + b_m                                       (spike input)
    block l   I_l = e_t W_l + b_l + s_{l-1} V_l + g_l * (m U_l),      l = 2..L
              g_l = sigmoid(a_l)                                      (per-neuron gate)
    each      s = LIF(I; beta = sigmoid(c)) or ALIF, state carried from token to token

with LIF: mem[t] = beta mem[t-1] + I[t] - thr s[t-1], s[t] = H(mem[t] - thr)
(subtract reset, surrogate gradient; see :mod:`eventsnn.kernels.bptt`) and
per-neuron learnable beta = sigmoid(c). The memory population's beta starts
near 1 (0.98: a ~50-step time constant) so it keeps context over many tokens.
The readout uses the spike counts over the token's sub-steps,
n_t = sum_k s_L[t, k] and u_t = sum_k m[t, k]:

    z_t = n_t R_s + u_t R_m                                           (spike input)
    logits_t = LayerNorm(z_t) W_out + b_out                           (dense head)

Every hidden-to-hidden projection (M, V_l, U_l, R_s, R_m) takes binary spikes
(counts in the readout) and runs as an event-driven matmul. The residual path
is the dense projection e_t W_l of the embedding into every block, so depth
never has to carry the token identity through spikes. Dense parameters:
E, W_l, b_l, the LayerNorm and W_out, b_out; everything else is spiking
(:meth:`.topology.Topology.parameters`). The populations and projections
are named and listed once, in :mod:`.topology`.

Everything is feed-forward in depth within a sub-step, so each population's
whole time loop is one fused kernel call, and the state carried between
tokens (membrane, last spike, adaptation per neuron) has a fixed size:
generating a token costs the same at any context length.
"""
from __future__ import annotations

from functools import reduce
from typing import NamedTuple

import numpy as np

from .. import autodiff as ad
from .._validation import check_int
from ..autodiff import NeuronState, Surrogate, Tensor
from ..nn import Embedding, LayerNorm, Linear, Module, ModuleList
from .config import SURROGATE_NAMES, LMConfig
from .topology import NORM_EPS, Topology

SURROGATES = dict(zip(SURROGATE_NAMES, (ad.FastSigmoid, ad.ATan, ad.Sigmoid, ad.Triangle)))


LMState = dict[str, NeuronState]


class LMOutput(NamedTuple):
    """A forward pass: logits [L, B, V], spikes per population [L K, B, n], readout parts, final state."""

    logits: Tensor
    spikes: dict[str, Tensor]
    readout_spikes: Tensor  # n_t R_s  [L, B, readout]
    readout_memory: Tensor  # u_t R_m  [L, B, readout]
    state: LMState


class Neurons(Module):
    """A LIF / ALIF population with per-neuron beta = sigmoid(beta_logit), continuing from a state."""

    def __init__(self, beta: np.ndarray, config: LMConfig):
        self.size = len(beta)
        self.beta_logit = Tensor(np.log(beta / (1 - beta)), requires_grad=True)
        self.threshold = config.threshold
        self.rho, self.gamma = config.adaptation
        self.surrogate: Surrogate = SURROGATES[config.surrogate](config.slope)

    def forward(self, current: Tensor, state: NeuronState) -> tuple[Tensor, NeuronState]:
        return ad.alif_sequence_from(current, ad.sigmoid(self.beta_logit), self.threshold, self.rho, self.gamma,
                                     self.surrogate, "subtract", True, state)


class Block(Module):
    """Spiking block l: dense embedding input, plus spike and gated memory input for l > 1."""

    def __init__(self, config: LMConfig, first: bool, rng: np.random.Generator):
        n = config.hidden
        self.embed_in = Linear(config.d_embed, n, seed=rng)
        if not first:  # the bias of embed_in serves the whole block
            self.spikes_in = Linear(n, n, bias=False, event=True, seed=rng)
            self.memory_in = Linear(config.memory, n, bias=False, event=True, seed=rng)
            self.gate_logit = Tensor(np.zeros(n), requires_grad=True)
        self.neurons = Neurons(np.linspace(config.beta_min, config.beta_max, n), config)


class Memory(Module):
    """Slow population driven by block 1's spikes; its spikes reach every later block and the readout."""

    def __init__(self, config: LMConfig, rng: np.random.Generator):
        self.spikes_in = Linear(config.hidden, config.memory, event=True, seed=rng)
        self.neurons = Neurons(np.full(config.memory, config.memory_beta), config)


class Readout(Module):
    """logits = LayerNorm(n R_s + u R_m) W_out + b_out from spike counts n (last block) and u (memory)."""

    def __init__(self, config: LMConfig, rng: np.random.Generator):
        self.spikes_in = Linear(config.hidden, config.readout, bias=False, event=True, seed=rng)
        self.memory_in = Linear(config.memory, config.readout, bias=False, event=True, seed=rng)
        self.norm = LayerNorm(config.readout, NORM_EPS)
        self.head = Linear(config.readout, config.vocab_size, seed=rng)


class SpikingLM(Module):
    """The spiking language model (equations in the module docstring). Parameters are float32."""

    def __init__(self, config: LMConfig, seed: int | np.random.Generator | None = 0):
        if not isinstance(config, LMConfig):
            raise ValueError(f"config must be an LMConfig, got {config!r}")
        self.config = config
        self.topology = Topology.of(config)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.embed = Embedding(config.vocab_size, config.d_embed, seed=rng)
        self.blocks = ModuleList(Block(config, l == 0, rng) for l in range(config.n_layers))
        self.memory = Memory(config, rng)
        self.readout = Readout(config, rng)
        for p in self.parameters():  # float32 halves memory traffic in every kernel
            p.data = p.data.astype(np.float32)

    @property
    def populations(self) -> dict[str, Neurons]:
        """The spiking populations in the order they run (see :mod:`.topology`): block.0, memory, block.1, ..."""
        return {pop.name: reduce(getattr, pop.module.split("."), self) for pop in self.topology.populations}

    def initial_state(self, batch: int) -> LMState:
        """Every population at rest for ``batch`` streams."""
        batch = check_int("batch", batch, 1)
        return {name: NeuronState.zeros(batch, pop.size, np.float32) for name, pop in self.populations.items()}

    def forward(self, tokens: np.ndarray, state: LMState | None = None) -> LMOutput:
        """Run tokens [L, B] from ``state`` (rest if None); gradients stop at ``state``."""
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or not np.issubdtype(tokens.dtype, np.integer):
            raise ValueError(f"tokens must be an integer array [L, B], got {tokens.dtype} {tokens.shape}")
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.config.vocab_size):
            raise ValueError(f"tokens must lie in [0, {self.config.vocab_size}), "
                             f"got range [{tokens.min()}, {tokens.max()}]")
        length, batch = tokens.shape
        state = self.initial_state(batch) if state is None else state
        if set(state) != set(self.populations):
            raise ValueError(f"state must hold populations {list(self.populations)}, got {list(state)}")
        e = self.embed(tokens)
        spikes, final = {}, {}

        def run(name: str, current: Tensor) -> Tensor:
            spikes[name], final[name] = self.populations[name](current, state[name])
            return spikes[name]

        s = run("block.0", self._substeps(self.blocks[0].embed_in(e)))
        memory = run("memory", self.memory.spikes_in(s))
        for l, block in enumerate(self.blocks):
            if l > 0:
                gated = ad.sigmoid(block.gate_logit) * block.memory_in(memory)
                s = run(f"block.{l}", self._substeps(block.embed_in(e)) + block.spikes_in(s) + gated)
        z_spikes = self.readout.spikes_in(self._counts(s, length))
        z_memory = self.readout.memory_in(self._counts(memory, length))
        logits = self.readout.head(self.readout.norm(z_spikes + z_memory))
        return LMOutput(logits, spikes, z_spikes, z_memory, final)

    def _substeps(self, x: Tensor) -> Tensor:
        """[L, B, n] -> [L K, B, n]: each token's current held for its K sub-steps."""
        k = self.config.steps_per_token
        if k == 1:
            return x
        return ad.reshape(ad.stack([x] * k, axis=1), (x.shape[0] * k,) + x.shape[1:])

    def _counts(self, s: Tensor, length: int) -> Tensor:
        """[L K, B, n] -> [L, B, n]: spikes per token."""
        k = self.config.steps_per_token
        return s if k == 1 else ad.sum(ad.reshape(s, (length, k) + s.shape[1:]), axis=1)
