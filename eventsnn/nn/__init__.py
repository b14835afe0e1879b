"""Modules, layers, optimizers and training helpers built on :mod:`eventsnn.autodiff`."""
from .layers import ALIF, LIF, Embedding, LayerNorm, Linear
from .module import Module, ModuleList, Sequential
from .optim import SGD, Adam, AdamW, Optimizer, clip_grad_norm
from .plasticity import EventRSTDP, RSTDPParams, RSTDPState, rstdp_step
from .regularize import firing_rate_loss
from .schedule import warmup_cosine

__all__ = [
    "Module", "ModuleList", "Sequential", "Linear", "Embedding", "LayerNorm", "LIF", "ALIF",
    "Optimizer", "SGD", "Adam", "AdamW", "clip_grad_norm", "warmup_cosine", "firing_rate_loss",
    "RSTDPParams", "RSTDPState", "rstdp_step", "EventRSTDP",
]
