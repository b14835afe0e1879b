"""Chains source -> Dense -> LIF -> Dense -> LIF ... as files for another process.

A :class:`~eventsnn.loihi.fixed_point.Chain` is what ``run_layers`` runs and
what :func:`eventsnn.lava.to_lava` builds in Lava: input spikes [T, n_in],
(DenseParams, LIFParams) pairs and the LIF layers' starting states
(``check_chain`` validates one). Nothing here imports Lava.

``save_chains``/``load_chains`` and ``save_traces``/``load_traces`` carry
chains to a Lava process and its records back (``.npz``, no pickles), for
:func:`eventsnn.lava.run_in_subprocess`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..loihi.fixed_point import (Chain, DenseParams, LayerTrace, LIFParams, LIFState, SignMode, check_chain,
                                 check_dense_params, check_lif_params)


_LAYER_KEYS = ("weights", "weight_exp", "num_weight_bits", "sign_mode", "du", "dv", "vth", "bias_mant", "bias_exp",
               "u", "v")


def _save(path: Path, arrays: dict) -> None:
    with open(path, "wb") as f:  # np.savez would append ".npz" to a path without it
        np.savez(f, **arrays)


def save_chains(path: str | Path, chains: Sequence[Chain]) -> None:
    """Write chains to ``path`` (.npz): per chain its inputs and, per layer, the Dense and LIF parameters and
    the starting state (sign_mode None is stored as 0)."""
    arrays = {"n_chains": np.array(len(chains))}
    for c, chain in enumerate(chains):
        inputs, layers, states = check_chain(*chain)
        arrays[f"{c}.inputs"] = inputs
        arrays[f"{c}.n_layers"] = np.array(len(layers))
        for i, ((dense, lif), state) in enumerate(zip(layers, states)):
            weights, weight_exp, bits, _ = check_dense_params(dense)
            du, dv, vth, bias_mant, bias_exp = check_lif_params(lif, weights.shape[0])
            mode = 0 if dense.sign_mode is None else int(dense.sign_mode)
            values = (weights, weight_exp, bits, mode, du, dv, vth, bias_mant, bias_exp, state.u, state.v)
            for key, value in zip(_LAYER_KEYS, values):
                arrays[f"{c}.{i}.{key}"] = np.asarray(value, np.int64)
    _save(Path(path), arrays)


def load_chains(path: str | Path) -> list[Chain]:
    """The chains :func:`save_chains` wrote to ``path``."""
    chains = []
    with np.load(path, allow_pickle=False) as data:
        for c in range(int(data["n_chains"])):
            layers, states = [], []
            for i in range(int(data[f"{c}.n_layers"])):
                layer = {key: data[f"{c}.{i}.{key}"] for key in _LAYER_KEYS}
                mode = int(layer["sign_mode"])
                layers.append((DenseParams(layer["weights"], int(layer["weight_exp"]), int(layer["num_weight_bits"]),
                                           SignMode(mode) if mode else None),
                               LIFParams(int(layer["du"]), int(layer["dv"]), int(layer["vth"]), layer["bias_mant"],
                                         layer["bias_exp"])))
                states.append(LIFState.initial(len(layer["u"]), layer["u"], layer["v"]))
            chains.append(Chain(data[f"{c}.inputs"], layers, states))
    return chains


def save_traces(path: str | Path, runs: Sequence[Sequence[LayerTrace]]) -> None:
    """Write per chain, per layer, the spikes, u and v of a run to ``path`` (.npz)."""
    arrays = {"n_chains": np.array(len(runs))}
    for c, traces in enumerate(runs):
        arrays[f"{c}.n_layers"] = np.array(len(traces))
        for i, trace in enumerate(traces):
            for key, value in trace._asdict().items():
                arrays[f"{c}.{i}.{key}"] = value
    _save(Path(path), arrays)


def load_traces(path: str | Path) -> list[list[LayerTrace]]:
    """The runs :func:`save_traces` wrote to ``path``."""
    with np.load(path, allow_pickle=False) as data:
        return [[LayerTrace(*(data[f"{c}.{i}.{key}"] for key in LayerTrace._fields))
                 for i in range(int(data[f"{c}.n_layers"]))] for c in range(int(data["n_chains"]))]
