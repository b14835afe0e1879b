r"""A spiking readout learned only from reward: R-STDP on scikit-learn's 8x8 digits.

Input: each pixel (0..16) is a Bernoulli spike train over T steps of dt = 1 ms
with p = pixel / 16 per step (``examples/digits.py``'s rate code). Hidden
layer: 64 -> event-driven Linear -> LIF (beta 0.9, threshold 1), either
random (the untrained initialisation, frozen) or trained with BPTT by
``examples/digits.py`` and then frozen. Readout: 10 output LIF neurons driven
by the hidden spikes h_t through W [hidden, 10], per step

    v_t = beta_out v_{t-1} + W^T h_t,

and a soft winner-take-all: of the neurons with v_t >= 1 + theta_k, only the
one with the largest v_t - theta_k spikes; its v resets to 0 and every other
neuron's v drops by ``inhibition``. theta_k is a homeostatic threshold
(Diehl & Cook 2015): after each training sample theta_k += theta_rate ·
(neuron k's share of the sample's output spikes - 1/10), so that no output
neuron falls silent for good (a silent neuron has no eligibility and would
never learn again); without it the readout stalls near 55-60%. The answer is the output neuron with the most spikes (ties,
and samples without output spikes, go to the largest summed input
sum_t W^T h_t).

W is learned only by :func:`eventsnn.nn.rstdp_step` (NEST's
``stdp_dopamine_synapse``): spike pairs build an eligibility c (time
constant tau_c, of the order of a sample); one step after the sample the
network is told whether it answered right, as dopamine
n += reward / tau_n with reward +1 (correct) or -1 (wrong), minus a running
mean of past rewards (rate ``baseline_rate``) when ``baseline`` is on; W then moves by the integral
of c·n over a silent rest of ``rest_ms``, integrated in closed form by one
``rstdp_step`` of length rest_ms; traces are cleared before the next sample
(as after a long pause). Weights are bounded to [w_min, w_max] (signed:
an output neuron may be inhibited by a hidden one). No gradient touches W.

For comparison, a gradient-trained readout of the same frozen hidden layer:
a linear layer on the hidden firing rates, trained by Adam on softmax
cross-entropy. The R-STDP hyperparameters were chosen on the training set
only (the last 300 training samples held out for validation, seed 0).

    python examples/digits_rstdp.py [--json PATH] [--seed K] [--hidden {random,bptt}]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import eventsnn as esnn
from eventsnn import autodiff as ad
from eventsnn import nn
from eventsnn.nn.plasticity import RSTDPParams, RSTDPState, rstdp_step


def _digits_example():
    """examples/digits.py as a module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location("digits_example", Path(__file__).resolve().with_name("digits.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


digits = _digits_example()


@dataclass(frozen=True)
class Settings:
    """Everything that decides a run; rates and times per step of dt = 1 ms."""

    n_hidden: int = 128
    steps: int = 25            # time steps (ms) per sample
    bptt_epochs: int = 10      # hidden layer training (``--hidden bptt``)
    rstdp_epochs: int = 5      # passes over the training set, each with a fresh spike encoding
    beta_out: float = 0.9      # output membrane decay per step (tau = 9.5 ms)
    inhibition: float = 2.0    # lateral inhibition (in thresholds) from the winning output spike
    w_init: float = 0.02       # initial weights ~ U(0, w_init) (thresholds per hidden spike)
    w_min: float = -0.3       # weight bounds: below 0 a synapse inhibits
    w_max: float = 0.3
    A_plus: float = 1e-4       # eligibility per pre-before-post pair
    A_minus: float = 0.0       # eligibility per post-before-pre pair
    tau_plus: float = 10.0     # ms, pair windows
    tau_minus: float = 10.0
    tau_c: float = 25.0        # ms, eligibility: about a sample
    tau_n: float = 5.0         # ms, dopamine
    rest_ms: float = 100.0     # silent rest after the reward, over which the weights integrate c·n
    baseline: bool = True      # reward minus a running mean of past rewards
    baseline_rate: float = 0.01
    theta_rate: float = 0.05   # homeostatic threshold: theta_k += theta_rate·(share of the sample's spikes - 1/10)
    gradient_epochs: int = 60  # Adam epochs for the gradient-trained readout

    def check(self) -> None:
        for name in ("n_hidden", "steps", "rstdp_epochs", "gradient_epochs"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {getattr(self, name)!r}")
        if not isinstance(self.bptt_epochs, int) or self.bptt_epochs < 0:
            raise ValueError(f"bptt_epochs must be an integer >= 0, got {self.bptt_epochs!r}")
        if not 0 < self.beta_out < 1:
            raise ValueError(f"beta_out must lie in (0, 1), got {self.beta_out!r}")
        if not self.w_min <= 0 < self.w_init <= self.w_max:
            raise ValueError(f"need w_min <= 0 < w_init <= w_max, got {self.w_min!r}, {self.w_init!r}, {self.w_max!r}")
        if self.inhibition < 0 or self.rest_ms <= 0 or not 0 < self.baseline_rate <= 1:
            raise ValueError(f"inhibition must be >= 0, rest_ms > 0 and baseline_rate in (0, 1], got "
                             f"{self.inhibition!r}, {self.rest_ms!r}, {self.baseline_rate!r}")


def hidden_spikes(model, x: np.ndarray, steps: int, rng: np.random.Generator) -> np.ndarray:
    """Rate-code ``x`` [n, 64] and run the frozen hidden layer: spikes [n, steps, hidden] (bool)."""
    with ad.no_grad():
        spikes = model.lif(model.fc(ad.Tensor(digits.encode(x, steps, rng)))).data
    return spikes.transpose(1, 0, 2) > 0.5


def readout(h: np.ndarray, w: np.ndarray, s: Settings, theta: np.ndarray | float = 0.0) -> tuple[
        np.ndarray, np.ndarray]:
    """Output LIF with winner-take-all on one sample's hidden spikes h [steps, hidden]: output spikes
    [steps, 10] and the predicted class per row of ``argmax`` (spike count, ties by summed input)."""
    current = h @ w  # [steps, 10]: W^T h_t
    v = np.zeros(w.shape[1])
    out = np.zeros(current.shape)
    for t in range(len(current)):
        v = s.beta_out * v + current[t]
        k = int(np.argmax(v - theta))
        if v[k] >= 1.0 + (theta[k] if np.ndim(theta) else theta):
            out[t, k] = 1.0
            v -= s.inhibition
            v[k] = 0.0
    return out, out.sum(axis=0) + 1e-6 * current.sum(axis=0) / max(current.sum(), 1e-12)


def train_rstdp(h_epochs: list[np.ndarray], y: np.ndarray, s: Settings, rng: np.random.Generator) -> tuple[
        np.ndarray, dict]:
    """Learn W from reward alone; ``h_epochs``: one [n, steps, hidden] encoding of the training set per epoch.
    Returns W and the running training accuracy and output firing rate of the last epoch."""
    n_hidden = h_epochs[0].shape[2]
    rule = esnn.RSTDP(A_plus=s.A_plus, A_minus=s.A_minus, tau_plus=s.tau_plus, tau_minus=s.tau_minus,
                      tau_c=s.tau_c, tau_n=s.tau_n, w_min=s.w_min, w_max=s.w_max)
    step, rest = RSTDPParams(rule, 1.0), RSTDPParams(rule, s.rest_ms)
    w = rng.uniform(0.0, s.w_init, (n_hidden, 10))
    silent_pre, silent_post = np.zeros(n_hidden), np.zeros(10)
    mean_reward, theta = 0.0, np.zeros(10)
    for h_all in h_epochs:
        correct, out_spikes = 0, 0.0
        for i in rng.permutation(len(y)):
            h = h_all[i].astype(np.float64)
            out, score = readout(h, w, s, theta)
            if out.any():
                theta = theta + s.theta_rate * (out.sum(axis=0) / out.sum() - 0.1)
            reward = 1.0 if int(np.argmax(score)) == y[i] else -1.0
            correct += reward > 0
            out_spikes += out.sum()
            state = RSTDPState.initial(n_hidden, 10)
            for t in range(len(h)):
                w, state = rstdp_step(h[t], out[t], w, state, 0.0, step)
            delivered = reward - mean_reward if s.baseline else reward
            mean_reward += s.baseline_rate * (reward - mean_reward)
            w, state = rstdp_step(silent_pre, silent_post, w, state, delivered, step)
            w, state = rstdp_step(silent_pre, silent_post, w, state, 0.0, rest)
    return w, theta, {"train_accuracy": correct / len(y), "output_firing_rate": out_spikes / (len(y) * s.steps * 10)}


def rstdp_accuracy(h_all: np.ndarray, y: np.ndarray, w: np.ndarray, theta: np.ndarray, s: Settings) -> float:
    return float(np.mean([int(np.argmax(readout(h.astype(np.float64), w, s, theta)[1])) == label
                          for h, label in zip(h_all, y)]))


def gradient_readout_accuracy(h_epochs: list[np.ndarray], y: np.ndarray, h_test: np.ndarray, y_test: np.ndarray,
                              s: Settings, seed: int) -> float:
    """A linear readout of the hidden firing rates trained by Adam on cross-entropy (batches of 32, cycling
    through the training encodings); its test accuracy."""
    rng = np.random.default_rng(seed)
    layer = nn.Linear(h_epochs[0].shape[2], 10, seed=rng)
    opt = nn.Adam(layer.named_parameters(), lr=1e-2)
    rates = [h.mean(axis=1) for h in h_epochs]
    for epoch in range(s.gradient_epochs):
        x = rates[epoch % len(rates)]
        order = rng.permutation(len(y))
        for i in range(0, len(y), 32):
            idx = order[i:i + 32]
            loss = ad.cross_entropy(layer(ad.Tensor(x[idx])), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with ad.no_grad():
        logits = layer(ad.Tensor(h_test.mean(axis=1))).data
    return float(np.mean(logits.argmax(axis=1) == y_test))


def run(hidden: str = "bptt", seed: int = 0, settings: Settings | None = None) -> dict:
    """Build the hidden layer, learn the R-STDP readout, train the gradient readout; results as a dict."""
    if hidden not in ("random", "bptt"):
        raise ValueError(f"hidden must be 'random' or 'bptt', got {hidden!r}")
    s = settings if settings is not None else Settings()
    s.check()
    x_train, x_test, y_train, y_test = digits.load_split(seed)
    rng = np.random.default_rng(seed)
    model = digits.SpikingMLP(s.n_hidden, seed)
    start = time.perf_counter()
    if hidden == "bptt":
        digits.fit(model, x_train, y_train, rng, epochs=s.bptt_epochs, steps=s.steps)
    hidden_seconds = time.perf_counter() - start
    model.eval()

    h_epochs = [hidden_spikes(model, x_train, s.steps, rng) for _ in range(s.rstdp_epochs)]
    h_test = hidden_spikes(model, x_test, s.steps, np.random.default_rng(seed + 1))
    start = time.perf_counter()
    w, theta, stats = train_rstdp(h_epochs, y_train, s, rng)
    train_seconds = time.perf_counter() - start
    return {
        "hidden": hidden, "seed": seed,
        "test_accuracy": rstdp_accuracy(h_test, y_test, w, theta, s),
        "gradient_readout_accuracy": gradient_readout_accuracy(h_epochs, y_train, h_test, y_test, s, seed),
        "chance": 0.1,
        "train_seconds": train_seconds,
        "hidden_train_seconds": hidden_seconds,
        "rstdp_train_accuracy_last_epoch": stats["train_accuracy"],
        "output_firing_rate": stats["output_firing_rate"],
        "hidden_firing_rate": float(h_test.mean()),
        "n_train": len(y_train), "n_test": len(y_test),
        "settings": asdict(s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--seed", type=int, default=0, help="data split, initialisation and encoding seed")
    parser.add_argument("--hidden", choices=("random", "bptt"), default="bptt",
                        help="hidden layer: frozen random weights, or trained by BPTT (examples/digits.py)")
    args = parser.parse_args()
    result = run(args.hidden, args.seed)
    print(f"{args.hidden} hidden layer: R-STDP readout {result['test_accuracy']:.2%} test accuracy "
          f"(learned in {result['train_seconds']:.1f} s), gradient-trained readout "
          f"{result['gradient_readout_accuracy']:.2%}; chance 10%")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
