"""Scale: a CUBA-like network of many synapses, its build and run times and its memory per synapse.

    python benchmarks/scale.py [--synapses 1e9] [--peer-synapses 1e7] [--json benchmarks/results/scale.json]

The network: CUBA (Brette et al. 2007; ``eventsnn.reference_networks.cuba``'s
neurons) of n = synapses / out_degree LIF neurons (80% excitatory), each
pair connected with probability out_degree / n, weights 1.62 and -9 mV
scaled by 80 / out_degree (the mean input of CUBA's 80 synapses), delay
0.1 ms, float32 weights (``Network(weight_dtype="float32")``); it is built
and simulated for ``--duration`` ms on the default threads (Numba's, at
most one per 10 000 neurons).

Memory: every side runs in a process of its own. ``table_bytes_per_synapse``
is eventsnn's synapse table (int32 targets, weights, delays, int64 row
pointers) over the synapses; ``resident_bytes_per_synapse`` the growth of
the process's resident memory (/proc/self/statm) from before building to
after the run, ``peak_bytes_per_synapse`` the growth of its peak
(``ru_maxrss``, Linux's VmHWM, reset at the baseline through
/proc/self/clear_refs so that compiling does not count) over the same
resident baseline, both over the synapses
(they include the neurons and the run's buffers, small beside the
synapses). NEST (``static_synapse``, ``pairwise_bernoulli``, one thread)
and Brian2 (runtime ``numpy`` target, a per-synapse weight ``w``) build the
same network of ``--peer-synapses`` and run 1 ms, so their connection
structures are final; their growth is measured from after the neurons are
created. eventsnn is measured at that size too, for a like-for-like row.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
W_EXC_MV, W_INH_MV, CUBA_DEGREE = 1.62, -9.0, 80.0
DELAY_MS = 0.1


def resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_bytes() -> int:
    """The process's peak resident memory since :func:`reset_peak` (Linux's VmHWM, what ru_maxrss
    reports), else since it started (ru_maxrss)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) * 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def reset_peak() -> int:
    """Start the peak afresh (so compiling or importing does not count); returns the resident memory."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return resident_bytes()


def build_ours(n: int, out_degree: float, seed: int, weight_dtype: str = "float32"):
    """The CUBA-like network (see the module docstring), not yet built."""
    import numpy as np

    from eventsnn import LIF, Network, Population, Sparse

    scale = CUBA_DEGREE / out_degree
    pop = Population(n, LIF(tau_m=20.0, tau_e=5.0, tau_i=10.0, v_rest=-49.0, v_th=-50.0, v_reset=-60.0, t_ref=5.0))
    pop["v"] = np.random.default_rng(seed).uniform(-60.0, -50.0, n)
    n_exc, p = int(0.8 * n), out_degree / n
    exc = Sparse.fixed_probability(pop[:n_exc], pop, p, W_EXC_MV * scale, DELAY_MS, target="exc", seed=seed + 1)
    inh = Sparse.fixed_probability(pop[n_exc:], pop, p, W_INH_MV * scale, DELAY_MS, target="inh", seed=seed + 2)
    return Network(pop, exc, inh, dt=0.1, seed=seed, weight_dtype=weight_dtype)


def measure_ours(synapses: float, out_degree: float, duration_ms: float, seed: int) -> dict:
    """In this process: build and run the network; times and memory (see the module docstring)."""
    build_ours(1000, 50.0, seed).run(1.0)  # compile outside the measurement
    n = max(5, round(synapses / out_degree))
    base = reset_peak()
    start = time.perf_counter()
    net = build_ours(n, out_degree, seed)
    net.build()
    build_s = time.perf_counter() - start
    syn = net.sim.syn
    m = int(syn.post.size)
    table = sum(int(a.nbytes) for a in (syn.post, syn.weight, syn.delay, syn.indptr))
    start = time.perf_counter()
    net.run(duration_ms)
    run_s = time.perf_counter() - start
    from eventsnn.backends.numba_backend import default_threads

    return {"simulator": "eventsnn", "n": n, "synapses": m, "out_degree": m / n, "duration_ms": duration_ms,
            "threads": default_threads(n), "build_s": build_s, "run_s": run_s,
            "rate_hz": net.spike_count / n / (duration_ms / 1000.0),
            "weight_dtype": str(syn.weight.dtype), "delay_dtype": str(syn.delay.dtype),
            "table_bytes_per_synapse": table / m, "resident_bytes_per_synapse": (resident_bytes() - base) / m,
            "peak_bytes_per_synapse": (peak_bytes() - base) / m, "peak_gib": peak_bytes() / 2**30}


def measure_nest(synapses: float, out_degree: float, seed: int) -> dict:
    sys.path.insert(0, str(HERE))
    import nest
    from _nest_peer import NEURON_PARAMS, W_EXC_PA, W_INH_PA, reset_kernel

    n = max(5, round(synapses / out_degree))
    scale = CUBA_DEGREE / out_degree
    reset_kernel(nest, seed)
    neurons = nest.Create("iaf_psc_exp", n, params=NEURON_PARAMS)
    base = reset_peak()
    start = time.perf_counter()
    n_exc, rule = int(0.8 * n), {"rule": "pairwise_bernoulli", "p": out_degree / n, "allow_autapses": True}
    nest.Connect(neurons[:n_exc], neurons, rule, {"weight": W_EXC_PA * scale, "delay": DELAY_MS})
    nest.Connect(neurons[n_exc:], neurons, rule, {"weight": W_INH_PA * scale, "delay": DELAY_MS})
    nest.Simulate(1.0)  # connection structures are finalised at the first run
    build_s = time.perf_counter() - start
    m = int(nest.GetKernelStatus("num_connections"))
    return {"simulator": f"nest-{nest.__version__}", "n": n, "synapses": m, "build_s": build_s,
            "resident_bytes_per_synapse": (resident_bytes() - base) / m,
            "peak_bytes_per_synapse": (peak_bytes() - base) / m}


def measure_brian2(synapses: float, out_degree: float, seed: int) -> dict:
    sys.path.insert(0, str(HERE))
    from _brian2_peer import _numpy_compat_shim

    _numpy_compat_shim()
    import brian2 as b2

    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = 0.1 * b2.ms
    b2.seed(seed)
    n = max(5, round(synapses / out_degree))
    scale = CUBA_DEGREE / out_degree
    ns = {"taum": 20 * b2.ms, "taue": 5 * b2.ms, "taui": 10 * b2.ms, "El": -49 * b2.mV}
    group = b2.NeuronGroup(n, """dv/dt = (ge + gi - (v - El)) / taum : volt (unless refractory)
                                 dge/dt = -ge / taue : volt
                                 dgi/dt = -gi / taui : volt""",
                           threshold="v > -50*mV", reset="v = -60*mV", refractory=5 * b2.ms, method="exact",
                           namespace=ns)
    group.v = "-60*mV + rand() * 10*mV"
    base = reset_peak()
    start = time.perf_counter()
    n_exc, p = int(0.8 * n), out_degree / n
    exc = b2.Synapses(group, group, "w : volt", on_pre="ge += w", delay=DELAY_MS * b2.ms)
    inh = b2.Synapses(group, group, "w : volt", on_pre="gi += w", delay=DELAY_MS * b2.ms)
    exc.connect(condition=f"i < {n_exc}", p=p)
    inh.connect(condition=f"i >= {n_exc}", p=p)
    exc.w, inh.w = W_EXC_MV * scale * b2.mV, W_INH_MV * scale * b2.mV
    net = b2.Network(group, exc, inh)
    net.run(1 * b2.ms)  # the spike queues are built before the first run
    build_s = time.perf_counter() - start
    m = len(exc) + len(inh)
    return {"simulator": f"brian2-{b2.__version__} (numpy target)", "n": n, "synapses": m, "build_s": build_s,
            "resident_bytes_per_synapse": (resident_bytes() - base) / m,
            "peak_bytes_per_synapse": (peak_bytes() - base) / m}


WORKERS = {"eventsnn": measure_ours, "nest": measure_nest, "brian2": measure_brian2}


def in_process(side: str, **kwargs) -> dict:
    """``WORKERS[side](**kwargs)`` in a fresh Python process (its own peak memory); its result."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        proc = subprocess.run([sys.executable, __file__, "--worker", side, json.dumps(kwargs), str(out)],
                              capture_output=True, text=True)
        if proc.returncode != 0 or not out.exists():
            return {"simulator": side, "error": (proc.stderr or proc.stdout)[-2000:]}
        return json.loads(out.read_text())


def available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def print_table(rows: list[dict]) -> None:
    head = (f"{'simulator':<34}{'synapses':>12}{'n':>10}{'build s':>9}{'run s':>8}{'rate Hz':>8}"
            f"{'table B':>9}{'resid. B':>9}{'peak B':>8}")
    print(head)
    print("-" * len(head))
    for r in rows:
        if "error" in r:
            print(f"{r['simulator']:<34} failed: {r['error'].strip().splitlines()[-1] if r['error'].strip() else '?'}")
            continue
        cell = lambda key, fmt: format(r[key], fmt) if key in r else "-"  # noqa: E731
        print(f"{r['simulator']:<34}{r['synapses']:>12}{r['n']:>10}{cell('build_s', '.2f'):>9}{cell('run_s', '.2f'):>8}"
              f"{cell('rate_hz', '.2f'):>8}{cell('table_bytes_per_synapse', '.2f'):>9}"
              f"{cell('resident_bytes_per_synapse', '.2f'):>9}{cell('peak_bytes_per_synapse', '.2f'):>8}")
    print("bytes per synapse: table = eventsnn's synapse arrays; resident and peak = growth of the process's "
          "memory while building (and running) over the synapses")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synapses", type=float, default=1e9)
    parser.add_argument("--peer-synapses", type=float, default=1e7, help="size of the network all sides build")
    parser.add_argument("--out-degree", type=float, default=1000.0)
    parser.add_argument("--duration", type=float, default=100.0, help="simulated ms of the large network")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    common = {"out_degree": args.out_degree, "seed": args.seed}
    rows = [in_process(side, synapses=args.peer_synapses, **common) for side in ("nest", "brian2") if available(side)]
    if args.synapses != args.peer_synapses:
        rows.append(in_process("eventsnn", synapses=args.peer_synapses, duration_ms=1.0, **common))
    rows.append(in_process("eventsnn", synapses=args.synapses, duration_ms=args.duration, **common))
    print_table(rows)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"args": vars(args), "runs": rows, "loadavg": os.getloadavg()},
                                              indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        result = WORKERS[sys.argv[2]](**json.loads(sys.argv[3]))
        Path(sys.argv[4]).write_text(json.dumps(result))
    else:
        main()
