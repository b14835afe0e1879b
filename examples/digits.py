"""Train a spiking MLP on scikit-learn's 8x8 handwritten digits.

Each pixel (0..16) becomes a Bernoulli spike train over T steps with
p = pixel / 16 per step (rate coding). Network: 64 -> event-driven Linear ->
LIF hidden layer -> Linear readout of the hidden firing rates -> softmax
cross-entropy. Trained by BPTT through the fused LIF kernel with a
fast-sigmoid surrogate and Adam.

    python examples/digits.py [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from eventsnn import autodiff as ad
from eventsnn import nn


class SpikingMLP(nn.Module):
    """x[T, B, 64] spikes -> logits[B, 10] and hidden spikes[T, B, H]."""

    def __init__(self, hidden: int, seed: int):
        rng = np.random.default_rng(seed)
        self.fc = nn.Linear(64, hidden, event=True, seed=rng)
        self.lif = nn.LIF(hidden, beta=0.9, threshold=1.0, surrogate=ad.FastSigmoid(10.0))
        self.readout = nn.Linear(hidden, 10, seed=rng)

    def forward(self, x: ad.Tensor) -> tuple[ad.Tensor, ad.Tensor]:
        spikes = self.lif(self.fc(x))
        return self.readout(ad.mean(spikes, axis=0)), spikes


def encode(images: np.ndarray, steps: int, rng: np.random.Generator) -> np.ndarray:
    """Bernoulli rate code: [n, 64] intensities in [0, 1] -> [steps, n, 64] spikes."""
    return (rng.random((steps,) + images.shape) < images).astype(np.float64)


def load_split(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's digits as intensities in [0, 1]: x_train, x_test, y_train, y_test (stratified, 25% test)."""
    digits = load_digits()
    return train_test_split(digits.data / 16.0, digits.target, test_size=0.25, stratify=digits.target,
                            random_state=seed)


def fit(model: SpikingMLP, x_train: np.ndarray, y_train: np.ndarray, rng: np.random.Generator, epochs: int = 20,
        steps: int = 25, batch: int = 32, lr: float = 3e-3) -> None:
    """BPTT with Adam (warmup-cosine schedule): cross-entropy plus a firing-rate penalty outside [0.1, 0.5]."""
    opt = nn.Adam(model.named_parameters(), lr=lr)
    n_batches = -(-len(x_train) // batch)
    total = epochs * n_batches
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        for i in range(n_batches):
            idx = order[i * batch:(i + 1) * batch]
            opt.lr = nn.warmup_cosine(epoch * n_batches + i, lr, n_batches, total)
            logits, spikes = model(ad.Tensor(encode(x_train[idx], steps, rng)))
            loss = ad.cross_entropy(logits, y_train[idx]) + nn.firing_rate_loss(spikes, 0.1, 0.5)
            opt.zero_grad()
            loss.backward()
            opt.step()


def train_digits(hidden: int = 256, epochs: int = 20, steps: int = 25, batch: int = 32, lr: float = 3e-3,
                 seed: int = 0) -> dict:
    """Train and evaluate; returns test_accuracy (fraction), hidden_firing_rate (spikes/step), train_seconds."""
    x_train, x_test, y_train, y_test = load_split(seed)
    rng = np.random.default_rng(seed)
    model = SpikingMLP(hidden, seed)
    start = time.perf_counter()
    fit(model, x_train, y_train, rng, epochs, steps, batch, lr)
    train_seconds = time.perf_counter() - start

    model.eval()
    with ad.no_grad():
        logits, spikes = model(ad.Tensor(encode(x_test, steps, np.random.default_rng(seed + 1))))
    return {"test_accuracy": float(np.mean(logits.data.argmax(axis=1) == y_test)),
            "hidden_firing_rate": float(spikes.data.mean()), "train_seconds": train_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    result = train_digits()
    print(f"test accuracy {result['test_accuracy']:.2%}, hidden firing rate {result['hidden_firing_rate']:.3f} "
          f"spikes/step, trained in {result['train_seconds']:.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
