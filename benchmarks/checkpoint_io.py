"""Checkpoint size and save/load time of a training run (the issue's measure: the small LM preset).

    python benchmarks/checkpoint_io.py runs/small --json benchmarks/results/checkpoint_io.json

Saves the run (model, optimizer moments, RNG, data position, history,
tokenizer, carried state) atomically with fsync, and loads it back with full
verification (checksums, shapes, dtypes), five times each; prints medians.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from eventsnn.checkpoint import load, resolve_checkpoint, save


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="checkpoint file or run directory")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    run = load(resolve_checkpoint(args.checkpoint))
    saves, loads = [], []
    with tempfile.TemporaryDirectory(dir=".") as tmp:  # same file system as a real run directory
        path = Path(tmp) / "checkpoint.h5"
        for _ in range(args.repeats):
            start = time.perf_counter()
            save(run, path)
            saves.append(time.perf_counter() - start)
            start = time.perf_counter()
            load(path)
            loads.append(time.perf_counter() - start)
        size = os.path.getsize(path)
    params = sum(p.size for p in run.model.parameters()) if hasattr(run, "model") else None
    result = {"kind": type(run).__name__, "parameters": params, "file_bytes": size,
              "save_s": float(np.median(saves)), "load_s": float(np.median(loads)), "repeats": args.repeats}
    print(f"{result['kind']} with {params:,} parameters: {size / 2**20:.2f} MiB on disk; "
          f"save {result['save_s'] * 1e3:.0f} ms, load {result['load_s'] * 1e3:.0f} ms (medians of {args.repeats})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
