"""examples/train_seal.py with Ray rollout workers writes the single-process run folder; LoRA runs and resumes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agentgym_seal.logging import read_jsonl

pytest.importorskip("torch")
pytest.importorskip("ray")
REPO = Path(__file__).resolve().parents[3]
SMALL = [
    "--warmup.episodes", "4", "--warmup.epochs", "2", "--eval-episodes", "2", "--batch-tasks", "2",
    "--group-size", "2", "--max-turns", "3", "--checkpoint-every", "1", "--eval-every", "2", "--no-progress",
    "--max-response-length", "12", "--backend", "grpo", "--seed", "1",
    "--tiny-copy-sequences", "0",
]  # fmt: skip


def run_script(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": "0", "RAY_AUTH_MODE": "disabled"}
    return subprocess.run(
        [sys.executable, str(REPO / "examples" / "train_seal.py"), *SMALL, *args],
        capture_output=True, text=True, check=check, cwd=REPO, env=env,
    )  # fmt: skip


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if not k.startswith(("timing/", "ray/"))} for r in rows]


def files(run: Path) -> list[str]:
    return sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())


@pytest.mark.slow
def test_two_rollout_workers_write_the_single_process_run_folder(tmp_path: Path) -> None:
    single, workers = tmp_path / "single", tmp_path / "workers"
    run_script("--steps", "2", "--run-dir", str(single))
    run_script("--steps", "2", "--num-workers", "2", "--run-dir", str(workers))
    assert files(single) == files(workers)
    rows = read_jsonl(workers / "metrics.jsonl")
    assert comparable(rows) == comparable(read_jsonl(single / "metrics.jsonl"))
    assert all(r["ray/worker_restarts"] == 0 and r["ray/sync_s"] > 0 for r in rows)
    warmup = [json.loads((run / "warmup.json").read_text()) for run in (single, workers)]
    plain = [{k: v for k, v in w.items() if not k.startswith("timing/")} for w in warmup]
    assert plain[0] == plain[1]
    configs = [json.loads((run / "config.json").read_text()) for run in (single, workers)]
    assert {k for k in configs[0] if configs[0][k] != configs[1][k]} == {"num_workers", "run_dir"}
    from safetensors.torch import load_file

    a, b = (load_file(run / "final" / "model.safetensors") for run in (single, workers))
    assert a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)


@pytest.mark.slow
def test_lora_with_workers_runs_resumes_and_saves_a_merged_final(tmp_path: Path) -> None:
    run = tmp_path / "lora"
    run_script("--steps", "1", "--lora-rank", "4", "--num-workers", "2", "--run-dir", str(run))
    assert (run / "checkpoints" / "step_000001" / "model" / "adapter" / "adapter_config.json").is_file()
    run_script("--steps", "2", "--lora-rank", "4", "--num-workers", "2", "--resume", str(run))
    assert [r["step"] for r in read_jsonl(run / "metrics.jsonl")] == [1, 2]
    from transformers import AutoModelForCausalLM

    AutoModelForCausalLM.from_pretrained(run / "final", local_files_only=True)
    assert (run / "final" / "adapter").is_dir() and (run / "final" / "seal_head.pt").is_file()
    changed = run_script("--steps", "3", "--lora-rank", "8", "--resume", str(run), check=False)
    assert changed.returncode != 0 and "--lora-rank 4" in changed.stderr


@pytest.mark.slow
def test_a_ray_address_nobody_answers_stops_the_script_with_the_fix(tmp_path: Path) -> None:
    start = time.monotonic()
    out = run_script(
        "--num-workers", "1", "--ray-address", "127.0.0.1:9", "--run-dir", str(tmp_path / "r"), check=False
    )
    assert out.returncode == 2 and "no Ray cluster answers at --ray-address 127.0.0.1:9" in out.stderr
    assert "ray start --head" in " ".join(out.stderr.split())
    assert time.monotonic() - start < 120


@pytest.mark.slow
def test_fsdp2_learners_and_a_collective_weight_sync_train_and_resume(tmp_path: Path) -> None:
    run = tmp_path / "fsdp2"
    flags = [
        "--num-learners",
        "2",
        "--learner-sharding",
        "fsdp2",
        "--no-monitor",
        "--num-workers",
        "1",
        "--weight-sync",
        "collective",
        "--ppo-epochs",
        "2",
        "--no-drop-zero-advantage",
    ]  # fmt: skip (every sample trains: the entropy bonus moves the shards)
    run_script("--steps", "1", *flags, "--run-dir", str(run))
    run_script("--steps", "2", *flags, "--resume", str(run))  # the checkpoint's optimizer state, by name
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2]
    assert all(r["ray/sync_s"] > 0 and r["ray/worker_restarts"] == 0 for r in rows)
    assert all(r["actor/trained_samples"] > 0 and r["actor/grad_norm"] > 0 and r["actor/skipped_steps"] == 0
               for r in rows)  # fmt: skip
    from transformers import AutoModelForCausalLM

    AutoModelForCausalLM.from_pretrained(run / "final", local_files_only=True)
    monitor = run_script("--steps", "1", *flags[:4], "--run-dir", str(tmp_path / "m"), check=False)
    assert monitor.returncode != 0 and "--no-monitor" in monitor.stderr
