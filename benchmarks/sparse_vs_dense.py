"""Event-driven vs dense inference: how cost follows activity.

    python benchmarks/sparse_vs_dense.py [--checkpoint CKPT] --json benchmarks/results/sparse_vs_dense.json [--plot PNG]

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

``--device cuda`` runs both parts on a GPU (docs/cuda.md), the layer for
batches of streams (``--batches``, default 1, 16, 256, 1024):

    python benchmarks/sparse_vs_dense.py --device cuda --json benchmarks/results/sparse_vs_dense_cuda.json

Sweep: the event product is eventsnn.kernels.cuda.event_linear.event_matmul
(the CSR of the spikes built on the device, then the weight rows of the
active inputs only); dense is ``x @ W`` through cuBLAS (CuPy), and PyTorch's
on its CUDA device in a worker process as above. The spike vectors
(``--repeats`` per activity and batch, one per call) are drawn on the device
before the timing (each process draws its own); every call is timed to the
end of its device work (a synchronisation), after a warm-up call. The
bandwidth comes from the dense product at the smallest batch, and the event
product's floor is the rows any of the B streams reads, 1 - (1 - activity)^B
of W, read once. Model: the LM's CudaEngine against PyTorch's dense engine
on the device (benchmarks/_torch_dense.py), both the same float32 weights:
a ``--checkpoint``, or else a random-weight SpikingLM (seed 0) of
``--preset`` with ``--shape`` overrides fed random tokens; tokens/s at each
batch, one ``step`` call per token and ``feed`` calls of 256 tokens (one
kernel launch each for the event engine), and the measured firing rate.
Under Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1, the GPU check's dry
run) NumPy stands in for CuPy and PyTorch runs on the CPU: tiny sizes only,
to check the script.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # one core: the edge-inference setting

import numpy as np  # noqa: E402

from eventsnn._validation import check_int  # noqa: E402
from eventsnn.kernels.inference import accumulate_rows, active_indices  # noqa: E402
from eventsnn.lm.config import LMConfig  # noqa: E402

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


def sweep_row(activity: float, ours, torch_worker: Worker | None, task: str, repeats: int, rounds: int) -> dict:
    """One activity's sweep row: ``ours()`` ({"event_s", "dense_s"}) interleaved with ``torch_worker``'s ``task``
    (the same warm-up call and median of the rest as median_time); medians, speedups, PyTorch's paired ratios."""
    peers = {}
    if torch_worker:
        peers["torch"] = lambda: {"torch_dense_s": statistics.median(torch_worker.time([task], repeats - 1, 1)[task])}
    log = interleave(ours, peers, rounds)
    row = {"activity": activity, **{k: statistics.median(r[k] for name, r in log if name == "ours")
                                    for k in ("event_s", "dense_s")}}
    row.update(speedup=row["dense_s"] / row["event_s"], speedup_over_inverse_activity=row["dense_s"] / row["event_s"] * activity)
    if torch_worker:
        peer = compare(log, lambda r: r["torch_dense_s"], ours_value=lambda r: r["event_s"])["torch"]
        row.update(torch_dense_s=peer["median"], torch_speedup=peer["ratio"],
                   torch_speedup_range=[peer["ratio_min"], peer["ratio_max"]])
    return row


def sweep(torch_worker: Worker | None, rounds: int, n: int, repeats: int, seed: int) -> dict:
    weight, bias, inputs = sweep_inputs(n, repeats, seed)
    scale, out = np.ones(n, np.float32), np.empty(n, np.float32)
    rows = []
    for activity, xs in inputs.items():
        def ours() -> dict[str, float]:
            return {"event_s": median_time(lambda x: accumulate_rows(active_indices(x), weight, scale, bias, out), xs),
                    "dense_s": median_time(lambda x: x @ weight + bias, xs)}
        rows.append(sweep_row(activity, ours, torch_worker, f"layer@{activity}", repeats, rounds))
    bandwidth = weight.nbytes / float(np.median([r["dense_s"] for r in rows]))
    for r in rows:
        r["event_bound_s"] = r["activity"] * weight.nbytes / bandwidth
    return {"n": n, "weight_bytes": weight.nbytes, "bandwidth_bytes_per_s": bandwidth, "sweep": rows}


def token_rows(tokens: np.ndarray, batch: int, steps: int) -> np.ndarray:
    """[20 + steps, batch] tokens: ``batch`` streams reading ``tokens`` from evenly spaced starts (20 to warm up),
    wrapping around at the end (streams overlap only when ``tokens`` is shorter than batch x (20 + steps))."""
    return tokens[(np.arange(20 + steps)[:, None] + np.arange(batch) * (tokens.size // batch)) % tokens.size]


def feed_rows(eng, rows: np.ndarray, feed: bool = False) -> None:
    """Feed token ``rows`` [T, batch] to engine ``eng``: one ``step`` call per row, or ``feed`` calls of 256 rows."""
    if feed:
        for first in range(0, len(rows), 256):
            eng.feed(rows[first:first + 256])
    else:
        for row in rows:
            eng.step(row)


def _throughput(eng, tokens: np.ndarray, steps: int, feed: bool = False) -> float:
    """Tokens/s of engine ``eng`` feeding its streams ``token_rows(tokens, eng.batch, steps)``.

    The timed steps follow a warm-up. ``feed``: ``Engine.feed`` calls of 256
    steps each (the compiled loop: no Python per token) instead of one
    ``step`` call each.
    """
    rows = token_rows(tokens, eng.batch, steps)
    feed_rows(eng, rows[:20])  # warm-up: kernels loaded, state away from rest
    start = time.perf_counter()
    feed_rows(eng, rows[20:], feed)
    return steps * eng.batch / (time.perf_counter() - start)


def _bytes_per_token(lm, eng, bandwidth: float) -> dict[str, float]:
    """Weight bytes read per token by the event engine (as measured from ``eng``'s spikes) and the dense one,
    and the tokens/s each would reach reading them at ``bandwidth`` bytes/s."""
    tokens = eng.neuron_steps * eng.batch / lm.config.steps_per_token
    per_row = lambda p: p.weight.itemsize * p.weight.shape[1] + p.scale.itemsize  # noqa: E731
    event = sum(eng.spike_count[src] / tokens * per_row(p) for src, _, p in lm.projections() if src in eng.spike_count)
    event = event * 1.0 + sum(t.itemsize * t.shape[1] for t in lm.tables) + lm.head_weight.nbytes
    dense_steps = lm.config.steps_per_token
    dense = sum(4 * p.weight.size for _, _, p in lm.projections()) * dense_steps
    dense += sum(t.itemsize * t.shape[1] for t in lm.tables) + lm.head_weight.nbytes
    return {"event": event, "dense": dense, "event_bound_tokens_per_s": bandwidth / event,
            "dense_bound_tokens_per_s": bandwidth / dense}


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
    result["bytes_per_token"] = _bytes_per_token(lm, eng, bandwidth)
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
    print_bytes(m["bytes_per_token"])
    q = m["int8"]
    print(f"int8: {q['event_tokens_per_s_batch1']:.0f} tokens/s (event, batch 1); validation loss "
          f"{q['val_loss_nats']:.4f} vs {q['float32_val_loss_nats']:.4f} nats ({q['val_loss_change']:+.4f})")
    print(f"peak resident memory {m['peak_rss_mib']:.0f} MiB")


def print_bytes(by: dict) -> None:
    print(f"weights read per token: event {by['event'] / 1024:.0f} KiB, dense {by['dense'] / 1024:.0f} KiB; "
          f"bandwidth bound {by['event_bound_tokens_per_s']:.0f} and {by['dense_bound_tokens_per_s']:.0f} tokens/s")


def print_sweep(result: dict) -> None:
    gpu = "device" in result  # --device cuda: a row per batch and activity
    where = f"on the GPU; dense ({result['gemm']}) at batch {result['batches'][0]}" if gpu else "one thread; dense"
    print(f"single layer {result['n']} x {result['n']} float32, {where} "
          f"streams {result['weight_bytes'] / 2**20:.0f} MiB at {result['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s")
    has_torch = "torch_dense_s" in result["sweep"][0]
    print((f"{'batch':>6}" if gpu else "")
          + f"{'activity':>9}{'event ms':>10}{'bound ms':>10}{'dense ms':>10}{'speedup':>9}{'1/activity':>11}{'ratio':>7}"
          + (f"{'torch ms':>10}{'vs torch':>10}" if has_torch else ""))
    for r in result["sweep"]:
        print((f"{r['batch']:>6}" if gpu else "")
              + f"{r['activity']:>9.2f}{r['event_s'] * 1e3:>10.3f}{r['event_bound_s'] * 1e3:>10.3f}{r['dense_s'] * 1e3:>10.3f}"
              f"{r['speedup']:>9.1f}{1 / r['activity']:>11.0f}{r['speedup_over_inverse_activity']:>7.2f}"
              + (f"{r['torch_dense_s'] * 1e3:>10.3f}{r['torch_speedup']:>10.1f}" if has_torch else ""))
    print("ratio = speedup / (1/activity); "
          + ("bound: the rows any stream reads, once" if gpu else "the goal is 0.5 <= ratio <= 2 from 1% to 20% activity")
          + (f"; vs torch = PyTorch dense ({'x @ W' if gpu else 'x @ W + b'}) time / event time" if has_torch else ""))


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


def cuda_sweep(torch_worker: Worker | None, rounds: int, n: int, batches: list[int], repeats: int, seed: int) -> dict:
    """The sweep on the GPU at each batch: the event product (numba-cuda) against ``x @ W`` (cuBLAS through CuPy;
    NumPy under the simulator) and PyTorch's in ``torch_worker``; inputs drawn on the device, calls synchronised."""
    from numba import cuda

    from eventsnn.kernels.cuda.event_linear import event_matmul

    simulator = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
    if simulator:
        xp = np
    else:
        import cupy as xp
    weight = xp.asarray(sweep_inputs(n, 0, seed)[0])  # the CPU sweep's weight
    xp.random.seed(seed)
    rows = []
    for batch in batches:
        for activity in ACTIVITIES:
            xs = (xp.random.random((repeats, batch, n)) < activity).astype(xp.float32)

            def ours() -> dict[str, float]:
                return {"event_s": median_time(lambda x: (event_matmul(x, weight), cuda.synchronize()), xs),
                        "dense_s": median_time(lambda x: (x @ weight, cuda.synchronize()), xs)}
            rows.append({"batch": batch, **sweep_row(activity, ours, torch_worker, f"layer@{activity}@{batch}",
                                                     repeats, rounds)})
    weight_bytes = n * n * 4
    bandwidth = weight_bytes / float(np.median([r["dense_s"] for r in rows if r["batch"] == batches[0]]))
    for r in rows:
        r["event_bound_s"] = (1 - (1 - r["activity"]) ** r["batch"]) * weight_bytes / bandwidth
    return {"device": "cuda", "simulator": simulator, "gemm": xp.__name__, "n": n, "batches": batches,
            "repeats": repeats, "weight_bytes": weight_bytes, "bandwidth_bytes_per_s": bandwidth, "sweep": rows}


def cuda_model(checkpoint: str | None, preset: str, config: dict) -> tuple:
    """(float32 InferenceLM, its token text, its description) for the model part on the GPU: ``checkpoint``'s model
    and validation text or, without one, a random-weight SpikingLM (seed 0) of ``config`` (an LMConfig's dict,
    from ``preset``) and a random text. Both processes build it alike."""
    if checkpoint:
        run, lm = load_lm(checkpoint)
        return lm, run.validation, {"checkpoint": checkpoint, "preset": run.config.preset, "train_step": run.step,
                                    "parameters": run.model.num_parameters()}
    from eventsnn.lm.engine import InferenceLM
    from eventsnn.lm.model import SpikingLM

    model = SpikingLM(LMConfig(**config), seed=0)
    tokens = np.random.default_rng(0).integers(0, model.config.vocab_size, 1 << 20)
    return InferenceLM.from_model(model, "float32"), tokens, {
        "weights": "random (seed 0)", "preset": preset, "config": model.config.to_dict(),
        "parameters": model.num_parameters()}


def cuda_model_benchmark(model: dict, batches: list[int], steps: int, threads: int, bandwidth: float,
                         torch_worker: Worker | None, rounds: int) -> dict:
    """Tokens/s of the event engine on the GPU (CudaEngine) at each batch, interleaved with PyTorch's dense engine
    on the device in ``torch_worker``: "speedup" is PyTorch's time over ours (> 1: ours is faster), step or feed."""
    from eventsnn.lm.cuda_engine import CudaEngine

    lm, tokens, result = cuda_model(**model)
    result.update(batches=batches, steps=steps, threads=threads)
    modes = {"": "speedup", "_feed": "feed_speedup"}  # tokens/s key infix -> ratio key
    for batch in batches:
        def ours() -> dict[str, float]:
            return {f"event{mode}_tokens_per_s": _throughput(CudaEngine(lm, batch, threads), tokens, steps, bool(mode))
                    for mode in modes}
        tasks = {"": f"step@{batch}", "_feed": f"feed@{batch}"}

        def torch_dense() -> dict[str, float]:
            times = torch_worker.time(list(tasks.values()), 1)
            return {f"torch_dense{mode}_tokens_per_s": steps * batch / times[task][0] for mode, task in tasks.items()}
        log = interleave(ours, {"torch": torch_dense} if torch_worker else {}, rounds)
        r = {k: statistics.median(m[k] for name, m in log if name == "ours") for k in log[0][1]}
        if torch_worker:  # seconds per token: PyTorch's over ours
            for mode, ratio in modes.items():
                peer = compare(log, lambda m: 1 / m[f"torch_dense{mode}_tokens_per_s"],
                               ours_value=lambda m: 1 / m[f"event{mode}_tokens_per_s"])["torch"]
                r.update({f"torch_dense{mode}_tokens_per_s": 1 / peer["median"], ratio: peer["ratio"],
                          f"{ratio}_range": [peer["ratio_min"], peer["ratio_max"]]})
        result[f"batch{batch}"] = r
    eng = CudaEngine(lm, batches[0], threads)
    _throughput(eng, tokens, steps)
    result["firing_rate"] = eng.firing_rate()
    result["bytes_per_token"] = _bytes_per_token(lm, eng, bandwidth)
    return result


def print_cuda_model(m: dict) -> None:
    print(f"\n{m['preset']} spiking LM ({m['parameters']:,} parameters, {m.get('checkpoint') or m['weights']}) on the "
          f"GPU, {m['threads']} threads per stream; measured firing rate {m['firing_rate']:.3f}")
    has_torch = "torch_dense_tokens_per_s" in m[f"batch{m['batches'][0]}"]
    peer = f"{'torch tok/s':>13}{'speedup':>9}" if has_torch else ""
    print(f"{'batch':>6}{'event tok/s':>13}{peer}{'| feed: event':>15}{peer}")
    for b in m["batches"]:
        r = m[f"batch{b}"]
        cells = [f"{r[f'event{mode}_tokens_per_s']:>13.0f}" + (f"{r[f'torch_dense{mode}_tokens_per_s']:>13.0f}"
                                                              f"{r[ratio]:>9.1f}" if has_torch else "")
                 for mode, ratio in (("", "speedup"), ("_feed", "feed_speedup"))]
        print(f"{b:>6}{cells[0]}  {cells[1]}")
    print("step: one step call per token (logits to the host each time); feed: 256 tokens per call (one kernel launch)"
          + ("; speedup = PyTorch dense time / event time, paired median" if has_torch else ""))
    print_bytes(m["bytes_per_token"])


def run_cuda(args: argparse.Namespace) -> dict:
    """--device cuda: the sweep at each of ``--batches``, then the model part, with PyTorch (CUDA) in a worker."""
    from numba import cuda

    from eventsnn.kernels.cuda.inference import MAX_THREADS

    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        sys.setswitchinterval(5e-5)  # the simulator's barriers cost a thread switch each (tests/_cuda.py)
    elif not cuda.is_available():
        raise RuntimeError("--device cuda: numba.cuda finds no GPU (NUMBA_ENABLE_CUDASIM=1 runs its simulator)")
    for name in ("layer_n", "steps", "threads"):
        check_int(f"--{name.replace('_', '-')}", getattr(args, name), 1)
    check_int("--repeats", args.repeats, 2)  # a warm-up call and at least one timed
    check_int("--rounds", args.rounds, 1)
    if args.threads > MAX_THREADS:
        raise ValueError(f"--threads must be <= {MAX_THREADS}, got {args.threads}")
    config = LMConfig.preset(args.preset, **{"vocab_size": 256, **args.shape})  # checked before any GPU time is spent
    model = None if args.skip_model else {"checkpoint": args.checkpoint, "preset": args.preset,
                                          "config": config.to_dict()}
    sweep_args = {"n": args.layer_n, "repeats": args.repeats, "seed": SWEEP["seed"]}
    missing, errors = [] if HAS_TORCH else ["torch"], {}
    with contextlib.ExitStack() as stack:
        torch_worker = None
        try:  # one GPU run must not be lost to the peer (torch without CUDA, out of memory)
            torch_worker = stack.enter_context(Worker("_torch_dense:cuda_tasks", sweep=sweep_args, batches=args.batches,
                                                      model=model, steps=args.steps)) if HAS_TORCH else None
        except (RuntimeError, OSError) as err:
            errors["torch"] = str(err)
        result = cuda_sweep(torch_worker, args.rounds, batches=args.batches, **sweep_args)
        result.update(missing_peers=missing, peer_errors=errors, rounds=args.rounds)
        print_sweep(result)
        if model:
            result["model"] = cuda_model_benchmark(model, args.batches, args.steps, args.threads,
                                                   result["bandwidth_bytes_per_s"], torch_worker, args.rounds)
            print_cuda_model(result["model"])
    return result


def run_cpu(args: argparse.Namespace) -> dict:
    """The sweep and the model part on one CPU core, with PyTorch (CPU) in a worker."""
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
    return result


def batch_list(text: str) -> list[int]:
    """--batches "1,16": distinct positive integers, increasing."""
    try:
        batches = sorted({int(b) for b in text.split(",")})
    except ValueError:
        batches = []
    if not batches or batches[0] < 1:
        raise argparse.ArgumentTypeError(f"--batches must be comma-separated integers >= 1, got {text!r}")
    return batches


def lm_shape(text: str) -> dict:
    """--shape "hidden=6,threshold=0.5": LMConfig overrides (integers, numbers or names)."""
    fields = tuple(f.name for f in dataclasses.fields(LMConfig))
    shape = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        if key not in fields or not value:
            raise argparse.ArgumentTypeError(f"--shape entries must be FIELD=VALUE with FIELD in {fields}, got {item!r}")
        for kind in (int, float, str):
            with contextlib.suppress(ValueError):
                shape[key] = kind(value)
                break
    return shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--plot", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                       "sparse_vs_dense.png"),
                        help="speedup plot (needs matplotlib; CPU)")
    parser.add_argument("--checkpoint", help="trained language model (training checkpoint or run directory)")
    parser.add_argument("--train-minutes", type=float, default=10.0,
                        help="training time when no checkpoint is given (CPU; the GPU run takes random weights)")
    parser.add_argument("--steps", type=int, help="generation steps timed per engine and batch (default 3000; 256 "
                                                  "with --device cuda)")
    parser.add_argument("--skip-model", action="store_true", help="only the single-layer sweep")
    parser.add_argument("--rounds", type=int, default=3, help="PyTorch measurements, interleaved with ours")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cuda: both parts on a GPU")
    parser.add_argument("--batches", type=batch_list, default=[1, 16, 256, 1024], help="--device cuda: streams")
    parser.add_argument("--layer-n", type=int, default=SWEEP["n"], help="--device cuda: the sweep's layer size")
    parser.add_argument("--repeats", type=int, default=SWEEP["repeats"],
                        help="--device cuda: calls per sweep measurement (the first a warm-up)")
    parser.add_argument("--preset", default="small", help="--device cuda without --checkpoint: the random model's")
    parser.add_argument("--shape", type=lm_shape, default={}, help="--device cuda: LMConfig overrides, k=v,...")
    parser.add_argument("--threads", type=int, default=128, help="--device cuda: GPU threads per stream")
    args = parser.parse_args()
    if args.steps is None:
        args.steps = 256 if args.device == "cuda" else 3000
    if not HAS_TORCH:
        print("torch not installed (the bench extra): no PyTorch dense rows")
    load = MachineLoad()
    result = (run_cuda if args.device == "cuda" else run_cpu)(args)
    result["machine_load"] = load.result()
    print(f"other processes kept {result['machine_load']['other_busy_cores']:.2f} of {os.cpu_count()} cores busy")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
