"""Quality of the ``small`` spiking LM against a dense baseline trained for the same wall time.

Both train on Tiny Shakespeare (characters) for ``--minutes`` of training time
each (evaluation time excluded) and are evaluated on the same first
``eval_tokens`` validation tokens every ``--eval-seconds``:

- spiking: ``SpikingLM`` preset ``small`` with its ``Trainer`` (stateful streams);
- dense baseline: an equal-width, recurrence-free MLP language model on the same
  autodiff tape: the embeddings of the previous C = ``--window`` tokens,
  concatenated, feed ``n_layers`` tanh layers of the spiking model's ``hidden``
  width, then the same readout width, LayerNorm and head:

      h_1 = tanh([e_{t-C+1} .. e_t] W_1 + b_1),  h_l = tanh(h_{l-1} W_l + b_l),
      logits_t = LayerNorm(h_L R) W_out + b_out

  trained on random windows, as many tokens per step as the spiking model.

Each learning-rate schedule (warm-up, cosine decay) is sized to the steps
its model manages in the budget, estimated from its own speed over the
first ``--calibrate`` seconds, so both anneal within the time they get.
``--parallel`` trains the dense baseline at the same time in a second
process: one core each, both runs within ``minutes`` of wall time.

    NUMBA_NUM_THREADS=1 python benchmarks/lm_quality.py --minutes 30 --parallel --out runs/small \
        --json benchmarks/results/lm_quality.json
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import time

import numpy as np

from eventsnn import autodiff as ad
from eventsnn.checkpoint import save_step
from eventsnn.lm import TrainConfig, Trainer, generate
from eventsnn.nn import AdamW, Embedding, LayerNorm, Linear, Module, ModuleList, clip_grad_norm, warmup_cosine


class WindowMLP(Module):
    """The dense baseline (module docstring): a fixed window of C tokens, tanh MLP, LayerNorm readout."""

    def __init__(self, vocab: int, window: int, d_embed: int, hidden: int, n_layers: int, readout: int, seed: int):
        rng = np.random.default_rng(seed)
        self.window = window
        self.embed = Embedding(vocab, d_embed, seed=rng)
        widths = [window * d_embed] + [hidden] * n_layers
        self.layers = ModuleList(Linear(a, b, seed=rng) for a, b in zip(widths, widths[1:]))
        self.project = Linear(hidden, readout, bias=False, seed=rng)
        self.norm = LayerNorm(readout)
        self.head = Linear(readout, vocab, seed=rng)
        for p in self.parameters():
            p.data = p.data.astype(np.float32)

    def forward(self, contexts: np.ndarray) -> ad.Tensor:
        h = ad.reshape(self.embed(contexts), (len(contexts), -1))
        for layer in self.layers:
            h = ad.tanh(layer(h))
        return self.head(self.norm(self.project(h)))


def windows(tokens: np.ndarray, targets: np.ndarray, window: int, pad: int) -> np.ndarray:
    """Contexts [n, window]: the tokens before each target position (``pad`` before the start)."""
    padded = np.concatenate([np.full(window, pad), tokens])
    return padded[targets[:, None] + np.arange(window)[None, :]]


def schedule_length(steps: int, trained: float, minutes: float, warmup: int) -> int:
    """The steps a run will manage in ``minutes`` at the speed it showed so far (past its warm-up)."""
    return max(steps + 1, warmup + 1, int(steps * 60 * minutes / trained))


def train_spiking(minutes: float, eval_seconds: float, calibrate: float) -> tuple[Trainer, list[list[float]], float]:
    run = Trainer.create(TrainConfig.preset_config("small"))
    curve, trained, tokens, next_eval, sized = [], 0.0, 0, eval_seconds, False
    while trained < 60 * minutes:
        t0 = time.perf_counter()
        tokens += run.train_step().tokens
        trained += time.perf_counter() - t0
        if not sized and trained >= calibrate:
            run.config = dataclasses.replace(run.config, steps=schedule_length(run.step, trained, minutes, run.config.warmup))
            sized = True
        if trained >= next_eval or trained >= 60 * minutes:
            curve.append([trained, run.evaluate().loss_nats])
            next_eval += eval_seconds
            print(f"spiking  {trained:7.1f} s  step {run.step:6d}  val {curve[-1][1]:.4f} nats", flush=True)
    return run, curve, tokens / trained


def train_dense(run: Trainer, minutes: float, eval_seconds: float, window: int,
                calibrate: float) -> tuple[WindowMLP, list, float]:
    cfg, mcfg = TrainConfig.preset_config("small"), run.model.config
    model = WindowMLP(run.tokenizer.vocab_size, window, mcfg.d_embed, mcfg.hidden, mcfg.n_layers, mcfg.readout,
                      cfg.seed)
    opt = AdamW(model.named_parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    train, val = run.streams.tokens, run.validation[:cfg.eval_tokens + 1]
    rng = np.random.default_rng(cfg.seed)
    val_ctx = windows(val, np.arange(1, len(val)), window, run.tokenizer.eot_id)
    per_step = cfg.batch * cfg.seq_len
    curve, trained, step, next_eval, total = [], 0.0, 0, eval_seconds, cfg.steps
    while trained < 60 * minutes:
        t0 = time.perf_counter()
        targets = rng.integers(1, len(train), per_step)
        opt.lr = warmup_cosine(step, cfg.lr, cfg.warmup, total, cfg.lr * cfg.min_lr_ratio)
        loss = ad.cross_entropy(model(windows(train, targets, window, run.tokenizer.eot_id)), train[targets])
        opt.zero_grad()
        loss.backward()
        clip_grad_norm(model.parameters(), cfg.clip)
        opt.step()
        step += 1
        trained += time.perf_counter() - t0
        if total == cfg.steps and trained >= calibrate:
            total = schedule_length(step, trained, minutes, cfg.warmup)
        if trained >= next_eval or trained >= 60 * minutes:
            with ad.no_grad():
                curve.append([trained, ad.cross_entropy(model(val_ctx), val[1:]).item()])
            next_eval += eval_seconds
            print(f"dense    {trained:7.1f} s  step {step:6d}  val {curve[-1][1]:.4f} nats", flush=True)
    return model, curve, step * per_step / trained


def _dense_process(minutes: float, eval_seconds: float, window: int, calibrate: float, queue) -> None:
    """The dense baseline in its own process (``--parallel``): its own copy of the data."""
    run = Trainer.create(TrainConfig.preset_config("small"))
    model, curve, tps = train_dense(run, minutes, eval_seconds, window, calibrate)
    queue.put((curve, tps, model.num_parameters()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="training time for each model")
    parser.add_argument("--eval-seconds", type=float, default=None, help="evaluate this often (default minutes*6)")
    parser.add_argument("--window", type=int, default=16, help="context of the dense baseline (tokens)")
    parser.add_argument("--calibrate", type=float, default=60.0, help="seconds of training that size each schedule")
    parser.add_argument("--parallel", action="store_true", help="train the dense baseline at the same time")
    parser.add_argument("--out", help="save the spiking run's checkpoint in this run directory")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    eval_seconds = args.eval_seconds or args.minutes * 6
    calibrate = min(args.calibrate, 60 * args.minutes / 4)
    if args.parallel:
        queue = multiprocessing.get_context("spawn").Queue()
        child = multiprocessing.get_context("spawn").Process(
            target=_dense_process, args=(args.minutes, eval_seconds, args.window, calibrate, queue))
        child.start()
    run, curve, spiking_tps = train_spiking(args.minutes, eval_seconds, calibrate)
    final = run.evaluate()
    if args.out:
        print(f"saved {save_step(run, args.out, run.step)}")
    if args.parallel:
        dense_curve, dense_tps, dense_params = queue.get()
        child.join()
    else:
        dense, dense_curve, dense_tps = train_dense(run, args.minutes, eval_seconds, args.window, calibrate)
        dense_params = dense.num_parameters()
    sample = "".join(generate(run.model, run.tokenizer, "ROMEO:\n", max_tokens=300, temperature=0.8, seed=0))
    print(f"\n{'seconds':>8}  {'spiking':>8}  {'dense':>8}   (validation loss, nats/token)")
    for (t, s), (_, d) in zip(curve, dense_curve):
        print(f"{t:8.0f}  {s:8.4f}  {d:8.4f}")
    print(f"\nspiking: {final.loss_nats:.4f} nats ({final.bits_per_char:.4f} bits/char), sparsity "
          f"{final.activity.sparsity:.4f}, {spiking_tps:.0f} tokens/s; dense baseline: {dense_curve[-1][1]:.4f} "
          f"nats, {dense_tps:.0f} tokens/s\n\nROMEO:\n{sample}")
    result = {
        "minutes": args.minutes, "step": run.step, "val_loss_nats": final.loss_nats,
        "val_bits_per_char": final.bits_per_char, "sparsity": final.activity.sparsity,
        "firing_rates": final.activity.firing_rates, "synops_per_token": final.activity.synops_per_token,
        "curve": curve, "tokens_per_second": spiking_tps, "params": run.model.num_parameters(),
        "dense_baseline_val_loss_nats": dense_curve[-1][1], "dense_baseline_curve": dense_curve,
        "dense_baseline_tokens_per_second": dense_tps, "dense_baseline_params": dense_params,
        "parallel": args.parallel, "schedule_steps": run.config.steps,
        "dense_baseline_window": args.window, "sample": sample,
    }
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
