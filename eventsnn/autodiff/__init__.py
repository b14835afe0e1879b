"""Reverse-mode autodiff on NumPy arrays: a tape of ops with explicit VJPs."""
from .gradcheck import gradcheck
from .ops import (add, concatenate, cross_entropy, div, embedding, event_linear, exp, getitem, layer_norm,
                  linear, log, matmul, mean, mse, mul, neg, relu, reshape, sigmoid, stack, sub, sum, tanh,
                  transpose, unbroadcast)
from .spiking import NeuronState, alif_sequence, alif_sequence_from, lif_sequence, spike
from .surrogate import ATan, FastSigmoid, Sigmoid, Surrogate, Triangle
from .tensor import Tensor, is_grad_enabled, no_grad

__all__ = [
    "Tensor", "no_grad", "is_grad_enabled", "gradcheck",
    "add", "sub", "mul", "div", "neg", "exp", "log", "tanh", "sigmoid", "relu",
    "sum", "mean", "reshape", "transpose", "concatenate", "stack", "getitem", "unbroadcast",
    "matmul", "linear", "event_linear", "embedding", "layer_norm", "cross_entropy", "mse",
    "spike", "lif_sequence", "alif_sequence", "alif_sequence_from", "NeuronState",
    "Surrogate", "FastSigmoid", "ATan", "Sigmoid", "Triangle",
]
