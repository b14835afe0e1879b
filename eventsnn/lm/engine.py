"""Inference for a trained :class:`~eventsnn.lm.model.SpikingLM`: event-driven or dense.

:class:`InferenceLM` is the deployable form of a model: no optimizer, no
tape, float32 or int8 weights. Two algebraic simplifications are made once,
at export, and are used by both engines:

- a token is a one-hot event, so block l's embedding input
  e_t W_l + b_l = (E W_l + b_l)[x_t] is one row of a per-token table;
- the memory gate is folded into the memory projection:
  g_l * (m U_l) = m (U_l diag(g_l)).

Every other projection takes binary spikes. The **event engine**
(``engine="event"``) sums, for each stream, the weight rows of the inputs
that spiked (``eventsnn.kernels.inference``); the **dense engine**
(``engine="dense"``) multiplies the whole spike matrix with BLAS. They do
the same arithmetic up to the order of float32 additions (relative
difference about 1e-7), so they give the same logits to 1e-5 and, unless a
membrane lands within rounding of its threshold, the same spikes and text.

int8 weights keep one float32 scale per input row: W[i, :] ~ s_i Q[i, :] with
s_i = max_j |W[i, j]| / 127, so a spike reads a quarter of the bytes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .._validation import check_array, check_choice, check_int
from ..checkpoint import Snapshot, checkpointable, expect_arrays, load, resolve_checkpoint
from ..errors import CheckpointError
from ..kernels.inference import token_steps
from .model import LMConfig, SpikingLM
from .tokenizer import Tokenizer, tokenizer_from_dict

ENGINES = ("event", "dense")
PRECISIONS = ("float32", "int8")


@dataclass
class SpikeProjection:
    """A spike-driven projection W[in, out] stored as (weight, per-row scale)."""

    weight: np.ndarray  # float32, or int8 with scale
    scale: np.ndarray  # [in] float32; ones for float32 weights

    @classmethod
    def from_weight(cls, w: np.ndarray, precision: str) -> "SpikeProjection":
        w = np.asarray(w, np.float32)
        if precision == "float32":
            return cls(np.ascontiguousarray(w), np.ones(w.shape[0], np.float32))
        scale = np.abs(w).max(axis=1) / 127.0
        scale[scale == 0] = 1.0
        q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8)
        return cls(q, scale.astype(np.float32))

    def dense(self) -> np.ndarray:
        """The float32 matrix the dense engine multiplies with."""
        if self.weight.dtype == np.float32:
            return self.weight
        return self.scale[:, None] * self.weight.astype(np.float32)


@dataclass
class Population:
    """Per-neuron (A)LIF constants: beta, threshold, rho, gamma ([n] float32 each)."""

    beta: np.ndarray
    thr: np.ndarray
    rho: np.ndarray
    gamma: np.ndarray

    @property
    def size(self) -> int:
        return self.beta.size


@checkpointable("eventsnn.lm.InferenceLM")
@dataclass
class InferenceLM:
    """Exported weights of a SpikingLM (see the module docstring), with its tokenizer.

    ``eventsnn.save(lm, path)`` writes an inference-only checkpoint: no
    optimizer, no training state, int8 or float32 weights.
    """

    config: LMConfig
    precision: str
    tables: list[np.ndarray]  # block l: E W_l + b_l, [vocab, hidden]
    memory_bias: np.ndarray  # [memory]
    memory_in: SpikeProjection  # block.0 -> memory
    spikes_in: list[SpikeProjection]  # block.(l-1) -> block.l, l >= 1
    memory_to_block: list[SpikeProjection]  # memory -> block.l (gate folded), l >= 1
    readout_spikes: SpikeProjection  # last block -> readout
    readout_memory: SpikeProjection  # memory -> readout
    norm_gamma: np.ndarray
    norm_beta: np.ndarray
    norm_eps: float
    head_weight: np.ndarray  # [readout, vocab] float32
    head_bias: np.ndarray
    populations: dict[str, Population]
    tokenizer: Tokenizer | None = None

    @classmethod
    def from_model(cls, model: SpikingLM, precision: str = "float32",
                   tokenizer: Tokenizer | None = None) -> "InferenceLM":
        """Export ``model`` (and the ``tokenizer`` it was trained with) for inference in float32 or int8."""
        check_choice("precision", precision, PRECISIONS)
        if not isinstance(model, SpikingLM):
            raise ValueError(f"model must be a SpikingLM, got {model!r}")
        f32 = lambda t: np.asarray(t.data if hasattr(t, "data") else t, np.float32)  # noqa: E731
        embed = f32(model.embed.weight)
        tables = [f32(embed @ f32(b.embed_in.weight) + f32(b.embed_in.bias)) for b in model.blocks]
        later = list(model.blocks)[1:]
        gates = [1.0 / (1.0 + np.exp(-f32(b.gate_logit))) for b in later]
        proj = lambda w: SpikeProjection.from_weight(w, precision)  # noqa: E731
        pops = {}
        for name, pop in model.populations.items():
            n = pop.size
            full = lambda v: np.full(n, v, np.float32)  # noqa: E731
            pops[name] = Population(f32(1.0 / (1.0 + np.exp(-pop.beta_logit.data))), full(pop.threshold),
                                    full(pop.rho), full(pop.gamma))
        r = model.readout
        return cls(
            config=model.config, precision=precision, tables=tables,
            memory_bias=f32(model.memory.spikes_in.bias), memory_in=proj(f32(model.memory.spikes_in.weight)),
            spikes_in=[proj(f32(b.spikes_in.weight)) for b in later],
            memory_to_block=[proj(f32(b.memory_in.weight) * g[None, :]) for b, g in zip(later, gates)],
            readout_spikes=proj(f32(r.spikes_in.weight)), readout_memory=proj(f32(r.memory_in.weight)),
            norm_gamma=f32(r.norm.gamma), norm_beta=f32(r.norm.beta), norm_eps=float(r.norm.eps),
            head_weight=f32(r.head.weight), head_bias=f32(r.head.bias), populations=pops, tokenizer=tokenizer,
        )

    def _arrays(self) -> dict[str, np.ndarray]:
        """Every array by its checkpoint name."""
        arrays = {f"tables.{l}": t for l, t in enumerate(self.tables)}
        arrays.update({"memory.bias": self.memory_bias, "norm.gamma": self.norm_gamma, "norm.beta": self.norm_beta,
                       "head.weight": self.head_weight, "head.bias": self.head_bias})
        named = [("memory_in", self.memory_in), ("readout_spikes", self.readout_spikes),
                 ("readout_memory", self.readout_memory)]
        named += [(f"spikes_in.{l + 1}", p) for l, p in enumerate(self.spikes_in)]
        named += [(f"memory_to_block.{l + 1}", p) for l, p in enumerate(self.memory_to_block)]
        for name, p in named:
            arrays[f"{name}.weight"], arrays[f"{name}.scale"] = p.weight, p.scale
        for name, pop in self.populations.items():
            for field in ("beta", "thr", "rho", "gamma"):
                arrays[f"populations.{name}.{field}"] = getattr(pop, field)
        return arrays

    def checkpoint_state(self) -> Snapshot:
        groups = {"tokenizer": self.tokenizer.to_dict()} if self.tokenizer is not None else {}
        config = {"model": self.config.to_dict(), "precision": self.precision, "norm_eps": self.norm_eps}
        return Snapshot("eventsnn.lm.InferenceLM", config, self._arrays(), groups)

    @classmethod
    def from_checkpoint(cls, snap: Snapshot) -> "InferenceLM":
        try:
            config = LMConfig(**snap.config["model"])
            precision = check_choice("precision", snap.config["precision"], PRECISIONS)
            eps = float(snap.config["norm_eps"])
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"/config: not an inference model configuration ({err})") from err
        # Shapes follow from the configuration: export a random model of it and compare.
        template = cls.from_model(SpikingLM(config), precision)
        expected = {k: (a.shape, a.dtype) for k, a in template._arrays().items()}
        expect_arrays(snap.parameters, expected)
        a = snap.parameters
        proj = lambda name: SpikeProjection(a[f"{name}.weight"], a[f"{name}.scale"])  # noqa: E731
        n = config.n_layers
        tokenizer = snap.groups.get("tokenizer")
        return cls(
            config=config, precision=precision, tables=[a[f"tables.{l}"] for l in range(n)],
            memory_bias=a["memory.bias"], memory_in=proj("memory_in"),
            spikes_in=[proj(f"spikes_in.{l}") for l in range(1, n)],
            memory_to_block=[proj(f"memory_to_block.{l}") for l in range(1, n)],
            readout_spikes=proj("readout_spikes"), readout_memory=proj("readout_memory"),
            norm_gamma=a["norm.gamma"], norm_beta=a["norm.beta"], norm_eps=eps,
            head_weight=a["head.weight"], head_bias=a["head.bias"],
            populations={name: Population(*(a[f"populations.{name}.{f}"] for f in ("beta", "thr", "rho", "gamma")))
                         for name in template.populations},
            tokenizer=tokenizer_from_dict(tokenizer) if tokenizer is not None else None,
        )

    def projections(self) -> list[tuple[str, str, SpikeProjection]]:
        """(source, target, projection) of every spike-driven projection."""
        n = self.config.n_layers
        out = [("block.0", "memory", self.memory_in)]
        for l in range(1, n):
            out += [(f"block.{l - 1}", f"block.{l}", self.spikes_in[l - 1]),
                    ("memory", f"block.{l}", self.memory_to_block[l - 1])]
        return out + [(f"block.{n - 1}", "readout", self.readout_spikes), ("memory", "readout", self.readout_memory)]

    def weight_bytes(self) -> int:
        """Bytes of all weights (tables, projections, head)."""
        arrays = self.tables + [self.head_weight] + [a for _, _, p in self.projections() for a in (p.weight, p.scale)]
        return sum(a.nbytes for a in arrays)


class Engine:
    """``batch`` independent generation streams of an :class:`InferenceLM`, each with its own state.

    ``step(tokens)`` feeds one token per stream and returns the next-token
    logits [batch, vocab]; ``feed(tokens)`` feeds a [T, batch] block of
    tokens in one compiled call (a prompt, or text to score) and returns the
    logits after each row. Nothing is recomputed for past tokens, so a token
    costs the same at any context length. ``reset(stream)`` returns one
    stream to rest and leaves the others alone. Both run
    :func:`eventsnn.kernels.inference.token_steps`: the two engines differ
    only in the projection it is given.
    """

    def __init__(self, lm: InferenceLM, batch: int = 1, engine: str = "event"):
        if not isinstance(lm, InferenceLM):
            raise ValueError(f"lm must be an InferenceLM, got {lm!r}")
        self.lm, self.batch = lm, check_int("batch", batch, 1)
        self.engine = check_choice("engine", engine, ENGINES)
        cfg = lm.config
        # The event engine reads weights as stored (float32 or int8 + scale); the dense one multiplies
        # float32 matrices with the scales folded in.
        weight = (lambda p: p.weight) if engine == "event" else SpikeProjection.dense

        def single(p: SpikeProjection) -> tuple[np.ndarray, np.ndarray]:
            return weight(p), p.scale

        def stacked(projs: list[SpikeProjection], n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
            """Blocks l >= 1 as one [L-1, n_in, n_out] array, with their scales [L-1, n_in]."""
            if not projs:
                return np.zeros((0, n_in, n_out), np.float32), np.zeros((0, n_in), np.float32)
            return np.stack([weight(p) for p in projs]), np.stack([p.scale for p in projs])

        def constants(pop: Population) -> np.ndarray:
            """beta, threshold, rho, gamma of a population: [4, n]."""
            return np.stack([pop.beta, pop.thr, pop.rho, pop.gamma])

        blocks = [lm.populations[f"block.{l}"] for l in range(cfg.n_layers)]
        self._weights = (
            np.stack(lm.tables), lm.memory_bias, *single(lm.memory_in),
            *stacked(lm.spikes_in, cfg.hidden, cfg.hidden), *stacked(lm.memory_to_block, cfg.memory, cfg.hidden),
            *single(lm.readout_spikes), *single(lm.readout_memory),
            np.stack([lm.norm_gamma, lm.norm_beta]), np.float32(lm.norm_eps), lm.head_weight, lm.head_bias,
            np.stack([constants(p) for p in blocks]), constants(lm.populations["memory"]),
        )
        self._dense = None if engine == "event" else True  # selects the kernel's projection at compile time
        self.block_state = np.zeros((cfg.n_layers, 3, self.batch, cfg.hidden), np.float32)
        self.memory_state = np.zeros((3, self.batch, cfg.memory), np.float32)
        self._spikes = np.zeros(cfg.n_layers + 1, np.int64)  # blocks, then memory
        self.neuron_steps = 0  # sub-steps run, per stream

    @property
    def spike_count(self) -> dict[str, int]:
        """Spikes per population since creation."""
        names = [f"block.{l}" for l in range(self.lm.config.n_layers)] + ["memory"]
        return dict(zip(names, self._spikes.tolist()))

    def reset(self, stream: int | None = None) -> None:
        """Return ``stream`` (or every stream) to rest."""
        if stream is None:
            rows = slice(None)
        else:
            rows = check_int("stream", stream, 0)
            if rows >= self.batch:
                raise ValueError(f"stream must be < batch = {self.batch}, got {stream}")
        self.block_state[:, :, rows] = 0.0
        self.memory_state[:, rows] = 0.0

    def step(self, tokens) -> np.ndarray:
        """Feed ``tokens`` [batch] (one per stream); return logits [batch, vocab]."""
        tokens = np.asarray(tokens)
        if tokens.shape != (self.batch,) or tokens.dtype.kind not in "iu":
            raise ValueError(f"tokens must be {self.batch} integer ids, got {tokens.dtype} {tokens.shape}")
        return self._run(tokens.reshape(1, self.batch))[0]

    def feed(self, tokens) -> np.ndarray:
        """Feed ``tokens`` [T, batch] (row t to every stream at step t); return the logits after each, [T, batch, vocab]."""
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or tokens.shape[1] != self.batch or tokens.dtype.kind not in "iu":
            raise ValueError(f"tokens must be [T, {self.batch}] integer ids, got {tokens.dtype} {tokens.shape}")
        return self._run(tokens)

    def _run(self, tokens: np.ndarray) -> np.ndarray:
        k = self.lm.config.steps_per_token
        logits = token_steps(self._dense, tokens.astype(np.int64, copy=False), k, *self._weights,
                             self.block_state, self.memory_state, self._spikes)
        if logits.size == 0 and tokens.size:  # the kernel checks the range (it must: indexing is unchecked there)
            raise ValueError(f"tokens must lie in [0, {self.lm.config.vocab_size}), got {tokens.min()}..{tokens.max()}")
        self.neuron_steps += k * tokens.shape[0]
        return logits

    def firing_rate(self) -> float:
        """Network-wide spikes / (neurons x sub-steps x streams) since creation."""
        neurons = sum(p.size for p in self.lm.populations.values())
        steps = self.neuron_steps * self.batch
        return int(self._spikes.sum()) / (neurons * steps) if steps else 0.0


def mean_cross_entropy(lm: InferenceLM, tokens: np.ndarray, batch: int = 16, engine: str = "event") -> float:
    """Mean next-token cross-entropy (nats) of ``tokens`` read as ``batch`` contiguous streams from rest."""
    tokens = check_array("tokens", tokens, ndim=1, dtype=np.int64)
    length = (tokens.size - 1) // check_int("batch", batch, 1)
    if length < 1:
        raise ValueError(f"tokens must hold more than batch = {batch} tokens, got {tokens.size}")
    streams = tokens[np.arange(length + 1)[:, None] + np.arange(batch) * length]  # [length + 1, batch]
    eng, total = Engine(lm, batch, engine), 0.0
    for first in range(0, length, 512):  # blocks of rows: one compiled call each, bounded memory
        rows = slice(first, min(first + 512, length))
        z = eng.feed(streams[rows]).astype(np.float64)
        z -= z.max(axis=2, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=2, keepdims=True))
        nxt = streams[rows.start + 1:rows.stop + 1]
        total -= np.take_along_axis(log_p, nxt[..., None], axis=2).sum()
    return total / (length * batch)


def load_inference(path: str | os.PathLike, precision: str | None = None) -> InferenceLM:
    """An inference model from an export, a training checkpoint or a run directory.

    A training run is exported on the fly (float32 unless ``precision`` says
    otherwise); an export keeps its own precision, and asking for another is
    an error (re-export from the training run instead).
    """
    from .train import Trainer

    path = resolve_checkpoint(path)
    obj = load(path)
    if isinstance(obj, Trainer):
        return InferenceLM.from_model(obj.model, precision or "float32", obj.tokenizer)
    if not isinstance(obj, InferenceLM):
        raise ValueError(f"checkpoint {str(path)!r} holds a {type(obj).__name__}, not a language model")
    if precision not in (None, obj.precision):
        raise ValueError(f"precision: the export {str(path)!r} is {obj.precision}; re-export the run as {precision}")
    return obj
