"""The command line as a user meets it: interruption, run directories, missing extras, odd arguments, help.

Most tests call :func:`eventsnn.cli.main` in-process on a tiny model and a
20 000-character corpus; the signal tests run ``eventsnn train`` as a child
process and interrupt it once it is training.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import eventsnn
from eventsnn import cli
from eventsnn.checkpoint import RunLock, latest_checkpoint, save, save_step
from eventsnn.errors import CheckpointWriteError
from eventsnn.lm import train as train_module
from eventsnn.lm.data import load_corpus
from eventsnn.lm.train import TrainConfig, Trainer, load_trainer

REPO = str(Path(__file__).resolve().parents[1])
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
SMALL_MODEL = dict(d_embed=16, hidden=48, n_layers=2, memory=24, readout=32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "shakespeare.txt"
    path.write_text(load_corpus()[:20000], encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory, corpus) -> Path:
    """A run directory holding a small model's checkpoint at step 2 of a 6-step schedule."""
    config = TrainConfig.preset_config("tiny", corpus=str(corpus), batch=4, seq_len=16, steps=6, warmup=1,
                                       eval_tokens=512)
    run = Trainer.create(config, **SMALL_MODEL)
    run.fit(until=2)
    run_dir = tmp_path_factory.mktemp("runs") / "small"
    save_step(run, run_dir, run.step)
    return run_dir


@pytest.fixture
def run_copy(saved_run, tmp_path) -> Path:
    return Path(shutil.copytree(saved_run, tmp_path / "run"))


def run_cli(*argv: str) -> int:
    try:
        return cli.main(list(argv))
    except SystemExit as exit:  # argparse's errors and --version
        return exit.code


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines, "nothing was printed to stderr"
    return lines[-1]


# ---------------------------------------------------------------- interruption


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_saves_the_run_and_says_how_to_resume(tmp_path, corpus, signum, status):
    run_dir = tmp_path / "run"
    err_path = tmp_path / "stderr.txt"
    with open(err_path, "w") as err:
        child = subprocess.Popen([sys.executable, "-m", "eventsnn.cli", "train", "--corpus", str(corpus),
                                  "--out", str(run_dir)], env=ENV, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 240  # a cold Numba cache compiles for a while
        while "step/s" not in err_path.read_text() and "s/step" not in err_path.read_text():
            assert child.poll() is None, err_path.read_text()[-2000:]
            assert time.monotonic() < deadline, "training did not start"
            time.sleep(0.05)
        child.send_signal(signum)
        assert child.wait(timeout=120) == status, err_path.read_text()[-2000:]
    finally:
        child.kill()
    stderr = err_path.read_text()
    assert "Traceback" not in stderr and "SystemError" not in stderr
    lines = stderr.strip().splitlines()
    saved = latest_checkpoint(run_dir)
    assert lines[-2] == f"{signal.Signals(signum).name}: stopped after step {load_trainer(saved).step}, saved {saved}"
    assert lines[-1] == f"resume with: eventsnn train --resume {run_dir}"
    assert load_trainer(saved).step >= 1
    assert sorted(p.name for p in run_dir.iterdir()) == ["latest", saved.name]  # no lock, no temporary file


def test_ctrl_c_outside_training_exits_130_without_a_traceback(monkeypatch, saved_run, capsys):
    def interrupted(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemError("<numba kernel> returned a result with an exception set")  # what Numba shows

    monkeypatch.setattr("eventsnn.lm.engine.load_inference", interrupted)
    assert run_cli("generate", str(saved_run)) == 130
    assert error_line(capsys) == "eventsnn generate: interrupted"


# ---------------------------------------------------------------- run directories


def test_resume_without_out_continues_in_the_runs_own_directory(run_copy, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run_cli("train", "--resume", str(run_copy), "--steps", "3") == 0
    assert latest_checkpoint(run_copy).name == "step_000003.h5"
    assert not (tmp_path / "runs").exists()
    assert f"saved {run_copy / 'step_000003.h5'}" in capsys.readouterr().out


def test_a_fresh_run_is_refused_a_directory_holding_another_run_unless_forced(run_copy, corpus, capsys):
    before = sorted(p.name for p in run_copy.iterdir())
    assert run_cli("train", "--corpus", str(corpus), "--steps", "1", "--out", str(run_copy)) == 2
    message = error_line(capsys)
    assert "already holds a run's checkpoints (step_000002.h5)" in message and "--force" in message
    assert sorted(p.name for p in run_copy.iterdir()) == before
    assert run_cli("train", "--corpus", str(corpus), "--steps", "1", "--out", str(run_copy), "--force") == 0
    assert sorted(p.name for p in run_copy.iterdir()) == ["latest", "step_000001.h5"]
    assert load_trainer(run_copy).model.config.hidden == 256  # the tiny preset's, not the old run's


def test_resuming_into_another_runs_directory_is_refused(run_copy, saved_run, tmp_path, capsys):
    other = Path(shutil.copytree(saved_run, tmp_path / "other"))
    assert run_cli("train", "--resume", str(run_copy), "--steps", "3", "--out", str(other)) == 2
    assert "refusing to write the run being resumed there" in error_line(capsys)


def test_a_second_process_is_refused_and_a_dead_owners_lock_is_not(tmp_path, corpus, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from eventsnn.checkpoint import RunLock; "
                               "lock = RunLock(sys.argv[1]); print('locked', flush=True); time.sleep(120)",
                               str(run_dir)], env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        monkeypatch.setattr(Trainer, "create", None)  # must not be reached
        assert run_cli("train", "--corpus", str(corpus), "--out", str(run_dir)) == 2
        message = error_line(capsys)
        assert f"{run_dir} is in use by another process (pid {holder.pid}, lock file {run_dir / 'lock'})" in message
    finally:
        holder.kill()
        holder.wait()
    assert (run_dir / "lock").exists()  # left by the killed owner, and not held by anyone
    RunLock(run_dir).release()
    assert not (run_dir / "lock").exists()


def test_out_is_checked_before_the_first_step(tmp_path, corpus, monkeypatch, capsys):
    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setattr(Trainer, "create", None)  # must not be reached
    assert run_cli("train", "--corpus", str(corpus), "--out", str(tmp_path / "file" / "run")) == 2
    assert error_line(capsys).startswith(f"eventsnn train: cannot use {tmp_path / 'file' / 'run'} as the run directory")


# ---------------------------------------------------------------- optional dependencies


def test_plots_without_matplotlib_fail_at_once(saved_run, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an import of a missing package meets
    monkeypatch.setattr(train_module, "load_trainer", None)  # the evaluation must not start
    assert run_cli("report", str(saved_run), "--plots", str(tmp_path / "plots")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'eventsnn[plot]'" in err and err.startswith("eventsnn report: --plots")


def test_bpe_without_tokenizers_fails_at_once(tmp_path, corpus, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    monkeypatch.setattr(Trainer, "create", None)
    assert run_cli("train", "--tokenizer", "bpe", "--corpus", str(corpus), "--out", str(tmp_path / "run")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'eventsnn[bpe]'" in err
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- arguments


@pytest.mark.parametrize("duration", ["0", "-5", "nan"])
def test_simulate_refuses_a_duration_that_is_not_positive(duration, capsys):
    assert run_cli("simulate", "cuba", "--n", "100", "--duration", duration) == 2
    assert "argument --duration: must be > 0" in error_line(capsys)


def test_train_refuses_zero_steps(capsys):
    assert run_cli("train", "--steps", "0") == 2
    assert "argument --steps: must be >= 1, got 0" in error_line(capsys)


@pytest.mark.parametrize("steps, message", [
    (["--steps", "2"], "the run in {ckpt} is at step 2 and --steps 2 is not beyond it"),
    (["--steps", "1"], "the run in {ckpt} is at step 2 and --steps 1 is not beyond it"),
])
def test_resume_refuses_steps_it_has_already_done(run_copy, steps, message, capsys):
    assert run_cli("train", "--resume", str(run_copy), *steps) == 2
    assert message.format(ckpt=run_copy / "step_000002.h5") in error_line(capsys)


def test_resume_refuses_a_finished_schedule_unless_given_more_steps(run_copy, capsys):
    assert run_cli("train", "--resume", str(run_copy), "--steps", "6") == 0
    assert run_cli("train", "--resume", str(run_copy)) == 2
    assert "its 6-step schedule has ended at it; pass --steps N with N > 6" in error_line(capsys)


@pytest.mark.parametrize("option, value, stored", [("--preset", "small", "'tiny'"), ("--seed", "3", "0"),
                                                    ("--tokenizer", "bpe", "'char'"), ("--bpe-vocab", "512", "1024")])
def test_resume_refuses_settings_that_differ_from_the_run(run_copy, option, value, stored, capsys):
    assert run_cli("train", "--resume", str(run_copy), "--steps", "3", option, value) == 2
    name = option.removeprefix("--").replace("-", "_")
    assert f"{option} {value} conflicts with the resumed run's {name} {stored}" in error_line(capsys)


def test_resume_refuses_another_corpus_before_the_banner(run_copy, tmp_path, capsys):
    other = tmp_path / "other.txt"
    other.write_text(load_corpus()[20000:40000], encoding="utf-8")
    assert run_cli("train", "--resume", str(run_copy), "--steps", "3", "--corpus", str(other)) == 2
    out, err = capsys.readouterr()
    assert "differs from the corpus this run was trained on" in err and "training" not in out
    assert run_cli("train", "--resume", str(run_copy), "--steps", "3", "--corpus", str(tmp_path / "none.txt")) == 2
    assert "no corpus file" in error_line(capsys)


def test_train_checks_its_json_path_before_training(tmp_path, corpus, capsys):
    assert run_cli("train", "--corpus", str(corpus), "--steps", "2", "--out", str(tmp_path / "run"),
                   "--json", str(tmp_path / "missing" / "x.json")) == 2
    assert "--json" in error_line(capsys) and not (tmp_path / "run").exists()


def test_resume_accepts_settings_equal_to_the_runs(run_copy):
    assert run_cli("train", "--resume", str(run_copy), "--steps", "3", "--preset", "tiny", "--seed", "0") == 0


# ---------------------------------------------------------------- report


def test_report_plots_a_corpus_without_the_old_default_prompts_characters(tmp_path, monkeypatch):
    corpus = tmp_path / "lower.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog\n" * 500, encoding="utf-8")
    config = TrainConfig.preset_config("tiny", corpus=str(corpus), batch=4, seq_len=16, steps=6, warmup=1,
                                       eval_tokens=256)
    path = save(Trainer.create(config, **SMALL_MODEL), tmp_path / "run.h5")
    monkeypatch.chdir(tmp_path)
    assert run_cli("report", str(path), "--plots", "plots") == 0
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["firing_rates.png", "raster.png"]


def test_report_says_when_the_corpus_is_missing_and_reads_it_from_corpus(corpus, tmp_path, capsys):
    original, moved = tmp_path / "original.txt", tmp_path / "moved.txt"
    shutil.copy(corpus, original)
    config = TrainConfig.preset_config("tiny", corpus=str(original), batch=4, seq_len=16, steps=6, warmup=1,
                                       eval_tokens=256)
    path = save(Trainer.create(config, **SMALL_MODEL), tmp_path / "run.h5")
    original.rename(moved)
    assert run_cli("report", str(path)) == 2
    message = error_line(capsys)
    assert f"this run's corpus {str(original)!r} is not found" in message and "--corpus PATH" in message
    assert run_cli("report", "--checkpoint", str(path), "--corpus", str(moved)) == 0
    assert "val loss" in capsys.readouterr().out


def test_a_relative_corpus_path_is_stored_absolute(tmp_path, corpus, monkeypatch):
    monkeypatch.chdir(corpus.parent)
    config = TrainConfig.preset_config("tiny", corpus=corpus.name, batch=4, seq_len=16, steps=6, warmup=1)
    run = Trainer.create(config, **SMALL_MODEL)
    assert run.config.corpus == str(corpus)


# ---------------------------------------------------------------- progress and the final line


def test_a_minutes_run_counts_time_and_says_how_to_continue(tmp_path, corpus, capsys):
    run_dir = tmp_path / "run"
    assert run_cli("train", "--corpus", str(corpus), "--minutes", "0.01", "--out", str(run_dir)) == 0
    out, err = capsys.readouterr()
    assert "training (0.01 min)" in err and " s, step=" in err  # the bar counts seconds, not steps
    step = load_trainer(run_dir).step
    assert out.strip().splitlines()[-1] == (f"stopped at step {step} of 4000 after --minutes 0.01; continue with: "
                                            f"eventsnn train --resume {run_dir}")


def test_the_progress_bar_starts_after_the_first_step(saved_run, tmp_path, capsys):
    run = load_trainer(saved_run)
    run.fit(until=4, progress=True)
    err = capsys.readouterr().err
    assert "3/4" in err and "2/4" not in err  # the first step (2 -> 3) is not in the bar's rate


def test_an_error_is_printed_below_the_progress_bar(run_copy, monkeypatch, capsys):
    def full(*args, **kwargs):
        raise CheckpointWriteError("cannot write x: no space left on device; the last good checkpoint is y", 28)

    monkeypatch.setattr(train_module, "save_step", full)
    assert run_cli("train", "--resume", str(run_copy), "--steps", "4") == 2
    err = capsys.readouterr().err
    assert err.endswith("\neventsnn train: cannot write x: no space left on device; the last good checkpoint is y\n")
    assert "step/s" in err or "s/step" in err  # the bar was shown, and closed before the message


# ---------------------------------------------------------------- help, version, presets, checkpoint arguments


def test_version(capsys):
    assert run_cli("--version") == 0
    assert capsys.readouterr().out == f"eventsnn {eventsnn.__version__}\n"


def test_presets_lists_sizes(capsys):
    from eventsnn.lm import LMConfig, SpikingLM

    assert run_cli("presets") == 0
    out = capsys.readouterr().out
    tiny = SpikingLM(LMConfig.preset("tiny", len(set(load_corpus())) + 1), seed=0).num_parameters()
    assert any(line.split()[:2] == ["tiny", f"{tiny:,}"] for line in out.splitlines())
    assert all(name in out for name in ("small", "base", "steps=4000"))


def test_every_option_has_help_and_shows_its_default():
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        for action in sub._actions:
            assert action.help, f"eventsnn {name} {action.dest} has no help"
    text = commands.choices["generate"].format_help()
    assert "0 is greedy" in " ".join(text.split()) and "(default: 0.8)" in text


def test_every_checkpoint_command_takes_both_argument_styles(saved_run, tmp_path, capsys):
    assert run_cli("inspect", str(saved_run)) == run_cli("inspect", "--checkpoint", str(saved_run)) == 0
    assert run_cli("generate", str(saved_run), "--max-tokens", "3") == 0
    assert run_cli("generate", "--checkpoint", str(saved_run), "--max-tokens", "3") == 0
    assert run_cli("export", str(saved_run), str(tmp_path / "a.h5"), "--eval-tokens", "0") == 0
    assert run_cli("export", "--checkpoint", str(saved_run), str(tmp_path / "b.h5"), "--eval-tokens", "0") == 0
    assert (tmp_path / "a.h5").is_file() and (tmp_path / "b.h5").is_file()
    capsys.readouterr()
    assert run_cli("inspect", str(saved_run), "--checkpoint", str(tmp_path / "a.h5")) == 2
    assert "give one checkpoint" in error_line(capsys)
    assert run_cli("report") == 2
    assert "give one checkpoint" in error_line(capsys)
