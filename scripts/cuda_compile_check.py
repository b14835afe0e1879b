"""Compile every CUDA kernel of eventsnn to PTX without a GPU: the device path's type inference and lowering.

The simulator (the tests) runs the kernels' Python; this compiles them as a
GPU would, with NVVM alone (no driver), so a kernel that only the device
compiler rejects is found before GPU time is spent. Needs numba-cuda with
the CUDA toolkit wheels (``pip install ".[cuda]"``); prints each kernel's
PTX size and exits non-zero on the first failure.

    python scripts/cuda_compile_check.py --cc 9.0
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    raise SystemExit("cuda_compile_check compiles for a device: unset NUMBA_ENABLE_CUDASIM")

import numba.cuda.dispatcher as dispatcher  # noqa: E402
from numba import cuda, typeof  # noqa: E402
from cuda.pathfinder import DynamicLibNotFoundError  # noqa: E402

from eventsnn.inputs import Poisson  # noqa: E402
from eventsnn.kernels.codegen import Plan, device_neuron  # noqa: E402
from eventsnn import Network, Population, Sparse  # noqa: E402
from eventsnn.kernels.cuda import INSTALL, bptt, event_linear, inference, optim, plasticity, simulator  # noqa: E402
from eventsnn.lm.engine import Engine, InferenceLM  # noqa: E402
from eventsnn.lm.model import LMConfig, SpikingLM  # noqa: E402
from eventsnn.neurons import ALIF, IF, LIF, AdEx, CondLIF, Izhikevich  # noqa: E402
from eventsnn.plasticity import RSTDP  # noqa: E402


def compile_all(cc: tuple[int, int]) -> None:
    # Device functions are compiled for the current device's compute capability; without a driver there is
    # none, so numba-cuda is told the one asked for.
    dispatcher.get_current_device = lambda: type("Device", (), {"compute_capability": cc})()

    def ptx(name: str, kernel, *args) -> None:
        start = time.perf_counter()
        code, _ = cuda.compile_ptx(kernel.py_func, tuple(typeof(a) for a in args), device=False, cc=cc)
        print(f"{name:40} {len(code):8d} characters of PTX, {time.perf_counter() - start:.1f} s", flush=True)

    f3, f2, f1 = (np.zeros((2,) * d, np.float32) for d in (3, 2, 1))
    i64, i32, s = np.zeros(2, np.int64), np.zeros(2, np.int32), np.float32(0.5)
    ptx("bptt._forward", bptt._forward, f3, f1, f1, f1, f1, 0, f2, f2, f2, f3, f3, f3)
    ptx("bptt._backward", bptt._backward, f3, f3, f3, f3, f1, f1, f1, f1, 0, True, 0, 2.0, f2, f2, f2,
        f3, f2, f2, f2, f2)
    ptx("event_linear._count", event_linear._count, f2, True, i64)
    ptx("event_linear._exclusive_scan", event_linear._exclusive_scan, i64, i64)
    ptx("event_linear._fill", event_linear._fill, f2, False, i64, i32, f1)
    ptx("event_linear._sparse_matmul", event_linear._sparse_matmul, i64, i32, f1, f2, f2)
    ptx("optim._adam", optim._adam, f1, f1, f1, f1, *(s,) * 9)
    for precision in ("float32", "int8"):
        cfg = LMConfig(vocab_size=5, hidden=4, memory=3, readout=3, d_embed=2, n_layers=2)
        engine = Engine(InferenceLM.from_model(SpikingLM(cfg, seed=0), precision), 2)
        scratch = [np.zeros((2, n), dtype) for n, dtype in ((4, np.float32), (3, np.float32), (3, np.float32),
                                                           (4, np.int32), (3, np.int32))]
        ptx(f"inference.token_steps ({precision})", inference.token_steps, np.zeros((3, 2), np.int64), 1,
            *engine.weights, engine.block_state, engine.memory_state, np.zeros(3, np.int64), *scratch,
            np.zeros((3, 2, 5), np.float32))
    simulator_kernels(ptx)


def simulator_kernels(ptx) -> None:
    """The kernels of backend="cuda" (``kernels.cuda.simulator``), one neuron kernel per built-in model."""
    i64, i32, f8, f8x2, c64 = (np.zeros(2, np.int64), np.zeros(2, np.int32), np.zeros(2), np.zeros((2, 2)),
                               np.zeros((2, 2), np.int64))
    rec = simulator.Record(np.zeros(2, bool), *(i64,) * 5, f8x2, i64, c64, i64, i64, i64)
    samples = simulator.Samples(*(i64,) * 4, f8x2, i64)
    pl = plastic_network().sim.pl  # the learning state's types, from a built network
    for weight in (np.float32, np.float64):
        tables = simulator.Tables(*(i64,) * 9, i32, np.zeros(2, weight), np.zeros(2, np.uint8), np.zeros(2, bool),
                                  *(i64,) * 4)
        name = np.dtype(weight).name
        ptx(f"simulator.propagate_and_record ({name} weights)", simulator.propagate_and_record, tables, f8, f8, i64,
            rec, 0)
        ptx(f"plasticity.catch_up_synapses ({name} weights)", plasticity.catch_up_synapses, tables, pl, i64, 0, i64)
        ptx(f"plasticity.arrive ({name} weights)", plasticity.arrive, tables, f8, pl, 0, rec)
        ptx(f"plasticity.postsynaptic ({name} weights)", plasticity.postsynaptic, tables, pl, i64, i64, 0, i64)
        ptx(f"plasticity.record_synapses ({name} weights)", plasticity.record_synapses, tables, pl, samples, 0, i64)
    for delay in (np.uint16, np.int32):  # the delays' other types (Synapses.delay: the narrowest that holds them)
        tables = tables._replace(delay=np.zeros(2, delay))
        name = np.dtype(delay).name
        ptx(f"simulator.propagate_and_record ({name} delays)", simulator.propagate_and_record, tables, f8, f8, i64,
            rec, 0)
        ptx(f"plasticity.record_synapses ({name} delays)", plasticity.record_synapses, tables, pl, samples, 0, i64)
    ptx("plasticity.begin_learning", plasticity.begin_learning, pl, i64, 0, i64)
    ptx("plasticity.remember_spikes", plasticity.remember_spikes, pl, i64, i64, i64, 0, i64)
    ptx("plasticity.release_dopamine", plasticity.release_dopamine, pl, i64, 0, i64)
    ptx("simulator.deliver", simulator.deliver, tables, f8, f8, 0, i64)
    drive = simulator.Drive(i64, i64, i64, i64, f8x2, i64)
    ptx("simulator.begin_step", simulator.begin_step, rec, 0)
    ptx("simulator.record_state", simulator.record_state, f8, rec, 0)
    ptx("simulator.apply_drive", simulator.apply_drive, f8, drive, 0, i64)
    ptx("simulator.reserve_generated", simulator.reserve_generated, drive, i64, c64, 0, i64, i64, c64)
    ptx("simulator.emit_generated", simulator.emit_generated, drive, c64, i64, i64)
    per_neuron = LIF(v_th=np.array([-50.0, -51.0]), t_ref=np.array([0.0, 1.0]))  # per-neuron constants
    for model in (LIF(t_ref=1.0), per_neuron, ALIF(), IF(), CondLIF(), Izhikevich(), AdEx(t_ref=1.0),
                  Poisson(rate=5.0)):
        plan = Plan.of(model, model.constants(0.1), Population(2, model).initial_state_block())
        kernel = simulator.population_step(device_neuron(plan, model))
        ptx(f"simulator.population_step ({type(model).__name__}, {len(plan.array_constants)} per neuron)", kernel,
            np.zeros((len(plan.variables), 2)), i32, f8, np.zeros((len(plan.array_constants), 2)), 0, 0, 0, 0, i64,
            i64, i64, c64)


def plastic_network() -> Network:
    """Two neurons learning by R-STDP, built on the NumPy backend (no kernel compiled)."""
    a, b = Population(1, LIF()), Population(1, LIF())
    net = Network(a, b, Sparse.fixed_probability(a, b, 1.0, 1.0, plasticity=RSTDP(dopamine=a)), backend="numpy")
    net.build()
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cc", default="9.0", help="compute capability, e.g. 8.0 (A100), 9.0 (H100/H200)")
    major, minor = (int(v) for v in parser.parse_args().cc.split("."))
    compile_all((major, minor))


if __name__ == "__main__":
    try:
        main()
    except DynamicLibNotFoundError as err:  # numba-cuda alone (the dev extra) has no compilers: the cuda extra has
        raise SystemExit(f"{err}\nCompiling needs the CUDA toolkit's NVVM and NVRTC: {INSTALL}") from None
