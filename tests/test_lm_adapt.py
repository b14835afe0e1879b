"""Online adaptation of the spiking LM (eventsnn.lm.adapt): scoring before learning, the three rules, state."""
import json

import numpy as np
import pytest

import eventsnn as esnn
from eventsnn.cli import main
from eventsnn.kernels.lm_adapt import ANCHOR_STEP, settle_all
from eventsnn.kernels.nn_plasticity import REBASE, REBASE_TRACE
from eventsnn.lm.adapt import AdaptConfig, Adapter, load_adapter
from eventsnn.lm.data import encode_corpus, load_corpus
from eventsnn.lm.engine import Engine, InferenceLM, load_inference, mean_cross_entropy
from eventsnn.lm.topology import MEMORY, READOUT, block
from eventsnn.lm.train import TrainConfig, Trainer
from eventsnn.nn import RSTDPParams, RSTDPState, rstdp_step

SMALL_MODEL = dict(d_embed=16, hidden=48, n_layers=2, memory=24, readout=32, threshold=0.5)
TEXT = load_corpus()[:20000]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small model trained for a few steps on the start of Tiny Shakespeare, saved as a training run."""
    folder = tmp_path_factory.mktemp("adapt")
    corpus = folder / "shakespeare.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    trainer = Trainer.create(TrainConfig.preset_config("tiny", corpus=str(corpus), batch=8, seq_len=32, steps=30,
                                                       warmup=3, lr=1e-2, eval_every=1000), **SMALL_MODEL)
    for _ in range(30):
        trainer.train_step()
    return trainer, esnn.save(trainer, folder / "run.h5")


@pytest.fixture(scope="module")
def tokens(run):
    return encode_corpus(load_corpus()[200000:201500], run[0].tokenizer)


def lm_of(run) -> InferenceLM:
    trainer, _ = run
    return InferenceLM.from_model(trainer.model, "float32", trainer.tokenizer)


def test_frozen_stream_is_the_models_cross_entropy(run, tokens):
    lm = lm_of(run)
    adapter = Adapter(lm, AdaptConfig(rule="none"))
    losses = np.concatenate([adapter.read(tokens[:100]), adapter.read(tokens[100:])])
    expected = mean_cross_entropy(lm, np.concatenate([[lm.tokenizer.eot_id], tokens]), batch=1)
    assert adapter.stream_loss() == pytest.approx(expected, rel=1e-12)
    assert losses.size == tokens.size


@pytest.mark.parametrize("rule", ["rstdp", "sgd"])
def test_each_token_is_scored_before_it_is_learned(run, tokens, rule):
    frozen = Adapter(lm_of(run), AdaptConfig(rule="none")).read(tokens)
    adapter = Adapter(lm_of(run), AdaptConfig(rule=rule, lr=1e-2, segment=4, sgd_lr=0.5, projections=None), run[0].model)
    losses = adapter.read(tokens)
    # nothing learned before the first token (rstdp's kernel takes its exponentials in float32: 1e-7)
    assert losses[0] == pytest.approx(frozen[0], rel=1e-12 if rule == "sgd" else 1e-6)
    if rule == "sgd":  # the first segment is scored by the frozen weights, the next one is not
        np.testing.assert_allclose(losses[:4], frozen[:4], rtol=1e-12)
    assert np.abs(losses - frozen).max() > 1e-3  # and then it learns
    assert np.array_equal(lm_of(run).spiking["memory_in"].weight, run[0].model.memory.spikes_in.weight.data)


def test_rstdp_with_a_vanishing_rate_is_the_frozen_model(run, tokens):
    frozen = Adapter(lm_of(run), AdaptConfig(rule="none")).read(tokens)
    np.testing.assert_allclose(Adapter(lm_of(run), AdaptConfig(rule="rstdp", lr=1e-30)).read(tokens), frozen,
                               rtol=1e-6)  # the same spikes; the kernel's losses take float32 exponentials


def test_sgd_learns_a_repeated_text(run, tokens):
    text = np.tile(tokens[:150], 4)
    frozen = Adapter(lm_of(run), AdaptConfig(rule="none")).read(text)
    adapted = Adapter(lm_of(run), AdaptConfig(rule="sgd", sgd_lr=0.3, segment=25), run[0].model).read(text)
    assert adapted[-150:].mean() < frozen[-150:].mean() - 0.2


@pytest.mark.parametrize("rule", ["rstdp", "sgd"])
def test_saved_and_resumed_state_reads_on_as_if_uninterrupted(run, tokens, rule, tmp_path):
    config = AdaptConfig(rule=rule, lr=3e-3, tau_c=3.0, segment=7, sgd_lr=0.1, window=200, seed=2, tau_anchor=20.0,
                         projections=None)
    whole = Adapter(lm_of(run), config, run[0].model)
    expected = whole.read(tokens)
    first = Adapter(lm_of(run), config, run[0].model)
    head = first.read(tokens[:333])
    first.save(tmp_path / "state.h5")
    resumed = load_adapter(tmp_path / "state.h5")
    tail = resumed.read(tokens[333:])
    np.testing.assert_array_equal(np.concatenate([head, tail]), expected)
    np.testing.assert_allclose(resumed.summary()["windows"], whole.summary()["windows"], rtol=1e-12)
    assert resumed.engine.firing_rate() == whole.engine.firing_rate() > 0
    # the state loads as a model: the adapted weights, exported
    adapted = load_inference(tmp_path / "state.h5")
    assert not np.array_equal(adapted.spiking["spikes_in.1"].weight, lm_of(run).spiking["spikes_in.1"].weight)


def test_the_command_reports_the_stream_and_the_forgetting(run, tmp_path, capsys):
    _, checkpoint = run
    corpus = tmp_path / "shifted.txt"
    corpus.write_text(TEXT[5000:6000], encoding="utf-8")
    for rule in ("none", "rstdp"):
        out = tmp_path / f"{rule}.json"
        assert main(["adapt", str(checkpoint), "--corpus", str(corpus), "--rule", rule, "--json", str(out),
                     "--val-tokens", "500", "--window", "300", "--save", str(tmp_path / f"{rule}.h5"),
                     *(["--tau-anchor", "50", "--projections", "all"] if rule == "rstdp" else [])]) == 0
        summary = json.loads(out.read_text())
        assert summary["config"]["tau_anchor"] == (50.0 if rule == "rstdp" else 1e4)
        assert summary["config"]["projections"] == (None if rule == "rstdp" else ["memory_in"])
        assert summary["rule"] == rule and summary["tokens_per_s"] > 0
        assert [w[0] for w in summary["windows"]] == [300, 600, 900, summary["tokens"]]
        if rule == "none":
            assert summary["val_loss_after"] == summary["val_loss_before"]
    assert main(["generate", str(tmp_path / "rstdp.h5"), "--max-tokens", "5"]) == 0
    assert main(["export", str(tmp_path / "rstdp.h5"), str(tmp_path / "int8.h5"), "--precision", "int8"]) == 0
    assert load_inference(tmp_path / "int8.h5").precision == "int8"
    assert main(["generate", str(checkpoint), "--online", "--max-tokens", "5", "--prompt", "ROMEO"]) == 0
    capsys.readouterr()
    state = str(tmp_path / "rstdp.h5")
    for changed in (["--rule", "sgd"], ["--tau-anchor", "60"]):  # a resumed adaptation keeps its settings
        assert main(["adapt", "--resume", state, "--corpus", str(corpus), *changed]) == 2
    err = capsys.readouterr().err
    assert "--rule 'sgd' conflicts with the resumed adaptation's rule 'rstdp'" in err
    assert "--tau-anchor 60.0 conflicts with the resumed adaptation's tau_anchor 50.0" in err
    # export never writes over what it reads, and replaces another file only when told to
    assert main(["export", state, state]) == 2
    assert main(["export", state, str(tmp_path / "int8.h5")]) == 2
    assert main(["export", state, str(tmp_path / "int8.h5"), "--force"]) == 0
    assert load_inference(tmp_path / "int8.h5").precision == "float32"
    assert main(["generate", str(checkpoint), "--online", "--engine", "dense"]) == 2
    err = capsys.readouterr().err
    assert "export would write over the checkpoint it reads" in err and "give --force to replace it" in err
    assert "--online runs the float32 event engine" in err


def test_bad_input_is_named(run, tmp_path, capsys):
    _, checkpoint = run
    corpus = tmp_path / "python.txt"
    corpus.write_text("x = [1, 2]  # ok\n", encoding="utf-8")
    assert main(["adapt", str(checkpoint), "--corpus", str(corpus)]) == 2
    err = capsys.readouterr().err
    assert "characters outside the model's vocabulary" in err and "'='" in err and "'1'" in err
    lm = lm_of(run)
    with pytest.raises(ValueError, match="tables.0.*dense projection"):
        Adapter(lm, AdaptConfig(projections=("tables.0",)))
    with pytest.raises(ValueError, match="readout_spikes.*do not spike"):
        Adapter(lm, AdaptConfig(projections=("readout_spikes",)))
    with pytest.raises(ValueError, match="needs the training model"):
        Adapter(lm, AdaptConfig(rule="sgd"))
    with pytest.raises(ValueError, match="tau_c must be finite, got nan"):
        AdaptConfig(tau_c=float("nan"))
    with pytest.raises(ValueError, match="tau_anchor must be > 0, got -1"):
        AdaptConfig(tau_anchor=-1.0)
    with pytest.raises(ValueError, match="tokens must lie in"):
        Adapter(lm, AdaptConfig()).read(np.array([0, lm.config.vocab_size]))


@pytest.mark.parametrize("tau_anchor", [None, 30.0])
def test_rstdp_stream_is_engine_steps_and_rstdp_step(run, tokens, tau_anchor):
    """The kernel against its specification: per token, score with the logits so far, reward = baseline - loss,
    Engine.step, then ``eventsnn.nn.rstdp_step`` on each adapted projection. The engine reads each synapse's
    weight as of its row's last write (its presynaptic spike) or the last rebase, which the reference copies in.
    Anchored,
    each rebase (every 4 tokens at tau_anchor = 30) relaxes w to w0 + (w - w0) exp(-D / tau_anchor)."""

    # tau_c = 5: the clock rebases every 20 tokens
    config = AdaptConfig(lr=1e-2, tau_c=5.0, tau_baseline=10.0, tau_anchor=tau_anchor, projections=None)
    rate = 1.0 / tau_anchor if tau_anchor else 0.0
    stream = tokens[:48]
    adapter = Adapter(lm_of(run), config)
    losses = adapter.read(stream)

    lm = lm_of(run)
    engine = Engine(lm, 1, "event")
    params = RSTDPParams(config.rule_params(), 1.0)
    projections = [p for p in lm.topology.projections if p.spiking and p.target != READOUT]
    assert len(projections) == 2 * lm.config.n_layers - 1
    stored = engine.spike_weights()
    exact = {p.key: stored[p.key].astype(np.float64) for p in projections}
    trained = {key: w.copy() for key, w in exact.items()}
    state = {p.key: RSTDPState.initial(*stored[p.key].shape) for p in projections}
    logits, baseline, since_rebase, expected = engine.feed([[lm.tokenizer.eot_id]])[0, 0], None, 0, []
    for token in stream:
        z = logits.astype(np.float64)
        loss = np.logaddexp.reduce(z) - z[token]
        expected.append(loss)
        baseline = loss if baseline is None else baseline
        reward, baseline = baseline - loss, baseline + (loss - baseline) / config.tau_baseline
        logits = engine.step([token])[0].copy()
        spikes = {MEMORY: engine.memory_state[1, 0]} | {block(l): engine.block_state[l, 1, 0]
                                                        for l in range(lm.config.n_layers)}
        since_rebase += 1
        rebase = since_rebase / config.tau_c > REBASE or since_rebase / config.tau_trace > REBASE_TRACE \
            or since_rebase * rate >= ANCHOR_STEP
        for p in projections:
            pre, post = spikes[p.source].astype(np.float64), spikes[p.target].astype(np.float64)
            exact[p.key], state[p.key] = rstdp_step(pre, post, exact[p.key], state[p.key], reward, params)
            if rebase:
                exact[p.key] = trained[p.key] + (exact[p.key] - trained[p.key]) * np.exp(-since_rebase * rate)
            event = (pre[:, None] > 0) | np.zeros_like(post[None, :], bool) | rebase
            stored[p.key][event] = exact[p.key][event]
        since_rebase = 0 if rebase else since_rebase
    np.testing.assert_allclose(losses, expected, rtol=1e-6)
    adapted = Engine(adapter.adapted(), 1, "event").spike_weights()  # settled now: relaxed over since_rebase
    for p in projections:
        exact[p.key] = trained[p.key] + (exact[p.key] - trained[p.key]) * np.exp(-since_rebase * rate)
        # the kernel rounds each stored weight to float32 at every event: a few ulps of the weights' scale
        ulps = 4 * np.finfo(np.float32).eps * np.abs(exact[p.key]).max()
        np.testing.assert_allclose(adapted[p.key], exact[p.key], rtol=1e-6, atol=ulps, err_msg=p.key)
        assert np.abs(exact[p.key] - lm_of(run).spiking[p.key].weight).max() > 1e-4  # the rule did learn


def test_anchored_changes_decay_to_the_trained_weights(run, tokens):
    """With learning switched off after 300 tokens, every change w - w0 decays as exp(-t / tau_anchor): the
    adapted weights 400 tokens later are w0 + (w - w0) exp(-400 / tau_anchor)."""
    from eventsnn.plasticity import A_MINUS, A_PLUS

    tau = 100.0
    adapter = Adapter(lm_of(run), AdaptConfig(lr=1e-2, tau_c=5.0, tau_anchor=tau, projections=None))
    adapter.read(tokens[:300])
    learning = adapter._learning
    settle_all(adapter.engine.weights, learning)  # nothing pending ...
    learning.k[[A_PLUS, A_MINUS]] = 0.0  # ... no new eligibility ...
    for syn in learning.synapses:
        syn.elig[...] = 0.0  # ... and none left: the weights move only by the anchor
    trained = lm_of(run).spiking
    before = adapter.adapted().spiking
    adapter.read(tokens[300:700])
    after = adapter.adapted().spiking
    for key in ("memory_in", "spikes_in.1", "memory_to_block.1"):
        change = before[key].weight.astype(np.float64) - trained[key].weight
        assert np.abs(change).max() > 1e-3  # it did learn
        np.testing.assert_allclose(after[key].weight - trained[key].weight, change * np.exp(-400 / tau),
                                   atol=2 * np.finfo(np.float32).eps * np.abs(trained[key].weight).max())


def test_an_older_rstdp_state_layout_is_refused_by_name(run, tokens, tmp_path, monkeypatch):
    import eventsnn.lm.adapt as adapt

    adapter = Adapter(lm_of(run), AdaptConfig())
    adapter.read(tokens[:50])
    monkeypatch.setattr(adapt, "RSTDP_LAYOUT", 1)  # as the per-synapse-integral version wrote it
    adapter.save(tmp_path / "old.h5")
    monkeypatch.undo()
    with pytest.raises(esnn.CheckpointError, match="layout 1"):
        load_adapter(tmp_path / "old.h5")
