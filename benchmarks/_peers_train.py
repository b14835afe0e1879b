"""The two training benchmarks' workload, and the peers (snnTorch, SpikingJelly, Norse) that run it.

:func:`tasks` builds one peer's tasks in its own worker process
(``_workers.Worker("_peers_train:tasks", name=...)``); this module imports
neither eventsnn nor torch at the top, so that process holds only the peer.
Each ``build_*`` returns a callable running the timed work, or None when the
library is not importable. All use float32 on the CPU with the thread count
set through ``torch.set_num_threads``; :func:`layer_tasks` runs (b) alone, on
the CPU or on a CUDA device.
"""
from __future__ import annotations

import importlib.util
from typing import Callable

import numpy as np

PEERS = ("snntorch", "spikingjelly", "norse")
BETA = 0.9


def workload(layer_n: int, steps: int = 500) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a)'s spike input [25, 128, 784] and labels [128], (b)'s dense input [steps, 16, layer_n]; the same for all."""
    rng = np.random.default_rng(0)
    x_mlp = (rng.random((25, 128, 784)) < 0.2).astype(np.float32)
    y_mlp = rng.integers(0, 10, 128)
    return x_mlp, y_mlp, rng.random((steps, 16, layer_n), dtype=np.float32)


def tasks(name: str, layer_n: int, threads: int) -> dict[str, Callable[[], None]]:
    """The peer ``name``'s timed tasks: "mlp_step", "layer_forward", "layer_backward"."""
    import torch

    torch.set_num_threads(threads)
    x_mlp, y_mlp, x_layer = workload(layer_n)
    forward, backward = build_layer(name, x_layer, BETA)
    return {"mlp_step": build_mlp_step(name, x_mlp, y_mlp, BETA), "layer_forward": forward, "layer_backward": backward}


def layer_tasks(name: str, layer_n: int, steps: int, device: str) -> dict[str, Callable[[], None]]:
    """The peer ``name``'s layer benchmark alone on ``device`` ("cpu" or "cuda"): "layer_forward", "layer_backward".

    On CUDA each task waits for the device to finish (torch.cuda.synchronize),
    and SpikingJelly uses its CuPy kernels when CuPy is importable.
    """
    import torch

    forward, backward = build_layer(name, workload(layer_n, steps)[2], BETA, device)
    if device == "cpu":
        return {"layer_forward": forward, "layer_backward": backward}

    def synced(task: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            task()
            torch.cuda.synchronize()
        return run
    return {"layer_forward": synced(forward), "layer_backward": synced(backward)}


def available(name: str) -> bool:
    return importlib.util.find_spec("torch") is not None and importlib.util.find_spec(name) is not None


def _neuron(name: str, beta: float, device: str = "cpu"):
    """A multi-step LIF module mapping [T, B, N] -> spikes [T, B, N]."""
    import torch

    if name == "snntorch":
        import snntorch as snn

        class Seq(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lif = snn.Leaky(beta=beta, spike_grad=snn.surrogate.fast_sigmoid(slope=25))

            def forward(self, x):
                mem = self.lif.reset_mem()
                out = []
                for t in range(x.shape[0]):
                    spk, mem = self.lif(x[t], mem)
                    out.append(spk)
                return torch.stack(out)
        return Seq()
    if name == "spikingjelly":
        from spikingjelly.activation_based import neuron, surrogate
        tau = 1.0 / (1.0 - beta)  # decay_input=False: v = v (1 - 1/tau) + x
        backend = "cupy" if device == "cuda" and importlib.util.find_spec("cupy") is not None else "torch"
        return neuron.LIFNode(tau=tau, decay_input=False, v_reset=None, detach_reset=True, step_mode="m",
                              surrogate_function=surrogate.Sigmoid(), backend=backend)
    import norse.torch as norse

    class NorseSeq(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lif = norse.LIF()

        def forward(self, x):
            return self.lif(x)[0]
    return NorseSeq()


def _reset(name: str, module) -> None:
    if name == "spikingjelly":
        from spikingjelly.activation_based import functional
        functional.reset_net(module)


def build_mlp_step(name: str, x: np.ndarray, y: np.ndarray, beta: float) -> Callable[[], None] | None:
    """One Adam step of the 784-512-10 LIF MLP with loss CE(mean_t spikes_out, y)."""
    if not available(name):
        return None
    import torch

    n_in, n_hid, n_out = x.shape[2], 512, 10
    fc1, fc2 = torch.nn.Linear(n_in, n_hid), torch.nn.Linear(n_hid, n_out)
    lif1, lif2 = _neuron(name, beta), _neuron(name, beta)
    params = list(fc1.parameters()) + list(fc2.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> None:
        _reset(name, lif1), _reset(name, lif2)
        out = lif2(fc2(lif1(fc1(xt))))
        loss = torch.nn.functional.cross_entropy(out.mean(0), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def build_layer(name: str, x: np.ndarray, beta: float, device: str = "cpu") -> tuple[Callable, Callable] | None:
    """Linear(n, n) + LIF over [T, B, n] on ``device``: returns (forward, backward-of-last-forward)."""
    if not available(name):
        return None
    import torch

    n = x.shape[2]
    fc, lif = torch.nn.Linear(n, n).to(device), _neuron(name, beta, device).to(device)
    xt = torch.from_numpy(x).to(device)
    holder = {}

    def forward() -> None:
        _reset(name, lif)
        holder["out"] = lif(fc(xt))

    def backward() -> None:
        fc.zero_grad()
        holder.pop("out").sum().backward()
    return forward, backward
