"""Surrogate derivatives for the Heaviside spike, selectable per layer.

The forward pass always emits H(x) = 1 if x > 0 else 0 (x = mem - threshold);
the backward pass uses sigma'(x) instead of the Dirac delta. Each family has a
``slope`` k (1 / mV if x is in mV) setting how sharply sigma' peaks at x = 0:

==============  ===================================  snnTorch equivalent
FastSigmoid     1 / (k|x| + 1)^2   (SuperSpike)      ``surrogate.fast_sigmoid(slope=k)``
ATan            (k/2) / (1 + (pi k x / 2)^2)         ``surrogate.atan(alpha=k)``
Sigmoid         k s (1 - s),  s = 1 / (1 + e^-kx)    ``surrogate.sigmoid(slope=k)``
Triangle        k max(0, 1 - k|x|)   (unit area)     (snnTorch's ``triangular`` differs)
==============  ===================================  =========================

The formulas live once, in :func:`eventsnn.kernels.bptt.surrogate_grad`, and
are shared by the per-step spike op and the fused time-loop kernels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._validation import check_positive
from ..kernels import bptt


@dataclass(frozen=True)
class Surrogate:
    """Base class: ``surrogate(x)`` returns sigma'(x) elementwise."""

    slope: float = 25.0
    kind: ClassVar[int]

    def __post_init__(self) -> None:
        object.__setattr__(self, "slope", check_positive("slope", self.slope))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype not in (np.float32, np.float64):
            x = x.astype(np.float64)
        return bptt.surrogate_grad_array(self.kind, self.slope, x)


@dataclass(frozen=True)
class FastSigmoid(Surrogate):
    """SuperSpike fast sigmoid: 1 / (k|x| + 1)^2."""

    slope: float = 25.0
    kind: ClassVar[int] = bptt.FAST_SIGMOID


@dataclass(frozen=True)
class ATan(Surrogate):
    """Arctangent: (k/2) / (1 + (pi k x / 2)^2)."""

    slope: float = 2.0
    kind: ClassVar[int] = bptt.ATAN


@dataclass(frozen=True)
class Sigmoid(Surrogate):
    """Logistic: k s (1 - s) with s = 1 / (1 + e^{-kx})."""

    slope: float = 25.0
    kind: ClassVar[int] = bptt.SIGMOID


@dataclass(frozen=True)
class Triangle(Surrogate):
    """Triangle of unit area: k max(0, 1 - k|x|)."""

    slope: float = 1.0
    kind: ClassVar[int] = bptt.TRIANGLE
