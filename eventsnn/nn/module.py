"""``Module``: a container of named parameters and sub-modules.

Parameters are the attributes that are :class:`~eventsnn.autodiff.Tensor`
with ``requires_grad``; sub-modules are attributes that are Modules. Names
are dotted paths in attribute order, e.g. ``blocks.0.fc.weight``.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from .._validation import check_array
from ..autodiff import Tensor


class Module:
    """Base class: subclasses set parameters / sub-modules in ``__init__`` and define ``forward``."""

    training: bool = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def children(self) -> Iterator[tuple[str, "Module"]]:
        """Direct sub-modules as (name, module)."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """All parameters, recursively, with dotted names."""
        for name, value in vars(self).items():
            if isinstance(value, Tensor) and value.requires_grad:
                yield prefix + name, value
            elif isinstance(value, Module):
                yield from value.named_parameters(prefix + name + ".")

    def parameters(self) -> list[Tensor]:
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """Total number of scalar parameters."""
        return sum(p.size for p in self.parameters())

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> "Module":
        """Set training mode here and in every sub-module."""
        self.training = bool(mode)
        for _, child in self.children():
            child.train(mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of all parameter arrays, by dotted name."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, np.ndarray], strict: bool = True) -> None:
        """Copy arrays into the parameters (in place, keeping each dtype).

        With ``strict`` every parameter must be present and nothing else;
        a shape mismatch always raises ``ValueError``. Nothing is written
        unless every entry passes.
        """
        params = dict(self.named_parameters())
        if strict:
            missing, unexpected = sorted(params.keys() - state.keys()), sorted(state.keys() - params.keys())
            if missing or unexpected:
                raise ValueError(f"state_dict mismatch: missing {missing}, unexpected {unexpected}")
        checked = {}
        for name in params.keys() & state.keys():
            p = params[name]
            checked[name] = check_array(name, state[name], dtype=p.dtype)
            if checked[name].shape != p.shape:
                raise ValueError(f"{name}: parameter shape {p.shape} but state_dict shape {checked[name].shape}")
        for name, value in checked.items():
            params[name].data[...] = value

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({n}): " + repr(c).replace("\n", "\n  ") for n, c in self.children())
        return f"{type(self).__name__}({inner}\n)" if inner else f"{type(self).__name__}()"


class ModuleList(Module):
    """An indexable list of modules, named ``0``, ``1``, ..."""

    def __init__(self, modules: Iterable[Module] = ()):
        self._length = 0
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> None:
        if not isinstance(module, Module):
            raise ValueError(f"ModuleList holds Modules, got {module!r}")
        setattr(self, str(self._length), module)
        self._length += 1

    def __getitem__(self, i: int) -> Module:
        return getattr(self, str(range(self._length)[i]))

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[Module]:
        return (self[i] for i in range(self._length))


class Sequential(ModuleList):
    """Modules applied in order: y = f_n(... f_1(x))."""

    def __init__(self, *modules: Module):
        super().__init__(modules)

    def forward(self, x: Any) -> Any:
        for m in self:
            x = m(x)
        return x
