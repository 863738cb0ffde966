"""The vllm engine against the hf engine on the same weights (runs in .venv-vllm: `make pytest-vllm`).

In the main env (no vLLM) everything here skips; the missing-vLLM error is tested in test_vllm_missing.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("vllm")
torch = pytest.importorskip("torch")

from agentgym_seal.engines import ENGINES, HFEngine, SamplingParams  # noqa: E402
from agentgym_seal.engines.vllm import VLLMEngine  # noqa: E402
from agentgym_seal.models import TinyModelConfig, tiny_policy  # noqa: E402

CORPUS = [
    "You arrive at countertop 1. On the countertop 1, you see a apple 1, and a mug 2.",
    "<think>the apple is here</think><action>take apple 1 from countertop 1</action>",
    "Your task is to: put a clean mug in coffeemachine. Admissible actions: ['go to cabinet 1', 'look'].",
] * 30
TEXTS = [
    "You arrive at countertop 1.",
    "On the countertop 1, you see a apple 1, and a mug 2. " * 3,
    "look",
    "Your task is to: put a clean mug in coffeemachine.",
    "You arrive at countertop 1. On the countertop 1, you see a mug 2.",
]


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    # vLLM's CPU attention needs a head size >= 32: hidden 64 with 2 heads (1 KV head), tied embeddings.
    size = TinyModelConfig(hidden_size=64, num_layers=2, num_heads=2, num_kv_heads=1, intermediate_size=128)
    model, tok, _ = tiny_policy(size, CORPUS, tmp_path_factory.mktemp("models"))
    return model, tok


@pytest.fixture(scope="module")
def engines(policy: tuple[Any, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, VLLMEngine]]:
    model, tok = policy
    engine = ENGINES.get("vllm")(model, tok.pad_token_id, workdir=tmp_path_factory.mktemp("vllm"), max_model_len=512)
    yield HFEngine(model, tok.pad_token_id), engine
    engine.close()


def prompts(tok: Any) -> list[list[int]]:
    return [tok(t, add_special_tokens=False)["input_ids"] for t in TEXTS]


def assert_same(hf: Any, vl: Any) -> None:
    assert vl.token_ids == hf.token_ids
    assert vl.finish_reasons == hf.finish_reasons
    for a, b in zip(vl.logprobs, hf.logprobs, strict=True):
        assert a == pytest.approx(b, abs=1e-4)


def test_registry_builds_the_vllm_engine_with_prefix_caching(engines: tuple[Any, VLLMEngine]) -> None:
    _, engine = engines
    assert isinstance(engine, VLLMEngine) and engine.provides_entropies is False
    assert engine.llm.llm_engine.vllm_config.cache_config.enable_prefix_caching
    config = (Path(engine.folder) / "config.json").read_text()
    assert '"tie_word_embeddings": false' in config  # served untied: see the module doc


def test_greedy_parity_with_hf(policy: tuple[Any, Any], engines: tuple[Any, VLLMEngine]) -> None:
    _, tok = policy
    hf, vl = engines
    params = SamplingParams(temperature=0, max_new_tokens=16)
    assert_same(hf.generate(prompts(tok), params), vl.generate(prompts(tok), params))


def test_stop_tokens_are_kept_and_end_each_row_like_hf(
    policy: tuple[Any, Any], engines: tuple[Any, VLLMEngine]
) -> None:
    _, tok = policy
    hf, vl = engines
    free = vl.generate(prompts(tok), SamplingParams(temperature=0, max_new_tokens=12))
    assert free.finish_reasons == ["length"] * len(TEXTS)
    stop = free.token_ids[1][2]
    params = SamplingParams(temperature=0, max_new_tokens=12, stop_token_ids=(stop, tok.eos_token_id))
    out = vl.generate(prompts(tok), params)
    assert out.finish_reasons[1] == "stop" and out.token_ids[1][-1] == stop and len(out.token_ids[1]) <= 3
    assert_same(hf.generate(prompts(tok), params), out)


def test_sampling_logprobs_are_temperature_scaled_and_rows_are_seeded(
    policy: tuple[Any, Any], engines: tuple[Any, VLLMEngine]
) -> None:
    model, tok = policy
    _, vl = engines
    prompt = prompts(tok)[0]
    params = SamplingParams(temperature=0.8, max_new_tokens=8, seed=5)
    a, b = vl.generate([prompt] * 4, params), vl.generate([prompt] * 4, params)
    assert a == b  # same seed, same samples
    assert len({tuple(t) for t in a.token_ids}) > 1  # but each row of the group has its own sampler
    c = vl.generate([prompt] * 4, params, seeds=[11, 12, 13, 14])
    assert c.token_ids[:2] == vl.generate([prompt] * 2, params, seeds=[11, 12]).token_ids  # batch-independent
    for tokens, logprobs in zip(a.token_ids, a.logprobs, strict=True):
        with torch.no_grad():
            logp = (model(torch.tensor([prompt + tokens])).logits[0] / 0.8).log_softmax(-1)
        expected = [float(logp[len(prompt) - 1 + i, t]) for i, t in enumerate(tokens)]
        assert logprobs == pytest.approx(expected, abs=1e-4)


def test_a_seeded_batch_larger_than_one_scheduler_step(
    policy: tuple[Any, Any], engines: tuple[Any, VLLMEngine]
) -> None:
    # 24 x ~500 prompt tokens > the 8192-token step budget: vLLM schedules the prefills over several steps
    # (regression: chunked prefill + per-request seeds crashed on CPU generators).
    _, tok = policy
    hf, vl = engines
    long = tok(" ".join(TEXTS * 12), add_special_tokens=False)["input_ids"][:500]
    assert len(long) == 500
    batch = [long[i:] for i in range(24)]
    out = vl.generate(batch, SamplingParams(temperature=1.0, max_new_tokens=4), seeds=list(range(24)))
    assert all(len(t) == 4 for t in out.token_ids)
    greedy = SamplingParams(temperature=0, max_new_tokens=4)
    assert_same(hf.generate(batch[:4], greedy), vl.generate(batch[:4], greedy))


def test_parity_survives_an_optimizer_step_and_weight_sync(
    policy: tuple[Any, Any], engines: tuple[Any, VLLMEngine]
) -> None:
    model, tok = policy
    hf, vl = engines
    params = SamplingParams(temperature=0, max_new_tokens=16)
    before = vl.generate(prompts(tok), params)  # fills the prefix cache with the old weights' KV blocks
    # A real update: a few AdamW steps of next-token loss on the first completion (moves every parameter,
    # the tied embedding / lm_head included).
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-2)
    target = torch.tensor([prompts(tok)[3] + prompts(tok)[2] * 4])
    model.train()
    for _ in range(3):
        loss = model(target, labels=target).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    vl.sync_weights(model)
    assert 0 < vl.last_sync_seconds < 10
    after_hf, after_vl = hf.generate(prompts(tok), params), vl.generate(prompts(tok), params)
    assert after_vl.token_ids != before.token_ids  # the engine samples from the new weights...
    assert_same(after_hf, after_vl)  # ...exactly as the learner's module does


def test_bad_calls_give_clear_errors(policy: tuple[Any, Any], engines: tuple[Any, VLLMEngine]) -> None:
    _, tok = policy
    _, vl = engines
    assert vl.generate([], SamplingParams()).token_ids == []
    with pytest.raises(ValueError, match="seeds"):
        vl.generate(prompts(tok), SamplingParams(), seeds=[1])
    with pytest.raises(ValueError, match="empty"):
        vl.generate([[]], SamplingParams())
