"""How a neuron model is declared: parameters, state variables, and three plain functions.

A model is a frozen dataclass whose fields are its parameters, declared with
:func:`parameter` (unit and sign constraint) or :func:`choice`. It says

- ``variables``: its state variables (:class:`Variable`: name, unit, initial
  value, dtype), in the order its functions return them;
- ``targets``: the names a projection may drive, each mapped to a variable;
- ``constants(dt)``: numbers its functions use, computed once per network
  from the parameters (e.g. exact propagators exp(-dt/tau)); each is a scalar
  or, for a heterogeneous population, an array with one value per neuron;
- ``update``, ``threshold``, ``after_spike``: plain Python functions of scalars
  whose argument names are variables, constants, or ``step``, ``seed`` and
  ``index`` (the step number, the network's seed and the neuron's global
  index, as uint64). ``update`` and ``after_spike`` (the reset) return every variable's new
  value, in ``variables`` order; ``threshold`` returns whether the neuron
  spikes. Numba compiles them into the simulation loop
  (:mod:`eventsnn.kernels.codegen`); the NumPy reference backend calls the
  very same functions neuron by neuron.
- ``clamped``: variables held during the refractory period. A model with a
  constant ``n_ref`` (whole steps) is refractory as in Brian2: after a spike
  its clamped variables hold for n_ref - 1 steps and spikes are at least
  n_ref steps apart.

Each step a neuron is updated, then tested against the threshold and, if it
spikes, reset by ``after_spike``. Declaring a model takes one class; see ``eventsnn.neurons``
for the built-in ones and ``tests/test_user_models.py`` for a model defined
outside the package.
"""
from __future__ import annotations

import dataclasses
import inspect
import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np

from ._validation import check_choice

SPECIAL_ARGUMENTS = ("step", "seed", "index")  # uint64: step number, network seed, global neuron index


@dataclass(frozen=True)
class Variable:
    """A state variable: ``init`` is a number or the name of a parameter that gives it."""

    name: str
    unit: str
    init: float | str = 0.0
    dtype: Any = np.float64


def parameter(default: float, unit: str, *, positive: bool = False, nonnegative: bool = False):
    """A model parameter (a number, or an array with one value per neuron) in ``unit``."""
    check = "positive" if positive else "nonnegative" if nonnegative else "finite"
    return dataclasses.field(default=default, metadata={"unit": unit, "check": check})


def choice(default: str, options: tuple[str, ...]):
    """A parameter that takes one of ``options`` (a string)."""
    return dataclasses.field(default=default, metadata={"options": options})


def elementwise(fn: Callable, *args):
    """``fn`` of scalars, or of each element of the broadcast arrays (per-neuron parameters).

    Evaluated on Python floats, i.e. with the C library's math: NumPy's SIMD
    exp can differ from it in the last bit, and the kernels (and Brian2) use
    the C library's.
    """
    if all(np.ndim(a) == 0 for a in args):
        return fn(*args)
    return np.vectorize(fn, otypes=[np.float64])(*args)


def exp(x):
    """exp(x) from the C library, for scalars and arrays alike."""
    return elementwise(math.exp, x)


def expm1(x):
    """expm1(x) from the C library, for scalars and arrays alike."""
    return elementwise(math.expm1, x)


def refractory_steps(t_ref, dt: float):
    """Steps a neuron stays refractory: round(t_ref / dt); warns when t_ref is off the dt grid."""
    steps = np.rint(np.asarray(t_ref) / dt)
    off = np.abs(np.asarray(t_ref) / dt - steps) > 1e-6
    if np.any(off):
        bad = float(np.asarray(t_ref)[off].flat[0]) if np.ndim(t_ref) else float(t_ref)
        warnings.warn(f"t_ref = {bad} ms is not a multiple of dt = {dt} ms; it is rounded to "
                      f"{round(bad / dt) * dt:g} ms", stacklevel=4)
    return steps.astype(np.float64) if np.ndim(t_ref) else float(steps)


class NeuronModel:
    """Base of every neuron model (see the module docstring for how to declare one)."""

    variables: ClassVar[tuple[Variable, ...]] = ()
    targets: ClassVar[dict[str, str]] = {}
    clamped: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        check_fields(self)
        self.check()

    def check(self) -> None:
        """Relations between parameters (override; raise ValueError naming the parameter)."""

    def constants(self, dt: float) -> dict[str, Any]:
        """Per-step constants for time step ``dt`` (ms): scalars or per-neuron arrays."""
        return {}

    def check_state(self, state: np.ndarray, dt: float) -> None:
        """Refuse a (variables, n) state this model cannot run from (checked before each run)."""

    update: ClassVar[Callable | None] = None
    threshold: ClassVar[Callable | None] = None
    after_spike: ClassVar[Callable | None] = None

    # --- what the network needs ---------------------------------------------
    @classmethod
    def variable_names(cls) -> tuple[str, ...]:
        return tuple(v.name for v in cls.variables)

    def check_size(self, n: int) -> None:
        """Raise ValueError if a per-neuron parameter does not have n values."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray) and value.ndim == 1 and "check" in f.metadata and value.size != n:
                raise ValueError(f"{f.name} must be a scalar or have {n} values (one per neuron), got {value.size}")

    def initial_state(self, n: int) -> np.ndarray:
        """State block of shape (len(variables), n) at its initial values."""
        state = np.empty((len(self.variables), n))
        for row, var in enumerate(self.variables):
            if isinstance(var.init, str) and not hasattr(self, var.init):
                raise ValueError(f"{type(self).__name__}: variable {var.name!r} starts at parameter {var.init!r}, "
                                 f"which the model does not have")
            state[row] = getattr(self, var.init) if isinstance(var.init, str) else var.init
        return state

    def parameters(self) -> dict[str, Any]:
        """The model's parameters by name (floats, strings or per-neuron arrays)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def __eq__(self, other) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(np.array_equal(a, b) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) else a == b
                   for a, b in zip(self.parameters().values(), other.parameters().values()))

    __hash__ = None  # parameters may be arrays


def check_fields(obj) -> None:
    """Validate (and normalise) the :func:`parameter` and :func:`choice` fields of a frozen dataclass."""
    for f in dataclasses.fields(obj):
        if "options" in f.metadata:
            check_choice(f.name, getattr(obj, f.name), f.metadata["options"])
        elif "check" in f.metadata:
            object.__setattr__(obj, f.name, _checked(f.name, getattr(obj, f.name), f.metadata["check"]))


def function_arguments(fn: Callable) -> tuple[str, ...]:
    """The argument names of a model function."""
    return tuple(inspect.signature(fn).parameters)


def check_returns(model: NeuronModel, constants: dict, state: np.ndarray) -> None:
    """Call ``update`` and ``after_spike`` once, on the first neuron of the (variables, n) ``state``, and
    refuse one that returns another number of values than the model has variables (the NumPy backend
    would fill the state with NaN, Numba fail to compile). An arithmetic error of this trial call is
    left for the run to report."""
    names = model.variable_names()
    values = {name: np.float64(row[0]) for name, row in zip(names, state)}
    values.update({k: v if np.ndim(v) == 0 else np.asarray(v).flat[0] for k, v in constants.items()})
    values.update({k: np.uint64(0) for k in SPECIAL_ARGUMENTS})
    for fn_name in ("update", "after_spike"):
        fn = getattr(model, fn_name)
        if fn is None:
            continue
        try:
            with np.errstate(all="ignore"):
                out = fn(*(values[arg] for arg in function_arguments(fn)))
        except (ArithmeticError, ValueError):
            continue
        count = len(out) if isinstance(out, tuple) else 1
        if count != len(names):
            raise ValueError(f"{type(model).__name__}.{fn_name} must return {len(names)} values, one per variable "
                             f"{names}, got {count}")


def _checked(name: str, value, check: str):
    """A parameter as a float or a 1-D float64 array, validated (ValueError naming it and the value)."""
    if isinstance(value, (str, bytes)) or isinstance(value, bool):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    if arr.ndim > 1 or (arr.ndim == 1 and arr.size == 0):
        raise ValueError(f"{name} must be a number or a 1-D array with one value per neuron, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if check == "positive" and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if check == "nonnegative" and np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    if arr.ndim == 0:
        return float(arr)
    arr.setflags(write=False)
    return arr


def require(name: str, ok, message: str, value) -> None:
    """Raise ValueError('{name} {message}, got {value}') unless ``ok`` holds for every neuron."""
    if not np.all(ok):
        raise ValueError(f"{name} {message}, got {value!r}")
