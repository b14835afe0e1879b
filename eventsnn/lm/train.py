"""Training a :class:`~eventsnn.lm.model.SpikingLM`: the ``Trainer`` and its one-file checkpoint.

Each step reads the next chunk x, y [L, B] of the B training streams
(:class:`~eventsnn.lm.data.Streams`), runs the model from the state the
previous chunk left (detached: truncated BPTT over L tokens) and minimises

    loss = CE(logits, y) + strength * sum_p mean_n (r_{p,n} - target)^2

(cross-entropy in nats plus :func:`~eventsnn.nn.firing_rate_loss` on every
population) with AdamW, global-norm clipping and ``warmup_cosine`` from
``lr`` down to ``min_lr_ratio * lr`` over ``steps`` steps.

Data-parallel training (``mpiexec -n K``, :mod:`.parallel`) splits the B
streams into K shares of B/K and sums the ranks' gradients before clipping.
For that sum to be the gradient of the loss above, rank k minimises

    loss_k = CE_k / K + strength * sum_p sum_n c_{p,n} s^k_{p,n},
    c_{p,n} = 2 (r_{p,n} - target) / (N_p T B)   (held constant),

where CE_k is the mean cross-entropy of its share, s^k_{p,n} the spike count
of neuron n of population p (N_p neurons) over its share's T time steps, and
r_{p,n} = sum_k s^k_{p,n} / (T B) the rate over the whole batch, summed over
the ranks before the backward pass: d loss_k / d s^k equals d loss / d s^k
term by term. With one process it is the same loss (K = 1). The ranks'
gradients are summed in a different order than one process sums the whole
batch, so K ranks match one process to float32 rounding (tests: 2 ranks,
a few steps, parameters within 1e-5), not bit for bit.

A checkpoint (kind ``eventsnn.lm.Trainer``) holds the model, the optimizer
moments, the data RNG, the stream position, the carried neuron state
(``/dynamic``), the history and the tokenizer, so that N steps, save, load
and M more steps give exactly the parameters of N + M steps at once (with
the same number of threads). The corpus itself is not stored; its SHA-256 is,
and a resumed run refuses a different text. A new run stores the corpus's
absolute path, so that it is found from any working directory. A run may read
a token file (:mod:`.tokenfile`, ``TrainConfig.data``) instead: the same
tokens through a memory map; the file must hold the corpus (its SHA-256) and
the tokenizer the run started with, and once a run has read a token file,
the checkpoint records the SHA-256 of its tokens and a file with other
tokens is refused. Under MPI rank 0 writes the checkpoints,
with the carried state of the whole batch, and a run resumes on any number of
ranks that divides its batch.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from tqdm import tqdm

from .. import autodiff as ad
from .._validation import check_choice, check_int, check_nonnegative, check_positive
from ..autodiff import NeuronState
from ..checkpoint import (Snapshot, checkpointable, expect_arrays, load, pack_rng, resolve_checkpoint, save_step,
                         unpack_rng)
from ..errors import CheckpointError
from ..mpi import on_rank0
from ..nn import AdamW, clip_grad_norm, warmup_cosine
from .config import PRESETS, TRAINER_KIND, LMConfig
from .data import Streams, corpus_digest, encode_corpus, load_corpus, split, text_pieces
from .metrics import Evaluation, evaluate
from .model import LMState, SpikingLM
from .parallel import Ranks
from .tokenfile import TokenFile, open_token_file
from .tokenizer import Tokenizer, tokenizer_from_dict, train_tokenizer

TRAIN_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(batch=32, seq_len=64, lr=3e-3, steps=4000),
    "small": dict(batch=32, seq_len=96, lr=2e-3, steps=20000),
    "base": dict(batch=32, seq_len=128, lr=1e-3, steps=50000),
}


@dataclass(frozen=True)
class TrainConfig:
    """How to train: data, optimiser, schedule, regularisation, logging (JSON-able, stored)."""

    preset: str = "tiny"
    corpus: str | None = None  # None: the bundled Tiny Shakespeare
    data: str | None = None  # a token file to read instead of the corpus (eventsnn tokenize)
    tokenizer: str = "char"
    bpe_vocab: int = 1024
    seed: int = 0
    batch: int = 32
    seq_len: int = 64
    lr: float = 3e-3
    min_lr_ratio: float = 0.1
    warmup: int = 100
    steps: int = 4000  # schedule length, and where training stops unless told otherwise
    weight_decay: float = 0.0
    clip: float = 1.0
    rate_target: float = 0.05
    rate_strength: float = 1.0
    eval_every: int = 250
    eval_tokens: int = 32768
    save_every: int = 500

    def __post_init__(self) -> None:
        check_choice("preset", self.preset, tuple(PRESETS))
        check_choice("tokenizer", self.tokenizer, ("char", "bpe"))
        for name, low in (("bpe_vocab", 258), ("seed", 0), ("batch", 1), ("seq_len", 1), ("warmup", 0),
                          ("steps", 1), ("eval_every", 1), ("eval_tokens", 1), ("save_every", 1)):
            check_int(name, getattr(self, name), low)
        if self.warmup >= self.steps:
            raise ValueError(f"warmup must be < steps={self.steps}, got {self.warmup!r}")
        for name in ("lr", "clip"):
            check_positive(name, getattr(self, name))
        for name in ("min_lr_ratio", "weight_decay", "rate_target", "rate_strength"):
            check_nonnegative(name, getattr(self, name))
        if self.min_lr_ratio > 1 or self.rate_target > 1:
            raise ValueError(f"min_lr_ratio and rate_target must be <= 1, got {self.min_lr_ratio!r}, "
                             f"{self.rate_target!r}")

    @classmethod
    def preset_config(cls, name: str, **overrides: Any) -> "TrainConfig":
        """The training settings of preset ``name`` with ``overrides``; warm-up defaults to
        min(100, steps / 10) steps."""
        check_choice("preset", name, tuple(PRESETS))
        settings = {**TRAIN_PRESETS[name], **overrides}
        settings.setdefault("warmup", min(100, check_int("steps", settings["steps"], 1) // 10))
        return cls(preset=name, **settings)


@dataclass(frozen=True)
class StepResult:
    """One optimiser step: cross-entropy (nats), network-wide firing rate, tokens processed."""

    loss: float
    firing_rate: float
    tokens: int


class TrainingInterrupted(Exception):
    """Training stopped on SIGINT or SIGTERM after finishing its current step.

    ``signum`` is the signal, ``step`` the global step reached and
    ``checkpoint`` the file that holds the run at that step (None when
    ``fit`` had no run directory).
    """

    def __init__(self, signum: int, step: int, checkpoint: Path | None):
        where = f"saved to {checkpoint}" if checkpoint else "not saved (no run directory)"
        super().__init__(f"{signal.Signals(signum).name} at step {step}; {where}")
        self.signum, self.step, self.checkpoint = signum, step, checkpoint


@checkpointable(TRAINER_KIND)
class Trainer:
    """Model, tokenizer, optimiser, data streams and history of one training run (on this MPI rank's
    share of the batch under ``mpiexec``)."""

    def __init__(self, config: TrainConfig, model: SpikingLM, tokenizer: Tokenizer, digest: str):
        self.config, self.model, self.tokenizer, self.digest = config, model, tokenizer, digest
        self.ranks = Ranks.world()
        self.columns = self.ranks.columns(config.batch)  # the streams this rank trains
        self.optimizer = AdamW(model.named_parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.rng = np.random.default_rng(config.seed)
        self.state: LMState | None = None  # carried between training chunks
        self.history: dict[str, list] = {k: [] for k in ("step", "loss", "val_loss", "firing_rate", "seconds")}
        self.seconds = 0.0  # training wall time so far, over all sessions
        self._data_state = {"position": 0, "shift": 0, "epoch": 0}
        self.tokens_digest: str | None = None  # SHA-256 of the token file's tokens, once the run has read one
        self._train: Streams | None = None
        self._val: np.ndarray | None = None

    @classmethod
    def create(cls, config: TrainConfig, **model_overrides: Any) -> "Trainer":
        """A fresh run: read the corpus and learn the tokenizer, or open the token file ``config.data``
        and take its tokenizer (``config.tokenizer`` and ``bpe_vocab`` are set from it); build the
        preset's model."""
        if config.data is not None:
            tokens = open_token_file(config.data)
            tokenizer, digest = tokens.tokenizer, tokens.corpus_sha256
            config = dataclasses.replace(config, data=str(tokens.path), tokenizer=tokenizer.kind,
                                         bpe_vocab=tokenizer.vocab_size if tokenizer.kind == "bpe" else config.bpe_vocab)
        else:
            if config.corpus is not None:
                config = dataclasses.replace(config, corpus=os.path.abspath(config.corpus))
            text = load_corpus(config.corpus)
            # Under mpiexec rank 0 learns it and the ranks take its copy: BPE training may differ between runs.
            tokenizer = tokenizer_from_dict(on_rank0(lambda: train_tokenizer(
                config.tokenizer, text_pieces([text]), config.bpe_vocab).to_dict()))
            digest = corpus_digest(text)
        model = SpikingLM(LMConfig.preset(config.preset, tokenizer.vocab_size, **model_overrides), config.seed)
        trainer = cls(config, model, tokenizer, digest)
        trainer._attach(tokens if config.data is not None else text)
        return trainer

    @property
    def step(self) -> int:
        return self.optimizer.step_count

    # ---- data (read lazily: generation and reports from a checkpoint need no corpus) ----------
    def _attach(self, source: str | TokenFile) -> None:
        """Read the token stream from the corpus text or a token file, which must hold this run's data."""
        if isinstance(source, TokenFile):
            name, digest, tokens = f"token file {str(source.path)!r}", source.corpus_sha256, source.tokens
            if source.tokenizer.to_dict() != self.tokenizer.to_dict():
                raise ValueError(f"{name} was written with another tokenizer ({source.tokenizer.kind}, "
                                 f"{source.tokenizer.vocab_size} tokens) than this run's ({self.tokenizer.kind}, "
                                 f"{self.tokenizer.vocab_size} tokens)")
            if self.tokens_digest not in (None, source.tokens_sha256):
                raise ValueError(f"{name} holds other tokens than the file this run was trained on "
                                 f"(tokens SHA-256 {source.tokens_sha256[:12]}..., not {self.tokens_digest[:12]}...)")
        else:
            name, digest, tokens = f"corpus {self.config.corpus or 'bundled'!r}", corpus_digest(source), None
        if digest != self.digest:
            raise ValueError(f"{name} differs from the corpus this run was trained on (SHA-256 mismatch)")
        train, self._val = split(encode_corpus(source, self.tokenizer) if tokens is None else tokens)
        if tokens is not None:
            self.tokens_digest = source.tokens_sha256
        self._train = Streams(train, self.config.batch, self.config.seq_len, self.columns)
        self._train.load_state_dict(self._data_state)

    def use_corpus(self, path: str | os.PathLike | None) -> None:
        """Read the training data from ``path`` (it must hold the text the run started with; None: the
        bundled corpus); later checkpoints store its absolute path."""
        if path is not None and not os.path.isfile(path):
            raise FileNotFoundError(errno.ENOENT, "no corpus file", str(path))
        self._relocate(corpus=None if path is None else os.path.abspath(path), data=None)

    def use_token_file(self, path: str | os.PathLike) -> None:
        """Read the training data from token file ``path`` (it must hold the corpus and tokenizer the run
        started with); later checkpoints store its absolute path."""
        if not os.path.isfile(path):
            raise FileNotFoundError(errno.ENOENT, "no token file", str(path))
        self._relocate(data=os.path.abspath(path))

    def _relocate(self, **paths: str | None) -> None:
        if self._train is not None:
            self._data_state = self._train.state_dict()
        self.config = dataclasses.replace(self.config, **paths)
        self._train = None

    @property
    def streams(self) -> Streams:
        if self._train is None:
            if self.config.data is not None:
                self._attach(open_token_file(self.config.data))
                return self._train
            try:
                text = load_corpus(self.config.corpus)
            except FileNotFoundError:
                # Runs saved before paths were made absolute hold them relative to where training started.
                raise FileNotFoundError(
                    f"this run's corpus {self.config.corpus!r} is not found (a relative path is taken from the "
                    f"current directory); give its location with --corpus PATH or Trainer.use_corpus") from None
            self._attach(text)
        return self._train

    @property
    def validation(self) -> np.ndarray:
        """Validation token stream (last 10% of the corpus)."""
        self.streams  # noqa: B018 -- loads the corpus on first use
        return self._val

    # ---- training ------------------------------------------------------------------------
    def train_step(self) -> StepResult:
        """One chunk of the global batch: forward from the carried state, backward (this rank's loss_k,
        see the module docstring), the ranks' gradients summed, clip, AdamW."""
        cfg, ranks = self.config, self.ranks
        x, y, new_epoch = self.streams.next(self.rng)
        if new_epoch:
            self.state = None
        self.optimizer.lr = warmup_cosine(self.step, cfg.lr, cfg.warmup, cfg.steps, cfg.lr * cfg.min_lr_ratio)
        out = self.model(x, self.state)
        ce = ad.cross_entropy(out.logits, y)
        counts = [ad.sum(ad.reshape(s, (-1, s.shape[-1])), axis=0) for s in out.spikes.values()]  # s^k_{p,n}
        totals = ranks.sum(np.concatenate([[ce.item()], *(c.data for c in counts)]).astype(np.float64))
        rows = x.size * self.model.config.steps_per_token * ranks.size  # T B: neuron steps per neuron
        loss = ce * (1.0 / ranks.size)
        for c, rate in zip(counts, np.split(totals[1:] / rows, np.cumsum([c.size for c in counts[:-1]]))):
            weight = cfg.rate_strength * 2 * (rate - cfg.rate_target) / (c.size * rows)
            loss = loss + ad.sum(c * weight.astype(c.data.dtype))
        self.optimizer.zero_grad()
        loss.backward()
        ranks.sum_gradients(self.model.parameters())
        clip_grad_norm(self.model.parameters(), cfg.clip)
        self.optimizer.step()
        self.state = out.state
        neurons = sum(c.size for c in counts)
        return StepResult(float(totals[0] / ranks.size), float(totals[1:].sum() / (neurons * rows)), y.size * ranks.size)

    def evaluate(self) -> Evaluation:
        """Validation loss and activity on the first ``eval_tokens`` validation tokens."""
        return evaluate(self.model, self.validation, self.tokenizer, batch=16, seq_len=self.config.seq_len,
                        max_tokens=self.config.eval_tokens)

    def fit(self, until: int | None = None, minutes: float | None = None, run_dir: str | os.PathLike | None = None,
            progress: bool = False, handle_signals: bool = False) -> Evaluation:
        """Train until global step ``until`` (default: the schedule's ``steps``) or for ``minutes`` of wall
        time, evaluating every ``eval_every`` steps, saving to ``run_dir`` every ``save_every`` steps and
        at the end (last 3 kept); returns the final evaluation.

        ``progress`` shows a bar on stderr: steps, or with ``minutes`` the seconds spent of the limit.
        It starts after the first step, whose kernels may still compile, so that its rate and ETA
        describe training. With ``handle_signals`` (main thread only), SIGINT or SIGTERM
        stops training once the current step is done: the run is saved to ``run_dir`` (atomically)
        and :class:`TrainingInterrupted` is raised. A second signal acts as it would without this.

        Under MPI every rank calls ``fit``: the ranks agree before each step whether to stop (a signal
        on any rank; the time limit as rank 0 measures it), rank 0 alone shows progress and writes
        the checkpoints, and the others take part in gathering the carried state.
        """
        until = self.config.steps if until is None else check_int("until", until, 0)
        budget = None if minutes is None else 60 * check_positive("minutes", minutes)
        if handle_signals and threading.current_thread() is not threading.main_thread():
            raise ValueError("handle_signals=True needs the main thread (Python delivers signals there)")
        started = time.perf_counter()
        losses: list[float] = []
        evaluation = None
        bar = None
        progress = progress and self.ranks.rank == 0
        signum = 0
        with _stop_on_signals(handle_signals) as received:
            try:
                while self.step < until:
                    over = self.ranks.rank == 0 and budget is not None and time.perf_counter() - started >= budget
                    signum, over = self.ranks.max(np.array([received[0] if received else 0, over]))
                    if signum or over:
                        break
                    t0 = time.perf_counter()
                    result = self.train_step()
                    now = time.perf_counter()
                    self.seconds += now - t0
                    losses.append(result.loss)
                    if progress:
                        bar = bar or _progress_bar(self.step, until, budget, now - started)
                        _advance(bar, result, self.step, until, now - t0, now - started)
                    if self.step % self.config.eval_every == 0:
                        evaluation = self._log(losses, bar)
                        losses = []
                    if run_dir is not None and self.step % self.config.save_every == 0:
                        self._save(run_dir)
            finally:
                if bar is not None:  # before anything else is printed: it must not land inside the bar
                    bar.close()
            if signum:
                raise TrainingInterrupted(int(signum), self.step, None if run_dir is None else self._save(run_dir))
            if evaluation is None or losses:
                evaluation = self._log(losses, None)
            if run_dir is not None:
                self._save(run_dir)
        return evaluation

    def _save(self, run_dir: str | os.PathLike) -> Path | None:
        """Rank 0 saves the run to ``run_dir`` (the path; None on the other ranks, which give it their
        share of the carried state and wait for the file)."""
        path = save_step(self, run_dir, self.step)
        return path if self.ranks.rank == 0 else None

    def _log(self, losses: list[float], bar: Any) -> Evaluation:
        ev = self.evaluate()
        rates = ev.activity.firing_rates
        for key, value in (("step", self.step), ("loss", float(np.mean(losses)) if losses else float("nan")),
                           ("val_loss", ev.loss_nats), ("firing_rate", list(rates.values())),
                           ("seconds", self.seconds)):
            self.history[key].append(value)
        if bar is not None:
            bar.write(f"step {self.step}: val loss {ev.loss_nats:.4f} nats ({ev.bits_per_char:.3f} bits/char), "
                      f"firing rate {ev.activity.firing_rate:.4f}")
        return ev

    # ---- checkpoint ----------------------------------------------------------------------
    def checkpoint_state(self) -> Snapshot:
        """The whole run. Under MPI every rank must call it: the carried state of the whole batch is
        gathered on rank 0, whose snapshot is the one to save."""
        state = self._whole_batch_state()
        opt = self.optimizer.state_dict()
        names = list(self.model.populations)
        h = self.history
        history = {"step": np.asarray(h["step"], np.int64), "loss": np.asarray(h["loss"], np.float64),
                   "val_loss": np.asarray(h["val_loss"], np.float64),
                   "firing_rate": np.asarray(h["firing_rate"], np.float64).reshape(-1, len(names)),
                   "firing_rate_layers": names, "seconds": np.asarray(h["seconds"], np.float64)}
        data = self._train.state_dict() if self._train is not None else dict(self._data_state)
        groups: dict[str, Any] = {
            "optimizer": {"step": opt["step"], "lr": self.optimizer.lr, "m": opt["exp_avg"], "v": opt["exp_avg_sq"]},
            "rng": pack_rng(self.rng),
            "data": {**data, "seconds": self.seconds},
            "history": history,
            "tokenizer": self.tokenizer.to_dict(),
        }
        if state is not None:
            groups["dynamic"] = {name: dict(zip(("membrane", "spikes", "adaptation"), st))
                                 for name, st in state.items()}
        config = {"model": self.model.config.to_dict(), "train": dataclasses.asdict(self.config),
                  "corpus_sha256": self.digest, "tokens_sha256": self.tokens_digest}
        return Snapshot(TRAINER_KIND, config, self.model.state_dict(), groups)

    @classmethod
    def from_checkpoint(cls, snap: Snapshot) -> "Trainer":
        try:
            config = TrainConfig(**snap.config["train"])
            model = SpikingLM(LMConfig(**snap.config["model"]), seed=0)
            tokenizer = tokenizer_from_dict(snap.groups["tokenizer"])
            digest = snap.config["corpus_sha256"]
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"/config: does not describe a language-model run ({err})") from err
        trainer = cls(config, model, tokenizer, digest)  # under MPI: refused if the ranks do not divide the batch
        trainer.tokens_digest = snap.config.get("tokens_sha256")
        expect_arrays(snap.parameters, {n: (p.shape, p.dtype) for n, p in model.named_parameters()})
        model.load_state_dict(snap.parameters)
        g = snap.groups
        try:
            opt = g["optimizer"]
            trainer.optimizer.load_state_dict({"step": opt["step"], "exp_avg": opt["m"], "exp_avg_sq": opt["v"]})
            trainer.optimizer.lr = opt["lr"]
            trainer.rng = unpack_rng(g["rng"])
            trainer._data_state = {k: g["data"][k] for k in ("position", "shift", "epoch")}
            trainer.seconds = float(g["data"]["seconds"])
            h = g["history"]
            trainer.history = {"step": h["step"].tolist(), "loss": h["loss"].tolist(),
                               "val_loss": h["val_loss"].tolist(), "firing_rate": h["firing_rate"].tolist(),
                               "seconds": h["seconds"].tolist()}
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise CheckpointError(f"optimizer, rng, data or history group does not fit: {err!r}") from err
        if "dynamic" in g:
            whole = _restore_state(g["dynamic"], model, config.batch)
            rows = slice(trainer.columns.start, trainer.columns.stop)
            trainer.state = {name: NeuronState(*(a[rows] for a in st)) for name, st in whole.items()}
        return trainer

    def _whole_batch_state(self) -> LMState | None:
        """The carried state of all B streams (the ranks' shares in rank order; None on ranks other than 0)."""
        shares = self.ranks.gather(self.state)
        if shares is None or shares[0] is None:  # not rank 0, or no state yet (the same on every rank)
            return None
        return {name: NeuronState(*(np.concatenate([share[name][i] for share in shares]) for i in range(3)))
                for name in shares[0]}


def _restore_state(dynamic: dict, model: SpikingLM, batch: int) -> LMState:
    state = {}
    for name, pop in model.populations.items():
        arrays = dynamic.get(name, {})
        expect_arrays(arrays, dict.fromkeys(("membrane", "spikes", "adaptation"), ((batch, pop.size), np.float32)),
                      f"/dynamic/{name}")
        state[name] = NeuronState(arrays["membrane"], arrays["spikes"], arrays["adaptation"])
    return state


@contextlib.contextmanager
def _stop_on_signals(enabled: bool) -> Iterator[list[int]]:
    """Collect SIGINT and SIGTERM into the yielded list instead of acting on them (if ``enabled``).

    The handler only records, and says so on stderr: an exception raised
    inside a Numba kernel's callback would surface as a chained SystemError
    and lose the step. Each signal's previous handler returns after its first
    delivery, so a second Ctrl-C interrupts at once.
    """
    received: list[int] = []
    if not enabled:
        yield received
        return

    def record(signum: int, frame: Any) -> None:
        received.append(signum)
        signal.signal(signum, previous[signum])
        # os.write, not print: the signal may arrive in the middle of another write to stderr
        os.write(2, f"\n{signal.Signals(signum).name}: stopping after the current step to save the run "
                    "(send it again to stop at once without saving)\n".encode())

    previous = {sig: signal.signal(sig, record) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _progress_bar(step: int, until: int, budget: float | None, elapsed: float) -> tqdm:
    """A bar over steps up to ``until``, or over the ``budget`` seconds of a time-limited run."""
    if budget is None:
        return tqdm(total=until, initial=step, unit="step", desc="training")
    return tqdm(total=round(budget), initial=min(elapsed, budget), unit="s", desc=f"training ({budget / 60:g} min)",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total} s{postfix}")


def _advance(bar: tqdm, result: StepResult, step: int, until: int, step_seconds: float, elapsed: float) -> None:
    """Move ``bar`` to ``step`` (a step bar) or to ``elapsed`` seconds (a time bar) and show the step's numbers."""
    stats = dict(loss=f"{result.loss:.3f}", tok_s=f"{result.tokens / step_seconds:.0f}",
                 rate=f"{result.firing_rate:.3f}")
    if bar.unit == "step":
        bar.update(step - bar.n)
        bar.set_postfix(stats)
    else:
        bar.update(min(elapsed, bar.total) - bar.n)
        bar.set_postfix(dict(step=f"{step}/{until}", **stats))


def load_trainer(path: str | os.PathLike) -> Trainer:
    """The run saved in checkpoint ``path``, or in the latest checkpoint of run directory ``path``."""
    path = resolve_checkpoint(path)
    run = load(path)
    if not isinstance(run, Trainer):
        raise ValueError(f"checkpoint {str(path)!r} holds a {type(run).__name__}, not a language-model run")
    return run
