"""Loss aggregation over response tokens (SPEC 1.3, verl ``agg_loss``) and per-token input checks."""

from __future__ import annotations

from typing import Literal, TypeAlias, get_args

import torch
from torch import Tensor

from ._checks import check_option, check_same_shape

AggMode = Literal["token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm"]
AGG_MODES: tuple[AggMode, ...] = get_args(AggMode)
Metrics: TypeAlias = dict[str, float]


def masked_product(x: Tensor, mask: Tensor) -> Tensor:
    """x·mask, with masked-out entries exactly 0 even where x is inf/NaN (e.g. ratios of padding tokens)."""
    return torch.where(mask != 0, x, torch.zeros_like(x)) * mask  # (B, T)


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Σ(x·mask) / (Σmask + 1e-8) over all elements, as verl's ``masked_mean``; returns a scalar."""
    return masked_product(x, mask).sum() / (mask.sum() + 1e-8)  # ()


def agg_loss(mat: Tensor, mask: Tensor, mode: AggMode = "token-mean") -> Tensor:
    """Aggregates a per-token loss matrix into a scalar (SPEC 1.3, verl ``agg_loss``).

    A "sequence" is one step's response, not a whole trajectory.

    Args:
        mat: ``(B, T)`` per-token values.
        mask: ``(B, T)`` response mask (bool or 0/1); masked entries of ``mat`` are ignored even if not finite.
        mode: ``"token-mean"`` Σ(mat·mask)/(Σmask + 1e-8); ``"seq-mean-token-sum"`` mean_b Σ_t;
            ``"seq-mean-token-mean"`` mean_b [Σ_t / Σ_t mask] (a row with no valid token counts as 0);
            ``"seq-mean-token-sum-norm"`` Σ(mat·mask) / T, T = the padded length (Dr.GRPO).

    Returns:
        A scalar tensor.
    """
    check_option("mode", mode, AGG_MODES, where="agg_loss")
    check_same_shape("agg_loss", mat=mat, mask=mask)
    mask = mask.to(mat.dtype)  # (B, T)
    if mode == "token-mean":
        return masked_mean(mat, mask)  # ()
    seq_sum = masked_product(mat, mask).sum(dim=-1)  # (B,)
    if mode == "seq-mean-token-sum":
        return seq_sum.mean()  # ()
    if mode == "seq-mean-token-mean":
        return (seq_sum / (mask.sum(dim=-1) + 1e-8)).mean()  # ()
    return seq_sum.sum() / mask.shape[-1]  # () seq-mean-token-sum-norm


def per_token_values(advantages: Tensor, like: Tensor) -> Tensor:
    """Broadcasts ``(B,)`` per-sample values (advantages, labels) over tokens; ``(B, T)`` passes through."""
    return advantages.unsqueeze(-1).expand_as(like) if advantages.dim() == like.dim() - 1 else advantages


def check_loss_inputs(where: str, logprobs: Tensor, old_logprobs: Tensor, advantages: Tensor, mask: Tensor) -> Tensor:
    """Returns ``(B, T)`` advantages after checking that every per-token input has the shape of ``logprobs``."""
    advantages = per_token_values(advantages, logprobs)  # (B, T)
    check_same_shape(where, logprobs=logprobs, old_logprobs=old_logprobs, advantages=advantages, mask=mask)
    return advantages
