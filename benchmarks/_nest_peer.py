"""NEST peer for the CUBA benchmark (Brette et al. 2007, benchmark 2).

Public API: :func:`run_nest_cuba`.  Every call runs the measurement in a
fresh Python subprocess (``python benchmarks/_nest_peer.py --worker ...``),
because NEST's kernel is global state of the process; the worker uses one
thread (``local_num_threads = 1``, ``OMP_NUM_THREADS=1``) and resolution
0.1 ms.

The model is :func:`eventsnn.reference_networks.cuba` (= Brian2's
``examples/CUBA.py``) written with NEST's ``iaf_psc_exp``: ``n`` neurons,
the first ``int(0.8 n)`` excitatory, E_L = -49 mV, V_th = -50 mV,
V_reset = -60 mV, t_ref = 5 ms, tau_m = 20 ms, tau_syn_ex = 5 ms,
tau_syn_in = 10 ms, C_m = 250 pF (NEST's default), V_m uniform in
[-60, -50] mV (NEST's RNG, seeded with ``seed``), ``pairwise_bernoulli``
with p = out_degree / n from the excitatory and from the inhibitory neurons
to all neurons, autapses allowed.

Weights.  eventsnn and Brian2 write the synaptic currents in mV (R·I):
``tau_m dv/dt = E_L - v + g_e + g_i`` and a spike adds w_e = 60·0.27/10 =
1.62 mV to g_e (w_i = -20·4.5/10 = -9 mV to g_i).  NEST's iaf_psc_exp
(user documentation in ``iaf_psc_exp.h``, section "Description": "Membrane
potential evolution" and "Synaptic input") has
``dV_m/dt = -(V_m - E_L)/tau_m + (I_syn + I_e)/C_m`` with a PSC that jumps by
the weight w in pA and decays with tau_syn_X.  The two equations agree when
``I_syn / C_m = g / tau_m``, i.e.::

    w [pA] = C_m [pF] / tau_m [ms] · w [mV]     (pF/ms = nS, nS·mV = pA)

so w_e = 250/20 · 1.62 = 20.25 pA and w_i = 250/20 · (-9) = -112.5 pA.
Both simulators integrate the subthreshold dynamics exactly; a
single-neuron trace driven by input spikes agrees to 1e-12 mV.

Differences from eventsnn's (and Brian2's) CUBA, both one step of 0.1 ms:

* delay: NEST's minimum delay is one step, so every synapse has delay
  0.1 ms; in eventsnn and Brian2 the delay is 0 (a spike raises its
  targets' currents in the step it is emitted, NEST one step later).
* refractoriness: NEST clamps V_m to V_reset for t_ref / dt = 50 updates
  after the spike's step, eventsnn and Brian2 resume integrating in the 50th
  (spikes are at least t_ref apart), so NEST's dead time is 0.1 ms longer.

NEST's network is therefore eventsnn's CUBA with delay 0.1 ms and
t_ref 5.1 ms, spike for spike (``tests/test_nest_peer.py``).

What is timed (seconds, ``time.perf_counter`` in the worker):

``build_s``
    ``nest.Create`` of the neurons (with their parameters and initial V_m),
    both ``nest.Connect`` calls, the spike recorder and its connections.
``wall_s``
    ``nest.Simulate`` (NEST's prepare, the update loop and cleanup).  NEST's
    own timer of the loop (kernel status ``time_simulate``) is returned as
    ``kernel_simulate_s``.
``syn_events``
    Exact: ``sum_i spike_count[i] * out_degree[i]``, out-degrees from the
    sources of ``nest.GetConnections`` between the neurons (recorder
    connections excluded), as for the Brian2 peer (``syn_events_exact``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from _brian2_peer import _summarise

RESOLUTION_MS = 0.1
C_M_PF = 250.0
TAU_M_MS = 20.0
NEURON_PARAMS = dict(C_m=C_M_PF, tau_m=TAU_M_MS, E_L=-49.0, V_th=-50.0, V_reset=-60.0, t_ref=5.0,
                     tau_syn_ex=5.0, tau_syn_in=10.0)
W_EXC_PA = C_M_PF / TAU_M_MS * (60 * 0.27 / 10)  # 1.62 mV as a current: 20.25 pA
W_INH_PA = C_M_PF / TAU_M_MS * (-20 * 4.5 / 10)  # -9 mV as a current: -112.5 pA
_HERE = os.path.abspath(__file__)


def run_nest_cuba(n: int, duration_s: float, out_degree: float = 80.0, seed: int = 1,
                  network_out: str | None = None) -> dict:
    """Run CUBA with ``n`` neurons for ``duration_s`` simulated seconds in NEST, in a fresh subprocess.

    Returns a dict with keys ``simulator, n, duration_s, build_s, wall_s
    (seconds), spikes, rate_hz, rate_exc_hz, rate_inh_hz (Hz), synapses,
    mean_out_degree, syn_events, syn_events_exact, syn_events_per_s,
    spikes_per_s`` and diagnostics (see the module docstring).  ``seed``
    (>= 1) seeds NEST's RNG.  Interpreter: ``$NEST_PEER_PYTHON`` or
    ``sys.executable``.  ``network_out``: also save NEST's network and spikes
    there (.npz: ``v0`` [n] mV, ``exc`` and ``inh`` [2, synapses] source and
    target indices, ``spike_step`` and ``spike_index``, the step in which
    V_m crossed threshold); NEST runs in a subprocess so that its kernel
    never shares a process with other libraries (it crashed in pytest's).
    """
    n = int(n)
    if n < 5:
        raise ValueError("n must be >= 5")
    if int(seed) < 1:
        raise ValueError(f"NEST's rng_seed must be >= 1, got {seed}")
    python = os.environ.get("NEST_PEER_PYTHON", sys.executable)
    env = {**os.environ, "PYNEST_QUIET": "1", "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory(prefix="nest_cuba_") as tmp:
        json_out = os.path.join(tmp, "result.json")
        cmd = [python, _HERE, "--worker", "--n", str(n), "--duration-s", repr(float(duration_s)),
               "--out-degree", repr(float(out_degree)), "--seed", str(int(seed)), "--json-out", json_out]
        if network_out:
            cmd += ["--network-out", str(network_out)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0 or not os.path.exists(json_out):
            raise RuntimeError(f"NEST worker failed (rc={proc.returncode}):\n"
                               f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
        with open(json_out) as f:
            return json.load(f)


# --------------------------------------------------------------------------
# worker side (runs in the subprocess)
# --------------------------------------------------------------------------

def reset_kernel(nest, seed: int) -> None:
    """Fresh kernel: resolution 0.1 ms, one thread, RNG seeded with ``seed``, errors only."""
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.SetKernelStatus({"resolution": RESOLUTION_MS, "local_num_threads": 1, "rng_seed": int(seed)})


def build_cuba(nest, n: int, out_degree: float) -> tuple:
    """Create CUBA in the current kernel; returns (neurons, spike recorder).

    Excitatory neurons are ``neurons[:int(0.8 n)]``; every synapse has delay
    0.1 ms and weight ``W_EXC_PA`` or ``W_INH_PA`` (pA).
    """
    n_exc = int(0.8 * n)
    params = {**NEURON_PARAMS, "V_m": nest.random.uniform(NEURON_PARAMS["V_reset"], NEURON_PARAMS["V_th"])}
    neurons = nest.Create("iaf_psc_exp", n, params=params)
    rule = {"rule": "pairwise_bernoulli", "p": out_degree / n, "allow_autapses": True}
    nest.Connect(neurons[:n_exc], neurons, rule, {"weight": W_EXC_PA, "delay": RESOLUTION_MS})
    nest.Connect(neurons[n_exc:], neurons, rule, {"weight": W_INH_PA, "delay": RESOLUTION_MS})
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    return neurons, recorder


def connection_indices(nest, neurons, pre, keys: tuple[str, ...] = ("source",)) -> list[np.ndarray]:
    """The connections from ``pre`` to ``neurons`` (recorder connections excluded): for each key in
    ``keys`` ("source", "target"), an int64 array of neuron indices (node id minus the first neuron's)."""
    conns = nest.GetConnections(source=pre, target=neurons)
    if len(conns) == 0:
        return [np.zeros(0, np.int64) for _ in keys]
    values = conns.get(list(keys))
    return [np.atleast_1d(np.asarray(values[k], np.int64)) - neurons[0].global_id for k in keys]


def _worker(args) -> dict:
    import nest

    n, dur = args.n, args.duration_s
    n_exc = int(0.8 * n)
    reset_kernel(nest, args.seed)
    start = time.perf_counter()
    neurons, recorder = build_cuba(nest, n, args.out_degree)
    build_s = time.perf_counter() - start
    v0 = np.asarray(neurons.get("V_m"), float) if args.network_out else None
    start = time.perf_counter()
    nest.Simulate(dur * 1000.0)
    wall_s = time.perf_counter() - start
    senders = np.asarray(recorder.events["senders"], np.int64) - neurons[0].global_id
    keys = ("source", "target") if args.network_out else ("source",)  # targets only for the saved network
    exc = connection_indices(nest, neurons, neurons[:n_exc], keys)
    inh = connection_indices(nest, neurons, neurons[n_exc:], keys)
    exc_src, inh_src = exc[0], inh[0]
    if args.network_out:
        # NEST stamps a spike with the end of the step in which V_m crossed threshold
        steps = np.rint(np.asarray(recorder.events["times"]) / RESOLUTION_MS).astype(np.int64) - 1
        np.savez(args.network_out, v0=v0, exc=np.stack(exc), inh=np.stack(inh), spike_step=steps, spike_index=senders)
    res = dict(simulator=f"nest-{nest.__version__}", n=n, duration_s=dur, out_degree=args.out_degree,
               p=args.out_degree / n, seed=args.seed, numpy_version=np.__version__,
               build_s=build_s, wall_s=wall_s, kernel_simulate_s=float(nest.GetKernelStatus("time_simulate")))
    res.update(_summarise(np, n, dur, np.bincount(senders, minlength=n), exc_src, inh_src, n_exc))
    res["syn_events_per_s"] = res["syn_events"] / wall_s
    res["spikes_per_s"] = res["spikes"] / wall_s
    with open(args.json_out, "w") as f:
        json.dump(res, f, indent=1)
    return res


def _main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", action="store_true", help="run in this process (internal); otherwise spawn one")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--duration-s", type=float, default=1.0)
    ap.add_argument("--out-degree", type=float, default=80.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json-out", default=None)
    ap.add_argument("--network-out", default=None, help="also save the network and spikes (.npz)")
    args = ap.parse_args(argv)
    if args.worker:
        if args.json_out is None:
            ap.error("--worker needs --json-out")
        res = _worker(args)
    else:
        res = run_nest_cuba(args.n, args.duration_s, args.out_degree, args.seed)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    _main()
