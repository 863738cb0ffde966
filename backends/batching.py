"""Step samples as tensors: mini-batches of near-equal size, micro-batches of similar lengths, right-padded batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from agentgym_seal.partition import even_slices
from agentgym_seal.rollout.batch import StepSample


def even_split(items: Sequence[int], max_size: int) -> list[list[int]]:
    """``items`` in order as ceil(len / max_size) consecutive chunks whose sizes differ by at most one.

    The fewest mini-batches of at most ``max_size`` samples, of equal weight: chunks of exactly ``max_size``
    would leave a remainder (268 samples at 256: an optimizer step on 12), and Adam moves the weights as far
    on those few samples as on the full chunk, so that step is mostly noise. verl-agent avoids the remainder
    by padding the batch with duplicated samples (``adjust_batch``, SPEC 0); an even split needs no duplicates.
    """
    parts = -(-len(items) // max_size)
    return [list(items[first : first + count]) for first, count in even_slices(len(items), parts)]


def by_length(samples: Sequence[StepSample], indices: Sequence[int]) -> list[int]:
    """``indices`` ordered by their sample's length (prompt + response), ties in the given order.

    Cut into consecutive micro-batches, the order pads each to its own longest sequence only. The update's loss is a
    token-mean over the whole mini-batch (each micro-batch weighted by its response tokens), so the order changes
    which samples share a forward pass, not the gradient (up to float rounding).
    """
    return sorted(indices, key=lambda i: len(samples[i].prompt_ids) + len(samples[i].response_ids))


@dataclass(frozen=True)
class TokenBatch:
    """Padded tensors of some step samples (right padding; ``T = L - 1`` predicted positions).

    Attributes:
        input_ids: ``(B, L)`` prompt + response ids.
        attention_mask: ``(B, L)``.
        response_mask: ``(B, T)`` positions whose next token is a response token (log-prob positions).
        token_mask: ``(B, L)`` the response tokens themselves (SEAL reads the hidden state *at* them, SPEC 3.2).
    """

    input_ids: Tensor
    attention_mask: Tensor
    response_mask: Tensor
    token_mask: Tensor


def collate(samples: Sequence[StepSample], pad_id: int, device: torch.device | str | None = None) -> TokenBatch:
    """Right-pads ``prompt + response`` of each sample (tensors on ``device``, the CPU by default)."""
    width = max(len(s.prompt_ids) + len(s.response_ids) for s in samples)
    ids = torch.full((len(samples), width), pad_id, dtype=torch.long)  # (B, L)
    attention = torch.zeros((len(samples), width), dtype=torch.long)  # (B, L)
    token_mask = torch.zeros((len(samples), width), dtype=torch.bool)  # (B, L)
    for i, s in enumerate(samples):
        p, r = len(s.prompt_ids), len(s.response_ids)
        ids[i, : p + r] = torch.tensor(s.prompt_ids + s.response_ids, dtype=torch.long)
        attention[i, : p + r] = 1
        token_mask[i, p : p + r] = True
    if device is not None and torch.device(device).type != "cpu":
        ids, attention, token_mask = ids.to(device), attention.to(device), token_mask.to(device)
    return TokenBatch(ids, attention, token_mask[:, 1:], token_mask)
