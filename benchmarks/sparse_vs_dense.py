"""Event-driven vs dense inference: how cost follows activity.

    python benchmarks/sparse_vs_dense.py [--checkpoint CKPT] --json results/sparse_vs_dense.json [--plot PNG]

Model: a trained ``small`` spiking LM (trained here for ``--train-minutes``
when no checkpoint is given) runs validation text through the event and the
dense engine at batch 1 and 16, one ``Engine.step`` call per token (as an
interactive sampler does) and in ``Engine.feed`` blocks of 256 tokens (the
compiled loop, no Python per token); tokens/s, the measured firing rate,
bytes of weights read per token, peak resident memory, and int8's change in
validation loss.

Sweep: one 4096 x 4096 float32 spiking layer, input activity from 1% to 50%.
Each call gets a fresh random spike vector, so the rows it reads are not
already cached (a fixed input would flatter the event engine). The event
engine sums the weight rows of active inputs (eventsnn.kernels.inference);
the dense engine is BLAS ``x @ W``. One thread each.

With the ``bench`` extra (torch installed), PyTorch CPU dense inference of
the same weights joins both tables (benchmarks/_torch_dense.py): ``x @ W + b``
in the sweep, the dense engine's token step in the model part. PyTorch runs
in a worker process of its own (this one never loads it) and its
measurements alternate with eventsnn's (ours, PyTorch, ours, ... for
``--rounds`` rounds; benchmarks/_workers.py); its ratios are its time over
the mean of ours just before and after it, the median over the rounds.

The bound: the dense product streams all n_in·n_out·4 bytes of W, so its
time gives the machine's effective memory bandwidth; the event engine reads
activity·n_in rows, so its floor is (active rows · row bytes) / bandwidth.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # one core: the edge-inference setting

import numpy as np  # noqa: E402

from eventsnn.kernels.inference import accumulate_rows, active_indices  # noqa: E402

from _workers import MachineLoad, Worker, compare, interleave  # noqa: E402

HAS_TORCH = importlib.util.find_spec("torch") is not None  # the bench extra: PyTorch dense inference, in a worker
ACTIVITIES = (0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5)


def median_time(fn, inputs) -> float:
    fn(inputs[0])  # warm-up (compilation, first touch)
    times = []
    for x in inputs[1:]:
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def sweep_inputs(n: int, repeats: int, seed: int) -> tuple[np.ndarray, np.ndarray, dict[float, list[np.ndarray]]]:
    """The sweep's weight [n, n], bias [n] and, per activity, ``repeats`` random spike vectors (the same in every process)."""
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((n, n), dtype=np.float32)
    inputs = {a: [(rng.random(n) < a).astype(np.float32) for _ in range(repeats)] for a in ACTIVITIES}
    return weight, np.zeros(n, np.float32), inputs


SWEEP = {"n": 4096, "repeats": 41, "seed": 0}


def sweep(torch_worker: Worker | None, rounds: int, n: int, repeats: int, seed: int) -> dict:
    weight, bias, inputs = sweep_inputs(n, repeats, seed)
    scale, out = np.ones(n, np.float32), np.empty(n, np.float32)
    rows = []
    for activity, xs in inputs.items():
        def ours() -> dict[str, float]:
            return {"event_s": median_time(lambda x: accumulate_rows(active_indices(x), weight, scale, bias, out), xs),
                    "dense_s": median_time(lambda x: x @ weight + bias, xs)}
        peers = {}
        if torch_worker:  # the same warm-up call and median of the rest as median_time
            task = f"layer@{activity}"
            peers["torch"] = lambda: {"torch_dense_s": statistics.median(torch_worker.time([task], repeats - 1, 1)[task])}
        log = interleave(ours, peers, rounds)
        row = {"activity": activity, **{k: statistics.median(r[k] for name, r in log if name == "ours")
                                        for k in ("event_s", "dense_s")}}
        row.update(speedup=row["dense_s"] / row["event_s"], speedup_over_inverse_activity=row["dense_s"] / row["event_s"] * activity)
        if torch_worker:
            peer = compare(log, lambda r: r["torch_dense_s"], ours_value=lambda r: r["event_s"])["torch"]
            row.update(torch_dense_s=peer["median"], torch_speedup=peer["ratio"],
                       torch_speedup_range=[peer["ratio_min"], peer["ratio_max"]])
        rows.append(row)
    bandwidth = weight.nbytes / float(np.median([r["dense_s"] for r in rows]))
    for r in rows:
        r["event_bound_s"] = r["activity"] * weight.nbytes / bandwidth
    return {"n": n, "weight_bytes": weight.nbytes, "bandwidth_bytes_per_s": bandwidth, "sweep": rows}


def token_rows(tokens: np.ndarray, batch: int, steps: int) -> np.ndarray:
    """[20 + steps, batch] tokens: ``batch`` streams reading ``tokens`` from evenly spaced starts (20 to warm up)."""
    return tokens[np.arange(20 + steps)[:, None] + np.arange(batch) * (tokens.size // batch)]


def _throughput(eng, tokens: np.ndarray, steps: int, feed: bool = False) -> float:
    """Tokens/s of engine ``eng`` feeding its streams ``token_rows(tokens, eng.batch, steps)``.

    The timed steps follow a warm-up. ``feed``: ``Engine.feed`` calls of 256
    steps each (the compiled loop: no Python per token) instead of one
    ``step`` call each.
    """
    rows = token_rows(tokens, eng.batch, steps)
    for row in rows[:20]:  # warm-up: kernels loaded, state away from rest
        eng.step(row)
    start = time.perf_counter()
    if feed:
        for first in range(20, 20 + steps, 256):
            eng.feed(rows[first:min(first + 256, 20 + steps)])
    else:
        for row in rows[20:]:
            eng.step(row)
    return steps * eng.batch / (time.perf_counter() - start)


def _bytes_per_token(lm, eng) -> tuple[float, float]:
    """Weight bytes read per token: (event engine, as measured from its spikes; dense engine)."""
    tokens = eng.neuron_steps * eng.batch / lm.config.steps_per_token
    per_row = lambda p: p.weight.itemsize * p.weight.shape[1] + p.scale.itemsize  # noqa: E731
    event = sum(eng.spike_count[src] / tokens * per_row(p) for src, _, p in lm.projections() if src in eng.spike_count)
    event = event * 1.0 + sum(t.itemsize * t.shape[1] for t in lm.tables) + lm.head_weight.nbytes
    dense_steps = lm.config.steps_per_token
    dense = sum(4 * p.weight.size for _, _, p in lm.projections()) * dense_steps
    return event, dense + sum(t.itemsize * t.shape[1] for t in lm.tables) + lm.head_weight.nbytes


def load_lm(checkpoint: str):
    """(training run, its float32 InferenceLM) of ``checkpoint``."""
    from eventsnn.lm.engine import InferenceLM
    from eventsnn.lm.train import load_trainer

    run = load_trainer(checkpoint)
    return run, InferenceLM.from_model(run.model, "float32", run.tokenizer)


def model_benchmark(checkpoint: str, steps: int, bandwidth: float, torch_worker: Worker | None, rounds: int) -> dict:
    """Event vs dense generation throughput of a trained small spiking LM (and PyTorch's, in ``torch_worker``)."""
    import resource

    from eventsnn.lm.engine import Engine, InferenceLM, mean_cross_entropy

    run, lm = load_lm(checkpoint)
    data = run.validation
    result = {"preset": run.config.preset, "train_step": run.step, "parameters": run.model.num_parameters()}
    for batch in (1, 16):
        def ours() -> dict[str, float]:
            return {f"{kind}{'_feed' if feed else ''}_tokens_per_s": _throughput(Engine(lm, batch, kind), data, steps, feed)
                    for feed in (False, True) for kind in ("event", "dense")}
        peers = {}
        if torch_worker:
            task = f"tokens@{batch}"
            peers["torch"] = lambda: {"torch_dense_tokens_per_s": steps * batch / torch_worker.time([task], 1)[task][0]}
        log = interleave(ours, peers, rounds)
        r = {k: statistics.median(m[k] for name, m in log if name == "ours") for k in log[0][1]}
        r.update(speedup=r["event_tokens_per_s"] / r["dense_tokens_per_s"],
                 feed_speedup=r["event_feed_tokens_per_s"] / r["dense_feed_tokens_per_s"])
        if torch_worker:  # seconds per token: PyTorch's over the dense engine's step
            peer = compare(log, lambda m: 1 / m["torch_dense_tokens_per_s"],
                           ours_value=lambda m: 1 / m["dense_tokens_per_s"])["torch"]
            r.update(torch_dense_tokens_per_s=1 / peer["median"], dense_over_torch=peer["ratio"],
                     dense_over_torch_range=[peer["ratio_min"], peer["ratio_max"]])
        result[f"batch{batch}"] = r
    eng = Engine(lm, 1, "event")
    _throughput(eng, data, steps)
    result["firing_rate"] = eng.firing_rate()
    event_bytes, dense_bytes = _bytes_per_token(lm, eng)
    result["bytes_per_token"] = {"event": event_bytes, "dense": dense_bytes,
                                 "event_bound_tokens_per_s": bandwidth / event_bytes,
                                 "dense_bound_tokens_per_s": bandwidth / dense_bytes}
    q8 = InferenceLM.from_model(run.model, "int8", run.tokenizer)
    result["int8"] = {"event_tokens_per_s_batch1": _throughput(Engine(q8, 1, "event"), data, steps)}
    sample = data[:20001]
    loss32, loss8 = mean_cross_entropy(lm, sample), mean_cross_entropy(q8, sample)
    result["int8"].update(val_loss_nats=loss8, float32_val_loss_nats=loss32, val_loss_change=loss8 - loss32)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # without torch: it has its own process
    return result


def print_model(m: dict) -> None:
    print(f"\n{m['preset']} spiking LM ({m['parameters']:,} parameters, step {m['train_step']}), one thread; "
          f"measured firing rate {m['firing_rate']:.3f}")
    has_torch = "torch_dense_tokens_per_s" in m["batch1"]
    print(f"{'':>8}{'event tok/s':>13}{'dense tok/s':>13}{'speedup':>9}"
          + (f"{'torch tok/s':>13}" if has_torch else "") + f"{'| feed: event':>15}{'dense':>9}{'speedup':>9}")
    for b in ("batch1", "batch16"):
        r = m[b]
        print(f"{b:>8}{r['event_tokens_per_s']:>13.0f}{r['dense_tokens_per_s']:>13.0f}{r['speedup']:>9.1f}"
              + (f"{r['torch_dense_tokens_per_s']:>13.0f}" if has_torch else "")
              + f"{r['event_feed_tokens_per_s']:>15.0f}{r['dense_feed_tokens_per_s']:>9.0f}{r['feed_speedup']:>9.1f}")
    print("step: one Engine.step call per token (an interactive sampler); feed: all tokens in one compiled call")
    by = m["bytes_per_token"]
    print(f"weights read per token: event {by['event'] / 1024:.0f} KiB, dense {by['dense'] / 1024:.0f} KiB; "
          f"bandwidth bound {by['event_bound_tokens_per_s']:.0f} and {by['dense_bound_tokens_per_s']:.0f} tokens/s")
    q = m["int8"]
    print(f"int8: {q['event_tokens_per_s_batch1']:.0f} tokens/s (event, batch 1); validation loss "
          f"{q['val_loss_nats']:.4f} vs {q['float32_val_loss_nats']:.4f} nats ({q['val_loss_change']:+.4f})")
    print(f"peak resident memory {m['peak_rss_mib']:.0f} MiB")


def print_sweep(result: dict) -> None:
    print(f"single layer {result['n']} x {result['n']} float32, one thread; "
          f"dense streams {result['weight_bytes'] / 2**20:.0f} MiB at {result['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s")
    has_torch = "torch_dense_s" in result["sweep"][0]
    print(f"{'activity':>9}{'event ms':>10}{'bound ms':>10}{'dense ms':>10}{'speedup':>9}{'1/activity':>11}{'ratio':>7}"
          + (f"{'torch ms':>10}{'vs torch':>10}" if has_torch else ""))
    for r in result["sweep"]:
        print(f"{r['activity']:>9.2f}{r['event_s'] * 1e3:>10.3f}{r['event_bound_s'] * 1e3:>10.3f}{r['dense_s'] * 1e3:>10.3f}"
              f"{r['speedup']:>9.1f}{1 / r['activity']:>11.0f}{r['speedup_over_inverse_activity']:>7.2f}"
              + (f"{r['torch_dense_s'] * 1e3:>10.3f}{r['torch_speedup']:>10.1f}" if has_torch else ""))
    print("ratio = speedup / (1/activity); the goal is 0.5 <= ratio <= 2 from 1% to 20% activity"
          + ("; vs torch = PyTorch dense (x @ W + b) time / event time" if has_torch else ""))


def plot_sweep(result: dict, path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    a = np.array([r["activity"] for r in result["sweep"]])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(a * 100, [r["speedup"] for r in result["sweep"]], "o-", label="event / dense speedup (measured)")
    ax.loglog(a * 100, 1 / a, "--", color="gray", label="1 / activity")
    ax.set(xlabel="input activity (%)", ylabel="speedup over dense", title=f"{result['n']}x{result['n']} float32 layer, 1 thread")
    ax.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--plot", default="results/sparse_vs_dense.png", help="speedup plot (needs matplotlib)")
    parser.add_argument("--checkpoint", help="trained language model (training checkpoint or run directory)")
    parser.add_argument("--train-minutes", type=float, default=10.0, help="training time when no checkpoint is given")
    parser.add_argument("--steps", type=int, default=3000, help="generation steps timed per engine and batch")
    parser.add_argument("--skip-model", action="store_true", help="only the single-layer sweep")
    parser.add_argument("--rounds", type=int, default=3, help="PyTorch measurements, interleaved with ours")
    args = parser.parse_args()
    if not HAS_TORCH:
        print("torch not installed (the bench extra): no PyTorch dense rows")
    load = MachineLoad()
    with contextlib.ExitStack() as stack:
        checkpoint = None if args.skip_model else args.checkpoint
        if not args.skip_model and not checkpoint:
            from eventsnn.lm.train import TrainConfig, Trainer

            print(f"no checkpoint given: training the small preset for {args.train_minutes:g} minutes")
            checkpoint = stack.enter_context(tempfile.TemporaryDirectory())
            Trainer.create(TrainConfig.preset_config("small")).fit(minutes=args.train_minutes, run_dir=checkpoint)
        torch_worker = stack.enter_context(Worker("_torch_dense:tasks", checkpoint=checkpoint, steps=args.steps,
                                                  sweep_args=SWEEP)) if HAS_TORCH else None
        result = sweep(torch_worker, args.rounds, **SWEEP)
        print_sweep(result)
        plot_sweep(result, args.plot)
        if not args.skip_model:
            result["model"] = model_benchmark(checkpoint, args.steps, result["bandwidth_bytes_per_s"], torch_worker,
                                              args.rounds)
            print_model(result["model"])
    result["machine_load"] = load.result()
    print(f"other processes kept {result['machine_load']['other_busy_cores']:.2f} of {os.cpu_count()} cores busy")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
