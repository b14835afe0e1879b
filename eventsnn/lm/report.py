"""``eventsnn report``: how sparse, how cheap and how good a trained spiking LM is.

All numbers come from :mod:`eventsnn.lm.metrics` on the validation split
(the run's ``eval_tokens`` first tokens); the plots show per-population
firing rates and a spike raster of a prompt (by default the start of the
validation text, which any corpus's tokenizer can encode).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import autodiff as ad
from .._extras import require
from .._validation import check_int
from .metrics import dense_macs_per_token, dense_part_macs_per_token, parameter_split
from .train import Trainer


def build_report(run: Trainer) -> dict[str, Any]:
    """The report of ``run`` as a JSON-able dict (keys documented in docs/language-model.md)."""
    if not isinstance(run, Trainer):
        raise ValueError(f"run must be a Trainer, got {type(run).__name__}")
    ev = run.evaluate()
    act = ev.activity
    spiking, dense = parameter_split(run.model)
    return {
        "step": run.step,
        "tokenizer": run.tokenizer.kind,
        "vocab_size": run.tokenizer.vocab_size,
        "steps_per_token": run.model.config.steps_per_token,
        "val_tokens": ev.tokens,
        "val_loss_nats": ev.loss_nats,
        "val_bits_per_char": ev.bits_per_char,
        "firing_rate": act.firing_rate,
        "sparsity": act.sparsity,
        "layers": [{"name": name, "neurons": n, "firing_rate": act.firing_rates[name]}
                   for name, n in act.neurons.items()],
        "synops_per_token": act.synops_per_token,
        "dense_macs_per_token": dense_macs_per_token(run.model),
        "dense_part_macs_per_token": dense_part_macs_per_token(run.model),
        "params_spiking": spiking,
        "params_dense": dense,
        "memory_share": act.memory_share,
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as an aligned text table."""
    total = report["params_spiking"] + report["params_dense"]
    rows = [
        ("step", f"{report['step']}"),
        ("tokenizer", f"{report['tokenizer']} ({report['vocab_size']} tokens), {report['steps_per_token']} step(s)/token"),
        ("val loss", f"{report['val_loss_nats']:.4f} nats/token, {report['val_bits_per_char']:.4f} bits/char "
                     f"({report['val_tokens']} tokens)"),
        ("firing rate", f"{report['firing_rate']:.4f} (sparsity {report['sparsity']:.4f})"),
        *((f"  {layer['name']}", f"{layer['firing_rate']:.4f} ({layer['neurons']} neurons)")
          for layer in report["layers"]),
        ("synops/token", f"{report['synops_per_token']:,.0f} event-driven"),
        ("dense MACs/token", f"{report['dense_macs_per_token']:,} if run densely "
                             f"(of which {report['dense_part_macs_per_token']:,} stay dense)"),
        ("parameters", f"{total:,}: {report['params_spiking']:,} spiking, {report['params_dense']:,} dense"),
        ("memory share", f"{report['memory_share']:.4f} of the readout's synaptic input"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def default_prompt(run: Trainer, tokens: int = 48) -> str:
    """The first ``tokens`` tokens of the validation text: a prompt the run's tokenizer can always encode."""
    tokens = check_int("tokens", tokens, 1)
    return run.tokenizer.decode(run.validation[:tokens])


def prompt_spikes(run: Trainer, prompt: str) -> dict[str, np.ndarray]:
    """Spikes [steps, neurons] of every population while reading ``<|endoftext|> prompt``."""
    context = np.concatenate([[run.tokenizer.eot_id], run.tokenizer.encode(prompt, "prompt")]).astype(np.int64)
    with ad.no_grad():
        out = run.model(context[:, None])
    return {name: s.data[:, 0, :] for name, s in out.spikes.items()}


def write_plots(report: dict[str, Any], spikes: dict[str, np.ndarray], directory: str | os.PathLike) -> list[Path]:
    """Write ``firing_rates.png`` (bar per population) and ``raster.png`` (prompt spikes) into ``directory``."""
    matplotlib = require("matplotlib", "plots")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    layers = report["layers"]
    fig, ax = plt.subplots(figsize=(1.5 + 1.2 * len(layers), 3.5))
    ax.bar([l["name"] for l in layers], [l["firing_rate"] for l in layers], color="tab:blue")
    ax.axhline(report["firing_rate"], color="tab:red", linestyle="--", label="network-wide")
    ax.set_ylabel("spikes / (neuron · step)")
    ax.set_title(f"Firing rates (sparsity {report['sparsity']:.3f})")
    ax.legend()
    fig.tight_layout()
    paths = [directory / "firing_rates.png", directory / "raster.png"]
    fig.savefig(paths[0], dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 6))
    offset = 0
    for name, s in spikes.items():
        t, n = np.nonzero(s)
        ax.scatter(t, n + offset, s=1, marker="|", label=name)
        offset += s.shape[1]
        ax.axhline(offset - 0.5, color="0.8", linewidth=0.5)
    ax.set_xlabel("time step (prompt)")
    ax.set_ylabel("neuron")
    ax.set_title("Spike raster while reading the prompt")
    ax.legend(loc="upper right", markerscale=8, fontsize="small")
    fig.tight_layout()
    fig.savefig(paths[1], dpi=120)
    plt.close(fig)
    return paths
