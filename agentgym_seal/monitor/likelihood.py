"""Sequence log-likelihood of correct / wrong / valid / invalid step samples (SPEC 6.4).

Class means use the SEAL-repo denominators ``count + 1e-6``, so an empty class has mean 0.0 (exactly
what SEAL-repo logs). Because 0.0 is also a real log-probability (probability 1), every call also returns
the class sizes (``logprob/num_*``); a plot should mask a class whose count is 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

_EPS = 1e-6  # SPEC 6.4: each denominator gets +1e-6


def _as_tensor(values: Tensor | Sequence[float] | Sequence[bool], name: str, dtype: torch.dtype) -> Tensor:
    tensor = torch.as_tensor(values).detach().to("cpu")
    if tensor.dim() != 1:
        raise ValueError(f"likelihood metrics: expected {name} of shape (N,); got {tuple(tensor.shape)}.")
    return tensor.to(dtype)


def _class_masks(
    episode_rewards: Tensor | Sequence[float], format_valid: Tensor | Sequence[bool], n: int
) -> dict[str, Tensor]:
    rewards = _as_tensor(episode_rewards, "episode_rewards", torch.float64)  # (N,)
    valid = _as_tensor(format_valid, "format_valid", torch.bool)  # (N,)
    if rewards.shape[0] != n or valid.shape[0] != n:
        raise ValueError(
            f"likelihood metrics: expected episode_rewards and format_valid of length {n} (one per sample); "
            f"got {rewards.shape[0]} and {valid.shape[0]}."
        )
    correct = rewards > 0  # (N,) SPEC 6.4: correct = episode reward > 0, wrong = reward <= 0
    return {"correct": correct, "wrong": ~correct, "valid": valid, "invalid": ~valid}


def _class_means(values: Tensor, masks: dict[str, Tensor], prefix: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, mask in masks.items():
        selected = torch.where(mask, values, torch.zeros_like(values))  # (N,) NaNs outside the class ignored
        out[f"logprob/{prefix}{name}"] = float(selected.sum() / (mask.sum() + _EPS))  # SPEC 6.4 mean
    out[f"logprob/{prefix}diff"] = out[f"logprob/{prefix}correct"] - out[f"logprob/{prefix}wrong"]  # SPEC 6.4
    return out


def likelihood_metrics(
    seq_logprobs: Tensor | Sequence[float],
    episode_rewards: Tensor | Sequence[float],
    format_valid: Tensor | Sequence[bool],
) -> dict[str, float]:
    """Mean sequence log-prob of each class of step samples under the pre-update policy (SPEC 6.4).

    Args:
        seq_logprobs: ``(N,)`` ℓ_j = Σ of the response's token log-probs, one per step sample.
        episode_rewards: ``(N,)`` the sample's trajectory reward; correct iff > 0, wrong iff <= 0.
        format_valid: ``(N,)`` the sample's ``is_action_valid`` (format validity, SPEC 7.3).

    Returns:
        ``logprob/correct``, ``logprob/wrong``, ``logprob/diff`` (= correct − wrong), ``logprob/valid``,
        ``logprob/invalid``: Σ ℓ / (count + 1e-6), so an empty class gives 0.0; and ``logprob/num_correct``,
        ``logprob/num_wrong``, ``logprob/num_valid``, ``logprob/num_invalid``: the class sizes. A non-finite ℓ
        makes its own classes' means non-finite.
    """
    values = _as_tensor(seq_logprobs, "seq_logprobs", torch.float64)  # (N,)
    masks = _class_masks(episode_rewards, format_valid, values.shape[0])
    out = _class_means(values, masks, "")
    out.update({f"logprob/num_{name}": float(mask.sum()) for name, mask in masks.items()})
    return out


def likelihood_change(
    before: Tensor | Sequence[float],
    after: Tensor | Sequence[float],
    episode_rewards: Tensor | Sequence[float],
    format_valid: Tensor | Sequence[bool],
) -> dict[str, float]:
    """Per-class mean change of the sequence log-prob over an update (SPEC 6.4, SEAL Lemma 3.3 measured side).

    Args:
        before: ``(N,)`` ℓ_j under the pre-update policy.
        after: ``(N,)`` ℓ_j of the same samples under the updated policy.
        episode_rewards: ``(N,)`` as in :func:`likelihood_metrics`.
        format_valid: ``(N,)`` as in :func:`likelihood_metrics`.

    Returns:
        ``logprob/delta_correct``, ``logprob/delta_wrong``, ``logprob/delta_diff``, ``logprob/delta_valid``,
        ``logprob/delta_invalid`` (class means of after − before, same +1e-6 denominators, so an empty class
        gives 0.0) and ``logprob/delta_all`` (the plain mean over all samples; NaN when there are none).
    """
    old = _as_tensor(before, "before", torch.float64)  # (N,)
    new = _as_tensor(after, "after", torch.float64)  # (N,)
    if new.shape != old.shape:
        raise ValueError(f"likelihood_change: expected before and after of one shape; got {old.shape} and {new.shape}.")
    delta = new - old  # (N,)
    out = _class_means(delta, _class_masks(episode_rewards, format_valid, delta.shape[0]), "delta_")
    out["logprob/delta_all"] = float(delta.mean()) if delta.numel() else float("nan")
    return out
