"""Ray rollout workers: same samples as one process, weight sync, and recovery from a killed worker."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from agentgym_seal.engines import HFEngine, SamplingParams
from agentgym_seal.rollout import GroupRollout, RolloutBatch, RolloutConfig

torch = pytest.importorskip("torch")
pytest.importorskip("ray")

from agentgym_seal.backends.advantages import GiGPOConfig, GRPOConfig, compute_advantages  # noqa: E402
from agentgym_seal.backends.distributed import (  # noqa: E402
    ClusterConfig,
    DistributedError,
    RayGroupRollout,
    RolloutPool,
    split_groups,
)
from agentgym_seal.backends.learner import advantage_inputs  # noqa: E402

SEEDS = [21, 22, 23]  # three groups over two workers: an uneven split


def rollout_cfg(tok: Any) -> RolloutConfig:
    stop = (tok.convert_tokens_to_ids("</action>"), tok.eos_token_id)
    return RolloutConfig(
        env_kwargs={"difficulty": "tiny", "task_types": ["pick_and_place_simple"]},
        group_size=2,
        max_turns=3,
        max_prompt_length=400,
        sampling=SamplingParams(temperature=1.0, max_new_tokens=10, stop_token_ids=stop, seed=5),
    )


def local_batch(model: Any, tok: Any, seeds: list[int]) -> RolloutBatch:
    cfg = rollout_cfg(tok)
    rollout = GroupRollout(cfg, HFEngine(model, tok.pad_token_id), tok, num_envs=len(seeds) * cfg.group_size)
    try:
        return rollout.collect(seeds)
    finally:
        rollout.close()


def assert_same_batch(a: RolloutBatch, b: RolloutBatch) -> None:
    assert a.trajectories == b.trajectories
    assert len(a.samples) == len(b.samples)
    for x, y in zip(a.samples, b.samples, strict=True):
        # log-probs come from a batch of another shape: equal to float32 rounding, the tokens exactly
        assert dataclasses.replace(x, old_logprobs=(), entropies=None) == dataclasses.replace(
            y, old_logprobs=(), entropies=None
        )
        assert x.old_logprobs == pytest.approx(y.old_logprobs, abs=1e-5)
    for estimator in (GRPOConfig(), GiGPOConfig()):
        assert torch.equal(
            compute_advantages(advantage_inputs(a), estimator), compute_advantages(advantage_inputs(b), estimator)
        )


@pytest.fixture(scope="module")
def pool(ray_cluster: Any, tiny_policy: Any) -> Iterator[RolloutPool]:
    model, tok = tiny_policy
    pool = RolloutPool(model, tok, num_workers=2, cluster=ClusterConfig(call_timeout_s=300))
    yield pool
    pool.close()


def test_split_groups_is_contiguous_and_even() -> None:
    assert split_groups(3, 2) == [(0, 2), (2, 1)]
    assert split_groups(1, 2) == [(0, 1)]
    assert split_groups(4, 4) == [(0, 1), (1, 1), (2, 1), (3, 1)]


def test_two_workers_give_the_single_process_samples_and_advantages(pool: RolloutPool, tiny_policy: Any) -> None:
    model, tok = tiny_policy
    expected = local_batch(model, tok, SEEDS)
    got = RayGroupRollout(pool, "train", rollout_cfg(tok), num_envs=6).collect(SEEDS)
    assert_same_batch(expected, got)
    assert {s.uid for s in got.samples} == {0, 1, 2}


def test_weight_sync_reaches_every_worker(pool: RolloutPool, tiny_policy: Any) -> None:
    model, tok = tiny_policy
    changed = type(model)(model.config)
    changed.load_state_dict(model.state_dict())
    with torch.no_grad():
        changed.lm_head.weight.mul_(3.0)  # tied to the embedding: a clearly different policy
    rollout = RayGroupRollout(pool, "train", rollout_cfg(tok), num_envs=6)
    before = rollout.collect(SEEDS)
    rollout.sync_weights(changed)
    try:
        after = rollout.collect(SEEDS)
        assert_same_batch(local_batch(changed, tok, SEEDS), after)
        assert [s.response_ids for s in before.samples] != [s.response_ids for s in after.samples]
        assert rollout.metrics()["ray/sync_s"] > 0
    finally:
        rollout.sync_weights(model)


def _kill_when_generating(pool: RolloutPool, index: int, how: str) -> threading.Thread:
    """Kills worker ``index`` once it has generated tokens in the coming collect (mid-rollout)."""
    actor = pool.actor(index)
    pid = pool.pids()[index]
    start = pool.ray.get(actor.progress.remote(), timeout=30)

    def kill() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if pool.ray.get(actor.progress.remote(), timeout=30) > start:
                if how == "sigkill":
                    os.kill(pid, signal.SIGKILL)
                else:
                    pool.ray.kill(actor, no_restart=True)
                return
            time.sleep(0.005)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("how", ["sigkill", "ray.kill"])
def test_a_worker_killed_mid_rollout_is_restarted_and_its_groups_rerun(
    pool: RolloutPool, tiny_policy: Any, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    model, tok = tiny_policy
    seeds = [31, 32, 33, 34]
    expected = local_batch(model, tok, seeds)
    restarts = pool.restarts
    rollout = RayGroupRollout(pool, f"kill-{how}", rollout_cfg(tok), num_envs=8)  # fresh envs: a long first call
    killer = _kill_when_generating(pool, 1, how)
    with caplog.at_level(logging.WARNING, logger="agentgym_seal.backends.distributed.rollout"):
        got = rollout.collect(seeds)
    killer.join(timeout=60)
    assert pool.restarts == restarts + 1
    assert rollout.metrics()["ray/worker_restarts"] == restarts + 1
    assert "rollout worker 1 died" in caplog.text and "restarting" in caplog.text
    assert_same_batch(expected, got)  # whole groups only, the same samples as without the fault


def test_a_call_past_its_deadline_is_a_clear_error(pool: RolloutPool, tiny_policy: Any) -> None:
    _, tok = tiny_policy
    pool.cluster = dataclasses.replace(pool.cluster, call_timeout_s=0.05)
    rollout = RayGroupRollout(pool, "slow", rollout_cfg(tok), num_envs=6)
    start = time.monotonic()
    with pytest.raises(DistributedError, match=r"did not finish their groups within 0\.05 s.*Fix: raise --ray-timeout"):
        rollout.collect(SEEDS)
    assert time.monotonic() - start < 30
