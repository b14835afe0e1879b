"""The distal reward problem (Izhikevich 2007): dopamine-modulated STDP singles out the one rewarded synapse.

Izhikevich, E. M. (2007). Solving the distal reward problem through linkage of
STDP and dopamine signaling. Cerebral Cortex 17:2443-2452, Fig. 1, as
programmed in its MATLAB code ``daspnet.m`` (izhikevich.org/publications;
ModelDB 84167), whose numbers are used here.

**Network.** 1000 Izhikevich (2003) neurons: 800 excitatory regular-spiking
(a = 0.02/ms, d = 8 mV/ms) and 200 inhibitory fast-spiking (a = 0.1/ms,
d = 2 mV/ms), all with b = 0.2/ms, reset c = -65 mV, spike at v >= 30 mV,
starting from v = -65 mV, u = b v. Each neuron makes 100 synapses with a 1 ms
delay, to targets drawn uniformly with replacement (repeats and self-synapses
allowed, as in daspnet.m): an excitatory neuron onto any neuron (weight 1,
plastic), an inhibitory one onto excitatory neurons only (weight -1, fixed).
Every ms each neuron receives a random current uniform in [-6.5, 6.5] mV/ms
(daspnet.m's 13·(rand - 0.5); not spnet.m's single neuron at 20). The neuron
is a model declared here, :class:`DistalRewardNeuron`, because daspnet.m's
integration is not that of ``eventsnn.Izhikevich`` (forward Euler with
exponential synaptic currents): with dt = 1 ms,

    I = I_syn + noise·(U - 1/2)
    v <- v + 0.5·(0.04 v² + 5 v + 140 - u + I)      (twice: two half steps of 0.5 ms)
    u <- u + a·(b v - u)

where I_syn is the sum of the weights that arrived since the last step (each
spike is a current pulse lasting one step) and U is uniform in [0, 1) from
eventsnn's counter-based generator (network seed, step, neuron).

**Reward.** The chosen synapse, n1 -> n2, is neuron 0's first synapse onto
another neuron, and starts at weight 0 (daspnet.m: n1 = 1, syn = 1,
s(n1, syn) = 0). Whenever n2 fires 1 to 19 ms after n1's latest spike
(daspnet.m: t2 - t1 < 20 ms) a reward is scheduled 1001 to 3000 ms later
(1000 + ceil(2000·rand)): then dopamine rises by 0.5. The simulation runs in
chunks of at most 1 s, stopping at each scheduled reward; after each chunk
the spikes of n1 and n2 are read, the pairings found and rewards scheduled
(at least 1001 ms after the pairing, hence never inside a chunk already run),
and at a reward's time ``Projection.deliver_dopamine`` releases it.

**Plasticity.** daspnet.m and ``eventsnn.RSTDP`` (NEST's
``stdp_dopamine_synapse``: c -= A_minus·x_post at an arrival, c += A_plus·x_pre
at a postsynaptic spike, dw/dt = c (n - b), each dopamine spike n += 1/tau_n):

    daspnet.m                                           here (RSTDP)
    STDP trace: 0.1 at a spike, x0.95 per ms            x += 1 at a spike, tau_plus = tau_minus = 20 ms
    post spike: sd += STDP_pre      (0.1 at Δt = 0)     A_plus = 0.1
    pre spike:  sd -= 1.5·STDP_post (0.15 at Δt = 0)    A_minus = 0.15
    eligibility: sd x0.99 every 10 ms (tau 995 ms)      tau_c = 1000 ms (the paper's 1 s)
    dopamine: DA x0.995 per ms (tau 199.5 ms)           tau_n = 200 ms (the paper's 0.2 s)
    every 10 ms: s += (0.002 + DA)·sd, s in [0, 4]      dw/dt = c (n - b), w in [w_min, w_max] = [0, 4]
    tonic dopamine 0.002                                b = -0.0002 /ms
    reward: DA += 0.5                                   n += 0.05 /ms: deliver_dopamine(spikes=0.05·tau_n = 10)

daspnet.m's update every 10 ms is the Euler step of ds/dt = (0.002 + DA)·sd / 10 ms.
With c = sd (hence A_plus = 0.1, A_minus = 0.15 in weight units) this is
dw/dt = c (n - b) for n = DA / 10 ms and b = -0.002 / 10 ms: dopamine n is
daspnet.m's DA divided by 10 ms, a reward of 0.5 is n += 0.05 /ms, i.e. 0.05·tau_n = 10
dopamine spikes, and the tonic 0.002 is b = -0.0002 /ms (b < 0: a constant
positive term, so without rewards the rule is plain STDP, slowed down).
Excitatory synapses learn, onto excitatory and inhibitory neurons alike;
inhibitory ones are fixed.

What remains different: (1) NEST's traces add up (all-to-all pairing) where
daspnet.m's are reset to 0.1 (nearest spike); they differ only for spikes of
one neuron within a few tens of ms. (2) w is integrated exactly between
events and clipped at each event (NEST), not stepped every 10 ms. (3) Timing:
eventsnn records a spike at the step its v crosses 30 mV, and with a 1 ms
delay the spike arrives (is added to I_syn and learns) one step later, so the
postsynaptic v feels it in the second step after the crossing; daspnet.m
records the spike one step after the crossing and adds it to that very
step's current, one step earlier. The STDP windows agree: potentiation when
the postsynaptic spike is recorded at least 1 step after the presynaptic one
(A_plus·exp(-(Δt - 1 ms)/tau_plus) here, 0.1·0.95^(Δt/ms - 1) there), depression
for Δt <= 0 (A_minus·exp(-(1 ms - Δt)/tau_minus) here, 0.15·0.95^(-Δt/ms) there).

Expected (Fig. 1 of the paper): the rewarded synapse climbs to w_max = 4
within tens of simulated minutes and stays near it, while the bulk of the
other excitatory synapses stays well below it (in the committed hour: mean
0.23 w_max, 46% below 0.1 w_max; 5.7% reach 0.9 w_max too, since a reward also reinforces every other synapse that
happens to be eligible at the time); with ``--no-reward``
(pairings are still counted, no dopamine is released) it does not grow.
``benchmarks/results/izhikevich_2007_reward.json`` and ``_noreward.json``
hold an hour of each (seed 1).

    python examples/izhikevich_2007.py [--duration S] [--seed K] [--no-reward] [--json PATH] [--plot PATH]
                                       [--backend numba|numpy|cuda]

``--json`` writes ``rewarded_weight`` ([seconds, weight] every second and at
the end), ``w_max``, ``other_weights_mean`` and
``other_weights_fraction_near_max`` (the other excitatory synapses; near:
>= 0.9 w_max), ``rewards`` and ``pairings`` (times in s), the rewarded synapse,
the mean firing rate, the parameters and the wall time. ``--plot`` (default
``izhikevich_2007.png``, "" for none) draws the rewarded weight with the
rewards, and the final weight distribution, when matplotlib is installed.
:func:`build` makes the network (also without plasticity, for benchmarks);
:func:`simulate` runs the closed loop.
"""
from __future__ import annotations

import argparse
import heapq
import importlib.util
import json
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

import eventsnn as esnn
from eventsnn import Variable, parameter
from eventsnn.kernels.random import uniform

DT = 1.0  # ms: daspnet.m's step
N_EXC, N_INH, SYNAPSES = 800, 200, 100  # neurons, and synapses each neuron makes
DELAY = 1.0  # ms
W_EXC, W_INH, W_MAX = 1.0, -1.0, 4.0  # initial excitatory weight, fixed inhibitory weight, excitatory bound
RULE = dict(A_plus=0.1, A_minus=0.15, tau_plus=20.0, tau_minus=20.0, tau_c=1000.0, tau_n=200.0, b=-0.0002,
            w_min=0.0, w_max=W_MAX)
"""RSTDP parameters (ms, 1/ms, weight units): daspnet.m mapped as in the module docstring."""
REWARD_DOPAMINE = 0.05  # 1/ms: n rises by this at a reward (daspnet.m: DA += 0.5 per 10-ms update)
PAIRING_WINDOW = 20  # ms: n2 firing less than this after n1 (and strictly after it) earns a reward
REWARD_DELAY = (1001, 3000)  # ms, uniform integers: from the pairing to the reward
CHUNK = 1000  # ms: longest run between looks at n1 and n2 (rewards come >= 1001 ms after a pairing)
SAMPLE = 1000  # ms between samples of the rewarded weight
NEAR_MAX = 0.9  # "near the maximum": w >= NEAR_MAX · w_max
BINS = 20  # histogram of the other excitatory weights over [0, w_max]: "near the maximum" is its top two bins


@dataclass(frozen=True, eq=False)
class DistalRewardNeuron(esnn.NeuronModel):
    """Izhikevich (2003) neuron integrated as in daspnet.m (dt = 1 ms only): two half steps of 0.5 ms for v,
    one step for u, a fresh random current uniform in [-noise/2, noise/2) every step, and synaptic input
    as one-step pulses: the weights (mV/ms) arriving at a step are added to the next step's current.

        v <- v + 0.5 (0.04 v² + 5 v + 140 - u + I)  (twice),  u <- u + a (b v - u),  I = I_syn + noise (U - 1/2)
        v >= v_peak:  v <- c,  u <- u + d
    """

    a: float = parameter(0.02, "1/ms")
    b: float = parameter(0.2, "1/ms")
    c: float = parameter(-65.0, "mV")
    d: float = parameter(8.0, "mV/ms")
    v_peak: float = parameter(30.0, "mV")
    noise: float = parameter(13.0, "mV/ms", nonnegative=True)

    variables: ClassVar = (Variable("v", "mV", "c"), Variable("u", "mV/ms"), Variable("I_syn", "mV/ms"))
    targets: ClassVar = {"exc": "I_syn", "inh": "I_syn"}

    def check(self) -> None:
        esnn.neuron_model.require("c", self.c < self.v_peak, f"(the reset) must be below v_peak = {self.v_peak} mV",
                                  self.c)

    def initial_state(self, n: int) -> np.ndarray:
        state = super().initial_state(n)
        state[1] = self.b * state[0]  # u = b v, at rest
        return state

    def constants(self, dt: float) -> dict:
        if dt != DT:
            raise ValueError(f"dt must be {DT} ms for {type(self).__name__} (daspnet.m's 1-ms step), got {dt}")
        return {"a": self.a, "b": self.b, "c": self.c, "d": self.d, "v_peak": self.v_peak, "noise": self.noise}

    @staticmethod
    def update(v, u, I_syn, a, b, noise, seed, step, index):
        current = I_syn + noise * (uniform(seed, step, np.uint64(index)) - 0.5)
        v = v + 0.5 * ((0.04 * v + 5.0) * v + 140.0 - u + current)
        v = v + 0.5 * ((0.04 * v + 5.0) * v + 140.0 - u + current)
        return v, u + a * (b * v - u), 0.0

    @staticmethod
    def threshold(v, v_peak):
        return v >= v_peak

    @staticmethod
    def after_spike(v, u, I_syn, c, d):
        return c, u + d, I_syn


@dataclass
class DistalReward:
    """The built network and the handles the closed loop needs."""

    network: esnn.Network
    neurons: esnn.Population
    exc: esnn.Sparse  # excitatory synapses (R-STDP unless built with plastic=False)
    inh: esnn.Sparse  # inhibitory synapses, fixed
    synapse: int  # the rewarded synapse's index in exc (the order of exc.weight)
    pre: int  # n1
    post: int  # n2
    pre_spikes: esnn.SpikeMonitor
    post_spikes: esnn.SpikeMonitor
    weight: esnn.SynapseMonitor | None  # the rewarded weight every SAMPLE ms (plastic networks only)


def rule() -> esnn.RSTDP:
    """daspnet.m's dopamine-modulated STDP as NEST's rule (module docstring)."""
    return esnn.RSTDP(**RULE)


def build(seed: int = 1, *, plastic: bool = True, backend: str = "numba") -> DistalReward:
    """The network of daspnet.m, its connectivity drawn from ``seed`` (which also seeds the random currents).

    ``plastic=False`` gives the same network with fixed excitatory weights (the initial ones), for measuring
    what plasticity costs. The network is built, so dopamine can be delivered before the first run.
    """
    n = N_EXC + N_INH
    a = np.concatenate([np.full(N_EXC, 0.02), np.full(N_INH, 0.1)])
    d = np.concatenate([np.full(N_EXC, 8.0), np.full(N_INH, 2.0)])
    neurons = esnn.Population(n, DistalRewardNeuron(a=a, d=d), name="neurons")
    rng = np.random.default_rng(seed)
    exc_i, inh_i = np.repeat(np.arange(N_EXC), SYNAPSES), np.repeat(np.arange(N_INH), SYNAPSES)
    exc_j, inh_j = rng.integers(0, n, exc_i.size), rng.integers(0, N_EXC, inh_i.size)
    synapse = int(np.flatnonzero(exc_j[:SYNAPSES] != 0)[0])  # neuron 0's first synapse onto another neuron
    weight = np.full(exc_i.size, W_EXC)
    weight[synapse] = 0.0
    exc = esnn.Sparse.from_arrays(neurons[:N_EXC], neurons, exc_i, exc_j, weight=weight, delay=DELAY, target="exc",
                                  plasticity=rule() if plastic else None)
    inh = esnn.Sparse.from_arrays(neurons[N_EXC:], neurons[:N_EXC], inh_i, inh_j, weight=W_INH, delay=DELAY,
                                  target="inh")
    pre, post = 0, int(exc_j[synapse])
    pre_spikes, post_spikes = esnn.SpikeMonitor(neurons[pre:pre + 1]), esnn.SpikeMonitor(neurons[post:post + 1])
    net = esnn.Network(neurons, exc, inh, pre_spikes, post_spikes, dt=DT, seed=seed, backend=backend)
    weight_monitor = None
    if plastic:
        weight_monitor = net.add(esnn.SynapseMonitor(exc, "weight", indices=[synapse], every=int(SAMPLE / DT)))
    net.build()
    return DistalReward(net, neurons, exc, inh, synapse, pre, post, pre_spikes, post_spikes, weight_monitor)


def pairings(pre_steps: np.ndarray, post_steps: np.ndarray) -> np.ndarray:
    """The postsynaptic spikes (steps) that come 1 to PAIRING_WINDOW - 1 steps after the latest presynaptic
    spike at or before them (daspnet.m: n2 fires after n1's last spike, less than 20 ms after it)."""
    latest = np.concatenate([[-(1 << 40)], pre_steps])[np.searchsorted(pre_steps, post_steps, side="right")]
    gap = post_steps - latest
    return post_steps[(gap > 0) & (gap < PAIRING_WINDOW / DT)]


def simulate(model: DistalReward, duration_s: float, *, reward: bool = True, seed: int = 1) -> dict:
    """Run the closed loop for ``duration_s`` simulated seconds from where the network stands.

    Returns the times (s) of the rewards and of the pairings (rewarded or not) and the loop's wall time.
    ``seed`` seeds the reward delays; rewards that would come after the end are not delivered.
    """
    if not duration_s >= 0:
        raise ValueError(f"duration_s must be >= 0 s, got {duration_s}")
    net, rng = model.network, np.random.default_rng([seed, 2007])
    end = net.step + int(round(duration_s * 1000.0 / DT))
    pending: list[int] = []  # steps of scheduled rewards
    rewards, paired_steps = [], []
    seen = model.post_spikes.num_spikes
    start = time.perf_counter()
    while net.step < end:
        stop = min(end, net.step + int(CHUNK / DT), pending[0] if pending else end)
        net.run((stop - net.step) * DT)
        post_steps = model.post_spikes.steps[seen:]
        seen += post_steps.size
        paired = pairings(model.pre_spikes.steps, post_steps)
        paired_steps.extend(int(s) for s in paired)
        if reward:
            for s in paired:
                heapq.heappush(pending, int(s) + int(rng.integers(REWARD_DELAY[0], REWARD_DELAY[1] + 1) / DT))
        while pending and pending[0] == net.step:
            heapq.heappop(pending)
            model.exc.deliver_dopamine(spikes=REWARD_DOPAMINE * RULE["tau_n"])
            rewards.append(net.t / 1000.0)
    return {"rewards": rewards, "pairings": [s * DT / 1000.0 for s in paired_steps],
            "wall_s": time.perf_counter() - start}


def summarise(model: DistalReward, run: dict, duration_s: float) -> dict:
    """The rewarded weight over time and the other excitatory weights at the end, as JSON-ready values."""
    weights = np.array(model.exc.weight)
    others = np.delete(weights, model.synapse)
    trace = [[float(t) / 1000.0, float(w)] for t, w in zip(model.weight.t, model.weight.values[:, 0])]
    if trace[-1][0] < model.network.t / 1000.0:
        trace.append([model.network.t / 1000.0, float(weights[model.synapse])])
    w = np.array([x[1] for x in trace])
    near = np.flatnonzero(w >= NEAR_MAX * W_MAX)
    counts = np.histogram(others, bins=BINS, range=(0.0, W_MAX))[0]
    return {
        "duration_s": duration_s,
        "rewarded_weight": trace,
        "w_max": W_MAX,
        "near_max_threshold": NEAR_MAX * W_MAX,
        "rewarded_weight_final": float(weights[model.synapse]),
        "time_to_near_max_s": trace[near[0]][0] if near.size else None,
        "near_max_fraction_after": float(np.mean(w[near[0]:] >= NEAR_MAX * W_MAX)) if near.size else 0.0,
        "other_weights_mean": float(others.mean()),
        "other_weights_fraction_near_max": float(np.mean(others >= NEAR_MAX * W_MAX)),
        "other_weights_histogram": {"edges": np.linspace(0.0, W_MAX, BINS + 1).tolist(), "counts": counts.tolist()},
        "rewards": run["rewards"],
        "pairings": run["pairings"],
        "rewarded_synapse": {"index": model.synapse, "pre": model.pre, "post": model.post},
        "mean_rate_hz": model.network.spike_count / model.neurons.n / duration_s,
        "parameters": {**RULE, "reward_dopamine_per_ms": REWARD_DOPAMINE, "delay_ms": DELAY, "dt_ms": DT},
        "wall_s": run["wall_s"],
    }


def plot(result: dict, path: str) -> None:
    """The rewarded weight against time with the rewards below it; the final distribution of the others."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trace = np.asarray(result["rewarded_weight"])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7))
    top.plot(trace[:, 0] / 60.0, trace[:, 1], "b", lw=1, label="rewarded synapse")
    rewards = np.asarray(result["rewards"]) / 60.0
    top.plot(rewards, np.zeros_like(rewards), "rx", ms=4, label=f"rewards ({len(rewards)})")
    top.axhline(result["w_max"], color="k", ls=":", lw=0.8)
    top.set(xlabel="time (min)", ylabel="weight", ylim=(-0.2, result["w_max"] * 1.05))
    top.legend(loc="center right")
    hist = result["other_weights_histogram"]
    bottom.stairs(hist["counts"], hist["edges"], fill=True, color="0.6", label="other excitatory synapses")
    bottom.plot([result["rewarded_weight_final"]], [0], "r.", ms=12, label="rewarded synapse")
    bottom.set(xlabel="weight", ylabel="synapses")
    bottom.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=3600.0, help="simulated seconds (daspnet.m: 3600)")
    parser.add_argument("--seed", type=int, default=1, help="seeds the connectivity, the currents and the rewards")
    parser.add_argument("--no-reward", action="store_true", help="release no dopamine (the control)")
    parser.add_argument("--backend", default="numba", choices=["numba", "numpy", "cuda"])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--plot", default="izhikevich_2007.png",
                        help='PNG to write if matplotlib is installed ("": none)')
    args = parser.parse_args(argv)
    if args.duration <= 0:
        parser.error(f"--duration must be > 0 s, got {args.duration}")
    model = build(args.seed, backend=args.backend)
    result = summarise(model, simulate(model, args.duration, reward=not args.no_reward, seed=args.seed),
                       args.duration)
    result.update(seed=args.seed, reward=not args.no_reward)
    print(f"Izhikevich (2007) distal reward: {N_EXC + N_INH} neurons, {model.exc.n_synapses + model.inh.n_synapses} "
          f"synapses, {args.duration:g} s simulated in {result['wall_s']:.1f} s, "
          f"{'rewards' if result['reward'] else 'no rewards (control)'}")
    print(f"rewarded synapse {model.pre} -> {model.post}: {len(result['pairings'])} pairings, "
          f"{len(result['rewards'])} rewards; mean rate {result['mean_rate_hz']:.2f} Hz")
    every = 300.0 if args.duration >= 600.0 else max(1.0, round(args.duration / 10.0))
    shown = [(t, w) for t, w in result["rewarded_weight"] if t % every == 0 or t == result["rewarded_weight"][-1][0]]
    print("rewarded weight:", "  ".join(f"{t / 60.0:g} min {w:.2f}" if every >= 60 else f"{t:g} s {w:.2f}"
                                        for t, w in shown))
    reached = result["time_to_near_max_s"]
    print(f"near w_max (>= {result['near_max_threshold']:g}): "
          + (f"first at {reached / 60.0:.1f} min, then {100 * result['near_max_fraction_after']:.0f}% of the samples"
             if reached is not None else "never"))
    print(f"other excitatory weights: mean {result['other_weights_mean']:.3f}, "
          f"{100 * result['other_weights_fraction_near_max']:.2f}% near w_max; histogram ({BINS} bins from 0 to "
          f"{W_MAX:g}):", " ".join(map(str, result["other_weights_histogram"]["counts"])))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
        print(f"results written to {args.json}")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        print("matplotlib is not installed: no figure")
    elif args.plot:
        plot(result, args.plot)
        print(f"figure written to {args.plot}")
    return result


if __name__ == "__main__":
    main()
