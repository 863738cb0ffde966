"""The ``--rllib.*`` flags: parsed in the main env (no Ray), and they reach the runner's PPO config (.venv-rllib)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentgym_seal.backends.config import TrainConfig, parse_train_args
from agentgym_seal.backends.rllib import RLlibOptions

ROOT = Path(__file__).resolve().parents[3]
FLAGS = [
    "--backend", "rllib", "--rllib.lr", "0.005", "--rllib.featurizer", "hashing", "--rllib.feature-dim", "64",
    "--rllib.max-actions", "8", "--rllib.hidden", "16", "--rllib.entropy-coeff", "0.02", "--rllib.num-epochs", "2",
    "--rllib.minibatch-size", "16", "--rllib.lambda_", "0.9", "--rllib.num-cpus", "1",
]  # fmt: skip
PARSED = RLlibOptions(
    lr=0.005, featurizer="hashing", feature_dim=64, max_actions=8, hidden=16, entropy_coeff=0.02, num_epochs=2,
    minibatch_size=16, lambda_=0.9, num_cpus=1,
)  # fmt: skip


def test_every_rllib_option_is_a_flag() -> None:
    assert parse_train_args(FLAGS).rllib == PARSED
    assert parse_train_args([]).rllib == RLlibOptions() == TrainConfig().rllib


def test_the_cli_parses_and_documents_the_flags_without_importing_ray() -> None:
    code = (
        "import sys; from agentgym_seal.backends.config import parse_train_args; "
        f"cfg = parse_train_args({FLAGS!r}); print(cfg.rllib.lr, cfg.rllib.lambda_, 'ray' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.split() == ["0.005", "0.9", "False"]
    shown = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_seal.py"), "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert shown.returncode == 0, shown.stderr
    for flag in ("--rllib.lr", "--rllib.featurizer", "--rllib.num-epochs", "--rllib.lambda_", "--rllib.max-actions"):
        assert flag in shown.stdout


def test_bad_rllib_options_fail_at_parse(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, expected in [
        (["--rllib.featurizer", "hash"], "Did you mean 'hashing'?"),
        (["--rllib.lambda_", "1.5"], "--rllib.lambda_ has an impossible value 1.5"),
        (["--rllib.max-actions", "1"], "--rllib.max-actions has an impossible value 1"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            parse_train_args(["--backend", "rllib", *argv])
        assert exit_info.value.code == 2
        assert expected in " ".join(capsys.readouterr().err.replace("│", " ").split())


def test_rllib_flags_reach_the_runners_ppo_config(tmp_path: Path) -> None:
    pytest.importorskip("ray.rllib", exc_type=ImportError)  # .venv-rllib only (`make pytest-rllib`)
    from agentgym_seal.backends.rllib.runner import RLlibRunner, ppo_config

    cfg = parse_train_args([*FLAGS, "--batch-tasks", "1", "--group-size", "2", "--run-dir", str(tmp_path / "run")])
    runner = RLlibRunner(cfg)
    assert runner.options == PARSED and runner.cfg.max_turns == 10  # resolved: the ALFWorld family's limit
    config = ppo_config(runner.cfg, runner.options)
    assert (config.lr, config.num_epochs, config.minibatch_size, config.lambda_) == (0.005, 2, 16, 0.9)
    assert config.entropy_coeff == 0.02 and config.rollout_fragment_length == 10
    assert config.train_batch_size_per_learner == 2 * 10
    assert config.rl_module_spec.model_config == {"hidden": 16}
    assert {k: config.env_config[k] for k in ("max_actions", "feature_dim", "featurizer", "max_turns")} == {
        "max_actions": 8, "feature_dim": 64, "featurizer": "hashing", "max_turns": 10,
    }  # fmt: skip
    explicit = RLlibOptions(lr=0.1)  # the Python API's options still win over the flags
    assert RLlibRunner(cfg, explicit).options == explicit
