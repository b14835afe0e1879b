"""Layers: Linear (dense or event-driven), Embedding, LayerNorm, LIF and ALIF neurons."""
from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_finite, check_int, check_positive, check_seed
from .. import autodiff as ad
from ..autodiff import Surrogate, Tensor
from ..autodiff.tensor import as_tensor
from .module import Module


def _float_dtype(dtype: type) -> np.dtype:
    """``dtype`` if it is float32 or float64, the dtypes a Tensor keeps (others would be cast or truncate)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    return dt


class Linear(Module):
    """y = x W + b with W[in, out] ~ U(-1/sqrt(in), 1/sqrt(in)) (PyTorch's default range).

    With ``event=True`` the forward and weight gradient visit only the
    weight rows of nonzero inputs (:func:`eventsnn.autodiff.event_linear`),
    which pays off when the input is sparse spikes and the rows are long
    (hundreds of outputs). For a narrow layer, such as a 10-class readout,
    listing the spikes costs more than the dense product saves: keep it dense.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, event: bool = False,
                 dtype: type = np.float64, seed: int | np.random.Generator | None = None):
        n_in, n_out = check_int("in_features", in_features, 1), check_int("out_features", out_features, 1)
        dtype, bound = _float_dtype(dtype), 1.0 / np.sqrt(n_in)
        rng = check_seed("seed", seed)
        self.weight = Tensor(rng.uniform(-bound, bound, (n_in, n_out)).astype(dtype), requires_grad=True)
        self.bias = Tensor(rng.uniform(-bound, bound, n_out).astype(dtype), requires_grad=True) if bias else None
        self.event = bool(event)

    def forward(self, x: Tensor) -> Tensor:
        return (ad.event_linear if self.event else ad.linear)(x, self.weight, self.bias)


class Embedding(Module):
    """Lookup table weight[num, dim] ~ N(0, 1); forward(indices) -> weight[indices]."""

    def __init__(self, num_embeddings: int, dim: int, *, seed: int | np.random.Generator | None = None):
        shape = (check_int("num_embeddings", num_embeddings, 1), check_int("dim", dim, 1))
        self.weight = Tensor(check_seed("seed", seed).standard_normal(shape), requires_grad=True)

    def forward(self, indices: np.ndarray) -> Tensor:
        return ad.embedding(self.weight, indices)


class LayerNorm(Module):
    """Normalise the last axis, then scale by gamma (init 1) and shift by beta (init 0)."""

    def __init__(self, dim: int, eps: float = 1e-5):
        n = check_int("dim", dim, 1)
        self.eps = check_positive("eps", eps)
        self.gamma = Tensor(np.ones(n), requires_grad=True)
        self.beta = Tensor(np.zeros(n), requires_grad=True)

    def forward(self, x: Tensor) -> Tensor:
        return ad.layer_norm(x, self.gamma, self.beta, self.eps)


def _logit(p: float, size: int) -> np.ndarray:
    return np.full(size, np.log(p / (1 - p)))


class LIF(Module):
    """Leaky integrate-and-fire layer over time (snnTorch ``Leaky`` semantics).

    forward(current[T, B, N]) -> spikes[T, B, N] with
    mem[t] = beta mem[t-1] + I[t] - spk[t-1] thr and spk[t] = H(mem[t] - thr).
    beta = exp(-dt / tau_mem) is a per-step decay in (0, 1). A learnable
    beta is stored per neuron as ``beta_logit`` with beta = sigmoid(beta_logit),
    so it can never leave (0, 1); a learnable threshold is ``threshold`` [N].
    """

    def __init__(self, size: int, beta: float = 0.9, threshold: float = 1.0, *,
                 surrogate: Surrogate = ad.FastSigmoid(), reset: str = "subtract", detach_reset: bool = True,
                 learn_beta: bool = False, learn_threshold: bool = False):
        self.size = check_int("size", size, 1)
        beta = check_finite("beta", beta)
        if not 0 < beta < 1:
            raise ValueError(f"beta must lie in (0, 1), got {beta!r}")
        if not isinstance(surrogate, Surrogate):
            raise ValueError(f"surrogate must be a Surrogate, got {surrogate!r}")
        self.surrogate = surrogate
        self.reset = check_choice("reset", reset, ("subtract", "zero", "none"))
        self.detach_reset = bool(detach_reset)
        self.beta_logit = Tensor(_logit(beta, self.size), requires_grad=True) if learn_beta else None
        self._beta = beta
        threshold = check_positive("threshold", threshold)
        self.threshold = Tensor(np.full(self.size, threshold), requires_grad=True) if learn_threshold else threshold

    @property
    def beta(self) -> Tensor | float:
        return ad.sigmoid(self.beta_logit) if self.beta_logit is not None else self._beta

    def _check(self, current: Tensor) -> Tensor:
        """``current`` as a Tensor (array-likes become constants) of shape [T, B, size]."""
        current = as_tensor(current)
        if current.ndim != 3 or current.shape[2] != self.size:
            raise ValueError(f"current must have shape [T, B, {self.size}], got {current.shape}")
        return current

    def forward(self, current: Tensor) -> Tensor:
        current = self._check(current)
        return ad.lif_sequence(current, self.beta, self.threshold, self.surrogate, self.reset, self.detach_reset)


class ALIF(LIF):
    """Adaptive LIF: each spike raises the threshold by gamma; the raise decays by rho per step.

    a[t] = rho a[t-1] + spk[t-1], thr_eff[t] = thr + gamma a[t] (see
    :mod:`eventsnn.kernels.bptt`). A learnable rho is stored as ``rho_logit``.
    """

    def __init__(self, size: int, beta: float = 0.9, threshold: float = 1.0, rho: float = 0.97,
                 gamma: float = 0.2, *, learn_rho: bool = False, **kwargs):
        super().__init__(size, beta, threshold, **kwargs)
        rho = check_finite("rho", rho)
        if not 0 < rho < 1:
            raise ValueError(f"rho must lie in (0, 1), got {rho!r}")
        self.gamma = check_positive("gamma", gamma)
        self.rho_logit = Tensor(_logit(rho, self.size), requires_grad=True) if learn_rho else None
        self._rho = rho

    def forward(self, current: Tensor) -> Tensor:
        current = self._check(current)
        rho = ad.sigmoid(self.rho_logit) if self.rho_logit is not None else self._rho
        return ad.alif_sequence(current, self.beta, self.threshold, rho, self.gamma, self.surrogate,
                                self.reset, self.detach_reset)
