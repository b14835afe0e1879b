"""LM event-engine throughput on a CUDA device at batch 1..1024, next to the CPU engine.

A SpikingLM of the given size (random weights, seed 0) is exported to
float32 and fed ``--tokens`` tokens per stream in one ``feed`` call, after
a 2-token warm-up (compilation). Tokens/s = streams x tokens / seconds,
best of ``--repeats``. The CPU engine (``eventsnn.lm.engine.Engine``, one
core) is measured at the batches of ``--cpu-batches`` for context. The
GPU engine's logits are compared with the CPU engine's on the same 16
tokens at the largest batch: ``max_abs_diff``, ``scale`` (the largest
|logit|), the share of streams whose logits all agree to 1e-5 of the scale
(a spike flipped by rounding at a threshold sends one stream its own way)
and both engines' spike totals.

    python benchmarks/lm_engine_cuda.py --json benchmarks/results/lm_engine_cuda.json
"""
from __future__ import annotations

import eventsnn  # noqa: F401  (first: it sets OpenBLAS's thread wait before NumPy loads it)

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from eventsnn.lm.cuda_engine import CudaEngine
from eventsnn.lm.engine import Engine, InferenceLM
from eventsnn.lm.model import LMConfig, SpikingLM


def throughput(engine: Engine, tokens: np.ndarray, repeats: int) -> float:
    """Tokens per second over all streams, best of ``repeats`` feeds of ``tokens`` [T, batch]."""
    engine.feed(tokens[:2])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        engine.feed(tokens)
        best = min(best, time.perf_counter() - start)
    return tokens.size / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write results to this JSON file")
    parser.add_argument("--batches", default="1,4,16,64,256,1024")
    parser.add_argument("--cpu-batches", default="1,16")
    parser.add_argument("--tokens", type=int, default=64, help="tokens per stream per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--memory", type=int, default=128)
    parser.add_argument("--readout", type=int, default=256)
    parser.add_argument("--vocab", type=int, default=256)
    parser.add_argument("--steps-per-token", type=int, default=1)
    parser.add_argument("--threads", type=int, default=128, help="GPU threads per stream (block)")
    args = parser.parse_args()

    config = LMConfig(vocab_size=args.vocab, hidden=args.hidden, n_layers=args.layers, memory=args.memory,
                      readout=args.readout, steps_per_token=args.steps_per_token, threshold=0.5)
    lm = InferenceLM.from_model(SpikingLM(config, seed=0))
    rng = np.random.default_rng(0)
    results = {"config": config.to_dict(), "tokens": args.tokens, "repeats": args.repeats, "threads": args.threads,
               "simulator": os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", "gpu": {}, "cpu": {}}
    for batch in (int(b) for b in args.batches.split(",")):
        tokens = rng.integers(0, args.vocab, (args.tokens, batch))
        engine = CudaEngine(lm, batch, args.threads)
        results["gpu"][batch] = {"tokens_per_s": throughput(engine, tokens, args.repeats),
                                 "firing_rate": engine.firing_rate()}
        print(f"GPU batch {batch:5d}: {results['gpu'][batch]['tokens_per_s']:12.0f} tokens/s")
    for batch in (int(b) for b in args.cpu_batches.split(",")):
        tokens = rng.integers(0, args.vocab, (args.tokens, batch))
        results["cpu"][batch] = {"tokens_per_s": throughput(Engine(lm, batch), tokens, args.repeats)}
        print(f"CPU batch {batch:5d}: {results['cpu'][batch]['tokens_per_s']:12.0f} tokens/s (one core)")
    batch = max(results["gpu"])
    tokens = rng.integers(0, args.vocab, (min(args.tokens, 16), batch))
    cpu, gpu = Engine(lm, batch), CudaEngine(lm, batch, args.threads)
    want, got = cpu.feed(tokens), gpu.feed(tokens)
    scale = float(np.abs(want).max())
    agree = np.all(np.abs(got - want) <= 1e-5 * max(1.0, scale), axis=(0, 2))
    results["parity"] = {"batch": batch, "tokens": int(tokens.shape[0]), "scale": scale,
                         "max_abs_diff": float(np.abs(got - want).max()), "streams_within_1e-5": float(agree.mean()),
                         "spikes_cpu": cpu.spike_count, "spikes_gpu": gpu.spike_count}
    print(f"GPU vs CPU logits at batch {batch}: max |diff| {results['parity']['max_abs_diff']:.2e} (largest |logit| "
          f"{scale:.2f}); {agree.mean():.2%} of streams within 1e-5")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
