"""Metrics of rollouts: the evaluation of the policy on the family's eval splits, and each RL step's ``train/*``."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence

import torch

from agentgym_seal.engines import SamplingParams
from agentgym_seal.rollout import Rollout, RolloutBatch

from .config import TrainConfig

_EVAL_SEED_OFFSET = 1000  # validation seeds are disjoint from training seeds (SPEC 0)


def evaluate(cfg: TrainConfig, rollouts: Mapping[str, Rollout], stop_ids: Sequence[int]) -> dict[str, float]:
    """Success per split and per task type at the eval temperature (fixed seeds, fixed sampler)."""
    clock = time.perf_counter()
    metrics: dict[str, float] = {}
    seeds = [cfg.seed + _EVAL_SEED_OFFSET + i for i in range(cfg.eval_episodes)]
    params = SamplingParams(
        temperature=cfg.eval_temperature, top_p=cfg.top_p, max_new_tokens=cfg.max_response_length,
        stop_token_ids=tuple(stop_ids), seed=cfg.seed + 7,
    )  # fmt: skip
    all_won: list[bool] = []
    for split, rollout in rollouts.items():
        batch = rollout.collect(seeds, group_size=1, sampling=params)
        per_type: dict[str, list[bool]] = defaultdict(list)
        for t in batch.trajectories:
            per_type[t.task_type].append(t.won)
            all_won.append(t.won)
        metrics[f"eval/{split}/success_rate"] = batch.success_rate
        if cfg.family.tool_calls:
            metrics[f"eval/{split}/tool_calls"] = mean([t.tool_calls for t in batch.trajectories])
        for task_type, won in per_type.items():
            metrics[f"eval/{split}/success_rate/{task_type}"] = sum(won) / len(won)
    metrics["eval/success_rate"] = sum(all_won) / max(1, len(all_won))
    for task_type in cfg.task_types:
        values = [metrics[k] for k in metrics if k.endswith(f"/success_rate/{task_type}")]
        if values:
            metrics[f"eval/success_rate/{task_type}"] = sum(values) / len(values)
    metrics["timing/eval_s"] = time.perf_counter() - clock
    return metrics


def train_metrics(batch: RolloutBatch, advantages: torch.Tensor) -> dict[str, float]:
    """``train/*`` and ``adv/*`` metrics of one rollout batch."""
    n = max(1, len(batch.samples))
    trajectories = batch.trajectories
    return {
        "train/success_rate": batch.success_rate,
        "train/episode_reward": sum(t.episode_reward for t in trajectories) / max(1, len(trajectories)),
        "train/episode_length": sum(t.length for t in trajectories) / max(1, len(trajectories)),
        "train/valid_action_ratio": sum(s.format_valid for s in batch.samples) / n,
        "train/admissible_action_ratio": sum(s.action_valid for s in batch.samples) / n,
        "train/step_samples": float(len(batch.samples)),
        "adv/mean": float(advantages.mean()) if len(advantages) else 0.0,
        "adv/nonzero_frac": float((advantages.abs() > 1e-6).float().mean()) if len(advantages) else 0.0,
    }


def mean(values: Sequence[int]) -> float:
    """The mean of ``values`` (0 for none)."""
    return sum(values) / max(1, len(values))


def summary(row: Mapping[str, float]) -> str:
    """One line of a metrics row for the console."""
    keys = ("train/success_rate", "eval/success_rate", "actor/entropy", "actor/pg_loss", "timing/rollout_s")
    shown = " ".join(f"{k}={row[k]:.3g}" for k in keys if k in row and row[k] is not None)
    return f"step {row.get('step', 0)}: {shown}"
