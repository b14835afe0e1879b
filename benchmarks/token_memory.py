"""Peak memory of `eventsnn train` reading a large corpus as text (--corpus) or as a token file (--data).

The corpus is the bundled Tiny Shakespeare repeated ``--copies`` times
(100: 111.5 MB). Each side is its own ``eventsnn train --preset tiny
--steps 3`` process; its peak resident memory is the child's ``ru_maxrss``.
``eventsnn tokenize`` runs once first (its own peak is reported too).

    python benchmarks/token_memory.py --json benchmarks/results/token_memory.json
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eventsnn.lm.data import corpus_blocks


def peak_mb(args: list[str]) -> tuple[float, float]:
    """(peak resident MB, wall seconds) of ``eventsnn ARGS`` in a fresh process (a child of a fresh process, so
    that ``RUSAGE_CHILDREN`` holds this one child alone)."""
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL);"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    eventsnn = [sys.executable, "-c", "import sys; from eventsnn.cli import main; sys.exit(main())"]
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", probe, *eventsnn, *args], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[-1]) / 1024, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=100, help="times the bundled corpus is repeated")
    parser.add_argument("--json", help="write the results to this JSON file")
    args = parser.parse_args()
    if args.copies < 1:
        parser.error(f"--copies must be >= 1, got {args.copies}")
    with tempfile.TemporaryDirectory() as tmp:
        corpus, tokens = Path(tmp) / "corpus.txt", Path(tmp) / "corpus.tok"
        text = "".join(corpus_blocks())  # the bundled corpus
        corpus.write_text(text * args.copies, encoding="utf-8")
        train = ["train", "--preset", "tiny", "--steps", "3", "--force"]
        results = {"corpus_mb": corpus.stat().st_size / 1e6, "copies": args.copies}
        results["tokenize_peak_mb"], results["tokenize_s"] = peak_mb(["tokenize", str(corpus), str(tokens)])
        results["data_peak_mb"], results["data_s"] = peak_mb([*train, "--data", str(tokens), "--out", f"{tmp}/a"])
        results["corpus_peak_mb"], results["corpus_s"] = peak_mb([*train, "--corpus", str(corpus), "--out",
                                                                  f"{tmp}/b"])
    print(f"corpus {results['corpus_mb']:.1f} MB: train --data peaks at {results['data_peak_mb']:.0f} MB, "
          f"--corpus at {results['corpus_peak_mb']:.0f} MB (tokenize once: {results['tokenize_peak_mb']:.0f} MB)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
