"""The ``eventsnn`` command line.

    eventsnn inspect CKPT     summary of a checkpoint (verifies every dataset)
    eventsnn simulate cuba|coba [--n N] [--duration MS] [--save CKPT]
    eventsnn presets          the language-model presets, their sizes and training settings
    eventsnn tokenize CORPUS OUT [--tokenizer char|bpe] [--bpe-vocab N] [--force]
    eventsnn train [--preset tiny|small|base] [--corpus PATH | --data TOKENS] [--tokenizer char|bpe] [--minutes M]
                   [--steps N] [--out DIR] [--resume CKPT] [--seed S] [--force] [--json PATH]
    eventsnn generate CKPT [--prompt TEXT] [--max-tokens N] [--temperature T] [--top-k K]
                      [--top-p P] [--seed S] [--engine event|dense] [--precision float32|int8]
    eventsnn export CKPT OUT [--precision float32|int8] [--eval-tokens N] [--corpus PATH] [--force]
    eventsnn report CKPT [--prompt TEXT] [--json PATH] [--plots DIR] [--corpus PATH]
    eventsnn adapt CKPT --corpus FILE [--rule rstdp|sgd|none] [--json PATH] [--save STATE] [--resume STATE] ...

CKPT may be a checkpoint file or a run directory (its latest checkpoint),
given as the positional argument or as ``--checkpoint CKPT``. Errors print
one line ``eventsnn COMMAND: ...`` and exit with status 2; an interrupted
training run saves itself and exits with 128 + the signal number (130 for
Ctrl-C, 143 for SIGTERM). The language-model commands import
:mod:`eventsnn.lm` only when they run. ``mpiexec -n K eventsnn train ...``
trains data-parallel (:mod:`eventsnn.lm.parallel`): rank 0 locks the run
directory, prints and saves; an error on any rank ends every rank.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import math
import shlex
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from ._extras import require
from .checkpoint import RunLock, inspect, latest_checkpoint, resolve_checkpoint, save, step_checkpoints
from .checkpoint.hdf5 import atomic_write
from .errors import CheckpointError, MissingDependencyError, RunDirectoryError
from .mpi import on_rank0, rank, world
from .reference_networks import coba, cuba

if TYPE_CHECKING:  # the language model is imported only by the commands that use it
    from .lm.metrics import Evaluation
    from .lm.train import Trainer

# What a fresh run uses when an option is not given. The parser's defaults are
# None so that a resumed run can tell an option given from one left out.
TRAIN_DEFAULTS = {"preset": "tiny", "tokenizer": "char", "bpe_vocab": 1024, "seed": 0}


class _Usage(Exception):
    """A command line that contradicts itself or the run it names (exit status 2)."""


def _inspect(args: argparse.Namespace) -> int:
    print(inspect(resolve_checkpoint(_checkpoint(args))))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    bench = {"cuba": cuba, "coba": coba}[args.network](args.n, seed=args.seed)
    bench.network.run(args.duration)
    rate = bench.spikes.num_spikes / args.n / (args.duration / 1000.0)
    print(f"{args.network}: {args.n} neurons, {args.duration:g} ms, {bench.spikes.num_spikes} spikes, {rate:.2f} Hz")
    if args.save:
        print(f"saved {save(bench.network, args.save)}")
    return 0


def _presets(args: argparse.Namespace) -> int:
    from .lm import PRESETS, LMConfig, SpikingLM
    from .lm.data import load_corpus
    from .lm.train import TRAIN_PRESETS

    chars = len(set(load_corpus())) + 1  # the bundled corpus's characters and <|endoftext|>
    rows = []
    for name, shape in PRESETS.items():
        counts = [SpikingLM(LMConfig.preset(name, vocab), seed=0).num_parameters() for vocab in (chars, 1024)]
        train = TRAIN_PRESETS[name]
        rows.append((name, f"{counts[0]:,}", f"{counts[1]:,}", " ".join(f"{k}={v}" for k, v in shape.items()),
                     " ".join(f"{k}={train[k]:g}" for k in ("batch", "seq_len", "lr", "steps"))))
    header = ("preset", "parameters (char)", "parameters (bpe)", "model", "training")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (f"{cell:>{w}}" if i in (1, 2) else f"{cell:<{w}}" for i, (cell, w) in enumerate(zip(row, widths)))
        print("  ".join(cells).rstrip())
    print(f"parameters: with the bundled corpus's {chars} characters (char) or a 1024-token BPE vocabulary (bpe)")
    return 0


def _tokenize(args: argparse.Namespace) -> int:
    if args.tokenizer == "bpe":
        require("tokenizers", "--tokenizer bpe")
    from .lm.tokenfile import write_token_file

    def write() -> str:
        tokens = write_token_file(args.corpus, args.out, args.tokenizer, args.bpe_vocab, args.force)
        return (f"wrote {tokens.path}: {tokens.tokens.size:,} tokens as {tokens.tokens.dtype.name} "
                f"({tokens.tokenizer.kind} tokenizer, {tokens.tokenizer.vocab_size} tokens); train on it with "
                f"eventsnn train --data {_quote(tokens.path)}")

    done = on_rank0(write)  # under mpiexec rank 0 writes the file and the others wait for it
    if rank() == 0:
        print(done)
    return 0


def _train(args: argparse.Namespace) -> int:
    if args.data and (args.corpus or args.tokenizer or args.bpe_vocab):
        raise _Usage("--data reads a token file, which fixes the corpus and tokenizer: leave out --corpus, "
                     "--tokenizer and --bpe-vocab")
    if args.tokenizer == "bpe":
        require("tokenizers", "--tokenizer bpe")  # before any work: the vocabulary is learned first
    if args.json and not Path(args.json).resolve().parent.is_dir():  # written at the end: checked at the start
        raise _Usage(f"--json {args.json}: its directory does not exist")
    source = resolve_checkpoint(args.resume) if args.resume else None
    if source is not None:
        out = Path(args.out) if args.out else source.parent
    else:
        out = Path(args.out or f"runs/{args.preset or TRAIN_DEFAULTS['preset']}")
    lead = rank() == 0  # under mpiexec, rank 0 owns the run directory and alone prints
    # The lock also proves --out creatable and writable before any training time is spent.
    try:
        lock = RunLock(out) if lead else contextlib.nullcontext()
    except OSError as err:
        raise RunDirectoryError(f"cannot use {out} as the run directory: {err.strerror or err}") from err
    with lock, open(os.devnull, "w") as devnull, contextlib.redirect_stdout(sys.stdout if lead else devnull):
        if lead:
            _claim_run_dir(out, source, args.force)
        run, until = _start_run(args, source)
        return _fit(run, until, out, args)


def _claim_run_dir(out: Path, source: Path | None, force: bool) -> None:
    """Refuse (or with ``force`` clear) a run directory that holds another run's checkpoints."""
    existing = step_checkpoints(out)
    if not existing and not (out / "latest").exists():
        return
    if source is not None and source.parent.resolve() == out.resolve():
        return  # the resumed run's own directory
    if not force:
        what = "the run being resumed" if source is not None else "a fresh run"
        raise RunDirectoryError(f"{out} already holds a run's checkpoints ({', '.join(p.name for p in existing)}); "
                                f"refusing to write {what} there: resume it with --resume {_quote(out)}, choose "
                                f"another --out, or pass --force to delete them")
    for path in existing:
        path.unlink()
    (out / "latest").unlink(missing_ok=True)
    print(f"--force: deleted the {len(existing)} checkpoint(s) that were in {out}")


def _start_run(args: argparse.Namespace, source: Path | None) -> tuple[Trainer, int]:
    """The run to train (fresh or resumed) and the global step to train until."""
    from .lm.train import TrainConfig, Trainer, load_trainer

    if source is None:
        settings = {k: d if getattr(args, k) is None else getattr(args, k) for k, d in TRAIN_DEFAULTS.items()}
        overrides = {"steps": args.steps} if args.steps else {}
        config = TrainConfig.preset_config(settings.pop("preset"), corpus=args.corpus, data=args.data, **settings,
                                           **overrides)
        return Trainer.create(config), config.steps
    run = load_trainer(source)
    for option in ("preset", "tokenizer", "bpe_vocab", "seed"):
        given, stored = getattr(args, option), getattr(run.config, option)
        if given is not None and given != stored:
            raise _Usage(f"--{option.replace('_', '-')} {given} conflicts with the resumed run's {option} {stored!r}: "
                         "a resumed run keeps its preset, tokenizer and seed (leave the option out, or start a "
                         "fresh run)")
    if args.corpus:
        run.use_corpus(args.corpus)
    if args.data:
        run.use_token_file(args.data)
    if args.corpus or args.data:
        run.streams  # noqa: B018 -- reads the new data now, so that a mismatch is refused before training starts
    until = args.steps or run.config.steps
    if until <= run.step:
        reason = (f"--steps {args.steps} is not beyond" if args.steps else
                  f"its {run.config.steps}-step schedule has ended at")
        raise _Usage(f"nothing to train: the run in {source} is at step {run.step} and {reason} it; pass --steps N "
                     f"with N > {run.step} to train further (past the schedule's end at its final learning rate)")
    return run, until


def _fit(run: Trainer, until: int, out: Path, args: argparse.Namespace) -> int:
    from .lm.train import TrainingInterrupted

    limit = f" or for {args.minutes:g} min" if args.minutes else ""
    print(f"training {run.config.preset} ({run.model.num_parameters():,} parameters, {run.tokenizer.kind} tokenizer, "
          f"{run.tokenizer.vocab_size} tokens) from step {run.step} to step {until}{limit}; checkpoints in {out}")
    resume = f"eventsnn train --resume {_quote(out)}" + (f" --steps {until}" if until != run.config.steps else "")
    start, seconds, started = run.step, run.seconds, time.perf_counter()
    try:
        ev = run.fit(until=until, minutes=args.minutes, run_dir=out, progress=True, handle_signals=True)
    except TrainingInterrupted as stop:
        if stop.checkpoint is not None:  # rank 0
            print(f"{signal.Signals(stop.signum).name}: stopped after step {stop.step}, saved {stop.checkpoint}\n"
                  f"resume with: {resume}", file=sys.stderr)
        return 128 + stop.signum
    print(f"step {run.step}: val loss {ev.loss_nats:.4f} nats ({ev.bits_per_char:.4f} bits/char), "
          f"firing rate {ev.activity.firing_rate:.4f}; saved {latest_checkpoint(out)}")
    if run.step < until:
        print(f"stopped at step {run.step} of {until} after --minutes {args.minutes:g}; continue with: {resume}")
    if args.json:
        _write_summary(args.json, run, start, run.seconds - seconds, time.perf_counter() - started, ev)
    return 0


def _write_summary(path: str, run: Trainer, start: int, seconds: float, wall: float,
                   ev: Evaluation) -> None:
    """``--json``: this session's steps and throughput (tokens over the steps' own time, without
    evaluations and saves) and the final losses."""
    steps = run.step - start
    tokens = steps * run.config.batch * run.config.seq_len
    summary = {"steps": steps, "step": run.step, "tokens": tokens, "seconds": seconds, "wall_seconds": wall,
               "tokens_per_s": tokens / seconds if seconds > 0 else None, "ranks": run.ranks.size,
               "batch": run.config.batch, "seq_len": run.config.seq_len, "preset": run.config.preset,
               "train_loss": run.history["loss"][-1], "val_loss": ev.loss_nats}
    _write_json(path, summary)


def _write_json(path: str, obj: object) -> None:
    """``--json``: write ``obj`` atomically to ``path``, on rank 0 alone under mpiexec (every rank waits)."""
    on_rank0(lambda: atomic_write(Path(path), lambda tmp: tmp.write_text(json.dumps(obj, indent=2),
                                                                         encoding="utf-8")))
    if rank() == 0:
        print(f"wrote {path}")


def _generate(args: argparse.Namespace) -> int:
    from .lm.engine import load_inference
    from .lm.generate import generate

    checkpoint = _checkpoint(args)
    if args.online and (args.engine != "event" or args.precision not in (None, "float32")):
        raise _Usage("--online runs the float32 event engine: leave out --engine dense and --precision int8")
    lm = load_inference(checkpoint, args.precision)
    if lm.tokenizer is None:
        raise ValueError(f"checkpoint {checkpoint!r} holds no tokenizer")
    lm.tokenizer.encode(args.prompt, "--prompt")  # an unencodable prompt is refused before anything is printed
    sys.stdout.write(args.prompt)
    pieces, first = 0, None
    if args.online:  # the model keeps adapting (eventsnn.lm.adapt) to the prompt and to what it writes
        from .lm.adapt import generate_online

        stream = generate_online(checkpoint, args.prompt, args.max_tokens, args.temperature, args.top_k, args.top_p,
                                 args.seed)
    else:
        stream = generate(lm, lm.tokenizer, args.prompt, args.max_tokens, args.temperature, args.top_k, args.top_p,
                          args.seed, args.engine)
    for piece in stream:
        sys.stdout.write(piece)
        sys.stdout.flush()
        pieces += 1
        first = first or time.perf_counter()  # timed from the first piece: kernels compile once before it
    if pieces > 1:
        rate = (pieces - 1) / max(time.perf_counter() - first, 1e-9)
        print(f"\n[{pieces} pieces, {rate:.0f}/s after the first, {args.engine} engine]", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from .lm.engine import InferenceLM, mean_cross_entropy
    from .lm.train import load_trainer

    positional = [p for p in (args.checkpoint, args.out) if p is not None]
    if args.checkpoint_option is not None:
        positional.insert(0, args.checkpoint_option)
    if len(positional) != 2:
        raise _Usage("export needs a checkpoint and an output file: eventsnn export CKPT OUT "
                     "(or eventsnn export --checkpoint CKPT OUT)")
    checkpoint, out = positional
    if Path(out).is_dir():
        raise _Usage(f"OUT {out!r} is a directory: give the HDF5 file to write")
    if Path(out).exists():
        if Path(out).resolve() == resolve_checkpoint(checkpoint).resolve():
            raise _Usage(f"export would write over the checkpoint it reads ({out}): give another OUT")
        if not args.force:
            raise _Usage(f"OUT {out!r} exists: give --force to replace it")
    from .lm.adapt import adapted_export

    adapted = adapted_export(checkpoint, args.precision)
    if adapted is not None:  # an adaptation state (eventsnn adapt --save): the model as it left it
        print(f"saved {save(adapted, out)} ({adapted.precision}, adapted by eventsnn adapt)")
        return 0
    run = load_trainer(checkpoint)
    if args.corpus:
        run.use_corpus(args.corpus)
    lm = InferenceLM.from_model(run.model, args.precision, run.tokenizer)
    print(f"saved {save(lm, out)} ({lm.precision}, {lm.weight_bytes() / 2**20:.2f} MiB of weights)")
    if args.eval_tokens:
        tokens = run.validation[:args.eval_tokens + 1]
        reference = mean_cross_entropy(InferenceLM.from_model(run.model), tokens)
        loss = mean_cross_entropy(lm, tokens) if lm.precision != "float32" else reference
        print(f"validation loss on {tokens.size - 1} tokens: {loss:.4f} nats ({lm.precision}), "
              f"{reference:.4f} nats (float32), change {loss - reference:+.4f}")
    return 0


def _report(args: argparse.Namespace) -> int:
    if args.plots:
        require("matplotlib", "--plots")  # before the evaluation, which takes a while
    from .lm.report import build_report, default_prompt, format_report, prompt_spikes, write_plots
    from .lm.train import load_trainer

    run = load_trainer(_checkpoint(args))
    if args.corpus:
        run.use_corpus(args.corpus)
    if args.prompt is not None:
        run.tokenizer.encode(args.prompt, "--prompt")  # refuse an unencodable prompt before the evaluation
    report = build_report(run)
    print(format_report(report))
    if args.json:
        _write_json(args.json, report)
    if args.plots:
        prompt = default_prompt(run) if args.prompt is None else args.prompt
        for path in write_plots(report, prompt_spikes(run, prompt), args.plots):
            print(f"wrote {path}")
    return 0


def _adapt(args: argparse.Namespace) -> int:
    from .lm.adapt import run_command

    if args.resume is None:
        args.checkpoint = _checkpoint(args)
    elif args.checkpoint or args.checkpoint_option:
        raise _Usage("--resume STATE continues an adaptation: give no CKPT with it")
    summary = run_command(args)
    if args.json:
        _write_json(args.json, summary)
    return 0


def _checkpoint(args: argparse.Namespace) -> str:
    """The checkpoint given positionally or as ``--checkpoint`` (once)."""
    given = {p for p in (args.checkpoint, args.checkpoint_option) if p is not None}
    if len(given) != 1:
        raise _Usage(f"give one checkpoint, as CKPT or --checkpoint CKPT (got {len(given)})")
    return given.pop()


def _quote(path: Path) -> str:
    return shlex.quote(str(path))


# ---------------------------------------------------------------- the parser


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: ...)" to an option's help unless the default is None, False or "" (said in words)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False or action.default == "":
            return action.help or ""
        return super()._get_help_string(action)


def _number(kind: type, minimum: float, inclusive: bool = True):
    """An argparse type: a finite ``kind`` >= ``minimum`` (> when not ``inclusive``)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {'an integer' if kind is int else 'a number'}, got {text!r}")
        if not math.isfinite(value) or value < minimum or (value == minimum and not inclusive):
            raise argparse.ArgumentTypeError(f"must be {'>=' if inclusive else '>'} {minimum:g}, got {text}")
        return value

    return parse


def _checkpoint_arguments(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("checkpoint", nargs="?", metavar="CKPT",
                   help=f"{what}: a checkpoint file or a run directory (its latest checkpoint)")
    p.add_argument("--checkpoint", dest="checkpoint_option", metavar="CKPT", help="the same, as an option")


def build_parser() -> argparse.ArgumentParser:
    """The ``eventsnn`` argument parser, every subcommand and option with its help."""
    parser = argparse.ArgumentParser(prog="eventsnn", description="Event-driven spiking neural networks.",
                                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"eventsnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, run) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, formatter_class=_HelpFormatter)
        p.set_defaults(run=run)
        return p

    p = command("inspect", "summarise a checkpoint and verify every dataset in it", _inspect)
    _checkpoint_arguments(p, "the checkpoint to inspect")

    p = command("simulate", "run a Brette et al. (2007) benchmark network", _simulate)
    p.add_argument("network", choices=["cuba", "coba"], help="cuba: current-based; coba: conductance-based")
    p.add_argument("--n", type=_number(int, 1), default=4000, help="number of neurons (80%% excitatory)")
    p.add_argument("--duration", type=_number(float, 0, inclusive=False), default=1000.0,
                   help="simulated time in ms (> 0)")
    p.add_argument("--seed", type=_number(int, 0), default=1, help="seed of the connectivity and initial state")
    p.add_argument("--save", metavar="CKPT", help="write the network, with its state, to this HDF5 file")

    command("presets", "list the language-model presets with their parameter counts and training settings",
            _presets)

    p = command("tokenize", "write a corpus's token stream once, for eventsnn train --data (read by memory map, "
                            "so corpora larger than memory train)", _tokenize)
    p.add_argument("corpus", metavar="CORPUS", help="UTF-8 text file; <|endoftext|> lines separate documents")
    p.add_argument("out", metavar="OUT", help="token file to write (atomically)")
    p.add_argument("--tokenizer", choices=["char", "bpe"], default="char",
                   help="char: one token per character; bpe: byte-level BPE, needs eventsnn[bpe]")
    p.add_argument("--bpe-vocab", type=_number(int, 258), default=1024, metavar="N", help="BPE vocabulary size")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")

    p = command("train", "train the spiking language model (Ctrl-C or SIGTERM saves the run and says how to "
                         "resume it)", _train)
    p.add_argument("--preset", choices=["tiny", "small", "base"],
                   help="model size and training settings, see 'eventsnn presets' (default: tiny; a resumed "
                        "run keeps its own)")
    p.add_argument("--corpus", metavar="PATH",
                   help="UTF-8 text file (default: the bundled Tiny Shakespeare; a resumed run reads the one it "
                        "stored, or this one if it holds the same text)")
    p.add_argument("--data", metavar="TOKENS",
                   help="token file from eventsnn tokenize, read by memory map instead of --corpus (a resumed run "
                        "accepts one made from its corpus with its tokenizer)")
    p.add_argument("--tokenizer", choices=["char", "bpe"],
                   help="char: one token per character; bpe: byte-level BPE, needs eventsnn[bpe] (default: char)")
    p.add_argument("--bpe-vocab", type=_number(int, 258), metavar="N", help="BPE vocabulary size (default: 1024)")
    p.add_argument("--minutes", type=_number(float, 0, inclusive=False), metavar="M",
                   help="stop after this much wall time (and a checkpoint), even before --steps")
    p.add_argument("--steps", type=_number(int, 1), metavar="N",
                   help="a fresh run: the schedule's length and where training stops (default: the preset's); "
                        "--resume: train until this global step, which must lie beyond the run's current one "
                        "(default: the end of the run's schedule)")
    p.add_argument("--out", metavar="DIR",
                   help="run directory for checkpoints, locked while training (default: runs/PRESET; with "
                        "--resume: the resumed run's own directory)")
    p.add_argument("--resume", metavar="CKPT", help="checkpoint or run directory to continue")
    p.add_argument("--seed", type=_number(int, 0), metavar="S",
                   help="seed of the initial weights and the data order (default: 0; a resumed run keeps its own)")
    p.add_argument("--force", action="store_true",
                   help="start even if --out holds another run's checkpoints, deleting them")
    p.add_argument("--json", metavar="PATH",
                   help="at the end, write steps, tokens, seconds, tokens_per_s, ranks and the final train and "
                        "validation loss here")

    p = command("generate", "sample text from a trained language model", _generate)
    _checkpoint_arguments(p, "the training run or export to sample from")
    p.add_argument("--prompt", default="", help="text to continue")
    p.add_argument("--max-tokens", type=_number(int, 0), default=500, metavar="N",
                   help="stop after this many tokens (or at <|endoftext|>)")
    p.add_argument("--temperature", type=_number(float, 0), default=0.8, metavar="T",
                   help="sampling temperature; 0 is greedy (always the most likely token)")
    p.add_argument("--top-k", type=_number(int, 1), metavar="K", help="sample only among the K most likely tokens "
                                                                       "(default: all)")
    p.add_argument("--top-p", type=_number(float, 0, inclusive=False), metavar="P",
                   help="sample only among the most likely tokens whose probability sums to P, in (0, 1] "
                        "(default: all)")
    p.add_argument("--seed", type=_number(int, 0), default=0, help="seed of the sampling (same seed, same text)")
    p.add_argument("--engine", choices=["event", "dense"], default="event",
                   help="event: only the neurons that spiked do work; dense: BLAS over all neurons (same text)")
    p.add_argument("--precision", choices=["float32", "int8"],
                   help="weights when CKPT is a training run (default: float32; an export keeps its own)")
    p.add_argument("--online", action="store_true",
                   help="keep adapting while reading the prompt and the generated text (R-STDP, or the rule of an "
                        "adaptation state given as CKPT; float32 event engine)")

    p = command("export", "write an inference-only checkpoint (no optimizer state), float32 or int8", _export)
    _checkpoint_arguments(p, "the training run")
    p.add_argument("out", nargs="?", metavar="OUT", help="HDF5 file to write")
    p.add_argument("--precision", choices=["float32", "int8"], default="float32", help="weight precision")
    p.add_argument("--eval-tokens", type=_number(int, 0), default=20000, metavar="N",
                   help="validation tokens to compare the export's loss with float32 on (0: skip)")
    p.add_argument("--corpus", metavar="PATH", help="the run's corpus, if not at its stored path")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists (never the checkpoint read)")

    p = command("report", "sparsity, cost and quality of a trained language model", _report)
    _checkpoint_arguments(p, "the training run")
    p.add_argument("--prompt", help="text whose spike raster is plotted (default: the start of the validation text)")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON here")
    p.add_argument("--plots", metavar="DIR",
                   help="write firing_rates.png and raster.png into this directory (needs eventsnn[plot])")
    p.add_argument("--corpus", metavar="PATH", help="the run's corpus, if not at its stored path")

    p = command("adapt", "stream a text through a trained language model, scoring each token before learning from "
                         "it (docs/language-model.md, online adaptation)", _adapt)
    _checkpoint_arguments(p, "the training run to adapt")
    p.add_argument("--corpus", metavar="FILE", required=True, help="UTF-8 text to stream")
    p.add_argument("--rule", choices=["rstdp", "sgd", "none"], help="rstdp: reward-modulated STDP; sgd: dynamic "
                                                                      "evaluation; none: frozen (default: rstdp)")
    p.add_argument("--json", metavar="PATH", help="write the summary as JSON here")
    p.add_argument("--save", metavar="STATE", help="write the adaptation state (HDF5) here at the end")
    p.add_argument("--resume", metavar="STATE", help="continue the adaptation saved in STATE where it stopped")
    p.add_argument("--tokens", type=_number(int, 1), metavar="N", help="read at most N tokens (default: all)")
    p.add_argument("--val-tokens", type=_number(int, 0), default=20000, metavar="N",
                   help="validation tokens of the training corpus to measure forgetting on (0: skip)")
    for name, kind, low, what in (("lr", float, 0, "rstdp: A_plus = A_minus"), ("tau-c", float, 0, "rstdp: "
                                  "eligibility, tokens"), ("tau-n", float, 0, "rstdp: dopamine, tokens"),
                                  ("tau-trace", float, 0, "rstdp: pairing window, tokens"),
                                  ("tau-baseline", float, 1, "rstdp: reward baseline, tokens"),
                                  ("w-bound", float, 0, "rstdp: |weight| bound"), ("sgd-lr", float, 0, "sgd: step"),
                                  ("segment", int, 1, "sgd: tokens per step"), ("window", int, 1, "tokens per "
                                  "reported window"), ("seed", int, 0, "rstdp: random initial membranes"),
                                  ("tau-anchor", float, 0, "rstdp: the changes decay to the trained weights with "
                                   "this time constant, tokens")):
        p.add_argument(f"--{name}", type=_number(kind, low, inclusive=kind is int or low == 1), help=what +
                       " (default: eventsnn.lm.adapt.AdaptConfig's)")
    p.add_argument("--projections", nargs="+", metavar="KEY", help="rstdp: the projections to adapt, or 'all' "
                                                                     "(default: memory_in)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except SystemExit:
        raise
    except (_Usage, CheckpointError, RunDirectoryError, MissingDependencyError, ValueError, OSError) as err:
        message = str(err).replace("\n", " ")
        print(f"eventsnn {args.command}: {message}", file=sys.stderr)
        _end_every_rank(2)
        return 2
    except BaseException as err:
        # Ctrl-C inside a Numba kernel surfaces as a SystemError chained to the KeyboardInterrupt.
        if isinstance(err, KeyboardInterrupt) or (isinstance(err, SystemError)
                                                  and isinstance(err.__context__, KeyboardInterrupt)):
            print(f"eventsnn {args.command}: interrupted", file=sys.stderr)
            _end_every_rank(128 + signal.SIGINT)
            return 128 + signal.SIGINT
        if world() is not None:  # a bug on one rank: print it and end every rank, the others would wait forever
            traceback.print_exc()
            print(f"eventsnn {args.command}: rank {rank()} failed: {type(err).__name__}: {err}", file=sys.stderr)
            _end_every_rank(1)
        raise


def _end_every_rank(status: int) -> None:
    """Under mpiexec, end all ranks with ``status``: the others would wait for this one forever."""
    if world() is not None:
        sys.stderr.flush()
        world().Abort(status)


if __name__ == "__main__":
    sys.exit(main())
