"""Entropy-based tool-use rewards (our reading of arXiv 2602.02050, SPEC 5)."""

import math

import pytest

from agentgym_seal import tool_rewards
from agentgym_seal.environments.searchqa.rewards import (
    ToolCallEntropy,
    dense_process_rewards,
    mean_entropy,
    sparse_outcome_reward,
    tool_call_entropies,
)
from agentgym_seal.errors import ConfigError


def test_mean_entropy_ignores_non_finite() -> None:
    assert mean_entropy([1.0, 3.0, math.nan]) == 2.0
    assert math.isnan(mean_entropy([]))


def test_tool_call_entropies_pairs_each_call_with_the_next_turn() -> None:
    turns = [[2.0, 2.0], [1.0, 0.5], [3.0], [0.2]]
    calls = tool_call_entropies(turns, [True, False, True, True])  # the last turn's call has no "after"
    assert calls == [ToolCallEntropy(2.0, 0.75), ToolCallEntropy(3.0, 0.2)]
    assert calls[0].reduction == pytest.approx(1.25)
    windowed = tool_call_entropies([[9.0, 1.0], [1.0, 9.0]], [True, False], window=1)
    assert windowed == [ToolCallEntropy(1.0, 1.0)]
    assert tool_call_entropies([[], [1.0]], [True, False]) == []  # no finite entropy before: skipped
    with pytest.raises(ConfigError):
        tool_call_entropies([[1.0]], [True, False])
    with pytest.raises(ConfigError):
        tool_call_entropies([[1.0]], [True], window=0)


def test_dense_process_rewards() -> None:
    calls = [ToolCallEntropy(2.0, 0.5), ToolCallEntropy(0.5, 3.0)]
    assert dense_process_rewards(calls, coef=0.1) == pytest.approx([0.15, -0.25])
    assert dense_process_rewards(calls, coef=1.0, mode="sign") == [1.0, -1.0]
    assert dense_process_rewards(calls, coef=1.0, mode="clip", clip=1.0) == [1.0, -1.0]
    with pytest.raises(ConfigError):
        dense_process_rewards(calls, mode="square")  # type: ignore[arg-type]


def test_sparse_outcome_reward_prefers_fewer_useless_calls() -> None:
    useful, useless = ToolCallEntropy(2.0, 1.0), ToolCallEntropy(1.0, 2.0)
    assert sparse_outcome_reward(1.0, []) == 1.0  # correct without tools: full reward
    assert sparse_outcome_reward(1.0, [useful]) == 1.0
    assert sparse_outcome_reward(1.0, [useful, useless]) == pytest.approx(0.75)
    assert sparse_outcome_reward(1.0, [useless]) == pytest.approx(0.5)
    assert sparse_outcome_reward(0.0, [useful]) == 0.0  # entropy alone never pays
    with pytest.raises(ConfigError):
        sparse_outcome_reward(1.0, [], beta=2.0)


def test_searchqa_reexports_the_shared_functions() -> None:
    assert sparse_outcome_reward is tool_rewards.sparse_outcome_reward
    assert dense_process_rewards is tool_rewards.dense_process_rewards
