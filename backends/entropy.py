"""Token entropy of the policy (SPEC 4.1): a thin re-export of :mod:`agentgym_seal.monitor.entropy`.

There is one implementation; the two names here keep the learner's and the tests' spelling working.
"""

from __future__ import annotations

from torch import Tensor

from agentgym_seal.monitor.entropy import entropy_from_logits, tempered_entropy

__all__ = ["chunked_entropy", "entropy_from_logits"]


def chunked_entropy(logits: Tensor, chunk_size: int = 256) -> Tensor:
    """:func:`~agentgym_seal.monitor.entropy_from_logits` with 256 rows per chunk by default (SPEC 4.1).

    Args:
        logits: ``(..., V)`` logits, already divided by the sampling temperature.
        chunk_size: Rows per chunk, >= 1.

    Returns:
        ``(...)`` entropies, dtype ``promote_types(logits.dtype, float32)``.
    """
    return tempered_entropy(logits, chunk_size, 1.0, "chunked_entropy")
