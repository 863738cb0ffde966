"""Synthetic copy pretraining of the tiny model: repeated random token sequences (an induction task).

A language-model agent copies all the time: an entity from the task into a command, a receptacle from the
admissible list, an answer from a retrieved passage. A pretrained LM arrives with the attention circuits for
this ("induction heads": attend to the token after an earlier occurrence of the current token and copy it,
Olsson et al., 2022); a randomly initialised tiny model has to grow them during the warm-up, which is where
its warm-up sits near 0% until it suddenly does not (the transition that made the CPU default depend on the
seed). This module grows them first, on data that costs nothing to make: a sequence of random tokens
``x`` followed by ``repeats`` copies of itself, with the loss on the copies. Nothing here is task text, so
the step is a stand-in for *pretraining*, not for the demonstrations.

The pairs go through the warm-up's own loop (:func:`~agentgym_seal.models.sft.sft_warmup`: response-only
loss, length buckets, cosine schedule, data-parallel processes on a CPU), with ``x`` as the prompt and the
copies as the response.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agentgym_seal.deps import require
from agentgym_seal.errors import ConfigError

from .sft import SFTConfig, SFTResult, sft_warmup


@dataclass(frozen=True)
class CopyTaskConfig:
    """The synthetic copy task.

    Attributes:
        sequences: Training sequences (one pass); 0 skips copy pretraining.
        min_length: Shortest random segment ``x``.
        max_length: Longest random segment ``x``.
        repeats: Copies of ``x`` after it (the response); the first copy teaches the jump back to the
            start, the later ones continuing a copy.
        lr: AdamW learning rate (cosine-decayed to 10%).
        batch_size: Sequences per optimizer step.
        seed: Seed of the random segments and of the batch order.
    """

    sequences: int = 0
    min_length: int = 4
    max_length: int = 12
    repeats: int = 3
    lr: float = 3e-3
    batch_size: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        if self.sequences < 0:
            raise ConfigError(f"copy pretraining: sequences must be >= 0 (0 = off); got {self.sequences}.")
        if not 1 <= self.min_length <= self.max_length:
            raise ConfigError(
                f"copy pretraining: need 1 <= min_length <= max_length; got {self.min_length}, {self.max_length}."
            )
        if self.repeats < 1 or self.batch_size < 1:
            raise ConfigError(
                f"copy pretraining: repeats and batch_size must be >= 1; got {self.repeats}, {self.batch_size}."
            )


def copy_task_pairs(token_ids: Sequence[int], cfg: CopyTaskConfig) -> list[tuple[list[int], list[int]]]:
    """``cfg.sequences`` (prompt ids, response ids) pairs: a random segment, then ``cfg.repeats`` copies of it.

    Tokens are drawn uniformly from ``token_ids`` (with replacement); segment lengths uniformly from
    ``[min_length, max_length]``. Deterministic per ``cfg.seed``.

    Raises:
        ConfigError: ``token_ids`` is empty.
    """
    if not token_ids:
        raise ConfigError("copy pretraining needs at least one token to draw from.")
    np = require("numpy", "train")
    rng = np.random.default_rng([cfg.seed, 0xC0B7])
    pool = np.asarray(token_ids, dtype=np.int64)
    lengths = rng.integers(cfg.min_length, cfg.max_length + 1, size=cfg.sequences)
    pairs = []
    for length in lengths:
        segment = pool[rng.integers(len(pool), size=int(length))].tolist()
        pairs.append((segment, segment * cfg.repeats))
    return pairs


def ordinary_token_ids(tokenizer: Any) -> list[int]:
    """The ids of ``tokenizer`` that are not special tokens (pad, EOS, the chat markers): the copy task's pool."""
    special = set(tokenizer.all_special_ids)
    return [i for i in range(len(tokenizer)) if i not in special]


def copy_pretrain(
    model: Any,
    tokenizer: Any,
    cfg: CopyTaskConfig,
    *,
    processes: int = 1,
    on_step: Callable[[int, int, float], None] | None = None,
) -> SFTResult | None:
    """Trains ``model`` in place on :func:`copy_task_pairs` over :func:`ordinary_token_ids` of ``tokenizer``.

    Special tokens are left out of the draws, so their embeddings keep the roles the warm-up gives them.
    Returns ``None`` when ``cfg.sequences`` is 0.
    """
    if cfg.sequences == 0:
        return None
    sft = SFTConfig(epochs=1, lr=cfg.lr, batch_size=cfg.batch_size, seed=cfg.seed, processes=processes)
    return sft_warmup(
        model, copy_task_pairs(ordinary_token_ids(tokenizer), cfg), tokenizer.pad_token_id, sft, on_step=on_step
    )
