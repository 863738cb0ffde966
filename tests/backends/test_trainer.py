"""End to end: examples/train_seal.py on a few steps writes the pinned run folder, and resumes exactly."""

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agentgym_seal.backends.config import TrainConfig, WarmupConfig, parse_train_args
from agentgym_seal.backends.reward_shaping import ShapingConfig
from agentgym_seal.errors import ConfigError
from agentgym_seal.logging import read_jsonl

pytest.importorskip("torch")
REPO = Path(__file__).resolve().parents[2]
SMALL = [
    "--warmup.episodes", "4", "--warmup.epochs", "2", "--eval-episodes", "2", "--batch-tasks", "2",
    "--group-size", "2", "--max-turns", "3", "--checkpoint-every", "1", "--eval-every", "2", "--no-progress",
    "--max-response-length", "12", "--tiny-copy-sequences", "64",
]  # fmt: skip
PINNED = {
    "step", "train/success_rate", "train/episode_reward", "train/valid_action_ratio", "actor/entropy",
    "actor/pg_loss", "actor/kl", "actor/seal_loss", "actor/grad_norm", "timing/rollout_s", "timing/update_s",
}  # fmt: skip


def run_script(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "examples" / "train_seal.py"), *SMALL, *args],
        capture_output=True, text=True, check=check, cwd=REPO, env={**os.environ, "PYTHONHASHSEED": "0"},
    )  # fmt: skip


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if not k.startswith("timing/")} for r in rows]


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "reference"
    run_script("--backend", "grpo", "--seal-alpha", "0.02", "--steps", "3", "--seed", "1", "--run-dir", str(run))
    return run


def test_run_folder_has_every_pinned_file_and_key(reference_run: Path) -> None:
    rows = read_jsonl(reference_run / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3]
    for row in rows:
        assert set(row) >= PINNED, PINNED - set(row)
    for step in (2, 3):  # eval steps: every 2 and the last
        assert "eval/success_rate" in rows[step - 1]
        assert "eval/success_rate/pick_and_place_simple" in rows[step - 1]
        assert rows[step - 1]["timing/eval_s"] > 0
    assert "timing/eval_s" not in rows[0]  # step 1 is no eval step
    warmup = json.loads((reference_run / "warmup.json").read_text())
    assert "eval/success_rate" in warmup and warmup["copy/loss"] > 0 and warmup["timing/copy_pretrain_s"] > 0
    assert warmup["timing/eval_s"] > 0
    assert json.loads((reference_run / "config.json").read_text())["backend"] == "grpo"
    from transformers import AutoModelForCausalLM

    AutoModelForCausalLM.from_pretrained(reference_run / "final", local_files_only=True)
    assert (reference_run / "final" / "seal_head.pt").is_file()
    assert not list(reference_run.rglob(".*.tmp*")) and not [p for p in reference_run.rglob(".*") if p.is_dir()]


def test_resume_gives_the_same_metrics(reference_run: Path) -> None:
    run = reference_run.parent / "resumed"
    run_script("--backend", "grpo", "--steps", "2", "--seed", "1", "--run-dir", str(run))
    run_script("--backend", "grpo", "--steps", "3", "--seed", "1", "--resume", str(run))
    assert comparable(read_jsonl(run / "metrics.jsonl")) == comparable(read_jsonl(reference_run / "metrics.jsonl"))


@pytest.mark.slow
def test_kill_minus_nine_then_resume_gives_the_same_metrics(reference_run: Path) -> None:
    run = reference_run.parent / "killed"
    args = [sys.executable, str(REPO / "examples" / "train_seal.py"), *SMALL]
    args += ["--steps", "3", "--seed", "1", "--run-dir", str(run)]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (run / "checkpoints" / "step_000002" / "state.json").exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_script("--steps", "3", "--seed", "1", "--resume", str(run))
    assert comparable(read_jsonl(run / "metrics.jsonl")) == comparable(read_jsonl(reference_run / "metrics.jsonl"))


def test_kl_reference_is_the_warmed_up_policy_also_after_a_resume_elsewhere(tmp_path: Path) -> None:
    kl = ("--kl-coef", "0.05", "--no-drop-zero-advantage", "--seed", "1")  # SEAL moves the policy in tied groups
    whole, first = tmp_path / "runs" / "whole", tmp_path / "runs" / "first"
    run_script(*kl, "--steps", "3", "--run-dir", str(whole))
    rows = read_jsonl(whole / "metrics.jsonl")
    # the first update starts at the reference (the warmed-up policy), not at the untrained model
    assert abs(rows[0]["actor/kl"]) < 1e-5 and rows[1]["actor/kl"] > 1e-5
    run_script(*kl, "--steps", "2", "--run-dir", str(first))
    moved = tmp_path / "elsewhere" / "run"
    moved.parent.mkdir()
    first.rename(moved)  # a resume in a folder without the tiny-model cache (runs/.models) beside it
    run_script(*kl, "--steps", "3", "--resume", str(moved))
    assert comparable(read_jsonl(moved / "metrics.jsonl")) == comparable(rows)
    assert not (moved.parent / ".models").exists()  # model and tokenizer came from the checkpoint, nothing rebuilt

    shutil.rmtree(moved / "checkpoints" / "step_000000")  # the reference's weights are gone
    config = (moved / "config.json").read_text()
    failed = run_script(*kl, "--steps", "4", "--resume", str(moved), check=False)
    assert failed.returncode != 0 and "step_000000 is missing" in failed.stderr and "--kl-coef 0" in failed.stderr
    assert (moved / "config.json").read_text() == config  # refused before touching the run folder
    run_script("--no-drop-zero-advantage", "--seed", "1", "--steps", "4", "--resume", str(moved))  # without KL
    assert [r["step"] for r in read_jsonl(moved / "metrics.jsonl")] == [1, 2, 3, 4]


def test_gigpo_without_seal_runs(reference_run: Path) -> None:
    run = reference_run.parent / "gigpo"
    run_script("--backend", "gigpo", "--seal-alpha", "0", "--steps", "1", "--seed", "1", "--run-dir", str(run))
    (row,) = read_jsonl(run / "metrics.jsonl")
    assert row["actor/seal_loss"] == 0.0 and not (run / "final" / "seal_head.pt").exists()


def test_impossible_flags_fail_at_start_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:  # tyro prints our ConfigError's message and exits 2
        parse_train_args(["--backend", "gigpo", "--group-size", "1"])
    assert exit_info.value.code == 2
    assert "Fix: --group-size 2 or more" in " ".join(capsys.readouterr().err.split())
    with pytest.raises(ConfigError, match="--preset"):
        parse_train_args(["--preset", "nope"])
    assert parse_train_args(["--preset", "paper-alfworld", "--steps", "3"]).steps == 3
    assert parse_train_args([]) == TrainConfig()


def test_unknown_env_and_missing_model_are_clear_errors(tmp_path: Path) -> None:
    bad_env = run_script("--env", "ALFWorldTxt-v0", "--run-dir", str(tmp_path / "a"), check=False)
    assert bad_env.returncode != 0 and "Did you mean 'ALFWorldText-v0'" in bad_env.stderr
    bad_model = run_script("--model", str(tmp_path / "nope"), "--run-dir", str(tmp_path / "b"), check=False)
    assert bad_model.returncode != 0 and "does not exist" in bad_model.stderr


@pytest.mark.parametrize(("field", "flag"), [("invalid_noise", "invalid-noise"), ("epsilon", "epsilon")])
def test_resume_of_a_run_older_than_a_demo_flag_keeps_its_demonstrations(field: str, flag: str) -> None:
    from agentgym_seal.backends.resume import check_resumable

    saved = json.loads(json.dumps(dataclasses.asdict(TrainConfig())))
    del saved["warmup"][field]  # config.json of a run from before the flag: its demos were made without it (0.0)
    with pytest.raises(ConfigError, match=rf"--warmup\.{flag} 0\.0"):  # other demos would rebuild the tokenizer
        check_resumable(saved, TrainConfig(warmup=WarmupConfig(**{field: 0.25}), resume="runs/x"))
    check_resumable(saved, TrainConfig(warmup=WarmupConfig(**{field: 0.0}), resume="runs/x"))
    if field == "invalid_noise":  # its default changed (0 -> 0.25): a plain resume must not pick it up
        with pytest.raises(ConfigError, match=r"--warmup\.invalid-noise 0\.0"):
            check_resumable(saved, TrainConfig(resume="runs/x"))


def test_auto_warmup_processes_start_helpers_only_for_a_long_warmup() -> None:
    from agentgym_seal.backends.warmup import warmup_processes

    assert warmup_processes(3095, 32, 5, 2) == 2  # a CPU-default-sized warm-up: 485 steps
    assert warmup_processes(40, 8, 3, 2) == 1  # a test-sized warm-up: a helper would cost more than it saves
    assert warmup_processes(3095, 32, 10, 1) == 1
    assert warmup_processes(3095, 32, 10, 4) == 4


def test_a_resume_names_the_settings_it_changes() -> None:
    from agentgym_seal.backends.resume import resume_changes

    written = TrainConfig(steps=12, penalise_inadmissible=False, run_dir="runs/x").resolved()  # an older default
    saved = json.loads(json.dumps(dataclasses.asdict(written)))  # as config.json holds it
    saved["shaping"]["beta"] = 0.5
    notes = resume_changes(saved, TrainConfig(resume="runs/x").resolved())
    assert len(notes) == 2 and "--penalise-inadmissible was False in the saved run, now True" in notes[0]
    assert "--shaping.beta was 0.5" in notes[1] and "pass --shaping.beta 0.5 to keep it" in notes[1]
    same = TrainConfig(resume="runs/x", penalise_inadmissible=False, shaping=ShapingConfig(beta=0.5)).resolved()
    assert resume_changes(saved, same) == []  # tuples vs JSON lists, and run_dir vs resume, are no change
    assert resume_changes({"steps": 12}, TrainConfig().resolved()) == []  # keys a saved config lacks are skipped
    assert resume_changes({"lr": 1e-4}, TrainConfig(lr=2e-4).resolved()) == [
        "--lr was 0.0001 in the saved run, now 0.0002 (pass --lr 0.0001 to keep it)"
    ]


def test_resume_refuses_a_config_that_changes_the_saved_state() -> None:
    from agentgym_seal.backends.resume import check_resumable

    saved = dataclasses.asdict(TrainConfig(seal_alpha=0.02))
    check_resumable(saved, TrainConfig(seal_alpha=0.05, steps=99, resume="runs/x"))  # same shapes: fine
    with pytest.raises(ConfigError, match=r"--seal-alpha 0\.02.*Fix"):
        check_resumable(saved, TrainConfig(seal_alpha=0.0, resume="runs/x"))
    with pytest.raises(ConfigError, match="--tiny-hidden-size 128"):
        check_resumable(saved, TrainConfig(tiny_hidden_size=256, resume="runs/x"))
    with pytest.raises(ConfigError, match="--tiny-copy-sequences"):  # another initial model before the warm-up
        check_resumable(saved, TrainConfig(tiny_copy_sequences=saved["tiny_copy_sequences"] + 32, resume="runs/x"))
    with pytest.raises(ConfigError, match="--tiny-copy-sequences has an impossible value -1"):  # at start
        TrainConfig(tiny_copy_sequences=-1)
    older = {k: v for k, v in saved.items() if k != "tiny_copy_sequences"}  # saved before the flag existed
    check_resumable(older, TrainConfig(resume="runs/x"))
    # The tiny model's tokenizer is trained on the warm-up demonstrations: flags that pick them must stay.
    saved_json = json.loads(json.dumps(saved))  # as config.json reads back (tuples become lists)
    check_resumable(saved_json, TrainConfig(lr=1e-5, temperature=1.0, resume="runs/x"))
    with pytest.raises(ConfigError, match=r"--warmup\.expert 'explorer'"):
        check_resumable(saved_json, TrainConfig(warmup=WarmupConfig(expert="planner"), resume="runs/x"))
    with pytest.raises(ConfigError, match="--seed 0"):
        check_resumable(saved_json, TrainConfig(seed=1, resume="runs/x"))
    own = saved_json | {"model": "models/qwen"}  # a model folder brings its own tokenizer
    check_resumable(own, TrainConfig(model="models/qwen", seed=1, resume="runs/x"))


def test_lora_kl_reference_is_the_merged_warmed_up_policy_after_warmup_and_resume(tmp_path: Path) -> None:
    import torch

    from agentgym_seal.backends.trainer import Trainer
    from agentgym_seal.models.lora import plain_state_dict

    run = tmp_path / "run"
    argv = [*SMALL, "--lora-rank", "4", "--kl-coef", "0.05", "--no-drop-zero-advantage", "--seed", "1", "--no-monitor"]
    first = Trainer(parse_train_args([*argv, "--steps", "0", "--run-dir", str(run)]))
    base = {k: v.clone() for k, v in plain_state_dict(first.model, merged=False).items()}
    first.run()  # warm-up (trains the adapters), reference reset, checkpoint 0
    warmed_up = plain_state_dict(first.model)  # merged: base + adapters
    assert first.learner.ref_model is not None
    reference = first.learner.ref_model.state_dict()
    assert all(torch.equal(reference[k], v) for k, v in warmed_up.items())
    assert any(not torch.equal(warmed_up[k], base[k]) for k in base)  # the warm-up moved the merged weights

    resumed = Trainer(parse_train_args([*argv, "--steps", "1", "--resume", str(run)]))
    resumed.run()  # reference read from checkpoint 0 (LoRA: base + adapters, merged), then one RL step
    assert resumed.learner.ref_model is not None
    reference = resumed.learner.ref_model.state_dict()
    assert all(torch.equal(reference[k], v) for k, v in warmed_up.items())
    assert any(not torch.equal(plain_state_dict(resumed.model)[k], v) for k, v in warmed_up.items())  # RL moved on


def test_a_log_gets_plain_progress_lines(tmp_path: Path) -> None:
    small = [a for a in SMALL if a != "--no-progress"] + ["--steps", "1", "--run-dir", str(tmp_path / "r")]
    out = subprocess.run(
        [sys.executable, str(REPO / "examples" / "train_seal.py"), *small],
        capture_output=True, text=True, check=True, cwd=REPO, env={**os.environ, "PYTHONHASHSEED": "0"},
    ).stdout  # fmt: skip
    lines = out.splitlines()
    assert "warm-up (SFT): started" in lines
    assert any(re.fullmatch(r"warm-up \(SFT\): (\d+)/\1 \(100%\), loss [0-9.]+, done in \d+ s", ln) for ln in lines)
    assert not any("━" in ln for ln in lines)  # no rich bar drawn into a log
