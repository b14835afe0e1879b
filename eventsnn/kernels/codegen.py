"""Compile a neuron model's plain functions into one Numba kernel per population.

Every population kernel has the same signature (:data:`SIGNATURE`), so the
simulation loop (``kernels.cpu.run_network``) calls them through a tuple of
first-class functions and is compiled once, whatever the models. A kernel
updates each neuron of its population, applies the refractory clamp, tests
the threshold, resets the neurons that fired and appends their global
indices to ``spikes``: the arithmetic of ``backends.numpy_backend.ModelStep``
in the same order. Every neuron's arithmetic is its own, so on T threads
(the size of ``counts``) thread c runs :func:`piece` c of the population in
one parallel region, writing its spikes from the global index of the
piece's first neuron and their number to counts[c]; on one thread no region
is launched.

The kernel source is generated per model class and per set of per-neuron
constants, written to a cache directory and imported from there, so Numba's
on-disk cache serves it to later processes (``EVENTSNN_KERNEL_DIR``, default
``~/.cache/eventsnn/kernels``).
"""
from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from numba import njit, types

from ..neuron_model import SPECIAL_ARGUMENTS, NeuronModel, check_returns, function_arguments

SIGNATURE = types.void(
    types.float64[:, ::1],  # state: one row per variable, one column per neuron
    types.int32[::1],  # refractory steps left
    types.float64[::1],  # constants shared by all neurons
    types.float64[:, ::1],  # per-neuron constants, one row each
    types.int64[::1],  # spike buffer (global indices): piece c's from the global index of its first neuron
    types.int64[::1],  # spikes of each piece (its size: the number of threads)
    types.int64,  # global index of the population's first neuron
    types.int64,  # step
    types.int64,  # seed
)
TEMPLATE_VERSION = "3"  # bump when the generated source (or piece) changes shape


@njit(cache=True)
def piece(n: int, c: int, threads: int) -> tuple[int, int]:
    """Thread c's share of n items (neurons, or the numbers of a target variable):
    [n·c // threads, n·(c+1) // threads)."""
    return n * c // threads, n * (c + 1) // threads


@dataclass(frozen=True)
class Plan:
    """Where each argument of a model's functions comes from, for one population."""

    model: type
    variables: tuple[str, ...]
    scalar_constants: tuple[str, ...]
    array_constants: tuple[str, ...]
    refractory: bool  # has the constant n_ref
    clamped: tuple[str, ...]

    @classmethod
    def of(cls, model: NeuronModel, constants: dict, state: np.ndarray) -> "Plan":
        """The plan of ``model`` with ``constants``, its functions checked (on the (variables, n) ``state``)."""
        names = model.variable_names()
        for fn_name in ("update", "threshold", "after_spike"):
            fn = getattr(model, fn_name)
            if fn is None:
                continue
            for arg in function_arguments(fn):
                if arg not in names and arg not in constants and arg not in SPECIAL_ARGUMENTS:
                    raise ValueError(f"{type(model).__name__}.{fn_name}: argument {arg!r} is neither a variable "
                                     f"{names}, a constant {tuple(constants)} nor one of {SPECIAL_ARGUMENTS}")
        check_returns(model, constants, state)
        unknown = set(model.clamped) - set(names)
        if unknown:
            raise ValueError(f"{type(model).__name__}.clamped names unknown variables {sorted(unknown)}")
        return cls(type(model), names,
                   tuple(k for k, v in constants.items() if np.ndim(v) == 0),
                   tuple(k for k, v in constants.items() if np.ndim(v) != 0),
                   "n_ref" in constants, tuple(model.clamped))

    def pack(self, constants: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(scalar constants, per-neuron constants (k, n)) as the kernel takes them."""
        scalars = np.array([constants[k] for k in self.scalar_constants], np.float64)
        arrays = np.zeros((len(self.array_constants), n))
        for row, k in enumerate(self.array_constants):
            arrays[row] = constants[k]
        return scalars, arrays


def _call(plan: Plan, functions: dict[str, Callable | None], fn_name: str) -> str:
    """The call of the model's function ``fn_name`` on neuron k (arguments named as ``_views`` binds them)."""
    parts = []
    for arg in function_arguments(functions[fn_name]):
        if arg in plan.variables:
            parts.append(f"{arg}[k]")
        elif arg in plan.array_constants:
            parts.append(f"c_{arg}[k]")
        elif arg in plan.scalar_constants:
            parts.append(f"c_{arg}")
        elif arg == "index":
            parts.append("np.uint64(first + k)")
        else:
            parts.append(f"u_{arg}")
    return f"_{fn_name}({', '.join(parts)})"


def _views(plan: Plan, part: str) -> list[str]:
    """Statements binding the step's uint64 counters, ``rf``, each variable and each constant to its
    neurons ``part`` (a slice, or "" for all), so that ``_neuron`` indexes them by k."""
    lines = ["u_step, u_seed = np.uint64(step), np.uint64(seed)", f"rf = ref{part}"]
    lines += [f"{v} = S[{row}]{part}" for row, v in enumerate(plan.variables)]
    lines += [f"c_{c} = cs[{row}]" for row, c in enumerate(plan.scalar_constants)]
    lines += [f"c_{c} = ca[{row}]{part}" for row, c in enumerate(plan.array_constants)]
    return lines


def _neuron(plan: Plan, functions: dict[str, Callable | None]) -> tuple[list[str], str | None, list[str]]:
    """Neuron k's step, as (update statements, the firing condition or None, statements when it fires):
    the refractory countdown, the update (clamped variables held while refractory), then the threshold,
    the reset and the refractory count. The CPU kernel and the device function share them."""
    new = ", ".join(f"new_{v}" for v in plan.variables) + ","
    update = ["rf[k] -= rf[k] > 0"] if plan.refractory else []
    if functions["update"] is not None:
        update.append(f"{new} = {_call(plan, functions, 'update')}")
        for v in plan.variables:
            held = plan.refractory and v in plan.clamped
            update.append(f"{v}[k] = {v}[k] if rf[k] > 0 else new_{v}" if held else f"{v}[k] = new_{v}")
    if functions["threshold"] is None:
        return update, None, []
    gate = "rf[k] == 0 and " if plan.refractory else ""
    fire = []
    if functions["after_spike"] is not None:
        fire.append(f"{new} = {_call(plan, functions, 'after_spike')}")
        fire += [f"{v}[k] = new_{v}" for v in plan.variables]
    if plan.refractory:
        fire.append(f"rf[k] = int({'c_n_ref[k]' if 'n_ref' in plan.array_constants else 'c_n_ref'})")
    return update, gate + _call(plan, functions, "threshold"), fire


def _indented(lines: list[str], depth: int) -> list[str]:
    return ["    " * depth + line for line in lines]


def _source(plan: Plan, functions: dict[str, Callable | None]) -> str:
    """The CPU kernel's Python source (see the module docstring)."""
    update, condition, fire = _neuron(plan, functions)
    # The neurons start..stop-1 as views indexed from 0: Numba then knows k >= 0 and skips negative-index
    # wraparound (a loop over range(start, stop) ran 1.6x slower).
    lines = ["def run_range(S, ref, cs, ca, spikes, n, lo, start, stop, step, seed):"]
    views = _views(plan, "[start:stop]")
    lines += _indented(views[:1] + ["first = lo + start"] + views[1:], 1)
    if update:
        lines += _indented(["for k in range(stop - start):"], 1) + _indented(update, 2)
    if condition is not None:
        lines += _indented(["for k in range(stop - start):", f"    if {condition}:"], 1)
        lines += _indented(fire + ["spikes[n] = first + k", "n += 1"], 3)
    lines.append("    return n")
    lines += ["", "",
              "def kernel(S, ref, cs, ca, spikes, counts, lo, step, seed):",
              "    threads = counts.size",
              "    if threads == 1:",
              "        counts[0] = run_range(S, ref, cs, ca, spikes, lo, lo, 0, S.shape[1], step, seed) - lo",
              "        return",
              "    for c in prange(threads):",
              "        a, b = piece(S.shape[1], c, threads)",
              "        counts[c] = run_range(S, ref, cs, ca, spikes, lo + a, lo, a, b, step, seed) - (lo + a)"]
    return "\n".join(lines) + "\n"


def _device_source(plan: Plan, functions: dict[str, Callable | None]) -> str:
    """The source of the device function ``neuron``: neuron k's step (``_neuron``, the arithmetic of the
    CPU kernel) on a population whose first neuron has global index ``first``; returns whether it fired."""
    update, condition, fire = _neuron(plan, functions)
    lines = ["def neuron(S, ref, cs, ca, first, k, step, seed):"] + _indented(_views(plan, "") + update, 1)
    if condition is not None:
        lines += _indented([f"if {condition}:"], 1) + _indented(fire + ["return True"], 2)
    lines.append("    return False")
    return "\n".join(lines) + "\n"


def _kernel_dir() -> Path:
    chosen = os.environ.get("EVENTSNN_KERNEL_DIR")
    candidates = [Path(chosen)] if chosen else [Path.home() / ".cache" / "eventsnn" / "kernels",
                                                Path(tempfile.gettempdir()) / f"eventsnn-kernels-{os.getuid()}"]
    for path in candidates:
        try:
            path.mkdir(parents=True, exist_ok=True)
            if os.access(path, os.W_OK):
                return path
        except OSError:
            continue
    raise OSError(f"no writable directory for compiled kernels among {[str(c) for c in candidates]}; "
                  "set EVENTSNN_KERNEL_DIR")


_compiled: dict[str, object] = {}


def _generated(plan: Plan, model: NeuronModel, body: str, header: str, jit: Callable) -> object:
    """The module of generated ``body`` (written, imported and kept on first use): ``header``'s imports,
    the model's functions compiled by ``jit`` as ``_update``, ``_threshold`` and ``_after_spike``."""
    functions = _functions(model)
    key_parts = [TEMPLATE_VERSION, header, body] + [inspect.getsource(f) for f in functions.values() if f is not None]
    digest = hashlib.sha256("\n".join(key_parts).encode()).hexdigest()[:20]
    if digest in _compiled:
        return _compiled[digest]
    source = (f"# Generated by eventsnn.kernels.codegen for {plan.model.__module__}.{plan.model.__qualname__}; "
              f"safe to delete.\n{header}\n\n{body}")
    path = _kernel_dir() / f"{plan.model.__name__}_{digest}.py"
    if not path.exists() or path.read_text() != source:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(source)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(f"eventsnn_kernel_{digest}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # Numba's cache finds the function's module by name
    module.SIGNATURE = SIGNATURE
    for name, fn in functions.items():
        if fn is not None:
            setattr(module, f"_{name}", jit(fn))
    spec.loader.exec_module(module)
    _compiled[digest] = module
    return module


def _functions(model: NeuronModel) -> dict[str, Callable | None]:
    return {name: getattr(model, name) for name in ("update", "threshold", "after_spike")}


def population_kernel(plan: Plan, model: NeuronModel) -> Callable:
    """The compiled CPU kernel of ``plan`` (generated, written and imported on first use)."""
    body = (_source(plan, _functions(model)).replace("def run_range", "@njit(cache=True)\ndef run_range", 1)
            .replace("def kernel", "@njit(SIGNATURE, parallel=True, cache=True)\ndef kernel", 1))
    header = "import numpy as np\nfrom numba import njit, prange\n\nfrom eventsnn.kernels.codegen import piece\n"
    return _generated(plan, model, body, header, njit).kernel


def device_neuron(plan: Plan, model: NeuronModel) -> Callable:
    """The CUDA device function ``neuron(S, ref, cs, ca, first, k, step, seed) -> fired`` of ``plan``: one
    neuron's step with the CPU kernel's arithmetic (``_device_source``). Imports ``numba.cuda``."""
    from numba import cuda

    body = "@cuda.jit(device=True)\n" + _device_source(plan, _functions(model))
    return _generated(plan, model, body, "import numpy as np\nfrom numba import cuda\n", cuda.jit(device=True)).neuron
