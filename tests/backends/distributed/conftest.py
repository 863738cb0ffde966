"""A local Ray cluster of 2 CPUs per test module (Ray starts in ~2 s) and a synthetic rollout batch."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from typing import Any

import pytest

from agentgym_seal.rollout import RolloutBatch, StepSample, TrajectorySummary


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def synthetic_batch(vocab: int, *, groups: int = 2, group_size: int = 2, seed: int = 0) -> RolloutBatch:
    """``groups`` x ``group_size`` trajectories of 1-3 steps; the first trajectory of each group wins."""
    rng = random.Random(seed)
    samples, trajectories = [], []
    for uid in range(groups):
        for j in range(group_size):
            traj = uid * group_size + j
            won = j == 0
            length = rng.randint(1, 3)
            for step in range(length):
                samples.append(
                    StepSample(
                        prompt_ids=tuple(rng.randrange(3, vocab) for _ in range(rng.randint(5, 12))),
                        response_ids=tuple(rng.randrange(3, vocab) for _ in range(rng.randint(2, 6))),
                        old_logprobs=(),
                        response_text="x",
                        env_reward=float(won and step == length - 1),
                        format_valid=rng.random() > 0.2,
                        action_valid=True,
                        uid=uid,
                        traj_uid=traj,
                        step=step,
                        anchor=f"obs {uid} {step}",
                    )
                )
            trajectories.append(TrajectorySummary(uid, traj, 100 + uid, won, float(won), length, "t"))
    samples.sort(key=lambda s: (s.step, s.traj_uid))
    return RolloutBatch(tuple(samples), tuple(trajectories))


@pytest.fixture
def make_batch() -> Any:
    """The :func:`synthetic_batch` builder."""
    return synthetic_batch
