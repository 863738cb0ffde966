"""A 2-step tiny training with the monitor on: every monitor family reaches metrics.jsonl and the sinks, the
monitor's artifacts are written, and the report renders from the real run folder."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentgym_seal.logging import read_jsonl

pytest.importorskip("torch")
REPO = Path(__file__).resolve().parents[2]
SMALL = [
    "--warmup.episodes", "4", "--warmup.epochs", "2", "--eval-episodes", "2", "--batch-tasks", "2",
    "--group-size", "2", "--max-turns", "3", "--checkpoint-every", "2", "--eval-every", "2", "--no-progress",
    "--max-response-length", "12", "--tiny-copy-sequences", "0",
]  # fmt: skip
FAMILIES = ("entropy/", "phase/", "logprob/", "text/", "halluc/", "repr/", "grad/")


@pytest.mark.slow
def test_two_step_training_logs_every_monitor_family_and_renders_the_report(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    pytest.importorskip("tensorboard")
    run = tmp_path / "runs" / "monitored"
    args = ["--steps", "2", "--seed", "2", "--run-dir", str(run), "--monitor-interference-every", "2",
            "--monitor-interference-layers", "lm_head", "model.layers.3.mlp.down_proj",
            "--monitor-projection-every", "1", "--monitor-post-update-every", "1",
            "--log-sinks", "tensorboard"]  # fmt: skip
    subprocess.run(
        [sys.executable, str(REPO / "examples" / "train_seal.py"), *SMALL, *args],
        check=True, capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONHASHSEED": "0"},
    )  # fmt: skip
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2]
    for row in rows:
        for family in FAMILIES:
            assert any(k.startswith(family) for k in row), family
        assert row["entropy/token_mean"] == pytest.approx(row["actor/entropy"], rel=1e-6)  # one pass, two readers
        assert row["phase/id"] == 0.0 and row["timing/monitor_s"] > 0
        assert row["logprob/delta_all"] is not None and row["entropy/delta"] is not None
    assert rows[0]["grad/c_mean"] is None and rows[1]["grad/c_mean"] is not None  # cadence: every 2 steps
    assert len(read_jsonl(run / "monitor" / "projection.jsonl")) == 2
    (gram,) = read_jsonl(run / "monitor" / "interference.jsonl")
    assert set(gram["routes"]) == {"lm_head", "model.layers.3.mlp.down_proj"}
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    report = subprocess.run(
        [sys.executable, "-m", "agentgym_seal", "report", str(run), "-o", str(tmp_path / "report.html")],
        check=True, capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert "report:" in report.stdout
    page = (tmp_path / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') >= 11
