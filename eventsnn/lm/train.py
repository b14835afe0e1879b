"""Training a :class:`~eventsnn.lm.model.SpikingLM`: the ``Trainer`` and its one-file checkpoint.

Each step reads the next chunk x, y [L, B] of the B training streams
(:class:`~eventsnn.lm.data.Streams`), runs the model from the state the
previous chunk left (detached: truncated BPTT over L tokens) and minimises

    loss = CE(logits, y) + strength * sum_p mean_n (r_{p,n} - target)^2

(cross-entropy in nats plus :func:`~eventsnn.nn.firing_rate_loss` on every
population) with AdamW, global-norm clipping and ``warmup_cosine`` from
``lr`` down to ``min_lr_ratio * lr`` over ``steps`` steps.

A checkpoint (kind ``eventsnn.lm.Trainer``) holds the model, the optimizer
moments, the data RNG, the stream position, the carried neuron state
(``/dynamic``), the history and the tokenizer, so that N steps, save, load
and M more steps give exactly the parameters of N + M steps at once (with
the same number of threads). The corpus itself is not stored; its SHA-256 is,
and a resumed run refuses a different text. A new run stores the corpus's
absolute path, so that it is found from any working directory.
"""
from __future__ import annotations

import contextlib
import dataclasses
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
from ..nn import AdamW, clip_grad_norm, firing_rate_loss, warmup_cosine
from .config import PRESETS, TRAINER_KIND, LMConfig
from .data import Streams, corpus_digest, encode_corpus, load_corpus, split
from .metrics import Evaluation, evaluate
from .model import LMState, SpikingLM
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
    """Model, tokenizer, optimiser, data streams and history of one training run."""

    def __init__(self, config: TrainConfig, model: SpikingLM, tokenizer: Tokenizer, digest: str):
        self.config, self.model, self.tokenizer, self.digest = config, model, tokenizer, digest
        self.optimizer = AdamW(model.named_parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.rng = np.random.default_rng(config.seed)
        self.state: LMState | None = None  # carried between training chunks
        self.history: dict[str, list] = {k: [] for k in ("step", "loss", "val_loss", "firing_rate", "seconds")}
        self.seconds = 0.0  # training wall time so far, over all sessions
        self._data_state = {"position": 0, "shift": 0, "epoch": 0}
        self._train: Streams | None = None
        self._val: np.ndarray | None = None

    @classmethod
    def create(cls, config: TrainConfig, **model_overrides: Any) -> "Trainer":
        """A fresh run: read the corpus, learn the tokenizer, build the preset's model."""
        if config.corpus is not None:
            config = dataclasses.replace(config, corpus=os.path.abspath(config.corpus))
        text = load_corpus(config.corpus)
        tokenizer = train_tokenizer(config.tokenizer, text, config.bpe_vocab)
        model = SpikingLM(LMConfig.preset(config.preset, tokenizer.vocab_size, **model_overrides), config.seed)
        trainer = cls(config, model, tokenizer, corpus_digest(text))
        trainer._attach(text)
        return trainer

    @property
    def step(self) -> int:
        return self.optimizer.step_count

    # ---- data (read lazily: generation and reports from a checkpoint need no corpus) ----------
    def _attach(self, text: str) -> None:
        if corpus_digest(text) != self.digest:
            raise ValueError(f"corpus {self.config.corpus or 'bundled'!r} differs from the one this run "
                             "was trained on (SHA-256 mismatch)")
        train, self._val = split(encode_corpus(text, self.tokenizer))
        self._train = Streams(train, self.config.batch, self.config.seq_len)
        self._train.load_state_dict(self._data_state)

    def use_corpus(self, path: str | os.PathLike | None) -> None:
        """Read the training data from ``path`` (it must hold the text the run started with; None: the
        bundled corpus); later checkpoints store its absolute path."""
        if self._train is not None:
            self._data_state = self._train.state_dict()
        self.config = dataclasses.replace(self.config, corpus=None if path is None else os.path.abspath(path))
        self._train = None

    @property
    def streams(self) -> Streams:
        if self._train is None:
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
        """One chunk: forward from the carried state, backward, clip, AdamW."""
        cfg = self.config
        x, y, new_epoch = self.streams.next(self.rng)
        if new_epoch:
            self.state = None
        self.optimizer.lr = warmup_cosine(self.step, cfg.lr, cfg.warmup, cfg.steps, cfg.lr * cfg.min_lr_ratio)
        out = self.model(x, self.state)
        ce = ad.cross_entropy(out.logits, y)
        loss = ce
        for s in out.spikes.values():
            loss = loss + firing_rate_loss(s, cfg.rate_target, cfg.rate_strength)
        self.optimizer.zero_grad()
        loss.backward()
        clip_grad_norm(self.model.parameters(), cfg.clip)
        self.optimizer.step()
        self.state = out.state
        spikes = sum(float(s.data.sum()) for s in out.spikes.values())
        neuron_steps = sum(s.size for s in out.spikes.values())
        return StepResult(ce.item(), spikes / neuron_steps, y.size)

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
        """
        until = self.config.steps if until is None else check_int("until", until, 0)
        budget = None if minutes is None else 60 * check_positive("minutes", minutes)
        if handle_signals and threading.current_thread() is not threading.main_thread():
            raise ValueError("handle_signals=True needs the main thread (Python delivers signals there)")
        started = time.perf_counter()
        losses: list[float] = []
        evaluation = None
        bar = None
        with _stop_on_signals(handle_signals) as received:
            try:
                while not received and self.step < until and (budget is None or time.perf_counter() - started < budget):
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
                        save_step(self, run_dir, self.step)
            finally:
                if bar is not None:  # before anything else is printed: it must not land inside the bar
                    bar.close()
            if received:
                checkpoint = None if run_dir is None else save_step(self, run_dir, self.step)
                raise TrainingInterrupted(received[0], self.step, checkpoint)
            if evaluation is None or losses:
                evaluation = self._log(losses, None)
            if run_dir is not None:
                save_step(self, run_dir, self.step)
        return evaluation

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
        if self.state is not None:
            groups["dynamic"] = {name: dict(zip(("membrane", "spikes", "adaptation"), st))
                                 for name, st in self.state.items()}
        config = {"model": self.model.config.to_dict(), "train": dataclasses.asdict(self.config),
                  "corpus_sha256": self.digest}
        return Snapshot(TRAINER_KIND, config, self.model.state_dict(), groups)

    @classmethod
    def from_checkpoint(cls, snap: Snapshot) -> "Trainer":
        try:
            config = TrainConfig(**snap.config["train"])
            model = SpikingLM(LMConfig(**snap.config["model"]), seed=0)
            tokenizer = tokenizer_from_dict(snap.groups["tokenizer"])
            trainer = cls(config, model, tokenizer, snap.config["corpus_sha256"])
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"/config: does not describe a language-model run ({err})") from err
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
            trainer.state = _restore_state(g["dynamic"], model, config.batch)
        return trainer


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
