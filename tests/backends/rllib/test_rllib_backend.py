"""``--backend rllib`` on RLlib's new API stack (runs in .venv-rllib: `make pytest-rllib`; skips elsewhere)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray.rllib", exc_type=ImportError)
torch = pytest.importorskip("torch")

from gymnasium import spaces  # noqa: E402
from ray.rllib.core.columns import Columns  # noqa: E402

from agentgym_seal.backends.rllib.module import DRRNModule  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
PINNED = {"step", "train/success_rate", "train/episode_reward", "train/valid_action_ratio", "timing/rollout_s"}


def test_drrn_module_puts_no_mass_on_masked_slots_and_values_one_per_row() -> None:
    k, d = 6, 16
    space = spaces.Dict(
        {
            "state": spaces.Box(-1, 1, (3 * d,), np.float32),
            "choices": spaces.Box(-1, 1, (k, d), np.float32),
            "action_mask": spaces.Box(0, 1, (k,), np.float32),
        }
    )
    module = DRRNModule(observation_space=space, action_space=spaces.Discrete(k), model_config={"hidden": 32})
    mask = torch.tensor([[1, 1, 0, 1, 0, 0], [1, 0, 0, 0, 0, 0]], dtype=torch.float32)
    obs = {"state": torch.randn(2, 3 * d), "choices": torch.randn(2, k, d), "action_mask": mask}
    out = module.forward_exploration({Columns.OBS: obs})
    probs = out[Columns.ACTION_DIST_INPUTS].softmax(-1)
    assert probs.shape == (2, k) and torch.all(probs[mask == 0] < 1e-12)
    assert float(probs[1, 0]) == pytest.approx(1.0)
    assert module.compute_values({Columns.OBS: obs}).shape == (2,)


@pytest.mark.slow
def test_rllib_backend_learns_an_easy_alfworld_setting_and_writes_the_run_folder(tmp_path: Path) -> None:
    # Easy: one tiny-room pick_and_place game, 8 envs, 20 turns (a random policy wins ~5% of episodes).
    run = tmp_path / "run"
    steps = 16
    cmd = [
        sys.executable, str(ROOT / "examples" / "train_seal.py"), "--backend", "rllib", "--steps", str(steps),
        "--seed", "0", "--run-dir", str(run), "--train-games-per-type", "1", "--batch-tasks", "1",
        "--group-size", "8", "--max-turns", "20", "--eval-episodes", "2", "--eval-every", str(steps),
        "--checkpoint-every", str(steps), "--no-progress",
    ]  # fmt: skip
    subprocess.run(cmd, check=True, cwd=tmp_path, timeout=1200)
    config = json.loads((run / "config.json").read_text())
    assert config["backend"] == "rllib" and config["rllib"]["featurizer"] == "hashing"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, steps + 1))
    assert all(set(r) >= PINNED for r in rows) and "eval/success_rate" in rows[-1]
    assert all(r["train/valid_action_ratio"] == 1.0 for r in rows)  # only admissible actions are ever picked
    assert "eval/success_rate" in json.loads((run / "warmup.json").read_text())
    assert (run / "final").is_dir() and (run / "checkpoints" / f"step_{steps:06d}").is_dir()
    returns = [r["train/episode_reward"] for r in rows]
    assert np.mean(returns[-3:]) > np.mean(returns[:3]) + 2.0  # win reward is 10: clearly more wins
