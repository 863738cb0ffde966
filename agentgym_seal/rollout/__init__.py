"""Rollout: prompts with a history window, batched multi-turn group rollout, step samples."""

from agentgym_seal.rollout.batch import RolloutBatch, StepSample, TrajectorySummary
from agentgym_seal.rollout.group import GroupRollout, RolloutConfig
from agentgym_seal.rollout.protocol import Rollout

__all__ = ["GroupRollout", "Rollout", "RolloutBatch", "RolloutConfig", "StepSample", "TrajectorySummary"]
