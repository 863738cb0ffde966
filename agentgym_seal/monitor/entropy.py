"""Token entropy of the policy, chunked (SPEC 4.1; verl ``entropy_from_logits_with_chunking``).

One implementation serves the learner's entropy bonus (with grad) and the monitor's logging (no grad).

Non-finite logits, the defined behaviour (per row of the last dim):

- ``-inf`` entries are fine: they are tokens of probability 0 and add nothing (no ``0 * -inf = NaN``),
  in the forward and in the backward pass.
- A row with any NaN, any ``+inf``, or only ``-inf`` entries has no defined distribution: its entropy is NaN.
  Other rows are unaffected.
"""

from __future__ import annotations

import torch
from torch import Tensor

from agentgym_seal.errors import ConfigError


def _check_chunk_size(chunk_size: int, where: str) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(
            f"option 'chunk_size' of {where}: expected an int >= 1; got {chunk_size!r}. "
            "Fix: pass a positive number of rows."
        )


#: Most logits one chunk holds (2^26: 256 MiB in float32); at a large vocabulary a chunk has fewer rows.
MAX_CHUNK_LOGITS = 1 << 26


def _row_entropy(logits: Tensor) -> Tensor:
    """H = logsumexp(z) − Σ_v softmax(z)_v z_v for ``(n, V)`` rows already in the compute dtype (SPEC 4.1)."""
    probs = torch.softmax(logits, dim=-1)  # (n, V)
    # -inf logits have p = 0; zero them before the product so neither pass sees 0 * -inf = NaN
    finite_z = torch.where(torch.isneginf(logits), torch.zeros_like(logits), logits)  # (n, V)
    return torch.logsumexp(logits, dim=-1) - (probs * finite_z).sum(dim=-1)  # (n,)


def _row_entropy_inplace(shifted: Tensor) -> Tensor:
    """The same H with two ``(n, V)`` buffers: ``shifted`` (a copy we own, overwritten) and its exp.

    With m = max z, s = Σ exp(z − m): H = log s − Σ exp(z − m)(z − m) / s. No autograd (in-place ops).
    """
    shifted.sub_(shifted.amax(dim=-1, keepdim=True))  # (n, V) z − m; an all -inf or +inf row becomes NaN
    weights = torch.exp(shifted)  # (n, V) the second and last V-sized buffer
    total = weights.sum(dim=-1)  # (n,)
    shifted.nan_to_num_(nan=float("nan"), posinf=float("inf"), neginf=0.0)  # p = 0 there: no 0 * -inf
    dot = shifted.mul_(weights).sum(dim=-1)  # (n,) Σ exp(z − m)(z − m), the product formed in place
    return torch.log(total) - dot / total  # (n,)


def tempered_entropy(logits: Tensor, chunk_size: int, temperature: float, where: str) -> Tensor:
    """Entropies of ``logits / temperature`` over the last dim, at most ``chunk_size`` rows at a time.

    What :func:`entropy_from_logits` computes, for callers with a temperature or their own name in errors
    (``where``, e.g. the learner's ``chunked_entropy``).
    """
    _check_chunk_size(chunk_size, where)
    if logits.dim() < 1:
        raise ValueError(f"{where}: expected logits of shape (..., V); got a 0-d tensor. Fix: add the vocab dim.")
    if not temperature > 0:
        raise ConfigError(f"option 'temperature' of {where}: expected a float > 0; got {temperature!r}.")
    dtype = torch.promote_types(logits.dtype, torch.float32)
    rows = logits.reshape(-1, logits.shape[-1])  # (N, V)
    step = max(1, min(chunk_size, MAX_CHUNK_LOGITS // max(rows.shape[1], 1)))
    differentiable = torch.is_grad_enabled() and logits.requires_grad
    parts = []
    for start in range(0, rows.shape[0], step):
        if differentiable:
            chunk = rows[start : start + step].to(dtype)  # (c, V) only this chunk is upcast
            parts.append(_row_entropy(chunk / temperature if temperature != 1.0 else chunk))  # (c,)
        else:
            chunk = rows[start : start + step].to(dtype, copy=True)  # (c, V) our buffer, modified in place
            parts.append(_row_entropy_inplace(chunk.div_(temperature) if temperature != 1.0 else chunk))
    if not parts:
        return torch.zeros(logits.shape[:-1], dtype=dtype, device=logits.device)  # (...) no rows
    return torch.cat(parts).reshape(logits.shape[:-1])  # (...)


def entropy_from_logits(logits: Tensor, chunk_size: int = 1024) -> Tensor:
    """Token entropy H = logsumexp(z) − Σ_v softmax(z)_v z_v = −Σ p log p over the last dim (SPEC 4.1).

    The rows (all leading dims flattened) are processed at most ``chunk_size`` at a time (fewer when a chunk
    would hold more than :data:`MAX_CHUNK_LOGITS` logits), each chunk cast to float32 (or wider). Without
    autograd a chunk takes two (rows, V) float32 buffers, so the peak never exceeds a one-shot computation's;
    with autograd each chunk's softmax is kept for the backward pass. Chunking never changes the result.

    Args:
        logits: ``(..., V)`` logits, any leading shape, already divided by the sampling temperature.
        chunk_size: Most rows per chunk, >= 1.

    Returns:
        ``(...)`` entropies, dtype ``promote_types(logits.dtype, float32)``. See the module docstring for
        NaN/inf logits.

    Raises:
        ConfigError: ``chunk_size`` is not an int >= 1.
        ValueError: ``logits`` is 0-d.
    """
    return tempered_entropy(logits, chunk_size, 1.0, "entropy_from_logits")


def _masked_entropy(logits: Tensor, mask: Tensor, temperature: float, chunk_size: int, where: str) -> Tensor:
    """Per-position entropies with masked-out positions set to 0 (so their NaNs cannot leak)."""
    if tuple(mask.shape) != tuple(logits.shape[:-1]):
        raise ValueError(
            f"{where}: expected mask of shape {tuple(logits.shape[:-1])} (the logits' leading shape); "
            f"got {tuple(mask.shape)}. Fix: pass the response mask of the same positions."
        )
    entropy = tempered_entropy(logits, chunk_size, temperature, where)  # (...)
    keep = mask.to(torch.bool)  # (...)
    return torch.where(keep, entropy, torch.zeros_like(entropy))  # (...)


@torch.no_grad()
def token_mean_entropy(logits: Tensor, mask: Tensor, temperature: float = 1.0, chunk_size: int = 1024) -> Tensor:
    """Token-mean entropy Σ_t H_t m_t / (Σ_t m_t + 1e-8) of the masked positions (SPEC 4.1, verl logging).

    Computed under ``torch.no_grad()``; ``logits`` is not modified (each chunk is divided by the temperature).

    Args:
        logits: ``(..., V)`` raw logits of the policy.
        mask: ``(...)`` 1/True at the positions that predict response tokens.
        temperature: The rollout temperature (> 0).
        chunk_size: Rows per chunk, >= 1.

    Returns:
        A 0-d float tensor. No masked position gives 0.0 (the +1e-8 denominator, as verl logs it). NaN logits
        at a masked-in position give NaN; at a masked-out position they are ignored.
    """
    entropy = _masked_entropy(logits, mask, temperature, chunk_size, "token_mean_entropy")  # (...)
    count = mask.to(entropy.dtype).sum()  # ()
    return entropy.sum() / (count + 1e-8)  # () SPEC 4.1: token-mean with the +1e-8 denominator


@torch.no_grad()
def per_sample_entropy(logits: Tensor, mask: Tensor, temperature: float = 1.0, chunk_size: int = 1024) -> Tensor:
    """One mean token entropy per sequence: Σ_t H_bt m_bt / (Σ_t m_bt + 1e-8) (SPEC 4.1 per step sample).

    Args:
        logits: ``(B, T, V)`` raw logits (more leading dims are allowed: the last two are (T, V)).
        mask: ``(B, T)`` 1/True at the positions that predict response tokens.
        temperature: The rollout temperature (> 0).
        chunk_size: Rows per chunk, >= 1.

    Returns:
        ``(B,)`` float entropies; a sequence with no masked position gets 0.0, as in :func:`token_mean_entropy`.
    """
    if logits.dim() < 2:
        raise ValueError(f"per_sample_entropy: expected logits of shape (B, T, V); got {tuple(logits.shape)}.")
    entropy = _masked_entropy(logits, mask, temperature, chunk_size, "per_sample_entropy")  # (B, T)
    count = mask.to(entropy.dtype).sum(dim=-1)  # (B,)
    return entropy.sum(dim=-1) / (count + 1e-8)  # (B,)
