"""The one-file reference runs: warm-up, a rollout, GRPO advantages, PPO-clip + SEAL, an optimizer step."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("alfworld")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "grpo_seal_minimal.py"


def load_example():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("grpo_seal_minimal", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_minimal_example_trains_one_step(tmp_path: Path) -> None:
    example = load_example()
    argv = ["--steps", "1", "--batch-tasks", "2", "--group-size", "2", "--max-turns", "2", "--warmup-episodes", "4",
            "--warmup-epochs", "1", "--cache-dir", str(tmp_path)]  # fmt: skip
    rows = example.main(argv)
    assert len(rows) == 1
    row = rows[0]
    assert 0.0 <= row["success_rate"] <= 1.0 and 0.0 <= row["valid_action_ratio"] <= 1.0
    assert row["seal_loss"] > 0  # the SEAL head saw the batch (a BCE loss is positive)
    assert math.isfinite(row["pg_loss"]) and row["seconds"] > 0


def test_the_example_fits_on_a_page() -> None:
    assert len(EXAMPLE.read_text(encoding="utf-8").splitlines()) <= 300
