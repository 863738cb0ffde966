"""SFT warm-up: the fast loss (left padding, response-only logits) equals the plain one; batches; learning."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from agentgym_seal.models.sft import (  # noqa: E402
    SFTConfig,
    left_pad_batch,
    length_bucketed_order,
    response_loss,
    sft_warmup,
)


def _pairs(vocab: int, n: int, seed: int = 0) -> list[tuple[list[int], list[int]]]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        p = int(torch.randint(3, 30, (1,), generator=g))
        r = int(torch.randint(1, 8, (1,), generator=g))
        out.append(
            (torch.randint(3, vocab, (p,), generator=g).tolist(), torch.randint(3, vocab, (r,), generator=g).tolist())
        )
    return out


def _plain_loss(model: Any, pairs: list[tuple[list[int], list[int]]]) -> Any:
    """Reference: each pair alone, unpadded, full logits, token-mean over all response tokens of the batch."""
    total, count = torch.zeros(()), 0
    for prompt, response in pairs:
        ids = torch.tensor([prompt + response])
        logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), -1)  # (L-1, V)
        targets = ids[0, 1:]
        nll = -logp.gather(-1, targets[:, None]).squeeze(-1)[len(prompt) - 1 :]  # response predictions
        total, count = total + nll.sum(), count + len(response)
    return total / count


def test_response_loss_equals_unpadded_reference(tiny_policy: Any) -> None:
    model, tokenizer = tiny_policy
    model.eval()
    pairs = _pairs(len(tokenizer), 6)
    fast = response_loss(torch, model, left_pad_batch(torch, pairs, tokenizer.pad_token_id))
    assert torch.allclose(fast, _plain_loss(model, pairs), rtol=1e-5, atol=1e-6)


def test_left_pad_batch_aligns_responses_at_the_end() -> None:
    batch = left_pad_batch(torch, [([5, 6, 7], [8]), ([5], [9, 10])], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8], [0, 5, 9, 10]]
    assert batch["targets"].tolist() == [[7, 8], [9, 10]]
    assert batch["target_mask"].tolist() == [[False, True], [True, True]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 3], [0, 0, 1, 2]]


def test_length_buckets_cover_every_index_once_and_cut_padding() -> None:
    lengths = [int(x) for x in torch.randint(10, 300, (500,), generator=torch.Generator().manual_seed(0))]
    batches = length_bucketed_order(torch, lengths, 32, torch.Generator().manual_seed(1))
    assert sorted(i for b in batches for i in b) == list(range(500))
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    shuffled = torch.randperm(500, generator=torch.Generator().manual_seed(1)).tolist()
    naive = sum(32 * max(lengths[i] for i in shuffled[s : s + 32]) for s in range(0, 500, 32))
    assert padded < 0.8 * naive


def test_sft_learns_a_mapping(tiny_policy: Any) -> None:
    model, tokenizer = copy.deepcopy(tiny_policy)  # the session fixture must stay untrained
    pairs = [([5, 6, 7 + k], [20 + k]) for k in range(4)] * 8
    before = float(response_loss(torch, model, left_pad_batch(torch, pairs, tokenizer.pad_token_id)))
    result = sft_warmup(model, pairs, tokenizer.pad_token_id, SFTConfig(epochs=15, lr=3e-3, batch_size=8))
    after = float(response_loss(torch, model, left_pad_batch(torch, pairs, tokenizer.pad_token_id)))
    assert after < 0.2 * before and result.steps == 15 * 4


def test_empty_inputs_are_refused(tiny_policy: Any) -> None:
    model, tokenizer = tiny_policy
    with pytest.raises(ValueError, match="at least one"):
        sft_warmup(model, [], tokenizer.pad_token_id, SFTConfig())
    with pytest.raises(ValueError, match="non-empty response"):
        sft_warmup(model, [([1, 2], [])], tokenizer.pad_token_id, SFTConfig())


def test_two_process_warmup_takes_the_one_process_steps(tiny_policy: Any) -> None:
    """Data-parallel SFT (2 CPU processes, gloo): same batches and loss, so the trained weights match."""
    model, tokenizer = tiny_policy
    pairs = _pairs(len(tokenizer), 24, seed=3)
    cfg = SFTConfig(epochs=2, lr=3e-3, batch_size=8, seed=5)
    one, two = copy.deepcopy(model), copy.deepcopy(model)
    losses: dict[str, list[float]] = {"one": [], "two": []}
    r1 = sft_warmup(one, pairs, tokenizer.pad_token_id, cfg, on_step=lambda s, t, x: losses["one"].append(x))
    r2 = sft_warmup(
        two, pairs, tokenizer.pad_token_id, dataclasses.replace(cfg, processes=2),
        on_step=lambda s, t, x: losses["two"].append(x),
    )  # fmt: skip
    assert r1.steps == r2.steps == 6
    assert losses["two"] == pytest.approx(losses["one"], rel=1e-4)
    moved = [float((a - b).abs().max()) for a, b in zip(model.parameters(), two.parameters(), strict=True)]
    assert max(moved) > 1e-3  # it trained
    for a, b in zip(one.parameters(), two.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)


def test_bad_process_count_is_refused() -> None:
    with pytest.raises(ValueError, match="processes"):
        SFTConfig(processes=0)


def test_warmup_processes_flag_is_checked_at_start() -> None:
    from agentgym_seal.backends.config import WarmupConfig
    from agentgym_seal.errors import ConfigError

    assert WarmupConfig(processes=2).processes == 2
    with pytest.raises(ConfigError, match=r"--warmup\.processes"):
        WarmupConfig(processes=-1)


def test_a_dead_helper_process_is_a_clear_error(tiny_policy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime
    import shutil
    import sys

    from agentgym_seal.errors import AgentGymError
    from agentgym_seal.models import sft_parallel

    model, tokenizer = tiny_policy
    monkeypatch.setattr(sft_parallel, "_TIMEOUT", datetime.timedelta(seconds=5))
    monkeypatch.setattr(sys, "executable", shutil.which("false"))  # the helper exits at once
    with pytest.raises(AgentGymError, match="data-parallel warm-up failed"):
        sft_warmup(copy.deepcopy(model), _pairs(len(tokenizer), 8), tokenizer.pad_token_id, SFTConfig(processes=2))
