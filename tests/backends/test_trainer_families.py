"""examples/train_seal.py end to end on the non-ALFWorld families (SearchQA with an entropy shaper, WebShop)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentgym_seal.logging import read_jsonl

pytest.importorskip("torch")
REPO = Path(__file__).resolve().parents[2]
SMALL = [
    "--steps", "2", "--warmup.episodes", "4", "--warmup.epochs", "2", "--eval-episodes", "2", "--batch-tasks", "2",
    "--group-size", "2", "--max-turns", "3", "--eval-every", "2", "--checkpoint-every", "2", "--no-progress",
    "--max-response-length", "12", "--no-monitor", "--tiny-copy-sequences", "0",
]  # fmt: skip


def train(run: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "examples" / "train_seal.py"), *SMALL, "--run-dir", str(run), *args],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONHASHSEED": "0"},
    )  # fmt: skip


def test_searchqa_trains_with_the_sparse_entropy_reward(tmp_path: Path) -> None:
    done = train(tmp_path / "run", "--env", "SearchQA-v0", "--reward-shaper", "entropy-sparse")
    assert done.returncode == 0, done.stderr
    rows = read_jsonl(tmp_path / "run" / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2]
    for row in rows:
        assert {"train/tool_calls", "shaping/reward_delta", "train/success_rate"} <= set(row)
    assert {"eval/success_rate", "eval/test/success_rate", "eval/test/tool_calls"} <= set(rows[-1])
    warmup = json.loads((tmp_path / "run" / "warmup.json").read_text())
    assert "eval/test/success_rate" in warmup and "eval/valid_seen/success_rate" not in warmup


@pytest.mark.slow
def test_webshop_trains_and_evaluates_on_its_eval_goals(tmp_path: Path) -> None:
    done = train(tmp_path / "run", "--env", "WebShopText-v0", "--steps", "1")
    assert done.returncode == 0, done.stderr
    (row,) = read_jsonl(tmp_path / "run" / "metrics.jsonl")
    assert {"eval/success_rate", "eval/test/success_rate"} <= set(row) and "train/tool_calls" not in row


def test_entropy_shaper_on_an_env_without_tool_calls_fails_at_start(tmp_path: Path) -> None:
    done = train(tmp_path / "run", "--reward-shaper", "entropy-dense")
    assert done.returncode == 2 and "ALFWorldText-v0 makes none" in done.stderr and "Fix" in done.stderr
