"""Peers measured fairly: each side in its own process, the measurements interleaved.

A peer run inside our process shares its thread pools (PyTorch's OpenMP,
OpenBLAS's, Numba's) with ours and is slowed, which flatters us; and this
shared machine's speed drifts within minutes. So every benchmark with peers
runs each side in a process of its own and alternates the measurements:
ours, peer A, ours, peer B, ..., ours, ``rounds`` times over. Each of a
peer's measurements is compared with the mean of ours just before and just
after it (:func:`compare`).

:class:`Worker` is a long-lived subprocess for one side: it builds its
model once (``function(**kwargs)`` in a module of this folder, returning
named no-argument tasks) and, on each request, runs tasks in turn and sends
back their times. :func:`interleave` alternates any measurements: a
Worker's, one in the driver's own process when the driver runs no peer, or
a fresh process per measurement (the CUBA peers, whose global state needs one).
"""
from __future__ import annotations

import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import traceback
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))


class Worker:
    """One side of a benchmark in its own process: ``target`` ("module:function") builds its tasks there once."""

    def __init__(self, target: str, env: dict[str, str] | None = None, **kwargs: Any):
        self.target = target
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "_workers.py"), target, json.dumps(kwargs)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        self.tasks: list[str] = self._reply()["tasks"]

    def _reply(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.target} worker exited (code {self.proc.wait()}); its stderr is above")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"the {self.target} worker failed:\n{reply['error']}")
        return reply

    def time(self, tasks: list[str], repeats: int, warmup: int = 0) -> dict[str, list[float]]:
        """Run ``tasks`` in turn, ``warmup + repeats`` times; the seconds of each call after the warm-up."""
        self.proc.stdin.write(json.dumps({"tasks": tasks, "repeats": repeats, "warmup": warmup}) + "\n")
        self.proc.stdin.flush()
        return self._reply()["times"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait()

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def interleave(ours: Callable[[], Any], peers: dict[str, Callable[[], Any]], rounds: int) -> list[tuple[str, Any]]:
    """Measure ours, then each peer followed by ours again, ``rounds`` times: [(name, result), ...] in call order."""
    log = [("ours", ours())]
    for r in range(rounds):
        for name, measure in peers.items():
            print(f"round {r + 1}/{rounds}: {name}", file=sys.stderr, flush=True)
            log += [(name, measure()), ("ours", ours())]
    return log


def compare(log: list[tuple[str, Any]], value: Callable[[Any], float],
            ours_value: Callable[[Any], float] | None = None) -> dict[str, dict]:
    """Per side of an :func:`interleave` log: the median ``value`` of its measurements (``ours_value``
    of ours', if given) and, for each peer, its paired ratios: its value over the mean of ours just
    before and after it (of times: above 1, ours is faster)."""
    ours_value = ours_value or value
    of = lambda name, r: ours_value(r) if name == "ours" else value(r)  # noqa: E731
    out = {name: {"median": statistics.median(of(n, r) for n, r in log if n == name)} for name, _ in log}
    for name in out.keys() - {"ours"}:
        ratios = [value(r) / ((ours_value(log[i - 1][1]) + ours_value(log[i + 1][1])) / 2)
                  for i, (n, r) in enumerate(log) if n == name]
        out[name].update(ratio=statistics.median(ratios), ratio_min=min(ratios), ratio_max=max(ratios), ratios=ratios)
    return out


class MachineLoad:
    """Cores kept busy by other processes while a benchmark ran (this machine is shared): the machine's
    busy CPU time (/proc/stat) less this process's and its finished children's, over the wall time."""

    def __init__(self):
        self.loadavg_before, self.start = os.getloadavg(), self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        try:
            with open("/proc/stat") as f:
                user, nice, system, _, _, irq, softirq, steal = map(int, f.readline().split()[1:9])
            busy = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError):
            busy = float("nan")
        own = sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))
        return time.monotonic(), busy, own

    def result(self) -> dict:
        """Call once every worker has exited (a running child's time is not yet counted as ours)."""
        (t0, busy0, own0), (t1, busy1, own1) = self.start, self._sample()
        return {"other_busy_cores": max(0.0, (busy1 - busy0) - (own1 - own0)) / (t1 - t0), "cpus": os.cpu_count(),
                "loadavg_before": self.loadavg_before, "loadavg_after": os.getloadavg()}


def _serve(target: str, kwargs: str) -> None:
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # what the libraries print goes to stderr, not into the replies

    def send(message: dict) -> None:
        replies.write(json.dumps(message) + "\n")

    try:
        module, function = target.split(":")
        tasks = getattr(importlib.import_module(module), function)(**json.loads(kwargs))
    except BaseException:
        send({"error": traceback.format_exc()})
        return
    send({"tasks": list(tasks)})
    for line in sys.stdin:
        request = json.loads(line)
        times: dict[str, list[float]] = {name: [] for name in request["tasks"]}
        for i in range(request["warmup"] + request["repeats"]):
            for name in request["tasks"]:
                start = time.perf_counter()
                tasks[name]()
                if i >= request["warmup"]:
                    times[name].append(time.perf_counter() - start)
        send({"times": times})


if __name__ == "__main__":
    _serve(*sys.argv[1:])
