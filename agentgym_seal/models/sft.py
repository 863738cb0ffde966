"""Supervised warm-up on expert demonstrations (the paper's "mid-training"), loss on response tokens only."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agentgym_seal.deps import require


@dataclass(frozen=True)
class SFTConfig:
    """Warm-up settings.

    Attributes:
        epochs: Passes over the demonstrations (stops earlier at ``max_seconds``).
        lr: AdamW learning rate (cosine-decayed to 10%).
        batch_size: Sequences per step.
        max_seconds: Wall-clock budget; ``None`` = no limit.
        seed: Shuffling seed.
    """

    epochs: int = 20
    lr: float = 3e-3
    batch_size: int = 32
    max_seconds: float | None = None
    seed: int = 0


@dataclass(frozen=True)
class SFTResult:
    """What a warm-up did."""

    steps: int
    epochs_done: float
    final_loss: float
    seconds: float


def pad_batch(
    torch: Any, sequences: Sequence[Sequence[int]], prompt_lengths: Sequence[int], pad_id: int
) -> tuple[Any, Any, Any]:
    """Right-pads ``prompt + response`` sequences.

    Returns:
        ``input_ids`` (B, L), ``attention_mask`` (B, L) and ``response_mask`` (B, L) marking response tokens.
    """
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)  # (B, L)
    attention = torch.zeros((len(sequences), width), dtype=torch.long)  # (B, L)
    response = torch.zeros((len(sequences), width), dtype=torch.bool)  # (B, L)
    for i, (seq, plen) in enumerate(zip(sequences, prompt_lengths, strict=True)):
        ids[i, : len(seq)] = torch.tensor(list(seq), dtype=torch.long)
        attention[i, : len(seq)] = 1
        response[i, plen : len(seq)] = True
    return ids, attention, response


def sft_warmup(
    model: Any,
    pairs: Sequence[tuple[Sequence[int], Sequence[int]]],
    pad_id: int,
    cfg: SFTConfig,
    on_step: Callable[[int, int, float], None] | None = None,
) -> SFTResult:
    """Trains ``model`` on (prompt ids, response ids) pairs with next-token loss on the response only.

    ``on_step(step, total_steps, loss)`` is called after every optimizer step (progress display).
    """
    torch = require("torch", "train")
    if not pairs:
        raise ValueError("sft_warmup needs at least one (prompt, response) pair")
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(pairs) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(s, total) / max(1, total)))
    )
    generator = torch.Generator().manual_seed(cfg.seed)
    start, step, loss_value = time.perf_counter(), 0, float("nan")
    for _epoch in range(cfg.epochs):
        order = torch.randperm(len(pairs), generator=generator).tolist()
        for b in range(steps_per_epoch):
            chunk = [pairs[i] for i in order[b * cfg.batch_size : (b + 1) * cfg.batch_size]]
            ids, attention, response = pad_batch(
                torch, [list(p) + list(r) for p, r in chunk], [len(p) for p, _ in chunk], pad_id
            )
            logits = model(input_ids=ids, attention_mask=attention).logits[:, :-1].float()  # (B, L-1, V)
            targets = ids[:, 1:]  # (B, L-1)
            mask = response[:, 1:]  # (B, L-1): positions whose *next* token is a response token
            token_loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
            loss = (token_loss * mask).sum() / mask.sum().clamp(min=1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            loss_value = float(loss.detach())
            if on_step is not None:
                on_step(step, total, loss_value)
            if cfg.max_seconds is not None and time.perf_counter() - start > cfg.max_seconds:
                return SFTResult(step, step / steps_per_epoch, loss_value, time.perf_counter() - start)
    return SFTResult(step, step / steps_per_epoch, loss_value, time.perf_counter() - start)
