"""Online adaptation of a spiking language model while it reads a text: ``eventsnn adapt``.

An :class:`Adapter` streams tokens through one stream of the event-driven
:class:`~eventsnn.lm.engine.Engine`, from rest after ``<|endoftext|>`` (a
document start, as in training), and scores each token x_t before learning
from it: loss_t = -log p(x_t | x_<t) in nats, under the weights that have
learned from x_<t only. Three rules:

- ``none``: the frozen model. Its losses are those of
  :func:`~eventsnn.lm.engine.mean_cross_entropy` on the same text.
- ``rstdp``: the spike-to-spike projections (block.0 -> memory,
  block.(l-1) -> block.l, memory -> block.l; the readout's targets do not
  spike, and dense projections take no spikes) learn with the simulator's
  R-STDP (:class:`eventsnn.RSTDP`), one rule step per token (dt = 1, times in
  tokens), event-driven (:mod:`eventsnn.kernels.lm_adapt`). The dopamine of
  token t is reward_t = baseline - loss_t (nats): positive when the model
  predicted the token it just read better than its running baseline (an
  exponential average of the loss over ``tau_baseline`` tokens). Eligibility
  traces (``tau_c``) carry credit from the spike pairings of earlier tokens
  to later rewards; dopamine lasts ``tau_n``. A_plus = A_minus = ``lr``
  (weight change per spike pair and nat of reward, up to the trace factors),
  weights bounded to +-``w_bound``. A synapse's weight is brought up to date
  when its row is written (its source's spikes; every row at the clock's
  rebases, at least every 16 ``tau_trace``), so a spike transmits the weight
  its synapse had at its source's previous spike or the last rebase. ``seed`` (None: rest) starts
  every membrane uniformly in [0, threshold). ``tau_anchor`` (tokens; None:
  no anchor) makes the changes fast weights on the trained ones w0: they
  decay, d(w - w0)/dt = -(w - w0)/tau_anchor, in steps of tau_anchor/8
  tokens (:mod:`eventsnn.kernels.lm_adapt`), so the model forgets its
  training only as much as the last few tau_anchor tokens moved it.
- ``sgd``: dynamic evaluation (Krause et al. 2018): after every ``segment``
  tokens, one gradient step of plain SGD (``sgd_lr``, gradient norm clipped
  to 1) on that segment's mean cross-entropy, through the training model
  (:class:`~eventsnn.lm.model.SpikingLM`, truncated BPTT over the segment from
  the neuron state it started in); the engine then runs the new weights from
  the state it had reached. Needs the training checkpoint (the gates are
  folded into an export's weights).

The adaptation state (adapted weights, traces, clock, baseline, neuron
state, the last logits, the losses so far) saves with :meth:`Adapter.save`
as one checkpoint (kind ``eventsnn.lm.Adaptation``) that resumes exactly
(:func:`load_adapter`) and loads as a model wherever one is read
(:func:`~eventsnn.lm.engine.load_inference`: ``eventsnn generate``).
"""
from __future__ import annotations

import copy
import dataclasses
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_choice, check_int, check_positive
from ..checkpoint import Snapshot, expect_arrays, load_snapshot, resolve_checkpoint, save_snapshot
from ..errors import CheckpointError
from ..kernels.lm_adapt import Learning, rstdp_stream, settle_all
from ..kernels.nn_plasticity import Synapses
from ..mpi import on_rank0
from ..plasticity import RSTDP
from .engine import ADAPT_KIND, Engine, InferenceLM, SpikeProjection, load_inference, mean_cross_entropy, token_losses
from .engine import KIND as INFERENCE_KIND
from .tokenizer import CharTokenizer, Tokenizer
from .topology import EMBEDDING, READOUT

RULES = ("rstdp", "sgd", "none")
RSTDP_LAYOUT = 2  # the R-STDP state's layout in a checkpoint (1: per-synapse integrals, not read)


@dataclass(frozen=True)
class AdaptConfig:
    """The rule and its hyperparameters (module docstring; times in tokens). JSON-able, stored.

    The R-STDP defaults are the setting ``benchmarks/online_adaptation.py`` chose on the first half of its
    shifted text for issue 16's goals (lower stream loss than the frozen model, at least half its tokens/s,
    under 0.05 nats of forgetting): only ``memory_in`` adapts, anchored to the trained weights
    (docs/language-model.md). ``sgd_lr`` is the lowest-loss choice of its first search."""

    rule: str = "rstdp"
    lr: float = 1e-3  # rstdp: A_plus = A_minus
    tau_c: float = 50.0  # rstdp: eligibility
    tau_n: float = 5.0  # rstdp: dopamine
    tau_trace: float = 20.0  # rstdp: tau_plus = tau_minus, the pairing window
    tau_baseline: float = 100.0  # rstdp: the reward's running baseline
    w_bound: float = 10.0  # rstdp: weights stay in [-w_bound, w_bound]
    sgd_lr: float = 0.1  # sgd
    segment: int = 32  # sgd
    seed: int | None = None  # rstdp: None starts at rest
    window: int = 10000  # tokens per reported window
    projections: tuple[str, ...] | None = ("memory_in",)  # rstdp: topology keys; None: every spike-to-spike one
    tau_anchor: float | None = 1e4  # rstdp: w - w0 decays with this time constant (tokens); None: never

    def __post_init__(self) -> None:
        check_choice("rule", self.rule, RULES)
        for name in ("lr", "tau_c", "tau_n", "tau_trace", "w_bound", "sgd_lr"):
            check_positive(name, getattr(self, name))
        if check_positive("tau_baseline", self.tau_baseline) < 1:
            raise ValueError(f"tau_baseline must be >= 1 token, got {self.tau_baseline!r}")
        check_int("segment", self.segment, 1)
        check_int("window", self.window, 1)
        if self.seed is not None:
            check_int("seed", self.seed, 0)
        if self.tau_anchor is not None:
            check_positive("tau_anchor", self.tau_anchor)
        if isinstance(self.projections, (str, bytes)):  # tuple() would split it into characters
            raise ValueError(f"projections must be a sequence of projection keys, got the string {self.projections!r}")
        if self.projections is not None:
            object.__setattr__(self, "projections", tuple(self.projections))

    def to_json(self) -> dict:
        """The settings as JSON values (as stored in summaries and adaptation states)."""
        settings = dataclasses.asdict(self)
        if self.projections is not None:
            settings["projections"] = list(self.projections)
        return settings

    def rule_params(self) -> RSTDP:
        """The R-STDP rule (dt = 1 token)."""
        return RSTDP(A_plus=self.lr, A_minus=self.lr, tau_plus=self.tau_trace, tau_minus=self.tau_trace,
                     tau_c=self.tau_c, tau_n=self.tau_n, w_min=-self.w_bound, w_max=self.w_bound)


def plastic_projections(lm: InferenceLM, keys: tuple[str, ...] | None) -> np.ndarray:
    """Flags [2L - 1] of the projections R-STDP adapts (order of :mod:`eventsnn.kernels.lm_adapt`).

    Refuses a dense projection (its inputs are not spikes: the embedding tables and the head) and the
    readout's (its targets do not spike), naming it."""
    topo = lm.topology
    order = [p.key for p in topo.projections if p.spiking and p.target != READOUT]
    for key in keys or ():
        p = next((q for q in topo.projections if q.key == key), None)
        if p is None:
            raise ValueError(f"projections: no projection {key!r}; spike-driven ones are {order}")
        if not p.spiking:
            src = "one-hot tokens" if p.source == EMBEDDING else "a dense LayerNorm output"
            raise ValueError(f"projections: {key!r} ({p.source} -> {p.target}) is a dense projection (its inputs are "
                             f"{src}, not spikes); R-STDP needs spikes on both sides")
        if p.target == READOUT:
            raise ValueError(f"projections: {key!r} ({p.source} -> {p.target}) drives the readout, whose units do not "
                             "spike; R-STDP needs postsynaptic spikes")
    chosen = order if keys is None else keys
    return np.array([key in chosen for key in order])


def check_vocabulary(text: str, tokenizer: Tokenizer, name: str = "corpus") -> None:
    """Refuse text with characters the (character) tokenizer cannot encode, naming the first few and their count."""
    if not isinstance(tokenizer, CharTokenizer):
        return  # byte-level BPE encodes any text
    known = set(tokenizer.to_dict()["chars"])
    unknown = [c for c in text if c not in known]
    if unknown:
        distinct = list(dict.fromkeys(unknown))
        raise ValueError(f"{name} holds {len(unknown)} characters outside the model's vocabulary ({len(distinct)} "
                         f"distinct), first: {', '.join(repr(c) for c in distinct[:8])}")


class Adapter:
    """One stream reading tokens and adapting ``lm`` with ``config.rule`` (module docstring).

    ``read(tokens)`` scores then learns each token and returns its losses;
    ``feed``/``step`` do the same and return the logits after the last token,
    so an Adapter can stand in for a one-stream :class:`Engine`
    (``eventsnn generate --online``). ``model`` (a SpikingLM) is needed by
    ``sgd`` only. The given ``lm`` and ``model`` are not modified.
    """

    def __init__(self, lm: InferenceLM, config: AdaptConfig, model: Any = None):
        if not isinstance(lm, InferenceLM) or lm.tokenizer is None or lm.precision != "float32":
            raise ValueError(f"lm must be a float32 InferenceLM with its tokenizer, got {lm!r:.80}")
        self.config = config
        self.lm = copy.deepcopy(lm)  # the adapted copy
        self.engine = Engine(self.lm, 1, "event")
        self.tokens_read, self.loss_sum, self.seconds = 0, 0.0, 0.0
        self.info: dict[str, str] = {}  # where the stream comes from (saved with the state): source, corpus
        self.windows: list[list[float]] = []
        self._window = [0.0, 0]  # loss sum and tokens of the current window
        if config.rule == "rstdp":
            if lm.config.steps_per_token != 1:
                raise ValueError(f"rule rstdp steps once per token and needs steps_per_token = 1, got "
                                 f"{lm.config.steps_per_token}")
            self._init_rstdp()
        elif config.rule == "sgd":
            self._init_sgd(model)
        eot = np.array([[lm.tokenizer.eot_id]])
        self._snapshot = self._neuron_state()  # sgd: the state its segment starts from
        self.logits = self.engine.feed(eot)[0, 0].copy()
        self._inputs: list[int] = [lm.tokenizer.eot_id]  # sgd: the segment's inputs and targets so far
        self._targets: list[int] = []
        self.read(np.zeros(0, np.int64))  # compiles the kernels now, outside the timed reading

    # ---- rules -----------------------------------------------------------------------------------
    def _init_rstdp(self) -> None:
        cfg, c = self.config, self.lm.config
        k = cfg.rule_params().constants(1.0)
        plastic = plastic_projections(self.lm, cfg.projections)
        # learning state only for the projections that learn (the others' is empty: never read)
        learning = [w if plastic[p] else w[:0, :0] for p, w in enumerate(self._plastic_weights())]
        width = max(c.hidden, c.memory)
        self._learning = Learning(
            synapses=tuple(Synapses.initial(*w.shape, k) for w in learning),
            pre_trace=np.zeros((c.n_layers + 1, width)), post_trace=np.zeros((c.n_layers + 1, width)),
            clock=np.zeros(4), reward=np.array([cfg.tau_baseline, np.nan]),  # tau_b, the baseline (first loss)
            w0=tuple((w if cfg.tau_anchor else w[:0, :0]).copy() for w in learning),
            anchor=np.array([1.0 / cfg.tau_anchor if cfg.tau_anchor else 0.0]), k=k, plastic=plastic)
        if cfg.seed is not None:
            rng = np.random.default_rng(cfg.seed)
            for state in (*self.engine.block_state, self.engine.memory_state):
                state[0] = rng.uniform(0.0, c.threshold, state[0].shape)

    def _plastic_weights(self) -> list[np.ndarray]:
        """The engine's spike-to-spike weights in the order of :mod:`eventsnn.kernels.lm_adapt` (views)."""
        weights = self.engine.weights
        return [weights[2]] + [w for l in range(self.lm.config.n_layers - 1) for w in (weights[4][l], weights[6][l])]

    def _init_sgd(self, model: Any) -> None:
        from ..nn import SGD
        from .model import SpikingLM

        if not isinstance(model, SpikingLM):
            raise ValueError("rule sgd needs the training model (a SpikingLM): give a training checkpoint, "
                             f"not an export; got {type(model).__name__}")
        self.model = copy.deepcopy(model)
        self.optimizer = SGD(self.model.named_parameters(), lr=self.config.sgd_lr)

    def _neuron_state(self) -> tuple[np.ndarray, np.ndarray]:
        return self.engine.block_state.copy(), self.engine.memory_state.copy()

    def _sgd_step(self) -> None:
        """One SGD step on the segment (inputs -> targets) from the state it started in; new weights in the engine."""
        from .. import autodiff as ad
        from ..autodiff import NeuronState
        from ..nn import clip_grad_norm

        blocks, memory = self._snapshot
        state = {f"block.{l}": NeuronState(*blocks[l, :, 0:1].astype(np.float32)) for l in range(blocks.shape[0])}
        state["memory"] = NeuronState(*memory[:, 0:1].astype(np.float32))
        out = self.model(np.array(self._inputs)[:, None], state)
        loss = ad.cross_entropy(out.logits, np.array(self._targets)[:, None])
        self.optimizer.zero_grad()
        loss.backward()
        clip_grad_norm(self.model.parameters(), 1.0)
        self.optimizer.step()
        engine = Engine(InferenceLM.from_model(self.model, "float32", self.lm.tokenizer), 1, "event")
        engine.block_state[:], engine.memory_state[:] = self.engine.block_state, self.engine.memory_state
        engine.spike_totals[:], engine.neuron_steps = self.engine.spike_totals, self.engine.neuron_steps
        self.engine, self.lm = engine, engine.lm

    # ---- reading ---------------------------------------------------------------------------------
    def read(self, tokens) -> np.ndarray:
        """Score each of ``tokens`` [T] before learning from it; returns their losses (nats, float64)."""
        tokens = np.asarray(tokens)
        if tokens.ndim != 1 or tokens.dtype.kind not in "iu":
            raise ValueError(f"tokens must be a 1-d array of token ids, got {tokens.dtype} {tokens.shape}")
        tokens = tokens.astype(np.int64)
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.lm.config.vocab_size):
            raise ValueError(f"tokens must lie in [0, {self.lm.config.vocab_size}), got {tokens.min()}..{tokens.max()}")
        started = time.perf_counter()
        if self.config.rule == "rstdp":
            losses = np.empty(tokens.size)
            rstdp_stream(tokens, self.logits, self.engine.weights, self.engine.block_state, self.engine.memory_state,
                         self.engine.spike_totals, self._learning, losses)
            self.engine.neuron_steps += tokens.size  # as Engine.feed counts them
        elif self.config.rule == "none":
            losses = self._read_frozen(tokens)
        else:
            losses = np.concatenate([self._read_sgd(tokens[i:i + self.config.segment])
                                     for i in range(0, tokens.size, self.config.segment)] or [np.empty(0)])
        self.seconds += time.perf_counter() - started
        self._record(losses)
        return losses

    def _read_frozen(self, tokens: np.ndarray) -> np.ndarray:
        if tokens.size == 0:
            return np.empty(0)
        logits = np.concatenate([self.logits[None], self.engine.feed(tokens[:, None])[:, 0]])
        self.logits = logits[-1].copy()
        return token_losses(logits[:-1], tokens)

    def _read_sgd(self, tokens: np.ndarray) -> np.ndarray:
        """Tokens within one segment: scored with the weights so far; a full segment then takes its step."""
        losses = []
        while tokens.size:
            piece, tokens = np.split(tokens, [self.config.segment - len(self._targets)])
            logits = np.concatenate([self.logits[None], self.engine.feed(piece[:-1, None])[:, 0]])
            losses.append(token_losses(logits, piece))
            self._inputs += piece[:-1].tolist()
            self._targets += piece.tolist()
            if len(self._targets) == self.config.segment:
                self._sgd_step()
                self._snapshot, self._inputs, self._targets = self._neuron_state(), [], []
            self.logits = self.engine.step(piece[-1:])[0].copy()
            self._inputs.append(int(piece[-1]))
        return np.concatenate(losses) if losses else np.empty(0)

    def _record(self, losses: np.ndarray) -> None:
        for loss in losses:  # windows of config.window tokens
            self._window[0] += loss
            self._window[1] += 1
            if self._window[1] == self.config.window:
                self.windows.append([self.tokens_read + 1, float(self._window[0] / self._window[1])])
                self._window = [0.0, 0]
            self.tokens_read += 1
        self.loss_sum += float(np.sum(losses))

    def feed(self, tokens) -> np.ndarray:
        """Read ``tokens`` [T, 1]; return the logits after the last one, [1, 1, vocab] (the row
        :meth:`Engine.feed` would give last; :meth:`read` gives every token's loss)."""
        tokens = np.asarray(tokens)
        self.read(tokens.reshape(-1))
        return self.logits[None, None]

    def step(self, tokens) -> np.ndarray:
        """Read one token (``tokens`` [1]); return the logits [1, vocab] after it."""
        self.read(np.asarray(tokens).reshape(-1))
        return self.logits[None]

    def stream_loss(self) -> float:
        """Mean nats of every token read so far."""
        return self.loss_sum / self.tokens_read if self.tokens_read else float("nan")

    def summary(self) -> dict[str, Any]:
        """rule, stream_loss_nats, windows (the last one partial), tokens_per_s, tokens."""
        windows = self.windows + ([[self.tokens_read, self._window[0] / self._window[1]]] if self._window[1] else [])
        return {"rule": self.config.rule, "stream_loss_nats": self.stream_loss(), "windows": windows,
                "tokens_per_s": self.tokens_read / self.seconds if self.seconds else None,
                "tokens": self.tokens_read, "seconds": self.seconds, "config": self.config.to_json()}

    # ---- the adapted model and its checkpoint ----------------------------------------------------
    def adapted(self) -> InferenceLM:
        """The model as adapted so far, in a copy: every R-STDP synapse brought to now (the stream itself, whose
        synapses catch up at their events, is left as it is)."""
        lm, weights = copy.deepcopy(self.lm), self.engine.weights
        if self.config.rule == "rstdp":
            learning = self._learning
            weights = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in weights)
            settle_all(weights, learning._replace(synapses=tuple(Synapses(*(a.copy() for a in syn))
                                                                 for syn in learning.synapses),
                                                  clock=learning.clock.copy()))
        for key, view in self.engine.spike_weights(weights).items():
            lm.spiking[key].weight[...] = view
        return lm

    def checkpoint_state(self) -> Snapshot:
        lm = self.adapted()
        snap = lm.checkpoint_state()
        neurons = {"block_state": self.engine.block_state, "memory_state": self.engine.memory_state,
                   "logits": self.logits, "spikes": self.engine.spike_totals}
        stream = {"tokens_read": self.tokens_read, "neuron_steps": self.engine.neuron_steps,
                  "loss_sum": self.loss_sum, "seconds": self.seconds,
                  "windows": np.asarray(self.windows, np.float64).reshape(-1, 2), "window": self._window,
                  "snapshot_blocks": self._snapshot[0], "snapshot_memory": self._snapshot[1],
                  "inputs": np.asarray(self._inputs, np.int64), "targets": np.asarray(self._targets, np.int64)}
        groups = {**snap.groups, "neurons": neurons, "stream": stream, "info": dict(self.info)}
        if self.config.rule == "rstdp":
            learning = self._learning
            groups["rstdp"] = {"stored": self.engine.spike_weights(),  # as the stream reads them: see adapted()
                               **{field: {str(i): getattr(syn, field) for i, syn in enumerate(learning.synapses)}
                                  for field in Synapses._fields},
                               "pre": learning.pre_trace, "post": learning.post_trace, "clock": learning.clock,
                               "reward": learning.reward}
            if self.config.tau_anchor:
                groups["rstdp"]["anchor"] = {str(i): a for i, a in enumerate(learning.w0)}
        if self.config.rule == "sgd":
            groups["sgd"] = {"parameters": self.model.state_dict(), "momentum": self.optimizer.state_dict()}
        config = {**snap.config, "adapt": self.config.to_json(), "rstdp_layout": RSTDP_LAYOUT}
        return Snapshot(ADAPT_KIND, config, snap.parameters, groups)

    def save(self, path: str | os.PathLike) -> os.PathLike:
        """Write the adaptation state atomically (HDF5, kind ``eventsnn.lm.Adaptation``)."""
        snap = self.checkpoint_state()
        return on_rank0(lambda: save_snapshot(snap, path))  # under mpiexec rank 0 writes, the others wait


def inference_snapshot(snap: Snapshot) -> Snapshot:
    """The adapted model an adaptation snapshot holds, as an inference export's snapshot."""
    return Snapshot(INFERENCE_KIND, {k: snap.config[k] for k in ("model", "precision", "norm_eps")},
                    snap.parameters, {"tokenizer": snap.groups["tokenizer"]})


def adapted_export(path: str | os.PathLike, precision: str = "float32") -> InferenceLM | None:
    """The adapted model of adaptation state ``path`` in ``precision`` (``eventsnn export``), or None if ``path``
    holds something else."""
    path = resolve_checkpoint(path)
    snap = load_snapshot(path)
    if snap.kind != ADAPT_KIND:
        return None
    lm = InferenceLM.from_checkpoint(inference_snapshot(snap))
    lm.precision = check_choice("precision", precision, ("float32", "int8"))
    lm.spiking = {key: SpikeProjection.from_weight(p.weight, precision) for key, p in lm.spiking.items()}
    return lm


def load_adapter(path: str | os.PathLike) -> Adapter:
    """The Adapter saved in ``path``, ready to read on exactly as if it had not stopped."""
    snap = load_snapshot(resolve_checkpoint(path))
    if snap.kind != ADAPT_KIND:
        raise ValueError(f"checkpoint {str(path)!r} holds a {snap.kind}, not an adaptation state")
    try:
        config = AdaptConfig(**snap.config["adapt"])
        lm = InferenceLM.from_checkpoint(inference_snapshot(snap))
        g, s, neurons = snap.groups, snap.groups["stream"], snap.groups["neurons"]
        model = None
        if config.rule == "sgd":
            from .model import SpikingLM

            model = SpikingLM(lm.config, seed=0)
            expect_arrays(g["sgd"]["parameters"], {n: (p.shape, p.dtype) for n, p in model.named_parameters()},
                          "/groups/sgd/parameters")
            model.load_state_dict(g["sgd"]["parameters"])
        adapter = Adapter(lm, dataclasses.replace(config, seed=None), model)
        adapter.config = config
        eng = adapter.engine
        expect_arrays(neurons, {"block_state": (eng.block_state.shape, np.float32),
                                "memory_state": (eng.memory_state.shape, np.float32),
                                "logits": (adapter.logits.shape, np.float32),
                                "spikes": (eng.spike_totals.shape, np.int64)}, "/neurons")
        eng.block_state[:], eng.memory_state[:] = neurons["block_state"], neurons["memory_state"]
        eng.spike_totals[:], adapter.logits = neurons["spikes"], neurons["logits"].copy()
        adapter.info, eng.neuron_steps = dict(g["info"]), int(s["neuron_steps"])
        adapter.tokens_read, adapter.loss_sum, adapter.seconds = int(s["tokens_read"]), float(s["loss_sum"]), \
            float(s["seconds"])
        adapter.windows = [list(map(float, w)) for w in s["windows"]]
        adapter._window = [float(s["window"][0]), int(s["window"][1])]
        adapter._snapshot = (s["snapshot_blocks"], s["snapshot_memory"])
        adapter._inputs, adapter._targets = s["inputs"].tolist(), s["targets"].tolist()
        if config.rule == "rstdp":
            r = g["rstdp"]
            learning = adapter._learning
            layout = snap.config.get("rstdp_layout", 1)
            if layout != RSTDP_LAYOUT:
                raise CheckpointError(f"{path}: R-STDP adaptation state of layout {layout} (per-synapse integrals, "
                                      f"before lazy postsynaptic events); this version reads layout {RSTDP_LAYOUT} "
                                      "only: start the adaptation again")
            for field in Synapses._fields:
                expect_arrays(r[field], {str(i): (a.shape, a.dtype) for i, a in
                                         enumerate(getattr(syn, field) for syn in learning.synapses)},
                              f"/rstdp/{field}")
            expect_arrays({k: r[k] for k in ("pre", "post", "clock", "reward")},
                          {"pre": (learning.pre_trace.shape, np.float64),
                           "post": (learning.post_trace.shape, np.float64),
                           "clock": ((4,), np.float64), "reward": ((2,), np.float64)}, "/rstdp")
            if config.tau_anchor:  # the trained weights (the lm restored above is the adapted one)
                expect_arrays(r["anchor"], {str(i): (a.shape, np.float32) for i, a in enumerate(learning.w0)},
                              "/rstdp/anchor")
                learning = learning._replace(w0=tuple(r["anchor"][str(i)] for i in range(len(learning.w0))))
            adapter._learning = learning._replace(
                synapses=tuple(Synapses(*(r[field][str(i)] for field in Synapses._fields))
                               for i in range(len(learning.synapses))),
                pre_trace=r["pre"], post_trace=r["post"], clock=r["clock"], reward=r["reward"])
            views = eng.spike_weights()
            expect_arrays(r["stored"], {k: (v.shape, np.float32) for k, v in views.items()}, "/rstdp/stored")
            for key, view in views.items():
                view[...] = r["stored"][key]
        if config.rule == "sgd":
            adapter.optimizer.load_state_dict(g["sgd"]["momentum"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: not a usable adaptation state ({err})") from err
    return adapter


# ---- the command line (``eventsnn adapt``, ``eventsnn generate --online``) ------------------------------
def run_command(args: Any) -> dict[str, Any]:
    """``eventsnn adapt``: stream ``args.corpus`` through the model of ``args.checkpoint`` (or the state of
    ``args.resume``), print and return the summary with the validation loss before and after (the command
    writes it to ``args.json``)."""
    from .data import corpus_digest, encode_corpus, load_corpus
    from .train import load_trainer

    text = load_corpus(args.corpus)
    settings = {f.name: getattr(args, f.name) for f in dataclasses.fields(AdaptConfig)
                if getattr(args, f.name, None) is not None}
    if settings.get("projections") == ["all"]:
        settings["projections"] = None  # every spike-to-spike projection
    if args.resume:
        adapter = load_adapter(args.resume)
        if adapter.info.get("corpus_sha256") != corpus_digest(text):
            raise ValueError(f"--corpus {args.corpus!r} differs from the text the adaptation in {args.resume!r} "
                             "was reading (SHA-256 mismatch)")
        asked = dataclasses.replace(adapter.config, **settings)
        changed = [f.name for f in dataclasses.fields(AdaptConfig)
                   if getattr(asked, f.name) != getattr(adapter.config, f.name)]
        if changed:
            name = changed[0]
            raise ValueError(f"--{name.replace('_', '-')} {getattr(asked, name)!r} conflicts with the resumed "
                             f"adaptation's {name} {getattr(adapter.config, name)!r}: a resumed adaptation keeps "
                             "its rule and settings (leave the option out, or start a new adaptation)")
        source = adapter.info["source"]
    else:
        source = str(resolve_checkpoint(args.checkpoint))
        config = AdaptConfig(**settings)
        adapter = Adapter(load_inference(source), config, load_trainer(source).model if config.rule == "sgd" else None)
        adapter.info = {"source": source, "corpus_sha256": corpus_digest(text)}
    check_vocabulary(text, adapter.lm.tokenizer, f"--corpus {args.corpus}")
    tokens = encode_corpus(text, adapter.lm.tokenizer)[adapter.tokens_read:]
    if args.tokens:
        tokens = tokens[:args.tokens]
    val = load_trainer(source).validation[:args.val_tokens + 1] if args.val_tokens else None
    before = mean_cross_entropy(load_inference(source), val) if val is not None else None
    adapter.read(tokens)
    summary = adapter.summary()
    summary.update(val_loss_before=before,
                   val_loss_after=mean_cross_entropy(adapter.adapted(), val) if val is not None else None)
    forgetting = "" if before is None else (f"; validation {before:.4f} -> {summary['val_loss_after']:.4f} nats "
                                            f"({summary['val_loss_after'] - before:+.4f})")
    print(f"{adapter.config.rule}: {adapter.tokens_read} tokens, stream loss {adapter.stream_loss():.4f} nats, "
          f"{summary['tokens_per_s']:.0f} tokens/s{forgetting}")
    if args.save:
        print(f"saved {adapter.save(args.save)}")
    return summary


def generate_online(checkpoint: str | os.PathLike, prompt: str, max_tokens: int, temperature: float,
                    top_k: int | None, top_p: float | None, seed: int) -> Any:
    """``eventsnn generate --online``: text sampled while the model keeps adapting to the prompt and to what it
    generates (R-STDP with the defaults, or an adaptation state's own rule, continued)."""
    from .generate import _pieces, _sample_ids, check_sampling

    check_sampling(temperature, top_k, top_p)
    path = resolve_checkpoint(checkpoint)
    if load_snapshot(path).kind == ADAPT_KIND:
        adapter = load_adapter(path)
    else:
        adapter = Adapter(load_inference(path), AdaptConfig(rule="rstdp"))
    tokenizer = adapter.lm.tokenizer
    context = tokenizer.encode(prompt, "prompt").astype(np.int64)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    return _pieces(tokenizer, _sample_ids(adapter, context, tokenizer.eot_id, check_int("max_tokens", max_tokens, 0),
                                          temperature, top_k, top_p, rng))
