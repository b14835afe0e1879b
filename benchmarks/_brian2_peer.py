"""Brian2 peer for the CUBA benchmark (Brette et al. 2007, benchmark 2).

Public API: :func:`run_brian2_cuba`.  Every call runs the measurement in a
fresh Python subprocess (``python benchmarks/_brian2_peer.py --worker ...``)
so that Brian2's global device state (``set_device``, the magic network,
Cython caches held in memory) never leaks between measurements.

The model is Brian2's own ``examples/CUBA.py``, scaled to ``n`` neurons:
``Ce.connect('i<Ne', p=p)`` / ``Ci.connect('i>=Ne', p=p)`` with
``p = out_degree / n``, ``method='exact'``, refractory 5 ms, dt 0.1 ms.

What is timed (all in seconds):

``wall_s``
    The simulation loop only.
    * cpp_standalone: wall time between two ``clock_gettime(CLOCK_MONOTONIC)``
      calls inserted into ``main.cpp`` immediately before and after
      ``net.run`` (``device.insert_code('main', ...)``).  Brian2's own
      ``device._last_run_time`` is also returned as ``brian_run_time_s``; note
      that without OpenMP it is ``std::clock()`` i.e. *CPU* time of the loop.
    * cython / numpy: ``brian2.devices.device._last_run_time``, which
      ``Network.run`` sets to the wall time of the stepping loop only (it
      starts after ``before_run``, i.e. after code generation/compilation).
``build_s``
    Network construction: neuron group, initial values, synapse creation
    (``connect``), monitor.
    * cpp_standalone: synapses are created inside the compiled binary, so this
      is the in-binary wall time from the start of ``main``'s queue to just
      before ``net.run`` (group init + ``connect`` + initial ``v``); the
      Python-side object-recording time is reported as ``python_setup_s``.
    * cython / numpy: wall time of the Python construction calls, done *after*
      a warm-up (see ``compile_s``), so the Cython modules are cache hits.
``compile_s``
    * cpp_standalone: ``device.build(compile=True, run=False)`` = code
      generation + ``make`` (``make -jK``, K from env ``BRIAN2_PEER_MAKE_JOBS``,
      default 1 so we do not swamp shared cores).  Brian2's own split is in
      ``codegen_s`` / ``make_s``.
    * cython: a warm-up build of the same network at ``n_warm=200`` with the
      same object names, followed by ``net.run(0*ms)`` (which runs
      ``before_run`` = code generation + Cython compilation for all code
      objects), into a fresh Cython cache directory (cold compile).  For numpy
      this is just code generation.
``stdp`` (optional)
    With ``stdp={"tau_plus", "tau_minus" (ms), "A_plus", "A_minus", "w_min",
    "w_max" (mV)}`` every excitatory synapse learns with additive
    all-to-all STDP, written as in Brian2's ``examples/synapses/STDP.py``
    (event-driven traces ``Apre``/``Apost`` holding the amplitudes; ``on_pre``
    adds ``w`` to ``ge``, bumps ``Apre`` and depresses with ``Apost``;
    ``on_post`` bumps ``Apost`` and potentiates with ``Apre``). Initial
    weights ``we``; the result adds ``mean_exc_weight_mv`` after the run.
``syn_events``
    Exact: ``sum_i spike_count[i] * out_degree[i]`` with the out-degrees from
    ``np.bincount(Ce.i) + np.bincount(Ci.i)`` (``syn_events_exact = True``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

_TARGETS = ("cpp_standalone", "cython", "numpy")
_HERE = os.path.abspath(__file__)


def run_brian2_cuba(
    n: int,
    duration_s: float,
    target: str,
    out_degree: float = 80.0,
    seed: int = 1,
    build_dir: str | None = None,
    stdp: dict | None = None,
    threads: int = 1,
) -> dict:
    """Run Brian2's CUBA example scaled to ``n`` neurons in a fresh subprocess.

    Returns a dict with keys ``target, n, duration_s, wall_s, build_s,
    compile_s, spikes, rate_hz, synapses, syn_events, syn_events_per_s`` plus
    some diagnostics (see module docstring for exactly what is timed).
    ``build_dir`` is the cpp_standalone project directory / Cython cache
    directory; default: a fresh temporary directory, deleted afterwards.
    Python interpreter: ``$BRIAN2_PEER_PYTHON`` or ``sys.executable``.
    ``stdp``: STDP on the excitatory synapses (see the module docstring).
    ``threads``: cpp_standalone's OpenMP threads (``openmp_threads``; 1: no OpenMP).
    """
    if target not in _TARGETS:
        raise ValueError(f"target must be one of {_TARGETS}, got {target!r}")
    if threads != 1 and target != "cpp_standalone":
        raise ValueError(f"threads other than 1 need target 'cpp_standalone', got {target!r}")
    n = int(n)
    if n < 5:
        raise ValueError("n must be >= 5")
    python = os.environ.get("BRIAN2_PEER_PYTHON", sys.executable)
    env = dict(os.environ)
    # single core: no OpenMP / BLAS threads in the worker or the binary
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    with tempfile.TemporaryDirectory(prefix="brian2_cuba_") as tmp:
        bdir = build_dir if build_dir is not None else os.path.join(tmp, "build")
        json_out = os.path.join(tmp, "result.json")
        cmd = [
            python, _HERE, "--worker",
            "--n", str(n), "--duration-s", repr(float(duration_s)),
            "--target", target, "--out-degree", repr(float(out_degree)),
            "--seed", str(int(seed)), "--build-dir", os.path.abspath(bdir),
            "--json-out", json_out, "--threads", str(int(threads)),
        ]
        if stdp is not None:
            cmd += ["--stdp", json.dumps(stdp)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0 or not os.path.exists(json_out):
            raise RuntimeError(
                f"Brian2 worker failed (rc={proc.returncode}):\n"
                f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            )
        with open(json_out) as f:
            return json.load(f)


# --------------------------------------------------------------------------
# worker side (runs in the subprocess)
# --------------------------------------------------------------------------

def _numpy_compat_shim():
    """Brian2 2.9.0 references ``np.ndarray.ptp`` at import time, which NumPy
    2.4 removed (fixed upstream in brian-team/brian2#1705).  Put a ``ptp``
    method back on ndarray *in this worker process only* so brian2 imports."""
    import numpy as np

    if hasattr(np.ndarray, "ptp"):
        return
    import ctypes
    import gc

    def ptp(self, axis=None, out=None, keepdims=False):
        return np.ptp(self, axis=axis, out=out, keepdims=keepdims)

    tdict = gc.get_referents(np.ndarray.__dict__)[0]
    tdict["ptp"] = ptp
    ctypes.pythonapi.PyType_Modified(ctypes.py_object(np.ndarray))


def _build_cuba(b2, n, p, seed, stdp=None):
    """Brian2's examples/CUBA.py with N=n, p=out_degree/n (and ``stdp`` on the
    excitatory synapses, if given).  Fixed names so a warm-up network
    generates identical code (Cython cache hits)."""
    ms, mV = b2.ms, b2.mV
    ns = dict(
        taum=20 * ms, taue=5 * ms, taui=10 * ms,
        Vt=-50 * mV, Vr=-60 * mV, El=-49 * mV,
        we=(60 * 0.27 / 10) * mV, wi=(-20 * 4.5 / 10) * mV,
        Ne=int(0.8 * n), p_conn=p,
    )
    eqs = """
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """
    b2.seed(seed)
    P = b2.NeuronGroup(n, eqs, threshold="v>Vt", reset="v = Vr",
                       refractory=5 * ms, method="exact", namespace=ns,
                       name="cuba_P")
    P.v = "Vr + rand() * (Vt - Vr)"
    P.ge = 0 * mV
    P.gi = 0 * mV
    if stdp is None:
        Ce = b2.Synapses(P, P, on_pre="ge += we", namespace=ns, name="cuba_Ce")
    else:
        ns.update(taupre=stdp["tau_plus"] * ms, taupost=stdp["tau_minus"] * ms, dApre=stdp["A_plus"] * mV,
                  dApost=-stdp["A_minus"] * mV, wmin=stdp["w_min"] * mV, wmax=stdp["w_max"] * mV)
        Ce = b2.Synapses(P, P, """w : volt
                                  dApre/dt = -Apre / taupre : volt (event-driven)
                                  dApost/dt = -Apost / taupost : volt (event-driven)""",
                         on_pre="""ge += w
                                   Apre += dApre
                                   w = clip(w + Apost, wmin, wmax)""",
                         on_post="""Apost += dApost
                                    w = clip(w + Apre, wmin, wmax)""",
                         namespace=ns, name="cuba_Ce")
    Ci = b2.Synapses(P, P, on_pre="gi += wi", namespace=ns, name="cuba_Ci")
    # p passed by name (not as a literal) so the warm-up generates identical code
    Ce.connect("i<Ne", p="p_conn", namespace=ns)
    Ci.connect("i>=Ne", p="p_conn", namespace=ns)
    if stdp is not None:
        Ce.w = "we"
    mon = b2.SpikeMonitor(P, record=False, name="cuba_mon")
    net = b2.Network(P, Ce, Ci, mon, name="cuba_net")
    return net, P, Ce, Ci, mon


def _summarise(np, n, duration_s, count, ce_i, ci_i, ne):
    count = np.asarray(count, dtype=np.int64)
    outdeg = (np.bincount(np.asarray(ce_i, dtype=np.int64), minlength=n)
              + np.bincount(np.asarray(ci_i, dtype=np.int64), minlength=n))
    spikes = int(count.sum())
    syn_events = int((count * outdeg).sum())
    return dict(
        spikes=spikes,
        rate_hz=spikes / n / duration_s,
        rate_exc_hz=float(count[:ne].sum()) / ne / duration_s,
        rate_inh_hz=float(count[ne:].sum()) / max(n - ne, 1) / duration_s,
        synapses=int(len(ce_i) + len(ci_i)),
        mean_out_degree=float(outdeg.mean()),
        syn_events=syn_events,
        syn_events_exact=True,
    )


def _worker(args):
    _numpy_compat_shim()
    import numpy as np
    import brian2 as b2
    from brian2 import prefs

    n, dur, target = args.n, args.duration_s, args.target
    stdp = json.loads(args.stdp) if args.stdp else None
    p = args.out_degree / n
    ne = int(0.8 * n)
    bdir = args.build_dir
    os.makedirs(bdir, exist_ok=True)
    prefs.codegen.target = "numpy" if target == "cpp_standalone" else target
    b2.defaultclock.dt = 0.1 * b2.ms
    res = dict(target=target, n=n, duration_s=dur, out_degree=args.out_degree,
               p=p, seed=args.seed, brian2_version=b2.__version__,
               numpy_version=np.__version__)

    if target == "cpp_standalone":
        b2.set_device("cpp_standalone", build_on_run=False, directory=bdir)
        prefs.devices.cpp_standalone.openmp_threads = args.threads if args.threads > 1 else 0  # 0: no OpenMP
        jobs = os.environ.get("BRIAN2_PEER_MAKE_JOBS", "1")
        prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{jobs}"]
        dev = b2.get_device()
        b2.defaultclock.dt = 0.1 * b2.ms
        t0 = time.perf_counter()
        dev.insert_code("main", "struct timespec _pt0, _pt1, _pt2; "
                        "clock_gettime(CLOCK_MONOTONIC, &_pt0);")
        net, P, Ce, Ci, mon = _build_cuba(b2, n, p, args.seed, stdp)
        dev.insert_code("main", "clock_gettime(CLOCK_MONOTONIC, &_pt1);")
        net.run(dur * b2.second)
        dev.insert_code(
            "main",
            "clock_gettime(CLOCK_MONOTONIC, &_pt2); "
            "{ std::ofstream _pf(brian::results_dir + \"peer_times.txt\"); "
            "_pf.precision(17); "
            "_pf << ((_pt1.tv_sec-_pt0.tv_sec)+1e-9*(_pt1.tv_nsec-_pt0.tv_nsec)) << ' ' "
            "<< ((_pt2.tv_sec-_pt1.tv_sec)+1e-9*(_pt2.tv_nsec-_pt1.tv_nsec)) << std::endl; }")
        python_setup_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        dev.build(directory=bdir, compile=True, run=False, with_output=False)
        compile_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        dev.run(directory=bdir, with_output=False)
        binary_s = time.perf_counter() - t0
        with open(os.path.join(dev.results_dir, "peer_times.txt")) as f:
            build_s, wall_s = (float(x) for x in f.read().split())
        timers = dev.timers
        res.update(
            wall_s=wall_s, build_s=build_s, compile_s=compile_s,
            python_setup_s=python_setup_s, binary_s=binary_s,
            codegen_s=compile_s - float(timers["compile"].get("make") or 0.0)
            - float(timers["compile"].get("clean") or 0.0),
            make_s=float(timers["compile"].get("make") or 0.0),
            brian_run_time_s=float(dev._last_run_time),
            brian_run_time_kind="std::clock() CPU time (no OpenMP)" if args.threads == 1 else "OpenMP wall time",
            threads=args.threads,
            make_jobs=int(jobs),
        )
        res.update(_summarise(np, n, dur, mon.count[:], Ce.i[:], Ci.i[:], ne))
    else:
        if target == "cython":
            prefs.codegen.runtime.cython.cache_dir = os.path.join(bdir, "cython_cache")
            prefs.codegen.runtime.cython.multiprocess_safe = False
        # warm-up: same code, tiny network -> code generation + compilation
        t0 = time.perf_counter()
        n_warm = 200
        wnet, *_ = _build_cuba(b2, n_warm, min(args.out_degree / n_warm, 1.0), args.seed, stdp)
        wnet.run(0 * b2.ms)
        compile_s = time.perf_counter() - t0
        del wnet, _
        import gc
        gc.collect()
        b2.defaultclock.dt = 0.1 * b2.ms
        t0 = time.perf_counter()
        net, P, Ce, Ci, mon = _build_cuba(b2, n, p, args.seed, stdp)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        net.run(dur * b2.second)
        run_call_s = time.perf_counter() - t0
        wall_s = float(b2.get_device()._last_run_time)
        res.update(wall_s=wall_s, build_s=build_s, compile_s=compile_s,
                   run_call_s=run_call_s,
                   before_run_s=run_call_s - wall_s)
        res.update(_summarise(np, n, dur, mon.count[:], Ce.i[:], Ci.i[:], ne))
    if stdp is not None:
        res.update(stdp=stdp, mean_exc_weight_mv=float(np.mean(np.asarray(Ce.w[:]) / b2.mV)))
    res["syn_events_per_s"] = res["syn_events"] / res["wall_s"]
    res["spikes_per_s"] = res["spikes"] / res["wall_s"]
    with open(args.json_out, "w") as f:
        json.dump(res, f, indent=1)
    return res


def _main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", action="store_true",
                    help="run in this process (internal); otherwise spawn one")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--duration-s", type=float, default=1.0)
    ap.add_argument("--target", choices=_TARGETS, default="cpp_standalone")
    ap.add_argument("--out-degree", type=float, default=80.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--build-dir", default=None)
    ap.add_argument("--json-out", default=None)
    ap.add_argument("--stdp", default=None, help="JSON: STDP on the excitatory synapses (module docstring)")
    ap.add_argument("--threads", type=int, default=1, help="cpp_standalone OpenMP threads (1: no OpenMP)")
    args = ap.parse_args(argv)
    if args.worker:
        if args.build_dir is None or args.json_out is None:
            ap.error("--worker needs --build-dir and --json-out")
        res = _worker(args)
    else:
        res = run_brian2_cuba(args.n, args.duration_s, args.target,
                              args.out_degree, args.seed, args.build_dir,
                              json.loads(args.stdp) if args.stdp else None, args.threads)
        if args.json_out:
            with open(args.json_out, "w") as f:
                json.dump(res, f, indent=1)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    _main()
