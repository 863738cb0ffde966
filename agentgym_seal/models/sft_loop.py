"""The supervised warm-up's loop and its batching (one process); :mod:`.sft` picks one or several processes."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SFTConfig:
    """Warm-up settings.

    Attributes:
        epochs: Passes over the demonstrations (stops earlier at ``max_seconds``).
        lr: AdamW learning rate (cosine-decayed to 10%).
        batch_size: Sequences per step.
        max_seconds: Wall-clock budget; ``None`` = no limit.
        seed: Shuffling seed.
        processes: Data-parallel processes on a CPU (:mod:`.sft_parallel`): each takes a share of every batch
            and of this process's threads, gradients are summed with gloo. 1 = this process alone (and always
            on a GPU). A small model's step does not keep several threads of one process busy: two
            one-thread processes train the tiny default ~10% faster than one process with two threads.
    """

    epochs: int = 20
    lr: float = 3e-3
    batch_size: int = 32
    max_seconds: float | None = None
    seed: int = 0
    processes: int = 1

    def __post_init__(self) -> None:
        if self.processes < 1:
            raise ValueError(f"SFTConfig.processes must be >= 1; got {self.processes}.")


@dataclass(frozen=True)
class SFTResult:
    """What a warm-up did."""

    steps: int
    epochs_done: float
    final_loss: float
    seconds: float


def left_pad_batch(torch: Any, pairs: Sequence[tuple[Sequence[int], Sequence[int]]], pad_id: int) -> dict[str, Any]:
    """Left-pads ``prompt + response`` pairs so that every response ends at the last position.

    Returns:
        ``input_ids``, ``attention_mask`` and ``position_ids`` (B, L) for the model, and ``targets`` /
        ``target_mask`` (B, K) for the last ``K = max response length`` positions: ``targets[:, k]`` is the
        token the logits at position ``L - K - 1 + k`` must predict, ``target_mask`` marks response tokens.
    """
    width = max(len(p) + len(r) for p, r in pairs)
    keep = max(len(r) for _, r in pairs)
    ids = torch.full((len(pairs), width), pad_id, dtype=torch.long)  # (B, L)
    attention = torch.zeros((len(pairs), width), dtype=torch.long)  # (B, L)
    target_mask = torch.zeros((len(pairs), keep), dtype=torch.bool)  # (B, K)
    for i, (prompt, response) in enumerate(pairs):
        seq = list(prompt) + list(response)
        ids[i, width - len(seq) :] = torch.tensor(seq, dtype=torch.long)
        attention[i, width - len(seq) :] = 1
        target_mask[i, keep - len(response) :] = True
    position_ids = (attention.cumsum(-1) - 1).clamp(min=0)  # (B, L): every sequence starts at position 0
    return {
        "input_ids": ids,
        "attention_mask": attention,
        "position_ids": position_ids,
        "targets": ids[:, width - keep :],
        "target_mask": target_mask,
    }


def length_bucketed_order(torch: Any, lengths: Sequence[int], batch_size: int, generator: Any) -> list[list[int]]:
    """Shuffled batches of indices whose lengths are close (less padding), in a shuffled order.

    The epoch is shuffled, cut into windows of ``8 * batch_size``, each window sorted by length and cut into
    batches; then the batches are shuffled. Deterministic given ``generator``.
    """
    order = torch.randperm(len(lengths), generator=generator).tolist()
    window = 8 * batch_size
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def response_loss(torch: Any, model: Any, batch: dict[str, Any], normalizer: int | None = None) -> Any:
    """Mean next-token cross-entropy over the response tokens of a :func:`left_pad_batch` batch.

    Only the last ``K + 1`` positions go through the output layer (``logits_to_keep``), so the lm_head and
    the softmax cost scale with response tokens, not with the prompt. ``normalizer`` divides the summed loss
    instead of this batch's token count (a data-parallel share of a bigger batch divides by the whole batch's).
    """
    keep = batch["targets"].shape[1]
    logits = (
        model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            position_ids=batch["position_ids"],
            logits_to_keep=keep + 1,
        )
        .logits[:, :-1]
        .float()
    )  # (B, K, V): the logits at position L-K-1+k predict targets[:, k]
    token_loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), batch["targets"], reduction="none")
    mask = batch["target_mask"]  # (B, K)
    if normalizer is not None:
        return (token_loss * mask).sum() / max(1, normalizer)
    return (token_loss * mask).sum() / mask.sum().clamp(min=1)


def sft_loop(
    torch: Any,
    model: Any,
    pairs: Sequence[tuple[Sequence[int], Sequence[int]]],
    pad_id: int,
    cfg: SFTConfig,
    *,
    rank: int = 0,
    world: int = 1,
    on_step: Callable[[int, int, float], None] | None = None,
) -> SFTResult:
    """The warm-up's optimisation loop, as rank ``rank`` of ``world`` data-parallel processes.

    Every rank walks the same batches; rank ``r`` of ``W`` takes ``batch[r::W]`` and divides its summed loss
    by the whole batch's response tokens, so the all-reduced (summed) gradient is the one-process gradient.
    The loss and rank 0's time-out travel in the same all-reduce as the gradients. With ``world == 1`` no
    collective is called.
    """
    model.train()
    device = next(model.parameters()).device  # batches follow the model (CPU, or the GPU it was moved to)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(pairs) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(s, total) / max(1, total)))
    )
    generator = torch.Generator().manual_seed(cfg.seed)
    lengths = [len(p) + len(r) for p, r in pairs]
    start, step, loss_value = time.perf_counter(), 0, float("nan")
    for _epoch in range(cfg.epochs):
        for indices in length_bucketed_order(torch, lengths, cfg.batch_size, generator):
            optimizer.zero_grad(set_to_none=True)
            share = [pairs[i] for i in indices[rank::world]]  # the whole batch when world == 1
            out_of_time = rank == 0 and cfg.max_seconds is not None and time.perf_counter() - start > cfg.max_seconds
            loss_value = 0.0
            if share:
                batch = left_pad_batch(torch, share, pad_id)
                normalizer = sum(len(pairs[i][1]) for i in indices) if world > 1 else None  # the whole batch's
                loss = response_loss(torch, model, {k: v.to(device) for k, v in batch.items()}, normalizer)
                loss.backward()
                loss_value = float(loss.detach())
            if world > 1:
                loss_value, out_of_time = _all_reduce_gradients(torch, params, loss_value, out_of_time)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            if on_step is not None:
                on_step(step, total, loss_value)
            if out_of_time:
                return SFTResult(step, step / steps_per_epoch, loss_value, time.perf_counter() - start)
    return SFTResult(step, step / steps_per_epoch, loss_value, time.perf_counter() - start)


def _all_reduce_gradients(torch: Any, params: list[Any], loss_value: float, stop: bool) -> tuple[float, bool]:
    """One all-reduce (sum) of every rank's gradients, loss share and stop flag.

    Returns the whole batch's loss and whether any rank asked to stop; the parameters' ``.grad`` hold the
    summed gradient.
    """
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1).float() for g in grads] + [torch.tensor([loss_value, float(stop)])])  # fp32
    torch.distributed.all_reduce(flat)
    offset = 0
    for p, g in zip(params, grads, strict=True):
        p.grad = flat[offset : offset + g.numel()].view_as(g).to(g.dtype)
        offset += g.numel()
    return float(flat[-2]), bool(flat[-1] > 0)
