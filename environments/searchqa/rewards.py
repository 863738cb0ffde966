"""The entropy-based tool-use rewards (arXiv 2602.02050, OUR READING, UNVERIFIED), re-exported for search agents.

They live in :mod:`agentgym_seal.tool_rewards` (torch-free, shared with the trainer's reward shapers).
"""

from agentgym_seal.tool_rewards import (
    DenseMode,
    ToolCallEntropy,
    dense_process_rewards,
    mean_entropy,
    sparse_outcome_reward,
    tool_call_entropies,
)

__all__ = [
    "DenseMode",
    "ToolCallEntropy",
    "dense_process_rewards",
    "mean_entropy",
    "sparse_outcome_reward",
    "tool_call_entropies",
]
