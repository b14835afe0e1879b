"""A chain as Lava processes: RingBuffer source -> Dense -> LIF -> ... with sinks and Monitors, run fixed_pt.

Lava is imported inside the functions only, so this module imports without
it. Importing Lava sets multiprocessing's start method to "fork" for the
whole process, and Lava's runtime forks one process per Lava process: call
these from a process of its own (:func:`eventsnn.lava.run_in_subprocess`
does) rather than from a test runner or a program with live threads.
"""
from __future__ import annotations

import importlib.util
from typing import Any, Sequence

import numpy as np

from ..loihi.fixed_point import DenseParams, LayerTrace, LIFParams, LIFState
from .chain import check_chain

INSTALL_HINT = ("Lava (lava-nc 0.10.0) is not installed; install it into this environment with "
                "`python scripts/install_lava.py` from the eventsnn repository (docs/loihi.md)")


def require_lava() -> None:
    """Raise ImportError naming ``scripts/install_lava.py`` when Lava cannot be imported."""
    if importlib.util.find_spec("lava") is None or importlib.util.find_spec("lava.proc.lif") is None:
        raise ImportError(INSTALL_HINT)


class LavaChain:
    """The Lava processes of one chain (see :func:`to_lava`); a context manager that stops Lava on exit.

    source: ``io.source.RingBuffer``; denses, lifs: the ``Dense`` and ``LIF`` processes per layer; sinks: an
    ``io.sink.RingBuffer`` per LIF (its spikes); monitors: per LIF a dict of ``Monitor`` on "u" and "v", or
    None without monitors; steps: T.
    """

    def __init__(self, source: Any, denses: list, lifs: list, sinks: list, monitors: list | None, steps: int):
        self.source, self.denses, self.lifs, self.sinks = source, denses, lifs, sinks
        self.monitors, self.steps = monitors, steps
        self._started = False

    def run(self) -> None:
        """Run all T steps on ``Loihi2SimCfg(select_tag="fixed_pt")`` (the bit-accurate process models)."""
        from lava.magma.core.run_conditions import RunSteps
        from lava.magma.core.run_configs import Loihi2SimCfg

        self._started = True
        self.source.run(condition=RunSteps(num_steps=self.steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))

    def traces(self) -> list[LayerTrace]:
        """Per LIF layer: spikes [T, n] (sinks) and u, v [T, n] (Monitors: the state after each step), or, without
        monitors, u and v [1, n]: the state after the last step only (the LIF's Vars)."""
        if not self._started:
            raise RuntimeError("the chain has not run yet: call run() first")
        out = []
        for i, (lif, sink) in enumerate(zip(self.lifs, self.sinks)):
            spikes = sink.data.get().T != 0
            if self.monitors is None:
                u, v = lif.u.get()[None, :], lif.v.get()[None, :]
            else:  # Monitors store float64; the values are integers below 2**31, so the cast is exact
                u, v = (self.monitors[i][name].get_data()[lif.name][name] for name in ("u", "v"))
            out.append(LayerTrace(spikes, np.asarray(u).astype(np.int32), np.asarray(v).astype(np.int32)))
        return out

    def stop(self) -> None:
        """Stop Lava's runtime (its processes end); nothing to do if the chain never ran."""
        if self._started:
            self.source.stop()
            self._started = False

    def __enter__(self) -> "LavaChain":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def to_lava(inputs, layers: Sequence[tuple[DenseParams, LIFParams]], states: Sequence[LIFState] | None = None,
            *, monitor: bool = True) -> LavaChain:
    """Build the Lava process graph of the chain that :func:`~eventsnn.loihi.fixed_point.run_layers` runs.

    inputs: spikes [T, n_in], sent by ``lava.proc.io.source.RingBuffer(data=inputs.T)`` (column t - 1 at step
    t, as run_layers reads row t - 1); per (DenseParams, LIFParams) layer a ``lava.proc.dense.process.Dense``
    (weights, weight_exp, num_weight_bits; sign_mode unless None, when Lava picks it from the weights as
    eventsnn does) into a ``lava.proc.lif.process.LIF`` (du, dv, vth, bias_mant, bias_exp, and u, v from
    ``states``, rest if None), whose spikes feed the next Dense and a ``lava.proc.io.sink.RingBuffer``; with
    ``monitor`` a ``lava.proc.monitor.process.Monitor`` on its u and one on its v. Parameters are checked
    (ValueError naming the first bad one) before Lava is imported; ImportError if Lava is missing.
    """
    inputs, layers, states = check_chain(inputs, layers, states)
    require_lava()
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIF
    from lava.proc.monitor.process import Monitor
    from lava.utils.weightutils import SignMode as LavaSignMode

    steps = inputs.shape[0]
    source = Source(data=inputs.T.astype(np.int32))
    previous, denses, lifs, sinks, monitors = source.s_out, [], [], [], []
    for (dense_params, lif_params), state in zip(layers, states):
        weights = np.asarray(dense_params.weights, np.int64)
        sign = {} if dense_params.sign_mode is None else {"sign_mode": LavaSignMode(int(dense_params.sign_mode))}
        dense = Dense(weights=weights, weight_exp=int(dense_params.weight_exp),
                      num_weight_bits=int(dense_params.num_weight_bits), **sign)
        n = weights.shape[0]
        lif = LIF(shape=(n,), u=state.u.astype(np.int64), v=state.v.astype(np.int64), du=int(lif_params.du),
                  dv=int(lif_params.dv), vth=int(lif_params.vth),
                  bias_mant=np.broadcast_to(np.asarray(lif_params.bias_mant, np.int64), (n,)).copy(),
                  bias_exp=np.broadcast_to(np.asarray(lif_params.bias_exp, np.int64), (n,)).copy())
        previous.connect(dense.s_in)
        dense.a_out.connect(lif.a_in)
        sink = Sink(shape=(n,), buffer=steps)
        lif.s_out.connect(sink.a_in)
        if monitor:
            monitors.append({})
            for name in ("u", "v"):
                monitors[-1][name] = Monitor()
                monitors[-1][name].probe(getattr(lif, name), steps)
        denses.append(dense)
        lifs.append(lif)
        sinks.append(sink)
        previous = lif.s_out
    return LavaChain(source, denses, lifs, sinks, monitors if monitor else None, steps)


def run_lava(inputs, layers: Sequence[tuple[DenseParams, LIFParams]], states: Sequence[LIFState] | None = None,
             *, monitor: bool = True) -> list[LayerTrace]:
    """Run the chain in Lava for T steps on ``Loihi2SimCfg(select_tag="fixed_pt")``; a trace per LIF layer.

    The traces have run_layers' format (spikes bool, u and v int32, [T, n]: the state after each step), so
    ``run_lava(x, layers)`` and ``run_layers(x, layers)`` compare with ``np.array_equal``. Without ``monitor``
    u and v are [1, n], the state after the last step (faster: no Monitor processes).
    """
    chain = to_lava(inputs, layers, states, monitor=monitor)
    with chain:
        chain.run()
        return chain.traces()
