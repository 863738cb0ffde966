"""Policy-loss math as pure functions: dual-clip PPO, KL estimators, Clip-Cov, KL-Cov, SEAL, and their registry.

Shapes: ``B`` step samples (one response each), ``T`` response tokens, ``V`` vocabulary. ``mask`` is the
response mask (1 = generated token). Loss functions return ``(loss, metrics)`` with scalar metrics as
Python floats; per-token quantities (KL, entropy) are returned as tensors. :func:`agg_loss` (in
``aggregation``) and the entropy functions (in ``entropy``) are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal, TypeAlias, get_args

import torch
import torch.nn.functional as F
from torch import Tensor

from agentgym_seal.registry import Registry

from ._checks import check_option, check_range, check_same_shape, expect_config
from .aggregation import AGG_MODES, AggMode, Metrics, agg_loss, check_loss_inputs, masked_mean, per_token_values
from .entropy import chunked_entropy, entropy_from_logits

__all__ = [
    "AGG_MODES",
    "KL_KINDS",
    "POLICY_LOSSES",
    "AggMode",
    "ClipCovConfig",
    "KLCovConfig",
    "KLKind",
    "Metrics",
    "PPOClipConfig",
    "PolicyLoss",
    "PolicyLossConfig",
    "PolicyLossInputs",
    "agg_loss",
    "chunked_entropy",
    "clip_cov_loss",
    "compute_policy_loss",
    "entropy_from_logits",
    "kl_cov_loss",
    "kl_penalty",
    "masked_mean",
    "ppo_clip_loss",
    "seal_loss",
]

KLKind = Literal["k1", "kl", "abs", "k2", "mse", "k3", "low_var_kl"]
KL_KINDS: tuple[KLKind, ...] = get_args(KLKind)


def ppo_clip_loss(
    logprobs: Tensor,
    old_logprobs: Tensor,
    advantages: Tensor,
    mask: Tensor,
    *,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    clip_c: float = 3.0,
    agg: AggMode = "token-mean",
) -> tuple[Tensor, Metrics]:
    """PPO-clip with the dual clip for negative advantages (SPEC 1.3, verl ``compute_policy_loss``).

    Args:
        logprobs: ``(B, T)`` log π_θ of the response tokens (with grad).
        old_logprobs: ``(B, T)`` log π_old (rollout policy).
        advantages: ``(B, T)``, or ``(B,)`` broadcast over tokens.
        mask: ``(B, T)`` response mask.
        clip_low: ε_low, the ratio floor is 1 - ε_low.
        clip_high: ε_high, the ratio ceiling is 1 + ε_high.
        clip_c: Dual-clip constant c; must be > 1.
        agg: Aggregation mode (:func:`agg_loss`).

    Returns:
        ``(loss, {"pg_clipfrac", "pg_clipfrac_lower", "ppo_kl"})``.

    Raises:
        ConfigError: ``clip_c <= 1`` or a clip range out of bounds.
    """
    where = "ppo_clip_loss"
    check_range("clip_c", clip_c, where=where, low=1.0, low_open=True)
    check_range("clip_low", clip_low, where=where, low=0.0, high=1.0, high_open=True)
    check_range("clip_high", clip_high, where=where, low=0.0)
    advantages = check_loss_inputs(where, logprobs, old_logprobs, advantages, mask)  # (B, T)
    mask = mask.to(logprobs.dtype)  # (B, T)
    log_ratio = logprobs - old_logprobs  # (B, T)
    ratio = torch.exp(log_ratio)  # (B, T) ρ
    loss1 = -advantages * ratio  # (B, T) L1
    loss2 = -advantages * ratio.clamp(1 - clip_low, 1 + clip_high)  # (B, T) L2
    clipped = torch.maximum(loss1, loss2)  # (B, T) Lc
    loss3 = -advantages * clip_c  # (B, T) -A·c
    dual = torch.minimum(clipped, loss3)  # (B, T) SPEC 1.3 dual clip
    negative = advantages < 0  # (B, T)
    per_token = torch.where(negative, dual, clipped)  # (B, T) dual clip only where A < 0
    with torch.no_grad():
        metrics = {
            "pg_clipfrac": float(masked_mean((loss2 > loss1).to(mask.dtype), mask)),
            "pg_clipfrac_lower": float(masked_mean(((clipped > loss3) & negative).to(mask.dtype), mask)),
            "ppo_kl": float(masked_mean(-log_ratio, mask)),
        }
    return agg_loss(per_token, mask, agg), metrics


def kl_penalty(logprobs: Tensor, ref_logprobs: Tensor, kind: KLKind = "low_var_kl") -> Tensor:
    """Per-token KL estimate between π_θ and π_ref (SPEC 1.3, verl ``kl_penalty``).

    Args:
        logprobs: ``(B, T)`` log π_θ.
        ref_logprobs: ``(B, T)`` log π_ref.
        kind: ``"k1"``/``"kl"`` log π_θ - log π_ref; ``"abs"`` its absolute value; ``"k2"``/``"mse"``
            ½(·)²; ``"k3"``/``"low_var_kl"`` exp(δ) - δ - 1 with δ = log π_ref - log π_θ clamped to
            [-20, 20] before exp, the result clamped to [-10, 10].

    Returns:
        ``(B, T)`` per-token KL; aggregate it with :func:`agg_loss`.
    """
    check_option("kind", kind, KL_KINDS, where="kl_penalty")
    check_same_shape("kl_penalty", logprobs=logprobs, ref_logprobs=ref_logprobs)
    log_ratio = logprobs - ref_logprobs  # (B, T)
    if kind in ("k1", "kl"):
        return log_ratio  # (B, T)
    if kind == "abs":
        return log_ratio.abs()  # (B, T)
    if kind in ("k2", "mse"):
        return 0.5 * log_ratio.square()  # (B, T)
    delta = (ref_logprobs - logprobs).clamp(-20.0, 20.0)  # (B, T) newer verl clamps δ before exp
    return (torch.exp(delta) - delta - 1).clamp(-10.0, 10.0)  # (B, T) k3


def _cov(advantages: Tensor, logprobs: Tensor, mask: Tensor) -> Tensor:
    """Detached per-token Cov_t = (A_t - mean A)·(logπ_t - mean logπ), means over the mask (SPEC 4.2/4.3)."""
    adv, logp = advantages.detach(), logprobs.detach()  # (B, T)
    return (adv - masked_mean(adv, mask)) * (logp - masked_mean(logp, mask))  # (B, T)


def clip_cov_loss(
    logprobs: Tensor,
    old_logprobs: Tensor,
    advantages: Tensor,
    mask: Tensor,
    *,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    clip_cov_ratio: float = 2e-4,
    clip_cov_lb: float = 1.0,
    clip_cov_ub: float = 5.0,
    agg: AggMode = "token-mean",
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Metrics]:
    """Clip-Cov: drop the gradient of k random high-covariance tokens (SPEC 4.2, PRIME ``clip_cov``).

    Candidates are valid tokens not already clipped by PPO (L2 > L1) with lb < Cov_t < ub; k =
    max(1, ⌊r·Σmask⌋) of them (or all, if fewer) are drawn uniformly with ``torch.randperm`` and their
    loss multiplier is set to 0. Loss = agg(max(L1, L2)·corr); there is no dual clip.

    Args:
        logprobs: ``(B, T)`` log π_θ (with grad).
        old_logprobs: ``(B, T)`` log π_old.
        advantages: ``(B, T)`` or ``(B,)``.
        mask: ``(B, T)`` response mask.
        clip_low: ε_low of the PPO clip.
        clip_high: ε_high of the PPO clip.
        clip_cov_ratio: r, a fraction of the valid tokens, in (0, 1].
        clip_cov_lb: Lower covariance bound (exclusive).
        clip_cov_ub: Upper covariance bound (exclusive).
        agg: Aggregation mode.
        generator: Randomness of the selection; ``None`` uses the global CPU generator.

    Returns:
        ``(loss, {"pg_clipfrac" (fraction of tokens with corr = 0), "pg_clipfrac_lower" (0), "ppo_kl"})``.
    """
    where = "clip_cov_loss"
    check_range("clip_cov_ratio", clip_cov_ratio, where=where, low=0.0, high=1.0, low_open=True)
    check_range("clip_low", clip_low, where=where, low=0.0, high=1.0, high_open=True)
    check_range("clip_high", clip_high, where=where, low=0.0)
    advantages = check_loss_inputs(where, logprobs, old_logprobs, advantages, mask)  # (B, T)
    mask = mask.to(logprobs.dtype)  # (B, T)
    log_ratio = logprobs - old_logprobs  # (B, T)
    ratio = torch.exp(log_ratio)  # (B, T)
    loss1 = -advantages * ratio  # (B, T) L1
    loss2 = -advantages * ratio.clamp(1 - clip_low, 1 + clip_high)  # (B, T) L2
    with torch.no_grad():
        cov = _cov(advantages, logprobs, mask)  # (B, T) SPEC 4.2
        candidate = (mask > 0) & ~(loss2 > loss1) & (cov > clip_cov_lb) & (cov < clip_cov_ub)  # (B, T)
        candidate_idx = candidate.flatten().nonzero().squeeze(-1)  # (n,)
        k = max(1, math.floor(clip_cov_ratio * float(mask.sum())))
        device = generator.device if generator is not None else torch.device("cpu")
        perm = torch.randperm(candidate_idx.numel(), generator=generator, device=device)  # (n,) uniform, not top-k
        chosen = candidate_idx[perm[:k].to(candidate_idx.device)]  # (min(k, n),)
        corr = torch.ones_like(logprobs).flatten()  # (B*T,)
        corr[chosen] = 0.0
        corr = corr.view_as(logprobs)  # (B, T)
        metrics = {
            "pg_clipfrac": float(masked_mean((corr == 0).to(mask.dtype), mask)),
            "pg_clipfrac_lower": 0.0,
            "ppo_kl": float(masked_mean(-log_ratio, mask)),
        }
    per_token = torch.maximum(loss1, loss2) * corr  # (B, T) SPEC 4.2: corr = 0 detaches the chosen tokens
    return agg_loss(per_token, mask, agg), metrics


def kl_cov_loss(
    logprobs: Tensor,
    old_logprobs: Tensor,
    advantages: Tensor,
    mask: Tensor,
    *,
    kl_cov_ratio: float = 2e-4,
    ppo_kl_coef: float = 1.0,
    agg: AggMode = "token-mean",
) -> tuple[Tensor, Metrics]:
    """KL-Cov: a |log ratio| penalty on the top-k covariance tokens, no clipping (SPEC 4.3, PRIME ``kl_cov``).

    ``kl_cov_ratio`` is a fraction: PRIME's ``k_percent`` = 0.2 (percent units, 7B) is ratio 0.002, and
    0.02 (32B) is 0.0002. ``ppo_kl_coef`` defaults to PRIME's κ = 1 (merged verl's dataclass uses 0.1).

    Args:
        logprobs: ``(B, T)`` log π_θ (with grad).
        old_logprobs: ``(B, T)`` log π_old.
        advantages: ``(B, T)`` or ``(B,)``.
        mask: ``(B, T)`` response mask.
        kl_cov_ratio: Fraction of the valid tokens that get the penalty, in (0, 1]; k = max(1, ⌊N·ratio⌋).
        ppo_kl_coef: κ.
        agg: Aggregation mode.

    Returns:
        ``(loss, {"pg_clipfrac" (0), "pg_clipfrac_lower" (0), "ppo_kl" (masked mean |log ratio|)})``.
    """
    where = "kl_cov_loss"
    check_range("kl_cov_ratio", kl_cov_ratio, where=where, low=0.0, high=1.0, low_open=True)
    check_range("ppo_kl_coef", ppo_kl_coef, where=where, low=0.0)
    advantages = check_loss_inputs(where, logprobs, old_logprobs, advantages, mask)  # (B, T)
    mask = mask.to(logprobs.dtype)  # (B, T)
    log_ratio = logprobs - old_logprobs  # (B, T)
    abs_kl = log_ratio.abs()  # (B, T)
    loss1 = -advantages * torch.exp(log_ratio)  # (B, T) -A·ρ
    with torch.no_grad():
        valid_idx = (mask > 0).flatten().nonzero().squeeze(-1)  # (N,)
        adv_v = advantages.detach().flatten()[valid_idx]  # (N,)
        logp_v = logprobs.detach().flatten()[valid_idx]  # (N,)
        selected = torch.zeros(logprobs.numel(), dtype=torch.bool, device=logprobs.device)  # (B*T,)
        if valid_idx.numel() > 0:
            cov = (adv_v - adv_v.mean()) * (logp_v - logp_v.mean())  # (N,) SPEC 4.3
            k = max(1, math.floor(valid_idx.numel() * kl_cov_ratio))
            selected[valid_idx[torch.topk(cov, k).indices]] = True  # top-k by Cov
        selected = selected.view_as(logprobs)  # (B, T)
        metrics = {"pg_clipfrac": 0.0, "pg_clipfrac_lower": 0.0, "ppo_kl": float(masked_mean(abs_kl, mask))}
    per_token = torch.where(selected, loss1 + ppo_kl_coef * abs_kl, loss1)  # (B, T) SPEC 4.3
    return agg_loss(per_token, mask, agg), metrics


def seal_loss(head_logits: Tensor, labels: Tensor, mask: Tensor, *, agg: AggMode = "token-mean") -> Tensor:
    """SEAL auxiliary loss: BCE-with-logits of the head's logits against the labels (SPEC 3.3, SEAL Eq. 2-3).

    Args:
        head_logits: ``(B, T)`` logits z of :class:`~agentgym_seal.backends.seal.SEALHead`.
        labels: ``(B, T)`` or ``(B,)`` targets in {0, 1} (see :func:`~agentgym_seal.backends.seal.seal_labels`).
        mask: ``(B, T)`` response mask; masked tokens do not contribute.
        agg: Aggregation mode; token-mean in every SEAL script.

    Returns:
        The scalar loss, *not* multiplied by α.
    """
    labels = per_token_values(labels, head_logits).to(head_logits.dtype)  # (B, T)
    check_same_shape("seal_loss", head_logits=head_logits, labels=labels, mask=mask)
    per_token = F.binary_cross_entropy_with_logits(head_logits, labels, reduction="none")  # (B, T) SEAL Sec. 4.1
    return agg_loss(per_token, mask, agg)  # () SPEC 3.3


# --------------------------------------------------------------------------------------------------
# Registry: every policy loss is (batch: PolicyLossInputs, cfg) -> (loss, metrics) (STYLE 3).
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyLossInputs:
    """The per-token tensors of one micro-batch that every policy loss receives.

    Attributes:
        logprobs: ``(B, T)`` log π_θ (with grad).
        old_logprobs: ``(B, T)`` log π_old.
        advantages: ``(B, T)``, or ``(B,)`` broadcast over tokens.
        mask: ``(B, T)`` response mask.
        generator: Randomness for losses that sample tokens (Clip-Cov); ``None`` = global generator.
    """

    logprobs: Tensor
    old_logprobs: Tensor
    advantages: Tensor
    mask: Tensor
    generator: torch.Generator | None = None


@dataclass(frozen=True)
class PPOClipConfig:
    """Settings of ``"ppo_clip"`` (SPEC 1.3)."""

    name: ClassVar[Literal["ppo_clip"]] = "ppo_clip"
    clip_low: float = 0.2
    """ε_low, in [0, 1)."""
    clip_high: float = 0.2
    """ε_high, >= 0."""
    clip_c: float = 3.0
    """Dual-clip constant, > 1."""
    agg: AggMode = "token-mean"
    """Loss aggregation mode."""

    def __post_init__(self) -> None:
        check_range("clip_low", self.clip_low, where="PPOClipConfig", low=0.0, high=1.0, high_open=True)
        check_range("clip_high", self.clip_high, where="PPOClipConfig", low=0.0)
        check_range("clip_c", self.clip_c, where="PPOClipConfig", low=1.0, low_open=True)
        check_option("agg", self.agg, AGG_MODES, where="PPOClipConfig")


@dataclass(frozen=True)
class ClipCovConfig:
    """Settings of ``"clip_cov"`` (SPEC 4.2; defaults of PRIME ``7b_clip_cov.sh``)."""

    name: ClassVar[Literal["clip_cov"]] = "clip_cov"
    clip_low: float = 0.2
    """ε_low, in [0, 1)."""
    clip_high: float = 0.2
    """ε_high, >= 0."""
    clip_cov_ratio: float = 2e-4
    """Fraction of valid tokens to detach, in (0, 1]."""
    clip_cov_lb: float = 1.0
    """Exclusive lower covariance bound."""
    clip_cov_ub: float = 5.0
    """Exclusive upper covariance bound, > lb."""
    agg: AggMode = "token-mean"
    """Loss aggregation mode."""

    def __post_init__(self) -> None:
        where = "ClipCovConfig"
        check_range("clip_low", self.clip_low, where=where, low=0.0, high=1.0, high_open=True)
        check_range("clip_high", self.clip_high, where=where, low=0.0)
        check_range("clip_cov_ratio", self.clip_cov_ratio, where=where, low=0.0, high=1.0, low_open=True)
        check_range("clip_cov_lb", self.clip_cov_lb, where=where)
        check_range("clip_cov_ub", self.clip_cov_ub, where=where, low=self.clip_cov_lb, low_open=True)
        check_option("agg", self.agg, AGG_MODES, where=where)


@dataclass(frozen=True)
class KLCovConfig:
    """Settings of ``"kl_cov"`` (SPEC 4.3)."""

    name: ClassVar[Literal["kl_cov"]] = "kl_cov"
    kl_cov_ratio: float = 2e-4
    """Fraction of valid tokens penalised, in (0, 1]; PRIME's k_percent 0.2 (%) = 0.002."""
    ppo_kl_coef: float = 1.0
    """κ, >= 0 (PRIME: 1)."""
    agg: AggMode = "token-mean"
    """Loss aggregation mode."""

    def __post_init__(self) -> None:
        check_range("kl_cov_ratio", self.kl_cov_ratio, where="KLCovConfig", low=0.0, high=1.0, low_open=True)
        check_range("ppo_kl_coef", self.ppo_kl_coef, where="KLCovConfig", low=0.0)
        check_option("agg", self.agg, AGG_MODES, where="KLCovConfig")


PolicyLossConfig: TypeAlias = PPOClipConfig | ClipCovConfig | KLCovConfig
PolicyLoss: TypeAlias = Callable[[PolicyLossInputs, PolicyLossConfig], tuple[Tensor, Metrics]]
POLICY_LOSSES: Registry[PolicyLoss] = Registry("policy loss")


@POLICY_LOSSES.register("ppo_clip")
def ppo_clip_policy_loss(batch: PolicyLossInputs, cfg: PolicyLossConfig) -> tuple[Tensor, Metrics]:
    """Registry entry of :func:`ppo_clip_loss`."""
    cfg = expect_config(cfg, PPOClipConfig, kind="policy loss", name="ppo_clip")
    return ppo_clip_loss(
        batch.logprobs,
        batch.old_logprobs,
        batch.advantages,
        batch.mask,
        clip_low=cfg.clip_low,
        clip_high=cfg.clip_high,
        clip_c=cfg.clip_c,
        agg=cfg.agg,
    )


@POLICY_LOSSES.register("clip_cov")
def clip_cov_policy_loss(batch: PolicyLossInputs, cfg: PolicyLossConfig) -> tuple[Tensor, Metrics]:
    """Registry entry of :func:`clip_cov_loss`."""
    cfg = expect_config(cfg, ClipCovConfig, kind="policy loss", name="clip_cov")
    return clip_cov_loss(
        batch.logprobs,
        batch.old_logprobs,
        batch.advantages,
        batch.mask,
        clip_low=cfg.clip_low,
        clip_high=cfg.clip_high,
        clip_cov_ratio=cfg.clip_cov_ratio,
        clip_cov_lb=cfg.clip_cov_lb,
        clip_cov_ub=cfg.clip_cov_ub,
        agg=cfg.agg,
        generator=batch.generator,
    )


@POLICY_LOSSES.register("kl_cov")
def kl_cov_policy_loss(batch: PolicyLossInputs, cfg: PolicyLossConfig) -> tuple[Tensor, Metrics]:
    """Registry entry of :func:`kl_cov_loss`."""
    cfg = expect_config(cfg, KLCovConfig, kind="policy loss", name="kl_cov")
    return kl_cov_loss(
        batch.logprobs,
        batch.old_logprobs,
        batch.advantages,
        batch.mask,
        kl_cov_ratio=cfg.kl_cov_ratio,
        ppo_kl_coef=cfg.ppo_kl_coef,
        agg=cfg.agg,
    )


def compute_policy_loss(batch: PolicyLossInputs, cfg: PolicyLossConfig) -> tuple[Tensor, Metrics]:
    """Runs the policy loss named by ``cfg.name``, so callers never branch on the loss."""
    return POLICY_LOSSES.get(cfg.name)(batch, cfg)
