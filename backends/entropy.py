"""Token entropy of the policy (SPEC 4.1, verl ``entropy_from_logits`` / ``entropy_from_logits_with_chunking``)."""

from __future__ import annotations

import torch
from torch import Tensor

from agentgym_seal.errors import ConfigError


def entropy_from_logits(logits: Tensor) -> Tensor:
    """Token entropy H = logsumexp(z) - Σ_v softmax(z)_v z_v = -Σ p log p (SPEC 4.1).

    Args:
        logits: ``(..., V)`` logits, already divided by the sampling temperature.

    Returns:
        ``(...)`` entropies in the dtype of ``logits``.
    """
    probs = torch.softmax(logits, dim=-1)  # (..., V)
    return torch.logsumexp(logits, dim=-1) - (probs * logits).sum(dim=-1)  # (...)


def chunked_entropy(logits: Tensor, chunk_size: int = 256) -> Tensor:
    """:func:`entropy_from_logits` computed ``chunk_size`` rows at a time in float32 or wider (SPEC 4.1).

    Peak temporary memory drops from O(rows·V) to O(chunk_size·V). Use it under ``torch.no_grad()``
    (logging the old-policy entropy): with autograd on, every chunk's softmax is kept for backward and
    the saving is lost. verl's chunked variant uses 2048 rows.

    Args:
        logits: ``(..., V)`` logits.
        chunk_size: Rows per chunk, >= 1.

    Returns:
        ``(...)`` entropies, dtype ``promote_types(logits.dtype, float32)``; equal to
        :func:`entropy_from_logits` of the same logits in that dtype.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(
            f"option 'chunk_size' of chunked_entropy: expected an int >= 1; got {chunk_size!r}. "
            "Fix: pass a positive number of rows."
        )
    dtype = torch.promote_types(logits.dtype, torch.float32)
    rows = logits.reshape(-1, logits.shape[-1])  # (N, V)
    out = torch.empty(rows.shape[0], dtype=dtype, device=logits.device)  # (N,)
    for start in range(0, rows.shape[0], chunk_size):
        out[start : start + chunk_size] = entropy_from_logits(rows[start : start + chunk_size].to(dtype))  # (c,)
    return out.reshape(logits.shape[:-1])  # (...)
