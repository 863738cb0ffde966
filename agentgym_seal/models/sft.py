"""Supervised warm-up on expert demonstrations (the paper's "mid-training"), loss on response tokens only.

The loop and its batching live in :mod:`.sft_loop` (one process) and :mod:`.sft_parallel` (several CPU
processes); :func:`sft_warmup` picks one. The names below are re-exported for callers of this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from agentgym_seal.deps import require

from .sft_loop import SFTConfig, SFTResult, left_pad_batch, length_bucketed_order, response_loss, sft_loop
from .sft_parallel import data_parallel_sft

__all__ = [
    "SFTConfig", "SFTResult", "left_pad_batch", "length_bucketed_order", "response_loss", "sft_loop", "sft_warmup",
]  # fmt: skip


def sft_warmup(
    model: Any,
    pairs: Sequence[tuple[Sequence[int], Sequence[int]]],
    pad_id: int,
    cfg: SFTConfig,
    on_step: Callable[[int, int, float], None] | None = None,
) -> SFTResult:
    """Trains ``model`` on (prompt ids, response ids) pairs with next-token loss on the response only.

    Batches group sequences of similar length (:func:`length_bucketed_order`) and only response positions
    reach the output layer (:func:`response_loss`). ``on_step(step, total_steps, loss)`` is called after
    every optimizer step (progress display). With ``cfg.processes > 1`` on a CPU the batches are shared by
    that many processes (:func:`.sft_parallel.data_parallel_sft`; same batches, same loss, summed gradients).
    """
    torch = require("torch", "train")
    if not pairs:
        raise ValueError("sft_warmup needs at least one (prompt, response) pair")
    if any(len(r) == 0 for _, r in pairs):
        raise ValueError("sft_warmup: every pair needs a non-empty response")
    if cfg.processes > 1 and next(model.parameters()).device.type == "cpu":
        return data_parallel_sft(model, pairs, pad_id, cfg, on_step)
    return sft_loop(torch, model, pairs, pad_id, cfg, on_step=on_step)
