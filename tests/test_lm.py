"""The spiking language model: learning, exact resume, generation, constant per-token cost, report, input checks."""
from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from eventsnn import autodiff as ad
from eventsnn.checkpoint import load, save
from eventsnn.lm import engine as engine_module
from eventsnn.lm.engine import mean_cross_entropy
from eventsnn.lm.data import Streams, document_pieces, encode_corpus, load_corpus, split
from eventsnn.lm.generate import generate, generate_ids, sample
from eventsnn.lm.metrics import dense_macs_per_token, parameter_split
from eventsnn.lm.model import LMConfig, SpikingLM
from eventsnn.lm.report import build_report, prompt_spikes, write_plots
from eventsnn.lm.tokenizer import EOT, BPETokenizer, CharTokenizer, tokenizer_from_dict
from eventsnn.lm.train import TrainConfig, Trainer

SMALL_MODEL = dict(d_embed=16, hidden=48, n_layers=2, memory=24, readout=32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("corpus") / "shakespeare.txt"
    path.write_text(load_corpus()[:20000], encoding="utf-8")
    return str(path)


def make_trainer(corpus: str, **overrides) -> Trainer:
    settings = dict(corpus=corpus, batch=8, seq_len=32, steps=60, warmup=5, eval_every=1000, eval_tokens=1024,
                    lr=1e-2, **overrides)
    return Trainer.create(TrainConfig.preset_config("tiny", **settings), **SMALL_MODEL)


def test_training_tiny_lowers_the_loss(corpus):
    run = make_trainer(corpus)
    losses = [run.train_step().loss for _ in range(40)]
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.5
    assert 0 < run.evaluate().activity.firing_rate < 0.5


def test_resume_is_exact(tmp_path):
    # 2700 characters: 8 streams of (2431 - 1) // 8 = 303 tokens hold 9 chunks of 32, so the run
    # crosses an epoch (state reset, random shift)
    short = tmp_path / "short.txt"
    short.write_text(load_corpus()[:2700], encoding="utf-8")
    corpus = str(short)
    straight = make_trainer(corpus)
    straight.fit(until=14)
    first = make_trainer(corpus)
    first.fit(until=6)
    save(first, tmp_path / "run.h5")
    resumed = load(tmp_path / "run.h5")
    resumed.fit(until=14)
    assert straight.streams.epoch == resumed.streams.epoch == 1
    for name, value in straight.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[name], value, err_msg=name)
    for slot in ("exp_avg", "exp_avg_sq"):
        for name, value in straight.optimizer.state[slot].items():
            np.testing.assert_array_equal(resumed.optimizer.state[slot][name], value)
    assert resumed.streams.state_dict() == straight.streams.state_dict()
    for name, st in straight.state.items():
        for a, b in zip(st, resumed.state[name]):
            np.testing.assert_array_equal(a, b)


def test_checkpoint_holds_the_whole_run(corpus, tmp_path):
    run = make_trainer(corpus)
    run.fit(until=3)
    path = save(run, tmp_path / "run.h5")
    back = load(path)
    assert back.tokenizer.to_dict() == run.tokenizer.to_dict()
    assert back.history["val_loss"] == run.history["val_loss"]
    assert back.config == run.config and back.step == 3


def test_generation_is_deterministic_per_seed_and_stops_at_eot():
    tok = CharTokenizer.train("abc de\n")
    model = SpikingLM(LMConfig(vocab_size=tok.vocab_size, **SMALL_MODEL), seed=1)
    model.readout.head.bias.data[tok.eot_id] = -50.0  # no end-of-text: runs to max_tokens
    a = "".join(generate(model, tok, "ab", max_tokens=40, seed=5))
    assert a == "".join(generate(model, tok, "ab", max_tokens=40, seed=5))
    assert len(a) == 40 and a != "".join(generate(model, tok, "ab", max_tokens=40, seed=6))
    model.readout.head.bias.data[tok.eot_id] = 50.0  # end-of-text is now all but certain
    assert list(generate(model, tok, "ab", max_tokens=40, seed=5)) == []
    model.readout.head.bias.data[tok.eot_id] = 2.5
    ids = list(generate_ids(model, np.array([tok.eot_id]), tok.eot_id, max_tokens=400, seed=0))
    assert 0 < len(ids) < 400 and tok.eot_id not in ids


def test_per_token_work_does_not_grow_with_context(monkeypatch):
    """Every token is one compiled step over arrays whose shapes do not depend on the context length."""
    model = SpikingLM(LMConfig(vocab_size=12, **SMALL_MODEL), seed=0)
    model.readout.head.bias.data[11] = -100.0  # never end early
    calls: list[tuple] = []
    step = engine_module.token_steps

    def logged_step(project, tokens, steps_per_token, *arrays):
        calls.append(tuple(np.shape(a) for a in (tokens, *arrays)))
        return step(project, tokens, steps_per_token, *arrays)

    monkeypatch.setattr(engine_module, "token_steps", logged_step)
    ids = list(generate_ids(model, np.arange(11), 11, max_tokens=500, seed=0))
    assert len(ids) == 500
    assert len(calls) == 1 + 500  # one call for the context, then one per generated token
    assert calls[0][0] == (11, 1) and calls[5][0] == (1, 1)
    assert calls[5] == calls[499]  # token 5 and token 500: the same work on the same shapes
    block_state, memory_state = calls[-1][-3], calls[-1][-2]
    assert block_state == (2, 3, 1, 48) and memory_state == (3, 1, 24)  # fixed-size state: L x (mem, spk, adapt)


def test_report_numbers_add_up(corpus, tmp_path):
    run = make_trainer(corpus)
    run.fit(until=4)
    report = build_report(run)
    # recompute from the recorded spikes of the same validation pass
    streams = Streams(run.validation[:run.config.eval_tokens + 1], 16, run.config.seq_len)
    totals, steps, state = Counter(), 0, None
    with ad.no_grad():
        for x, _ in streams:
            out = run.model(x, state)
            state = out.state
            steps += x.size
            totals.update({name: float(s.data.sum()) for name, s in out.spikes.items()})
    sizes = {layer["name"]: layer["neurons"] for layer in report["layers"]}
    for layer in report["layers"]:
        assert layer["firing_rate"] == pytest.approx(totals[layer["name"]] / (layer["neurons"] * steps))
    assert report["firing_rate"] == pytest.approx(sum(totals.values()) / (sum(sizes.values()) * steps))
    assert report["sparsity"] == pytest.approx(1 - report["firing_rate"])
    h, m, r = SMALL_MODEL["hidden"], SMALL_MODEL["memory"], SMALL_MODEL["readout"]
    fan_out = {"block.0": m + h, "memory": h + r, "block.1": r}
    assert report["synops_per_token"] == pytest.approx(sum(totals[p] * fan_out[p] for p in totals) / steps)
    d, v = SMALL_MODEL["d_embed"], run.tokenizer.vocab_size
    assert report["dense_macs_per_token"] == 2 * d * h + h * m + h * h + m * h + (h + m) * r + r * v
    assert report["params_spiking"] + report["params_dense"] == run.model.num_parameters()
    assert 0 <= report["memory_share"] <= 1 and report["val_bits_per_char"] > 0
    json.dumps(report)
    paths = write_plots(report, prompt_spikes(run, "ROMEO:"), tmp_path)
    assert all(p.stat().st_size > 0 for p in paths)


def test_steps_per_token_repeats_the_input_and_counts_spikes():
    model = SpikingLM(LMConfig(vocab_size=10, steps_per_token=3, **SMALL_MODEL), seed=0)
    out = model(np.arange(10).reshape(5, 2))
    assert out.logits.shape == (5, 2, 10) and out.spikes["block.0"].shape == (15, 2, 48)
    out.logits.sum().backward()  # gradients reach the dense input through the repeat
    assert np.abs(model.blocks[0].embed_in.weight.grad).sum() > 0
    assert dense_macs_per_token(model) > dense_macs_per_token(SpikingLM(LMConfig(vocab_size=10, **SMALL_MODEL)))
    spiking_params, dense = parameter_split(model)
    assert spiking_params + dense == model.num_parameters()


def test_tokenizers_round_trip():
    text = "To be, or not to be: that is the question.\n" * 20
    for tok in (CharTokenizer.train(text), BPETokenizer.train(text, 300)):
        again = tokenizer_from_dict(json.loads(json.dumps(tok.to_dict())))
        np.testing.assert_array_equal(again.encode(text), tok.encode(text))
        assert again.decode(tok.encode(text)) == text and again.eot_id == tok.eot_id
        assert tok.decode([tok.eot_id]) == ""


def test_documents_and_split():
    text = f"one\n{EOT}\ntwo\n{EOT}\n"
    assert list(document_pieces([text])) == [("one\n", True), ("two\n", True)]
    tok = CharTokenizer.train(text)
    stream = encode_corpus(text, tok)
    assert (stream == tok.eot_id).sum() == 2 and stream[-1] == tok.eot_id
    train, val = split(np.arange(100))
    assert len(val) == 10 and val[0] == 90


@pytest.mark.parametrize("call, parameter", [
    (lambda: TrainConfig.preset_config("huge"), "preset"),
    (lambda: LMConfig.preset("huge", 10), "preset"),
    (lambda: sample(np.zeros(4), np.random.default_rng(), temperature=-1.0), "temperature"),
    (lambda: sample(np.zeros(4), np.random.default_rng(), top_p=0.0), "top_p"),
    (lambda: sample(np.zeros(4), np.random.default_rng(), top_p=1.5), "top_p"),
    (lambda: sample(np.zeros(4), np.random.default_rng(), top_k=0), "top_k"),
    (lambda: TrainConfig(tokenizer="words"), "tokenizer"),
    (lambda: sample(np.array([np.nan, 0.0]), np.random.default_rng()), "logits must be finite or -inf"),
    (lambda: sample(np.zeros((2, 2)), np.random.default_rng()), "logits must have 1 dimension"),
    (lambda: sample(np.zeros(3), None), "rng must be a numpy.random.Generator, got None"),
    (lambda: CharTokenizer.train("ab").encode(5), "text must be a string, got int"),
    (lambda: mean_cross_entropy(None, np.array([1.5, 2.0, 3.0])), "tokens must be integer token ids"),
])
def test_bad_settings_name_the_parameter(call, parameter):
    with pytest.raises(ValueError, match=parameter):
        call()


def test_bad_corpus_and_prompt_name_the_parameter(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(ValueError, match="corpus"):
        load_corpus(empty)
    tok = CharTokenizer.train("abc")
    model = SpikingLM(LMConfig(vocab_size=tok.vocab_size, **SMALL_MODEL))
    with pytest.raises(ValueError, match="prompt"):
        generate(model, tok, "abz")
    with pytest.raises(ValueError, match="temperature"):
        generate(model, tok, "ab", temperature=float("nan"))
