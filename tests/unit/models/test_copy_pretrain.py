"""Synthetic copy pretraining: the task's pairs, the cache key, and that it teaches copying."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from agentgym_seal.errors import ConfigError  # noqa: E402
from agentgym_seal.models import TinyModelConfig, tiny_policy  # noqa: E402
from agentgym_seal.models.copy_pretrain import (  # noqa: E402
    CopyTaskConfig,
    copy_pretrain,
    copy_task_pairs,
    ordinary_token_ids,
)
from agentgym_seal.models.sft import left_pad_batch, response_loss  # noqa: E402
from agentgym_seal.models.tiny import COPY_REPORT, copy_report  # noqa: E402


def test_pairs_are_a_segment_then_its_copies_from_the_pool() -> None:
    cfg = CopyTaskConfig(sequences=200, min_length=3, max_length=7, repeats=2, seed=1)
    pool = [5, 9, 11, 40]
    pairs = copy_task_pairs(pool, cfg)
    assert len(pairs) == 200
    for prompt, response in pairs:
        assert 3 <= len(prompt) <= 7 and response == prompt * 2 and set(prompt) <= set(pool)
    assert {len(p) for p, _ in pairs} == set(range(3, 8))  # every length occurs
    assert copy_task_pairs(pool, cfg) == pairs  # deterministic per seed
    assert copy_task_pairs(pool, CopyTaskConfig(sequences=200, min_length=3, max_length=7, repeats=2, seed=2)) != pairs


@pytest.mark.parametrize(
    "kwargs",
    [{"sequences": -1}, {"min_length": 0}, {"min_length": 5, "max_length": 4}, {"repeats": 0}, {"batch_size": 0}],
)
def test_bad_settings_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ConfigError, match="copy pretraining"):
        CopyTaskConfig(**kwargs)


def test_an_empty_token_pool_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least one token"):
        copy_task_pairs([], CopyTaskConfig(sequences=1))


def test_the_pool_leaves_out_special_tokens(tiny_policy: Any) -> None:
    _, tokenizer = tiny_policy
    pool = ordinary_token_ids(tokenizer)
    assert tokenizer.pad_token_id not in pool and tokenizer.eos_token_id not in pool
    assert tokenizer.convert_tokens_to_ids("<action>") in pool  # the tags are ordinary tokens
    assert len(pool) == len(tokenizer) - len(set(tokenizer.all_special_ids))


_TASK = CopyTaskConfig(sequences=12_000, min_length=2, max_length=6, seed=0)


def _copy_loss(model: Any, tokenizer: Any, seed: int) -> float:
    pairs = copy_task_pairs(ordinary_token_ids(tokenizer), dataclasses.replace(_TASK, sequences=64, seed=seed))
    model.eval()
    with torch.no_grad():
        return float(response_loss(torch, model, left_pad_batch(torch, pairs, tokenizer.pad_token_id)))


@pytest.mark.slow
def test_copy_pretraining_teaches_a_random_model_to_copy_unseen_segments(tiny_policy: Any) -> None:
    model, tokenizer = tiny_policy
    model = copy.deepcopy(model)
    before = _copy_loss(model, tokenizer, seed=99)  # held-out segments: another seed than training's
    result = copy_pretrain(model, tokenizer, _TASK)
    after = _copy_loss(model, tokenizer, seed=99)
    assert result is not None and result.steps == -(-_TASK.sequences // _TASK.batch_size)  # one pass
    # The tokens are uniform random, so without the context nothing beats log(pool size) ~ 5.9 nats: every
    # nat below it comes from copying the prompt (measured: 5.97 -> ~4 after 6,000 sequences).
    assert before > 5.5 and after < 0.7 * before, (before, after)


def test_zero_sequences_is_a_no_op(tiny_policy: Any) -> None:
    model, tokenizer = tiny_policy
    state = {k: v.clone() for k, v in model.state_dict().items()}
    assert copy_pretrain(model, tokenizer, CopyTaskConfig(sequences=0)) is None
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())


def test_cache_key_includes_the_copy_task_and_keeps_old_keys(tmp_path: Path) -> None:
    cfg = TinyModelConfig(hidden_size=32, num_layers=1, num_heads=2, num_kv_heads=1, intermediate_size=64)
    corpus = ["go to shelf 1", "take mug 1 from shelf 1"] * 20
    _, _, plain = tiny_policy(cfg, corpus, tmp_path)
    _, _, off = tiny_policy(cfg, corpus, tmp_path, copy=CopyTaskConfig(sequences=0))
    assert off == plain  # no copy pretraining: the folder of a model built before the option
    task = CopyTaskConfig(sequences=64, batch_size=16)
    m1, _, on = tiny_policy(cfg, corpus, tmp_path, copy=task)
    m2, _, again = tiny_policy(cfg, corpus, tmp_path, copy=task)
    assert on == again != plain
    report = copy_report(on)  # what the trainer copies into warmup.json
    assert report is not None and json.loads((on / COPY_REPORT).read_text()) == report
    assert report["steps"] == task.sequences // task.batch_size and report["loss"] > 0 and report["seconds"] > 0
    assert copy_report(plain) is None
    assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters(), strict=True))
    m0, _, _ = tiny_policy(cfg, corpus, tmp_path)
    assert any(not torch.equal(a, b) for a, b in zip(m0.parameters(), m1.parameters(), strict=True))
