"""The trainer's reward shapers (--reward-shaper): how the entropy tool-use rewards rewrite a rollout batch."""

from typing import Any

import pytest

from agentgym_seal.backends.config import TrainConfig
from agentgym_seal.backends.reward_shaping import (
    REWARD_SHAPERS,
    ShapingConfig,
    build_shaper,
    call_metrics,
)
from agentgym_seal.errors import AgentGymError, ConfigError
from agentgym_seal.rollout import RolloutBatch, StepSample, TrajectorySummary

pytest.importorskip("torch")


def sample(traj: int, step: int, reward: float, entropies: tuple[float, ...] | None, tool_call: bool) -> StepSample:
    return StepSample(
        prompt_ids=(1,), response_ids=(2,) * len(entropies or (0.0,)), old_logprobs=(-1.0,) * len(entropies or (0.0,)),
        response_text="", env_reward=reward, format_valid=True, action_valid=True, uid=0, traj_uid=traj, step=step,
        anchor="", entropies=entropies, tool_call=tool_call,
    )  # fmt: skip


def batch() -> RolloutBatch:
    """Trajectory 0: a useful call (2.0 -> 1.0), a useless one (1.0 -> 1.5), a correct answer.
    Trajectory 1: one useful call (3.0 -> 1.0), a correct answer. Trajectory 2: answers wrong, no call.
    The samples of the trajectories are interleaved, as the rollout writes them."""
    samples = (
        sample(0, 0, 0.0, (2.0, 2.0), True),
        sample(1, 0, 0.0, (3.0,), True),
        sample(2, 0, 0.0, (0.5,), False),
        sample(0, 1, 0.0, (1.0, 1.0), True),
        sample(1, 1, 1.0, (1.0,), False),
        sample(0, 2, 1.0, (1.5,), False),
    )
    trajectories = tuple(
        TrajectorySummary(uid=0, traj_uid=t, seed=0, won=won, episode_reward=r, length=n, task_type="x", tool_calls=c)
        for t, won, r, n, c in ((0, True, 1.0, 3, 2), (1, True, 1.0, 2, 1), (2, False, 0.0, 1, 0))
    )
    return RolloutBatch(samples, trajectories)


def rewards(b: RolloutBatch) -> list[float]:
    return [s.env_reward for s in b.samples]


def test_none_leaves_the_batch_and_logs_the_calls() -> None:
    shaped, metrics = REWARD_SHAPERS.get("none")(ShapingConfig())(batch())
    assert shaped == batch()
    assert metrics == {"shaping/scored_calls": 3.0, "shaping/entropy_reduction": pytest.approx((1.0 - 0.5 + 2.0) / 3),
                       "shaping/reducing_call_frac": pytest.approx(2 / 3)}  # fmt: skip


def test_dense_adds_coef_times_the_reduction_on_each_call_step() -> None:
    shaped, metrics = REWARD_SHAPERS.get("entropy-dense")(ShapingConfig(coef=0.1))(batch())
    assert rewards(shaped) == pytest.approx([0.1, 0.2, 0.0, -0.05, 1.0, 1.0])
    assert [t.episode_reward for t in shaped.trajectories] == pytest.approx([1.05, 1.2, 0.0])
    assert [t.won for t in shaped.trajectories] == [True, True, False]  # success is not shaped
    assert metrics["shaping/reward_delta"] == pytest.approx((0.05 + 0.2) / 3)
    signed, _ = REWARD_SHAPERS.get("entropy-dense")(ShapingConfig(coef=0.1, mode="sign"))(batch())
    assert rewards(signed) == pytest.approx([0.1, 0.1, 0.0, -0.1, 1.0, 1.0])


def test_sparse_scales_the_return_by_the_share_of_reducing_calls() -> None:
    shaped, _ = REWARD_SHAPERS.get("entropy-sparse")(ShapingConfig(beta=0.5))(batch())
    # traj 0: q = 1/2 -> 1 * (1 - 0.5 * 0.5) = 0.75, on its last step; traj 1: q = 1 -> 1; traj 2: wrong -> 0
    assert rewards(shaped) == pytest.approx([0.0, 0.0, 0.0, 0.0, 1.0, 0.75])
    assert [t.episode_reward for t in shaped.trajectories] == pytest.approx([0.75, 1.0, 0.0])
    windowed, _ = REWARD_SHAPERS.get("entropy-sparse")(ShapingConfig(beta=1.0, window=1))(batch())
    assert windowed.trajectories[0].episode_reward == pytest.approx(0.5)


def test_shaped_rewards_reach_the_advantages() -> None:
    from agentgym_seal.backends.learner import advantage_inputs

    shaped, _ = REWARD_SHAPERS.get("entropy-sparse")(ShapingConfig(beta=0.5))(batch())
    assert advantage_inputs(shaped).episode_rewards.tolist() == pytest.approx([0.75, 1.0, 0.0, 0.75, 1.0, 0.75])


def test_a_call_on_the_last_turn_is_not_scored() -> None:
    b = RolloutBatch((sample(0, 0, 0.0, (1.0,), True),), batch().trajectories[:1])
    assert call_metrics(b)["shaping/scored_calls"] == 0.0
    shaped, _ = REWARD_SHAPERS.get("entropy-sparse")(ShapingConfig())(b)
    assert rewards(shaped) == [0.0]


class NoEntropyEngine:
    provides_entropies = False


def test_start_checks_name_the_fix() -> None:
    hf: Any = type("HF", (), {"provides_entropies": True})()
    with pytest.raises(ConfigError, match=r"does not provide them.*Fix"):
        build_shaper("entropy-sparse", ShapingConfig(), engine=NoEntropyEngine(), tool_calls=True, env_id="SearchQA-v0")
    with pytest.raises(ConfigError, match=r"ALFWorldText-v0 makes none.*Fix"):
        build_shaper("entropy-dense", ShapingConfig(), engine=hf, tool_calls=False, env_id="ALFWorldText-v0")
    assert build_shaper("none", ShapingConfig(), engine=NoEntropyEngine(), tool_calls=False, env_id="x")
    with pytest.raises(ConfigError, match=r"reward-shaper.*Did you mean 'entropy-sparse'"):
        TrainConfig(reward_shaper="entropy-spars")
    with pytest.raises(ConfigError, match="beta"):
        ShapingConfig(beta=1.5)


def test_missing_entropies_in_a_batch_are_a_clear_error() -> None:
    b = RolloutBatch((sample(0, 0, 0.0, None, True), sample(0, 1, 1.0, None, False)), batch().trajectories[:1])
    with pytest.raises(AgentGymError, match=r"recorded none.*Fix"):
        REWARD_SHAPERS.get("entropy-dense")(ShapingConfig())(b)
    assert call_metrics(b) == {}  # diagnostics are skipped, not an error
