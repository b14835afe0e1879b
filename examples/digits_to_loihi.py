"""Train the digits spiking MLP, quantise it for Loihi 2, run the test set in eventsnn's fixed-point model and in Lava.

The model is examples/digits.py's SpikingMLP (64 -> Linear -> LIF -> Linear
readout of the mean hidden spikes) with the LIF's reset="zero", Loihi's
reset, trained the same way. ``eventsnn.loihi.mlp.quantize_mlp`` maps it to
a Loihi chain (8-bit weights, du = 4095, dv = round(4096 (1 - beta)), vth
and the biases scaled per layer; the readout becomes a leak-free LIF that
never spikes). Every test image is one Bernoulli spike train [T, 64] (the
rate code of examples/digits.py, seed + 1); the float model and the chain
see the same spikes. The chain runs in ``run_layers`` (Numba kernels), in
the simulator (``network_from_layers``: LoihiLIF populations, numba) and,
when Lava is installed, in Lava 0.10 (``Loihi2SimCfg(select_tag="fixed_pt")``,
one run per image in a child process).

    python examples/digits_to_loihi.py [--json PATH] [--lava-images N | --no-lava]

Prints float accuracy, fixed-point accuracy, and the fraction of test images
where Lava and eventsnn predict the same class (also how many runs are
identical: every layer's spikes at every step and the readout's final v).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from eventsnn import autodiff as ad
from eventsnn import nn
from eventsnn.lava.check import first_difference, run_simulator
from eventsnn.loihi.fixed_point import run_layers
from eventsnn.loihi.mlp import align_traces, mlp_chain, mlp_scores, quantize_mlp


def _digits_example():
    """examples/digits.py as a module (SpikingMLP, encode)."""
    spec = importlib.util.spec_from_file_location("digits_example", Path(__file__).with_name("digits.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train(hidden: int, epochs: int, steps: int, seed: int, batch: int = 32, lr: float = 3e-3):
    """examples/digits.py's training with reset="zero"; returns (model, x_test [n, 64], y_test, seconds)."""
    digits = _digits_example()
    data = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(data.data / 16.0, data.target, test_size=0.25,
                                                        stratify=data.target, random_state=seed)
    rng = np.random.default_rng(seed)
    model = digits.SpikingMLP(hidden, seed)
    model.lif = nn.LIF(hidden, beta=0.9, threshold=1.0, surrogate=ad.FastSigmoid(10.0), reset="zero")
    opt = nn.Adam(model.named_parameters(), lr=lr)
    n_batches = -(-len(x_train) // batch)
    start = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        for i in range(n_batches):
            idx = order[i * batch:(i + 1) * batch]
            opt.lr = nn.warmup_cosine(epoch * n_batches + i, lr, n_batches, epochs * n_batches)
            logits, spikes = model(ad.Tensor(digits.encode(x_train[idx], steps, rng)))
            loss = ad.cross_entropy(logits, y_train[idx]) + nn.firing_rate_loss(spikes, 0.1, 0.5)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return model, digits.encode(x_test, steps, np.random.default_rng(seed + 1)), y_test, time.perf_counter() - start


def run(hidden: int = 256, epochs: int = 20, steps: int = 25, seed: int = 0, num_weight_bits: int = 8,
        lava_images: int | None = None) -> dict:
    """Train, quantise, evaluate; ``lava_images``: how many test images to run in Lava (None: all; 0: none)."""
    model, spikes, y_test, train_seconds = train(hidden, epochs, steps, seed)
    with ad.no_grad():
        logits, hidden_spikes = model(ad.Tensor(spikes))
    float_pred = logits.data.argmax(axis=1)

    mlp = quantize_mlp(model, steps, num_weight_bits=num_weight_bits)
    chains = [mlp_chain(mlp, spikes[:, i]) for i in range(len(y_test))]
    start = time.perf_counter()
    fixed = [run_layers(*chain, backend="numba") for chain in chains]
    fixed_seconds = time.perf_counter() - start
    fixed_pred = np.array([mlp_scores(mlp, traces).argmax() for traces in fixed])
    start = time.perf_counter()
    simulator = [run_simulator(chain, "numba") for chain in chains]
    simulator_seconds = time.perf_counter() - start
    hidden_agree = np.mean([align_traces(mlp, traces)[0].spikes == hidden_spikes.data[:, i].astype(bool)
                            for i, traces in enumerate(fixed)])
    result = {
        "float_accuracy": float(np.mean(float_pred == y_test)),
        "fixed_accuracy": float(np.mean(fixed_pred == y_test)),
        "lava_agreement": None,
        "test_images": len(y_test), "lava_images": 0, "lava_identical_runs": None,
        "float_fixed_same_class": float(np.mean(float_pred == fixed_pred)),
        "simulator_identical_runs": sum(first_difference(a, b) is None for a, b in zip(simulator, fixed)),
        "hidden_spike_agreement": float(hidden_agree),
        "hidden_firing_rate": float(hidden_spikes.data.mean()),
        "loihi": [{"weight_exp": int(d.weight_exp), "num_weight_bits": int(d.num_weight_bits),
                   "sign_mode": d.sign_mode.name, "du": lif.du, "dv": lif.dv, "vth": lif.vth,
                   "scale": float(np.max(s))} for (d, lif), s in zip(mlp.layers, mlp.scales)],
        "settings": {"hidden": hidden, "epochs": epochs, "steps": steps, "seed": seed},
        "seconds": {"train": train_seconds, "fixed_point": fixed_seconds, "simulator": simulator_seconds,
                    "lava": None},
    }
    n_lava = len(y_test) if lava_images is None else min(lava_images, len(y_test))
    if n_lava > 0 and importlib.util.find_spec("lava") is not None:
        from eventsnn.lava import run_in_subprocess

        start = time.perf_counter()
        lava = run_in_subprocess(chains[:n_lava], monitor=False)
        result["seconds"]["lava"] = time.perf_counter() - start
        lava_pred = np.array([mlp_scores(mlp, traces).argmax() for traces in lava])
        result["lava_agreement"] = float(np.mean(lava_pred == fixed_pred[:n_lava]))
        result["lava_images"] = n_lava
        # Lava returns u and v after the last step only: compare those rows and every step's spikes
        last = [[t._replace(u=t.u[-1:], v=t.v[-1:]) for t in traces] for traces in fixed[:n_lava]]
        result["lava_identical_runs"] = sum(first_difference(a, b) is None for a, b in zip(last, lava))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-weight-bits", type=int, default=8)
    lava = parser.add_mutually_exclusive_group()
    lava.add_argument("--lava-images", type=int, help="run only the first N test images in Lava (default: all)")
    lava.add_argument("--no-lava", action="store_true", help="do not run Lava")
    args = parser.parse_args()
    result = run(args.hidden, args.epochs, args.steps, args.seed, args.num_weight_bits,
                 0 if args.no_lava else args.lava_images)
    seconds = result["seconds"]
    print(f"float accuracy        {result['float_accuracy']:.2%}  (trained in {seconds['train']:.1f} s)")
    print(f"fixed-point accuracy  {result['fixed_accuracy']:.2%}  (run_layers, numba: {seconds['fixed_point']:.1f} s "
          f"for {result['test_images']} images; same class as float on {result['float_fixed_same_class']:.2%}, "
          f"hidden spikes agree {result['hidden_spike_agreement']:.2%})")
    print(f"simulator             {result['simulator_identical_runs']} of {result['test_images']} runs identical to "
          f"run_layers (network_from_layers, LoihiLIF, numba: {seconds['simulator']:.1f} s)")
    if result["lava_agreement"] is None:
        print("Lava                  not run (python scripts/install_lava.py installs it)")
    else:
        print(f"Lava agreement        {result['lava_agreement']:.2%} of {result['lava_images']} test images predict "
              f"eventsnn's class; {result['lava_identical_runs']} runs identical ({seconds['lava']:.1f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
