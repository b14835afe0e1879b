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
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

import numpy as np

from .._validation import check_array, check_choice, check_int
from ..checkpoint import Snapshot, checkpointable, expect_arrays, load_snapshot, resolve_checkpoint
from ..errors import CheckpointError
from ..kernels.inference import token_steps
from .config import TRAINER_KIND, LMConfig
from .tokenizer import Tokenizer, tokenizer_from_dict
from .topology import EMBED_WEIGHT, EMBEDDING, LOGITS, MEMORY, NORM, NORM_EPS, READOUT, Topology, block

if TYPE_CHECKING:  # inference needs no training code
    from .model import SpikingLM

KIND = "eventsnn.lm.InferenceLM"
ADAPT_KIND = "eventsnn.lm.Adaptation"
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


POPULATION_FIELDS = tuple(f.name for f in fields(Population))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@checkpointable(KIND)
@dataclass
class InferenceLM:
    """Exported weights of a SpikingLM (see the module docstring), with its tokenizer.

    Arrays are named and laid out by the model's :class:`~eventsnn.lm.topology.Topology`
    (``topology``). ``eventsnn.save(lm, path)`` writes an inference-only
    checkpoint: no optimizer, no training state, int8 or float32 weights.
    """

    config: LMConfig
    precision: str
    tables: list[np.ndarray]  # block l: E W_l + b_l, [vocab, hidden]
    spiking: dict[str, SpikeProjection]  # every spike-driven projection by its topology key, gates folded in
    memory_bias: np.ndarray  # [memory]
    norm_gamma: np.ndarray
    norm_beta: np.ndarray
    norm_eps: float
    head_weight: np.ndarray  # [readout, vocab] float32
    head_bias: np.ndarray
    populations: dict[str, Population]
    tokenizer: Tokenizer | None = None
    topology: Topology = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.topology = Topology.of(self.config)

    @classmethod
    def from_model(cls, model: SpikingLM, precision: str = "float32",
                   tokenizer: Tokenizer | None = None) -> "InferenceLM":
        """Export ``model`` (and the ``tokenizer`` it was trained with) for inference in float32 or int8."""
        from .model import SpikingLM  # loaded already when a model is given: inference alone never imports it

        if not isinstance(model, SpikingLM):
            raise ValueError(f"model must be a SpikingLM, got {model!r}")
        return cls.from_parameters(model.config, model.state_dict(), precision, tokenizer)

    @classmethod
    def from_parameters(cls, config: LMConfig, parameters: dict[str, np.ndarray], precision: str = "float32",
                        tokenizer: Tokenizer | None = None) -> "InferenceLM":
        """Export the SpikingLM of ``config`` whose ``parameters`` (its ``state_dict``, as a training
        checkpoint stores them) are given, in float32 or int8. Raises CheckpointError naming a
        missing or misshapen parameter."""
        check_choice("precision", precision, PRECISIONS)
        topology = Topology.of(config)
        expect_arrays(parameters, {name: (p.shape, np.float32) for name, p in topology.parameters().items()})
        a = parameters
        tables, spiking = [], {}
        for p in topology.projections:
            w = a[f"{p.module}.weight"]
            if p.source == EMBEDDING:  # a one-hot token picks one row of E W + b
                tables.append(a[EMBED_WEIGHT] @ w + a[f"{p.module}.bias"])
            elif p.spiking:  # g * (m U) = m (U diag(g))
                gated = w if p.gate is None else w * _sigmoid(a[p.gate])[None, :]
                spiking[p.key] = SpikeProjection.from_weight(gated, precision)
        rho, gamma = config.adaptation
        populations = {
            pop.name: Population(_sigmoid(a[f"{pop.module}.beta_logit"]),
                                 *(np.full(pop.size, v, np.float32) for v in (config.threshold, rho, gamma)))
            for pop in topology.populations
        }
        head = topology.projection(READOUT, LOGITS).module
        return cls(
            config=config, precision=precision, tables=tables, spiking=spiking,
            memory_bias=a[f"{topology.projection(block(0), MEMORY).module}.bias"],
            norm_gamma=a[f"{NORM}.gamma"], norm_beta=a[f"{NORM}.beta"], norm_eps=NORM_EPS,
            head_weight=a[f"{head}.weight"], head_bias=a[f"{head}.bias"], populations=populations, tokenizer=tokenizer,
        )

    def _arrays(self) -> dict[str, np.ndarray]:
        """Every array by its checkpoint name: projections by their topology keys."""
        arrays = {}
        tables = iter(self.tables)
        for p in self.topology.projections:
            if p.source == EMBEDDING:
                arrays[p.key] = next(tables)
            elif p.spiking:
                projection = self.spiking[p.key]
                arrays[f"{p.key}.weight"], arrays[f"{p.key}.scale"] = projection.weight, projection.scale
        head = self.topology.projection(READOUT, LOGITS).key
        arrays.update({f"{MEMORY}.bias": self.memory_bias, "norm.gamma": self.norm_gamma, "norm.beta": self.norm_beta,
                       f"{head}.weight": self.head_weight, f"{head}.bias": self.head_bias})
        for name, pop in self.populations.items():
            for f in POPULATION_FIELDS:
                arrays[f"populations.{name}.{f}"] = getattr(pop, f)
        return arrays

    def checkpoint_state(self) -> Snapshot:
        groups = {"tokenizer": self.tokenizer.to_dict()} if self.tokenizer is not None else {}
        config = {"model": self.config.to_dict(), "precision": self.precision, "norm_eps": self.norm_eps}
        return Snapshot(KIND, config, self._arrays(), groups)

    @classmethod
    def from_checkpoint(cls, snap: Snapshot) -> "InferenceLM":
        try:
            config = LMConfig(**snap.config["model"])
            precision = check_choice("precision", snap.config["precision"], PRECISIONS)
            eps = float(snap.config["norm_eps"])
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"/config: not an inference model configuration ({err})") from err
        # Shapes and dtypes follow from the configuration: those of an export of zero parameters.
        zeros = {name: np.zeros(p.shape, np.float32) for name, p in Topology.of(config).parameters().items()}
        template = cls.from_parameters(config, zeros, precision)
        expect_arrays(snap.parameters, {k: (a.shape, a.dtype) for k, a in template._arrays().items()})
        a = snap.parameters
        topology, tokenizer = template.topology, snap.groups.get("tokenizer")
        head = topology.projection(READOUT, LOGITS).key
        return cls(
            config=config, precision=precision,
            tables=[a[p.key] for p in topology.projections if p.source == EMBEDDING],
            spiking={p.key: SpikeProjection(a[f"{p.key}.weight"], a[f"{p.key}.scale"])
                     for p in topology.projections if p.spiking},
            memory_bias=a[f"{MEMORY}.bias"], norm_gamma=a["norm.gamma"], norm_beta=a["norm.beta"], norm_eps=eps,
            head_weight=a[f"{head}.weight"], head_bias=a[f"{head}.bias"],
            populations={pop.name: Population(*(a[f"populations.{pop.name}.{f}"] for f in POPULATION_FIELDS))
                         for pop in topology.populations},
            tokenizer=tokenizer_from_dict(tokenizer) if tokenizer is not None else None,
        )

    def projection(self, source: str, target: str) -> SpikeProjection:
        """The spike-driven projection from population ``source`` to ``target`` (a population or ``"readout"``)."""
        return self.spiking[self.topology.projection(source, target).key]

    # The projections by their role in the network, as the engines take them.
    @property
    def memory_in(self) -> SpikeProjection:
        """block.0 -> memory."""
        return self.projection(block(0), MEMORY)

    @property
    def spikes_in(self) -> list[SpikeProjection]:
        """block.(l-1) -> block.l for l = 1..L-1."""
        return [self.projection(block(l - 1), block(l)) for l in range(1, self.config.n_layers)]

    @property
    def memory_to_block(self) -> list[SpikeProjection]:
        """memory -> block.l for l = 1..L-1, the gate folded in."""
        return [self.projection(MEMORY, block(l)) for l in range(1, self.config.n_layers)]

    @property
    def readout_spikes(self) -> SpikeProjection:
        """The last block -> readout."""
        return self.projection(block(self.config.n_layers - 1), READOUT)

    @property
    def readout_memory(self) -> SpikeProjection:
        """memory -> readout."""
        return self.projection(MEMORY, READOUT)

    def projections(self) -> list[tuple[str, str, SpikeProjection]]:
        """(source, target, projection) of every spike-driven projection."""
        return [(p.source, p.target, self.spiking[p.key]) for p in self.topology.projections if p.spiking]

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

        blocks = [block(l) for l in range(cfg.n_layers)]
        self._weights = (
            np.stack(lm.tables), lm.memory_bias, *single(lm.memory_in),
            *stacked(lm.spikes_in, cfg.hidden, cfg.hidden), *stacked(lm.memory_to_block, cfg.memory, cfg.hidden),
            *single(lm.readout_spikes), *single(lm.readout_memory),
            np.stack([lm.norm_gamma, lm.norm_beta]), np.float32(lm.norm_eps), lm.head_weight, lm.head_bias,
            np.stack([constants(lm.populations[name]) for name in blocks]), constants(lm.populations[MEMORY]),
        )
        self._dense = None if engine == "event" else True  # selects the kernel's projection at compile time
        self.block_state = np.zeros((cfg.n_layers, 3, self.batch, cfg.hidden), np.float32)
        self.memory_state = np.zeros((3, self.batch, cfg.memory), np.float32)
        self._spike_names = blocks + [MEMORY]  # the kernel counts the blocks' spikes, then the memory's
        self.spike_totals = np.zeros(len(self._spike_names), np.int64)  # per population (blocks, memory), as counted
        self.neuron_steps = 0  # sub-steps run, per stream

    @property
    def weights(self) -> tuple:
        """The arguments :func:`~eventsnn.kernels.inference.token_steps` reads the model from (its order)."""
        return self._weights

    def spike_weights(self, weights: tuple | None = None) -> dict[str, np.ndarray]:
        """The spike-driven weights the engine reads, by topology key: views, so that writing them changes the
        model this engine runs (float32 event engine only; they may or may not share memory with ``lm``).
        ``weights``: views into a tuple laid out as :attr:`weights` instead."""
        if self.engine != "event" or self.lm.precision != "float32":
            raise ValueError(f"spike_weights needs a float32 event engine, got {self.lm.precision} {self.engine}")
        w = self._weights if weights is None else weights
        views = {self.lm.topology.projection(block(0), MEMORY).key: w[2],
                 self.lm.topology.projection(block(self.lm.config.n_layers - 1), READOUT).key: w[8],
                 self.lm.topology.projection(MEMORY, READOUT).key: w[10]}
        for l in range(1, self.lm.config.n_layers):
            views[self.lm.topology.projection(block(l - 1), block(l)).key] = w[4][l - 1]
            views[self.lm.topology.projection(MEMORY, block(l)).key] = w[6][l - 1]
        return views

    @property
    def spike_count(self) -> dict[str, int]:
        """Spikes per population since creation."""
        return dict(zip(self._spike_names, self.spike_totals.tolist()))

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
                             self.block_state, self.memory_state, self.spike_totals)
        if logits.size == 0 and tokens.size:  # the kernel checks the range (it must: indexing is unchecked there)
            raise ValueError(f"tokens must lie in [0, {self.lm.config.vocab_size}), got {tokens.min()}..{tokens.max()}")
        self.neuron_steps += k * tokens.shape[0]
        return logits

    def firing_rate(self) -> float:
        """Network-wide spikes / (neurons x sub-steps x streams) since creation."""
        neurons = sum(p.size for p in self.lm.populations.values())
        steps = self.neuron_steps * self.batch
        return int(self.spike_totals.sum()) / (neurons * steps) if steps else 0.0


def mean_cross_entropy(lm: InferenceLM, tokens: np.ndarray, batch: int = 16, engine: str = "event") -> float:
    """Mean next-token cross-entropy (nats) of ``tokens`` read as ``batch`` contiguous streams from rest."""
    if not np.issubdtype(np.asarray(tokens).dtype, np.integer):  # a float id would be truncated silently
        raise ValueError(f"tokens must be integer token ids, got dtype {np.asarray(tokens).dtype}")
    tokens = check_array("tokens", tokens, ndim=1, dtype=np.int64)
    length = (tokens.size - 1) // check_int("batch", batch, 1)
    if length < 1:
        raise ValueError(f"tokens must hold more than batch = {batch} tokens, got {tokens.size}")
    streams = tokens[np.arange(length + 1)[:, None] + np.arange(batch) * length]  # [length + 1, batch]
    eng, total = Engine(lm, batch, engine), 0.0
    for first in range(0, length, 512):  # blocks of rows: one compiled call each, bounded memory
        rows = slice(first, min(first + 512, length))
        total += token_losses(eng.feed(streams[rows]), streams[rows.start + 1:rows.stop + 1]).sum()
    return total / (length * batch)


def token_losses(logits: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """-log softmax(logits)[token] (nats, float64) of ``tokens`` [...] under ``logits`` [..., vocab]."""
    z = logits.astype(np.float64)
    z -= z.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(log_p, tokens[..., None], axis=-1)[..., 0]


def load_inference(path: str | os.PathLike, precision: str | None = None) -> InferenceLM:
    """An inference model from an export, a training checkpoint, a run directory or an adaptation state.

    A training run is exported on the fly (float32 unless ``precision`` says
    otherwise) from its model's arrays, without importing the training code;
    an export keeps its own precision, and asking for another is an error
    (re-export from the training run instead).
    """
    path = resolve_checkpoint(path)
    snap = load_snapshot(path)
    try:
        if snap.kind == TRAINER_KIND:
            return _export_run(snap, precision or "float32")
        if snap.kind == ADAPT_KIND:  # the model as an online adaptation left it (eventsnn.lm.adapt)
            from .adapt import inference_snapshot

            snap = inference_snapshot(snap)
        if snap.kind != KIND:
            raise ValueError(f"checkpoint {str(path)!r} holds a {snap.kind}, not a language model")
        lm = InferenceLM.from_checkpoint(snap)
    except CheckpointError as err:
        raise CheckpointError(f"{path}: {err}") from err
    if precision not in (None, lm.precision):
        raise ValueError(f"precision: the export {str(path)!r} is {lm.precision}; re-export the run as {precision}")
    return lm


def _export_run(snap: Snapshot, precision: str) -> InferenceLM:
    """The model of a training run's snapshot (``/config/model``, ``/parameters``, ``/tokenizer``),
    exported without the training code."""
    try:
        config = LMConfig(**snap.config["model"])
        tokenizer = tokenizer_from_dict(snap.groups["tokenizer"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"/config: does not describe a language-model run ({err})") from err
    return InferenceLM.from_parameters(config, snap.parameters, precision, tokenizer)
