"""The weights a rollout worker or learner rank loads: plain transformers names, LoRA adapters merged."""

from __future__ import annotations

from typing import Any

from agentgym_seal.models.lora import plain_state_dict


def plain_weights(model: Any) -> dict[str, Any]:
    """``model``'s state dict on the CPU under plain names (adapters merged), ready for ``ray.put``."""
    return plain_state_dict(model, merged=True)
