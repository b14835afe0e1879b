"""The GPU check's results against issue 17's goals, as Markdown: what a session with a GPU pastes into its notes.

    python benchmarks/gpu_report.py OUT_DIR        # OUT_DIR of benchmarks/gpu_check.sh; also writes OUT_DIR/report.md

Reads the JSON the check wrote (a step that failed or was skipped is reported as missing) and gives:
each step's exit and seconds; the CUDA tests' counts (cuda_tests.xml); the layer benchmark (forward and
backward, eventsnn against each peer: goal, faster than every peer measured beside it); CUBA on the GPU
against the one-core Numba backend (goal: at least 50x at 1M neurons); the LM engine's tokens/s by batch
and its parity with the CPU engine; the event product against cuBLAS; plasticity's cost on the GPU.
Under Numba's CUDA simulator (the check's dry mode) the times mean nothing: no verdict is given.
"""
from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

CUBA_GOAL = 50.0  # x one core, at 1M neurons


def load(out: Path, name: str) -> dict | None:
    path = out / name
    return json.loads(path.read_text()) if path.exists() else None


def verdict(ok: bool, simulator: bool) -> str:
    return "no verdict (simulator)" if simulator else ("met" if ok else "NOT met")


def steps(out: Path) -> list[str]:
    summary = load(out, "summary.json") or {}
    lines = ["| step | exit | seconds | limit |", "| --- | --- | --- | --- |"]
    lines += [f"| {name} | {s['exit']} | {s['seconds']} | {s['limit']} |" for name, s in summary.items()]
    return lines


def tests(out: Path) -> list[str]:
    path = out / "cuda_tests.xml"
    if not path.exists():
        return ["CUDA tests: no cuda_tests.xml"]
    suite = ElementTree.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    return [f"CUDA tests: {counts['tests']} run, {counts['failures']} failed, {counts['errors']} errors, "
            f"{counts['skipped']} skipped ({float(suite.get('time', 0)):.0f} s)"]


def layer(out: Path, simulator: bool) -> list[str]:
    lines = ["| n | eventsnn forward ms | eventsnn backward ms | peer: forward ms (x) | peer: backward ms (x) |",
             "| --- | --- | --- | --- | --- |"]
    faster, found = True, False
    for path in sorted(out.glob("train_step_cuda_*.json")):
        data = json.loads(path.read_text())
        for n, entry in data["sizes"].items():
            found = True
            ours = entry["ours"]
            peers = entry["peers"] or {"(no peer)": None}
            for name, cells in peers.items():
                row = [n, f"{ours['layer_forward'] * 1e3:.2f}", f"{ours['layer_backward'] * 1e3:.2f}"]
                if cells is None:
                    row += ["-", "-"]
                    faster = False
                else:
                    row += [f"{name}: {cells[t]['median'] * 1e3:.2f} ({cells[t]['ratio']:.2f}x)"
                            for t in ("layer_forward", "layer_backward")]
                    faster &= all(cells[t]["ratio"] > 1.0 for t in ("layer_forward", "layer_backward"))
                lines.append("| " + " | ".join(row) + " |")
            if data.get("missing_peers"):
                lines.append(f"| {n} | not importable: {', '.join(data['missing_peers'])} | | | |")
    if not found:
        return ["Layer benchmark: no results"]
    return lines + ["", "x: the peer's time over eventsnn's (above 1: eventsnn faster). Goal, faster than every "
                    f"peer measured beside it, forward and backward: {verdict(faster, simulator)}"]


def cuba(out: Path, simulator: bool) -> list[str]:
    data = load(out, "cuba_cuda.json")
    if data is None:
        return ["CUBA: no results"]
    runs = data.get("runs", [data])
    lines = ["| neurons | GPU loop s | one-core Numba loop s | speed-up | spikes GPU | spikes Numba |",
             "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['n']} | {r['wall_s']:.3f} | {r['peers']['numba_1_thread']['wall_s']:.3f} | "
              f"{r['ratios']['numba_1_thread']['loop']:.1f}x | {r.get('spikes', '?')} | "
              f"{r['peers']['numba_1_thread'].get('spikes', '?')} |" for r in runs]
    big = [r for r in runs if r["n"] >= 1_000_000]
    goal = (verdict(all(r["ratios"]["numba_1_thread"]["loop"] >= CUBA_GOAL for r in big), simulator) if big
            else "not measured (no run at 1M neurons)")
    return lines + ["", f"Goal, at least {CUBA_GOAL:g}x one core at 1M neurons: {goal}"]


def lm_engine(out: Path) -> list[str]:
    data = load(out, "lm_engine_cuda.json")
    if data is None:
        return ["LM engine: no results"]
    gpu = ", ".join(f"batch {b}: {r['tokens_per_s']:.0f}" for b, r in data["gpu"].items())
    cpu = ", ".join(f"batch {b}: {r['tokens_per_s']:.0f}" for b, r in data["cpu"].items())
    p = data["parity"]
    return [f"LM engine tokens/s, GPU: {gpu}; CPU engine: {cpu}",
            f"Parity at batch {p['batch']}: largest logit difference {p['max_abs_diff']:.2e} (scale {p['scale']:.2f}), "
            f"{p['streams_within_1e-5']:.1%} of streams within 1e-5, spikes GPU {p['spikes_gpu']} "
            f"CPU {p['spikes_cpu']}"]


def sparse(out: Path) -> list[str]:
    data = load(out, "sparse_vs_dense_cuda.json")
    if data is None:
        return ["Event product: no results"]
    lines = ["| batch | activity | event ms | dense ms | event speed-up |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['batch']} | {r['activity']:g} | {r['event_s'] * 1e3:.3f} | {r['dense_s'] * 1e3:.3f} | "
              f"{r['speedup']:.2f}x |" for r in data["sweep"]]
    return lines + ["", f"dense: {data['gemm']} (n = {data['n']})"]


def plasticity(out: Path) -> list[str]:
    data = load(out, "plasticity_cuda.json")
    if data is None:
        return ["Plasticity: no results"]
    c = data["cuba"]
    lines = [f"CUBA {c['plastic']['n']} with STDP on the GPU: {c['plastic']['wall_s']:.3f} s against "
             f"{c['static']['wall_s']:.3f} s static ({c['plasticity_cost']:.2f}x)"]
    if "izhikevich" in data:
        i = data["izhikevich"]
        lines.append(f"Izhikevich (2007) with R-STDP on the GPU: {i['plastic']['wall_s']:.3f} s against "
                     f"{i['static']['wall_s']:.3f} s static ({i['plasticity_cost']:.2f}x)")
    return lines


def report(out: Path) -> str:
    env = load(out, "environment.json") or {}
    simulator = bool(env.get("simulator", True))
    gpus = ", ".join(env.get("gpus", [])) or ("Numba's CUDA simulator" if simulator else "?")
    sections = [["# GPU check", "", f"Device: {gpus}; numba {env.get('numba', '?')}, numba-cuda "
                 f"{env.get('numba_cuda', '?')}"], steps(out), tests(out), ["## Layer benchmark"],
                layer(out, simulator), ["## CUBA"], cuba(out, simulator), ["## LM engine"], lm_engine(out),
                ["## Event product"], sparse(out), ["## Plasticity"], plasticity(out)]
    return "\n".join("\n".join(s) + "\n" for s in sections)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the folder benchmarks/gpu_check.sh wrote")
    out = parser.parse_args().out
    if not out.is_dir():
        parser.error(f"out must be the GPU check's folder, got {out}")
    text = report(out)
    (out / "report.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
