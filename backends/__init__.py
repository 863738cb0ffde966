"""Learner backends of agentgym_seal, installed as ``agentgym_seal.backends``.

Importing this package imports torch (``import agentgym_seal`` alone does not). It holds the pure
algorithm functions (advantage estimators, policy losses, the SEAL head) and their registries.
"""

if __name__ != "agentgym_seal.backends":
    raise ImportError(
        f"this folder is installed as 'agentgym_seal.backends', but it was imported as {__name__!r}. "
        "Fix: import agentgym_seal.backends (and run pytest with --import-mode=importlib)."
    )

from .advantages import (
    ADVANTAGE_ESTIMATORS,
    AdvantageConfig,
    AdvantageEstimator,
    AdvantageInputs,
    GiGPOConfig,
    GRPOConfig,
    compute_advantages,
    gigpo_advantages,
    group_stats,
    grpo_advantages,
)
from .losses import (
    POLICY_LOSSES,
    ClipCovConfig,
    KLCovConfig,
    PolicyLoss,
    PolicyLossConfig,
    PolicyLossInputs,
    PPOClipConfig,
    agg_loss,
    chunked_entropy,
    clip_cov_loss,
    compute_policy_loss,
    entropy_from_logits,
    kl_cov_loss,
    kl_penalty,
    ppo_clip_loss,
    seal_loss,
)
from .seal import SEALConfig, SEALHead, seal_labels

__all__ = [
    "ADVANTAGE_ESTIMATORS",
    "POLICY_LOSSES",
    "AdvantageConfig",
    "AdvantageEstimator",
    "AdvantageInputs",
    "ClipCovConfig",
    "GRPOConfig",
    "GiGPOConfig",
    "KLCovConfig",
    "PPOClipConfig",
    "PolicyLoss",
    "PolicyLossConfig",
    "PolicyLossInputs",
    "SEALConfig",
    "SEALHead",
    "agg_loss",
    "chunked_entropy",
    "clip_cov_loss",
    "compute_advantages",
    "compute_policy_loss",
    "entropy_from_logits",
    "gigpo_advantages",
    "group_stats",
    "grpo_advantages",
    "kl_cov_loss",
    "kl_penalty",
    "ppo_clip_loss",
    "seal_labels",
    "seal_loss",
]
