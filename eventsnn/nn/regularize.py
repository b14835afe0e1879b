"""Firing-rate regularisation: keep each neuron's spike rate near a target."""
from __future__ import annotations

from .._validation import check_finite, check_nonnegative
from .. import autodiff as ad
from ..autodiff import Tensor
from ..autodiff.tensor import as_tensor


def firing_rate_loss(spikes: Tensor, target: float, strength: float = 1.0) -> Tensor:
    """strength * mean_n (r_n - target)^2 with r_n = mean over all leading axes of spikes[..., n].

    Rates are spikes per time step (0..1); ``target`` must lie in [0, 1].
    """
    target = check_finite("target", target)
    if not 0 <= target <= 1:
        raise ValueError(f"target must lie in [0, 1], got {target!r}")
    strength = check_nonnegative("strength", strength)
    spikes = as_tensor(spikes)
    if spikes.ndim < 2:
        raise ValueError(f"spikes must have shape [..., N] with at least 2 axes, got {spikes.shape}")
    rate = ad.mean(ad.reshape(spikes, (-1, spikes.shape[-1])), axis=0)
    return ad.mean((rate - target) * (rate - target)) * strength
