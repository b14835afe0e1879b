"""What synaptic plasticity costs: networks with and without it, and CUBA + STDP against Brian2.

    NUMBA_NUM_THREADS=1 python benchmarks/plasticity.py --json benchmarks/results/plasticity.json
    NUMBA_NUM_THREADS=1 python benchmarks/plasticity.py --n 4000 --duration 10 --izh-duration 60 --rounds 3 --peers ""

(a) CUBA (Brette et al. 2007, benchmark 2; ``eventsnn.reference_networks.cuba``,
the same neurons and connectivity drawn the same way) with additive
all-to-all STDP on every excitatory synapse: tau_plus = tau_minus = 20 ms,
A_plus = 0.01 w_max, A_minus = 0.0105 w_max, weights in [0, w_max] with
w_max = 2 w_e and initial weight w_e = 1.62 mV. With plasticity off the
network is ``cuba(n, seed=seed)`` exactly. Timed: the simulation loop
(``wall_s``) and the construction (``build_s``); synaptic events are the
synapses reached by spikes (each also a trace update and a depression when
plastic; the potentiations at postsynaptic spikes come on top).

(b) The distal-reward network of Izhikevich (2007) from
``examples/izhikevich_2007.py``, for ``--izh-duration`` simulated seconds,
with its R-STDP on and off (``--izh-duration 0``: not run).

``--backend cuda`` runs (a) and (b) on the GPU (``backend="cuda"``; the
static network on the GPU too), ``--peers ""`` there (no Brian2 on a GPU
machine); benchmarks/gpu_check.sh runs it so.

(c) ``--peers brian2`` (the default): Brian2 cpp_standalone runs the same
CUBA + STDP network (Brian2's own ``examples/CUBA.py`` with the synapses of
its ``examples/synapses/STDP.py``; ``_brian2_peer.py``) in a fresh process
per measurement, one thread, its compilation outside the timing, in
``$BRIAN2_PEER_PYTHON`` (default: this interpreter). Without Brian2 there
the benchmark runs eventsnn alone and lists it under ``missing_peers``.

The measurements alternate (benchmarks/_workers.py): plastic, static,
plastic, Brian2, plastic, ... for ``--rounds`` rounds, eventsnn in this
process (which loads no peer). ``plasticity_cost`` is the mean of the
plastic loop times just before and after a static one over that one; a
Brian2 ratio is Brian2's loop time over the mean of ours (plastic) just
before and after it, above 1 when eventsnn is faster; each the median over
the rounds. Run with ``NUMBA_NUM_THREADS=1``; the JSON records it and the
machine's other load.
"""
from __future__ import annotations

import eventsnn as esnn  # first: it sets OpenBLAS's thread wait before NumPy loads it (see eventsnn/__init__.py)

import argparse
import functools
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).parent))  # the peer modules, also when imported from elsewhere
from _workers import MachineLoad, compare, interleave  # noqa: E402
from cuba import OUT_DEGREE, measure_ours  # noqa: E402
from eventsnn.backends.cuda_backend import device_kernels  # noqa: E402

EXAMPLES = Path(__file__).parents[1] / "examples"
W_EXC = 60 * 0.27 / 10  # mV, as eventsnn.reference_networks.cuba
STDP_PARAMS = {"tau_plus": 20.0, "tau_minus": 20.0, "A_plus": 0.01 * 2 * W_EXC, "A_minus": 0.0105 * 2 * W_EXC,
               "w_min": 0.0, "w_max": 2 * W_EXC}  # ms, mV
COLD_COMPILE = """
import sys, time
start = time.perf_counter()
sys.path.insert(0, {here!r})
from plasticity import stdp
from eventsnn.reference_networks import cuba
cuba(100, exc_plasticity=stdp()).network.run(1.0)
print(time.perf_counter() - start)
"""


def stdp() -> esnn.STDP:
    """The rule of every excitatory synapse of the plastic CUBA: additive, all-to-all, STDP_PARAMS."""
    return esnn.STDP(**STDP_PARAMS, weight_dependence="additive", pairing="all_to_all")


def measure_cuba(n: int, duration_s: float, plastic: bool, seed: int, backend: str) -> dict:
    """One measurement of CUBA (its excitatory synapses learning by ``stdp()`` if ``plastic``) in this process,
    as benchmarks/cuba.py measures it."""
    return {**measure_ours(n, duration_s, backend, seed, exc_plasticity=stdp() if plastic else None),
            "plastic": plastic}


def cold_compile_seconds() -> float:
    """Import and first run of a tiny plastic CUBA in a fresh process with empty kernel caches."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "EVENTSNN_KERNEL_DIR": cache}
        code = COLD_COMPILE.format(here=str(Path(__file__).parent))
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def brian2_python() -> str | None:
    """The interpreter that runs the Brian2 peer (``$BRIAN2_PEER_PYTHON`` or this one), if it has Brian2."""
    python = os.environ.get("BRIAN2_PEER_PYTHON", sys.executable)
    found = subprocess.run([python, "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('brian2') "
                                          "is None)"], capture_output=True)
    return python if found.returncode == 0 else None


def median_run(runs: list[dict]) -> dict:
    """The run of median loop time (the lower middle one of an even count), with every run's loop time."""
    runs = sorted(runs, key=lambda r: r["wall_s"])
    return {**runs[(len(runs) - 1) // 2], "wall_s_runs": [r["wall_s"] for r in runs]}


def benchmark_cuba(args: argparse.Namespace, peers: list[str]) -> dict:
    """(a) and (c): plastic CUBA interleaved with the static one and with each peer."""
    measures = {"static": functools.partial(measure_cuba, args.n, args.duration, False, args.seed, args.backend)}
    if "brian2" in peers:
        from _brian2_peer import run_brian2_cuba

        measures["brian2_cpp_standalone"] = functools.partial(run_brian2_cuba, args.n, args.duration, "cpp_standalone",
                                                              OUT_DEGREE, args.seed, stdp=STDP_PARAMS)
    log = interleave(lambda: measure_cuba(args.n, args.duration, True, args.seed, args.backend), measures, args.rounds)
    loop = compare(log, lambda r: r["wall_s"])
    costs = [1.0 / r for r in loop["static"]["ratios"]]  # plastic over the static run between two plastic ones
    rec = {"stdp": STDP_PARAMS, "plastic": median_run([r for name, r in log if name == "ours"]),
           "static": median_run([r for name, r in log if name == "static"]),
           "plasticity_cost": statistics.median(costs), "plasticity_cost_range": [min(costs), max(costs)],
           "peers": {}, "ratios": {}}
    for key in measures.keys() - {"static"}:
        rec["peers"][key] = median_run([r for name, r in log if name == key])
        rec["ratios"][key] = {"loop": loop[key]["ratio"], "loop_range": [loop[key]["ratio_min"], loop[key]["ratio_max"]],
                              "ratios": loop[key]["ratios"]}
    return rec


def load_izhikevich():
    """examples/izhikevich_2007.py as a module."""
    path = EXAMPLES / "izhikevich_2007.py"
    spec = importlib.util.spec_from_file_location("izhikevich_2007", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its models may be dataclasses: the module must be importable by name
    spec.loader.exec_module(module)
    return module


def measure_izhikevich(module, duration_s: float, plastic: bool, seed: int, backend: str) -> dict:
    """One measurement of the example's closed loop (rewards and all) or, not ``plastic``, of the same network
    with fixed weights run in the same 1-s chunks."""
    module.build(seed, plastic=plastic, backend=backend).network.run(10.0)  # compile (or load the cache) first
    start = time.perf_counter()
    model = module.build(seed, plastic=plastic, backend=backend)
    build_s = time.perf_counter() - start
    run = module.simulate(model, duration_s, reward=plastic, seed=seed)
    net, n = model.network, model.neurons.n
    return {"simulator": f"eventsnn-{esnn.__version__}", "plastic": plastic, "n": n, "duration_s": duration_s,
            "backend": backend, "wall_s": run["wall_s"], "build_s": build_s, "spikes": net.spike_count,
            "rate_hz": net.spike_count / n / duration_s, "synapses": sum(p.n_synapses for p in net.projections),
            "syn_events": net.syn_events, "syn_events_per_s": net.syn_events / run["wall_s"],
            "rewards": len(run["rewards"])}


def benchmark_izhikevich(args: argparse.Namespace) -> dict:
    """(b): the Izhikevich (2007) network with R-STDP and without, alternating."""
    module = load_izhikevich()
    measure = functools.partial(measure_izhikevich, module, args.izh_duration, seed=args.seed, backend=args.backend)
    log = interleave(lambda: measure(plastic=True), {"static": lambda: measure(plastic=False)}, args.rounds)
    costs = [1.0 / r for r in compare(log, lambda r: r["wall_s"])["static"]["ratios"]]
    return {"plastic": median_run([r for name, r in log if name == "ours"]),
            "static": median_run([r for name, r in log if name == "static"]),
            "plasticity_cost": statistics.median(costs), "plasticity_cost_range": [min(costs), max(costs)]}


def print_table(result: dict) -> None:
    head = f"{'network':<34}{'plasticity':>11}{'T (s)':>7}{'build s':>9}{'run s':>8}{'rate Hz':>9}{'Mev/s':>8}{'ratio':>8}"
    print(head)
    print("-" * len(head))
    cuba = result["cuba"]
    rows = [("eventsnn CUBA", "off", cuba["static"], None), ("eventsnn CUBA", "STDP", cuba["plastic"], 1.0)]
    rows += [(name, "STDP", r, cuba["ratios"][name]["loop"]) for name, r in cuba["peers"].items()]
    for name, plastic, r, ratio in rows:
        print(f"{name + ' ' + str(r['n']):<34}{plastic:>11}{r['duration_s']:>7g}{r['build_s']:>9.3f}{r['wall_s']:>8.3f}"
              f"{r['rate_hz']:>9.2f}{r['syn_events_per_s'] / 1e6:>8.1f}{'' if ratio is None else f'{ratio:.2f}':>8}")
    izh = result.get("izhikevich")
    for plastic, key in (("off", "static"), ("R-STDP", "plastic")) if izh else ():
        r = izh[key]
        print(f"{'eventsnn Izhikevich (2007)':<34}{plastic:>11}{r['duration_s']:>7g}{r['build_s']:>9.3f}"
              f"{r['wall_s']:>8.3f}{r['rate_hz']:>9.2f}{r['syn_events_per_s'] / 1e6:>8.1f}{'':>8}")
    print("ratio: the peer's loop time over eventsnn's (plastic) just before and after it, median over the rounds "
          "(above 1: eventsnn is faster)")
    print(f"plasticity costs {cuba['plasticity_cost']:.2f}x the static CUBA's loop time "
          f"({cuba['plasticity_cost_range'][0]:.2f}-{cuba['plasticity_cost_range'][1]:.2f} over the rounds)")
    if izh:
        print(f"Izhikevich (2007): R-STDP costs {izh['plasticity_cost']:.2f}x the static network's loop time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=4000, help="CUBA neurons")
    parser.add_argument("--duration", type=float, default=10.0, help="CUBA simulated seconds")
    parser.add_argument("--izh-duration", type=float, default=60.0,
                        help="Izhikevich (2007) simulated seconds (0: not measured)")
    parser.add_argument("--backend", default="numba", choices=["numba", "numpy", "cuda"],
                        help="cuda: on the GPU (docs/cuda.md), the static network on the GPU beside it")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--peers", default="brian2", help="comma-separated (brian2), or empty for none")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each side, interleaved with ours")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    peers = list(filter(None, args.peers.split(",")))
    unknown = sorted(set(peers) - {"brian2"})
    if unknown:
        parser.error(f"--peers must name brian2 or nothing, got {unknown}")
    missing = [name for name in peers if name == "brian2" and brian2_python() is None]
    if args.backend == "cuda":
        try:
            device_kernels()
        except (ImportError, RuntimeError) as err:
            parser.exit(1, f"--backend cuda: {err}\n")
    load = MachineLoad()
    compile_s = cold_compile_seconds() if args.backend == "numba" else 0.0
    result = {"cuba": benchmark_cuba(args, [p for p in peers if p not in missing])}
    if args.izh_duration > 0:
        result["izhikevich"] = benchmark_izhikevich(args)
    result.update(compile_s=compile_s, missing_peers=missing,
                  numba_num_threads=os.environ.get("NUMBA_NUM_THREADS", "unset"), machine_load=load.result())
    print_table(result)
    print(f"first-call compile time of the plastic network (fresh process, empty caches): {compile_s:.2f} s")
    if missing:
        print(f"peers not installed: {', '.join(missing)} (pip install .[bench])")
    print(f"other processes kept {result['machine_load']['other_busy_cores']:.2f} of "
          f"{result['machine_load']['cpus']} cores busy")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
