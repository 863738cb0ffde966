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


def _row_entropy(logits: Tensor) -> Tensor:
    """H = logsumexp(z) − Σ_v softmax(z)_v z_v for ``(n, V)`` rows already in the compute dtype (SPEC 4.1)."""
    probs = torch.softmax(logits, dim=-1)  # (n, V)
    # -inf logits have p = 0; zero them before the product so neither pass sees 0 * -inf = NaN
    finite_z = torch.where(torch.isneginf(logits), torch.zeros_like(logits), logits)  # (n, V)
    return torch.logsumexp(logits, dim=-1) - (probs * finite_z).sum(dim=-1)  # (n,)


def _chunked_entropy(logits: Tensor, chunk_size: int, temperature: float, where: str) -> Tensor:
    """Entropies of ``logits / temperature`` over the last dim, ``chunk_size`` rows at a time."""
    _check_chunk_size(chunk_size, where)
    if logits.dim() < 1:
        raise ValueError(f"{where}: expected logits of shape (..., V); got a 0-d tensor. Fix: add the vocab dim.")
    if not temperature > 0:
        raise ConfigError(f"option 'temperature' of {where}: expected a float > 0; got {temperature!r}.")
    dtype = torch.promote_types(logits.dtype, torch.float32)
    rows = logits.reshape(-1, logits.shape[-1])  # (N, V)
    parts = []
    for start in range(0, rows.shape[0], chunk_size):
        chunk = rows[start : start + chunk_size].to(dtype)  # (c, V) only this chunk is upcast
        if temperature != 1.0:
            chunk = chunk / temperature  # (c, V) SPEC 4.1: logits divided by the rollout temperature
        parts.append(_row_entropy(chunk))  # (c,)
    if not parts:
        return torch.zeros(logits.shape[:-1], dtype=dtype, device=logits.device)  # (...) no rows
    return torch.cat(parts).reshape(logits.shape[:-1])  # (...)


def entropy_from_logits(logits: Tensor, chunk_size: int = 1024) -> Tensor:
    """Token entropy H = logsumexp(z) − Σ_v softmax(z)_v z_v = −Σ p log p over the last dim (SPEC 4.1).

    The rows (all leading dims flattened) are processed ``chunk_size`` at a time, each chunk cast to float32
    (or wider), so the softmax temporaries take O(chunk_size·V) memory instead of O(rows·V). Works with and
    without autograd; under ``torch.no_grad()`` the memory saving is real, with autograd each chunk's softmax
    is kept for the backward pass. Chunking never changes the result (rows are independent).

    Args:
        logits: ``(..., V)`` logits, any leading shape, already divided by the sampling temperature.
        chunk_size: Rows per chunk, >= 1.

    Returns:
        ``(...)`` entropies, dtype ``promote_types(logits.dtype, float32)``. See the module docstring for
        NaN/inf logits.

    Raises:
        ConfigError: ``chunk_size`` is not an int >= 1.
        ValueError: ``logits`` is 0-d.
    """
    return _chunked_entropy(logits, chunk_size, 1.0, "entropy_from_logits")


def _masked_entropy(logits: Tensor, mask: Tensor, temperature: float, chunk_size: int, where: str) -> Tensor:
    """Per-position entropies with masked-out positions set to 0 (so their NaNs cannot leak)."""
    if tuple(mask.shape) != tuple(logits.shape[:-1]):
        raise ValueError(
            f"{where}: expected mask of shape {tuple(logits.shape[:-1])} (the logits' leading shape); "
            f"got {tuple(mask.shape)}. Fix: pass the response mask of the same positions."
        )
    entropy = _chunked_entropy(logits, chunk_size, temperature, where)  # (...)
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
