"""The ``eventsnn`` command line.

    eventsnn inspect CKPT     summary of a checkpoint (verifies every dataset)
    eventsnn simulate cuba|coba [--n N] [--duration MS] [--save CKPT]
    eventsnn train --preset tiny|small|base [--corpus PATH] [--tokenizer char|bpe] [--minutes M | --steps N]
                   [--out DIR] [--resume CKPT] [--seed S]
    eventsnn generate --checkpoint CKPT [--prompt TEXT] [--max-tokens N] [--temperature T] [--top-k K]
                      [--top-p P] [--seed S] [--engine event|dense] [--precision float32|int8]
    eventsnn export CKPT OUT [--precision float32|int8] [--eval-tokens N]
    eventsnn report CKPT [--prompt TEXT] [--json PATH] [--plots DIR]

CKPT may be a checkpoint file or a run directory (its latest checkpoint).
The language-model commands import :mod:`eventsnn.lm` only when they run.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from .checkpoint import inspect, resolve_checkpoint, save
from .errors import CheckpointError
from .reference_networks import coba, cuba


def _inspect(args: argparse.Namespace) -> int:
    print(inspect(resolve_checkpoint(args.checkpoint)))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    bench = {"cuba": cuba, "coba": coba}[args.network](args.n, seed=args.seed)
    bench.network.run(args.duration)
    rate = bench.spikes.num_spikes / args.n / (args.duration / 1000.0)
    print(f"{args.network}: {args.n} neurons, {args.duration:g} ms, {bench.spikes.num_spikes} spikes, {rate:.2f} Hz")
    if args.save:
        print(f"saved {save(bench.network, args.save)}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from .lm.train import TrainConfig, Trainer, load_trainer

    if args.resume:
        run = load_trainer(args.resume)
        if args.corpus:
            run.use_corpus(args.corpus)
    else:
        overrides = {"steps": args.steps} if args.steps else {}
        config = TrainConfig.preset_config(args.preset, corpus=args.corpus, tokenizer=args.tokenizer,
                                           bpe_vocab=args.bpe_vocab, seed=args.seed, **overrides)
        run = Trainer.create(config)
    out = args.out or f"runs/{run.config.preset}"
    print(f"training {run.config.preset} ({run.model.num_parameters():,} parameters, {run.tokenizer.kind} "
          f"tokenizer, {run.tokenizer.vocab_size} tokens) from step {run.step}; checkpoints in {out}")
    ev = run.fit(until=args.steps, minutes=args.minutes, run_dir=out, progress=True)
    print(f"step {run.step}: val loss {ev.loss_nats:.4f} nats ({ev.bits_per_char:.4f} bits/char), "
          f"firing rate {ev.activity.firing_rate:.4f}; saved {out}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from .lm.engine import load_inference
    from .lm.generate import generate

    lm = load_inference(args.checkpoint, args.precision)
    if lm.tokenizer is None:
        raise ValueError(f"checkpoint {args.checkpoint!r} holds no tokenizer")
    sys.stdout.write(args.prompt)
    pieces, first = 0, None
    for piece in generate(lm, lm.tokenizer, args.prompt, args.max_tokens, args.temperature, args.top_k,
                          args.top_p, args.seed, args.engine):
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

    run = load_trainer(args.checkpoint)
    lm = InferenceLM.from_model(run.model, args.precision, run.tokenizer)
    print(f"saved {save(lm, args.out)} ({lm.precision}, {lm.weight_bytes() / 2**20:.2f} MiB of weights)")
    if args.eval_tokens:
        tokens = run.validation[:args.eval_tokens + 1]
        reference = mean_cross_entropy(InferenceLM.from_model(run.model), tokens)
        loss = mean_cross_entropy(lm, tokens) if lm.precision != "float32" else reference
        print(f"validation loss on {tokens.size - 1} tokens: {loss:.4f} nats ({lm.precision}), "
              f"{reference:.4f} nats (float32), change {loss - reference:+.4f}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from .lm.report import build_report, format_report, prompt_spikes, write_plots
    from .lm.train import load_trainer

    run = load_trainer(args.checkpoint)
    report = build_report(run)
    print(format_report(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
        print(f"wrote {args.json}")
    if args.plots:
        for path in write_plots(report, prompt_spikes(run, args.prompt), args.plots):
            print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="eventsnn", description="Event-driven spiking neural networks.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("inspect", help="summarise a checkpoint")
    p.add_argument("checkpoint")
    p.set_defaults(run=_inspect)
    p = sub.add_parser("simulate", help="run a Brette et al. (2007) benchmark network")
    p.add_argument("network", choices=["cuba", "coba"])
    p.add_argument("--n", type=int, default=4000)
    p.add_argument("--duration", type=float, default=1000.0, help="ms")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--save", help="write the network, with its state, to this HDF5 file")
    p.set_defaults(run=_simulate)
    p = sub.add_parser("train", help="train the spiking language model")
    p.add_argument("--preset", choices=["tiny", "small", "base"], default="tiny")
    p.add_argument("--corpus", help="UTF-8 text file (default: the bundled Tiny Shakespeare)")
    p.add_argument("--tokenizer", choices=["char", "bpe"], default="char")
    p.add_argument("--bpe-vocab", type=int, default=1024, help="BPE vocabulary size")
    p.add_argument("--minutes", type=float, help="stop after this much wall time")
    p.add_argument("--steps", type=int, help="train until this global step (default: the preset's schedule)")
    p.add_argument("--out", help="run directory for checkpoints (default: runs/PRESET)")
    p.add_argument("--resume", help="checkpoint or run directory to continue")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_train)
    p = sub.add_parser("generate", help="sample text from a trained language model")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--prompt", default="")
    p.add_argument("--max-tokens", type=int, default=500)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int)
    p.add_argument("--top-p", type=float)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--engine", choices=["event", "dense"], default="event",
                   help="event: only active spikes do work (default); dense: BLAS over all neurons")
    p.add_argument("--precision", choices=["float32", "int8"], help="weights when CKPT is a training run")
    p.set_defaults(run=_generate)
    p = sub.add_parser("export", help="write an inference-only checkpoint (no optimizer), float32 or int8")
    p.add_argument("checkpoint", help="training checkpoint or run directory")
    p.add_argument("out", help="HDF5 file to write")
    p.add_argument("--precision", choices=["float32", "int8"], default="float32")
    p.add_argument("--eval-tokens", type=int, default=20000,
                   help="validation tokens to compare the export's loss with float32 on (0: skip)")
    p.set_defaults(run=_export)
    p = sub.add_parser("report", help="sparsity, cost and quality of a trained language model")
    p.add_argument("checkpoint")
    p.add_argument("--prompt", default="ROMEO:\n", help="text whose spike raster is plotted")
    p.add_argument("--json", help="also write the report as JSON here")
    p.add_argument("--plots", help="write firing_rates.png and raster.png into this directory")
    p.set_defaults(run=_report)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (CheckpointError, ValueError, OSError) as err:
        print(f"eventsnn {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
