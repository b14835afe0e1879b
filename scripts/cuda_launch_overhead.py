"""Time the host side of backend="cuda"'s step loop without a GPU: numba-cuda's Python work per simulated step.

numba-cuda types and packs every kernel's arguments in Python before the
driver's launch call, whatever the network's size. This runs the backend's
real step loop (``CudaBackend.run`` with the device target, not the
simulator) on stand-in device arrays (``DeviceNDArray`` over a fake
pointer, no memory behind it), with the two driver calls replaced:
loading the compiled module (``get_cufunc``: a no-op) and the launch
(``cuda.core.launch``: only its conversion of the kernel parameters,
``ParamHolder``), so everything up to the driver is timed. The driver's
``cuLaunchKernel`` comes on top (a few microseconds each). The host never
reads how many steps ran (``CHECK_EVERY``: once per 256 steps on a device).
Compiling needs the toolkit's NVVM and NVRTC (``pip install ".[cuda]"``:
the toolkit wheels).

    python scripts/cuda_launch_overhead.py [--steps 2000] [--n 4000] [--json PATH]

The first run of each network compiles its kernels and checks that each
launch bound by ``launch.bind`` (as the simulator module calls it) passes
the driver the configuration and parameters of numba-cuda's own launch of
the same call. Then it prints the
host microseconds per simulated step, and per launch, for CUBA
(``cuba``: neurons, propagation, spike record) and for CUBA with a one-step
delay, a timed drive and a state monitor (``cuba+``: every kernel but the
spike generators' and the learn step's), and for CUBA whose excitatory
synapses learn by STDP (``stdp``: the learn step's launches but R-STDP's
catch-up).
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import importlib.metadata
import json
import os
import time

import numpy as np

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    raise SystemExit("cuda_launch_overhead times the device target: unset NUMBA_ENABLE_CUDASIM")

import numba.cuda.codegen as codegen  # noqa: E402
from cuda import bindings  # noqa: E402
import numba.cuda.dispatcher as dispatcher  # noqa: E402
from numba import cuda  # noqa: E402
from cuda.pathfinder import DynamicLibNotFoundError  # noqa: E402
from numba.cuda.cudadrv import devicearray  # noqa: E402

from eventsnn.inputs import TimedCurrent  # noqa: E402
from eventsnn.kernels.cuda import INSTALL, simulator  # noqa: E402
from eventsnn.monitors import StateMonitor  # noqa: E402
from eventsnn.plasticity import STDP  # noqa: E402
from eventsnn.reference_networks import cuba  # noqa: E402

# what cuda.core's launch does with the kernel parameters (in its module for this CUDA major version)
CUDA_MAJOR = bindings.__version__.split(".")[0]
ParamHolder = importlib.import_module(f"cuda.core.cu{CUDA_MAJOR}._kernel_arg_handler").ParamHolder


class FakeMemory:
    """A device pointer with nothing behind it."""

    device_ctypes_pointer = ctypes.c_void_p(1 << 32)

    def view(self, start, stop=None):
        return self


class FakeArray(devicearray.DeviceNDArray):
    """A device array over FakeMemory (and so are its slices): copies to the host give zeros, copies to it do
    nothing."""

    def copy_to_host(self, ary=None, stream=0):
        return np.zeros(self.shape, self.dtype) if ary is None else ary

    def copy_to_device(self, ary, stream=0):
        pass


def fake_array(host) -> FakeArray:
    """A stand-in device array of ``host``'s shape and type."""
    host = np.ascontiguousarray(host)
    return FakeArray(host.shape, host.strides, host.dtype, gpu_data=FakeMemory())


def launches(stream, config, kernel, *args) -> None:
    """``cuda.core.launch`` up to the driver's call: the kernel parameters converted for it; counted."""
    ParamHolder(args)
    launches.count += 1


launches.count = 0


def checked(bind):
    """``launch.bind`` (as the simulator module calls it), its launches checked against numba-cuda's own launch
    of the same call."""
    def bind_checked(configured, *args):
        seen = []  # each launch's grid, block and parameters' values
        dispatcher.launch = lambda stream, config, kernel, *params: seen.append(
            (config.grid, config.block, [p.value if isinstance(p, ctypes._SimpleCData) else p for p in params]))
        configured(*args)
        launch = bind(configured, *args)
        launch()
        dispatcher.launch = launches
        if seen[0] != seen[1]:
            raise SystemExit(f"simulator.bind launches {configured.dispatcher.py_func.__name__} with other "
                             f"parameters than numba-cuda: {seen[1]} != {seen[0]}")
        return launch
    return bind_checked


def stand_ins(cc: tuple[int, int]) -> None:
    """numba-cuda with no driver: compiled for ``cc``, arrays of FakeMemory, module loads and launches do nothing."""
    device = type("Device", (), {"compute_capability": cc, "id": 0})()
    dispatcher.get_current_device = lambda: device
    module = type("Module", (), {"initialized": True})()
    codegen.CUDACodeLibrary.get_cufunc = lambda self: type("Function", (), {"kernel": None, "module": module})()
    dispatcher.launch = launches  # numba-cuda's launch (cuda.core.launch), as the backend's bound launches call it
    cuda.is_available = lambda: True
    devicearray.devices.get_context = lambda: type("Context", (), {"device": device})()
    devicearray.devices._runtime.ensure_context = contextlib.nullcontext  # slicing asks for a context
    cuda.to_device = fake_array
    cuda.device_array = lambda shape, dtype: fake_array(np.zeros(shape, dtype))
    simulator.CHECK_EVERY = 1 << 62  # no read of the steps done (its copy would say none ran)


def network(name: str, n: int):
    rule = STDP(w_max=2 * 60 * 0.27 / 10) if name == "stdp" else None  # every excitatory synapse learns
    bench = cuba(n, 80.0, seed=1, backend="cuda", delay=0.1 if name == "cuba+" else 0.0, exc_plasticity=rule)
    net = bench.network
    if name == "cuba+":
        net.add(TimedCurrent(bench.neurons[:10], np.zeros(100), net.dt), StateMonitor(bench.neurons[:10], "v"))
    net.build()
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--n", type=int, default=4000, help="neurons (the host cost does not depend on it)")
    parser.add_argument("--cc", default="9.0")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    stand_ins(tuple(int(v) for v in args.cc.split(".")))
    results = {"steps": args.steps, "n": args.n, "cc": args.cc, "numba_cuda": importlib.metadata.version("numba-cuda"),
               "networks": {}}
    for name in ("cuba", "cuba+", "stdp"):
        net = network(name, args.n)
        bind, simulator.bind = simulator.bind, checked(simulator.bind)
        net.sim.run(net._recorder(8), 0, 8)  # compiles, and checks the bound launches
        simulator.bind = bind
        best = []
        for _ in range(3):
            rec = net._recorder(args.steps)
            launches.count = 0
            start = time.perf_counter()
            net.sim.run(rec, 0, args.steps)
            best.append(time.perf_counter() - start)
        per_step = min(best) / args.steps
        per_launch = per_step * args.steps / launches.count
        print(f"{name:6} {launches.count / args.steps:4.1f} launches/step  {per_step * 1e6:7.1f} us/step  "
              f"{per_launch * 1e6:6.1f} us/launch  (best of 3 runs of {args.steps} steps)", flush=True)
        results["networks"][name] = {"launches_per_step": launches.count / args.steps, "host_us_per_step":
                                     per_step * 1e6, "host_us_per_launch": per_launch * 1e6}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    try:
        main()
    except DynamicLibNotFoundError as err:  # numba-cuda alone (the dev extra) has no compilers: the cuda extra has
        raise SystemExit(f"{err}\nCompiling needs the CUDA toolkit's NVVM and NVRTC: {INSTALL}") from None
