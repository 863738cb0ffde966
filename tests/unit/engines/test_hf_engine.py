from types import SimpleNamespace
from typing import Any

import pytest

from agentgym_seal.engines import HFEngine, SamplingParams
from agentgym_seal.engines.hf import _cache_kwarg, _cache_of
from agentgym_seal.errors import ConfigError

torch = pytest.importorskip("torch")


def prompts(tok: Any) -> list[list[int]]:
    texts = ["You arrive at countertop 1.", "On the countertop 1, you see a apple 1, and a mug 2. " * 3, "look"]
    return [tok(t, add_special_tokens=False)["input_ids"] for t in texts]


def test_greedy_logprobs_match_a_full_forward_despite_left_padding(tiny_policy: Any) -> None:
    model, tok = tiny_policy
    out = HFEngine(model, tok.pad_token_id).generate(prompts(tok), SamplingParams(temperature=0, max_new_tokens=6))
    for prompt, tokens, logprobs in zip(prompts(tok), out.token_ids, out.logprobs, strict=True):
        with torch.no_grad():
            logp = model(torch.tensor([prompt + tokens])).logits[0].log_softmax(-1)
        positions = range(len(prompt) - 1, len(prompt) - 1 + len(tokens))
        assert tokens == [int(logp[p].argmax()) for p in positions]
        assert logprobs == pytest.approx([float(logp[p, t]) for p, t in zip(positions, tokens, strict=True)], abs=1e-4)


def test_sampling_logprobs_are_temperature_scaled_and_seeded(tiny_policy: Any) -> None:
    model, tok = tiny_policy
    engine = HFEngine(model, tok.pad_token_id)
    params = SamplingParams(temperature=0.7, top_p=0.9, max_new_tokens=5, seed=3)
    a, b = engine.generate(prompts(tok), params), engine.generate(prompts(tok), params)
    assert a == b
    prompt, tokens = prompts(tok)[0], a.token_ids[0]
    with torch.no_grad():
        logp = (model(torch.tensor([prompt + tokens])).logits[0] / 0.7).log_softmax(-1)
    expected = [float(logp[len(prompt) - 1 + i, t]) for i, t in enumerate(tokens)]
    assert a.logprobs[0] == pytest.approx(expected, abs=1e-4)


def test_stop_tokens_end_each_row_and_are_kept(tiny_policy: Any) -> None:
    model, tok = tiny_policy
    engine = HFEngine(model, tok.pad_token_id)
    free = engine.generate(prompts(tok), SamplingParams(temperature=0, max_new_tokens=8))
    assert free.finish_reasons == ["length"] * 3 and all(len(t) == 8 for t in free.token_ids)
    stop = free.token_ids[1][2]  # row 1 stops at or before its third token
    out = engine.generate(prompts(tok), SamplingParams(temperature=0, max_new_tokens=8, stop_token_ids=(stop,)))
    assert out.finish_reasons[1] == "stop" and len(out.token_ids[1]) <= 3
    for row in range(3):
        expected = free.token_ids[row]
        cut = expected.index(stop) + 1 if stop in expected else len(expected)
        assert out.token_ids[row] == expected[:cut]
        assert out.finish_reasons[row] == ("stop" if stop in expected else "length")


def test_sampling_params_validation_and_empty_prompts(tiny_policy: Any) -> None:
    with pytest.raises(ConfigError, match="top_p"):
        SamplingParams(top_p=0.0)
    with pytest.raises(ConfigError, match="temperature"):
        SamplingParams(temperature=-1)
    model, tok = tiny_policy
    assert HFEngine(model, tok.pad_token_id).generate([], SamplingParams()).token_ids == []


@pytest.mark.parametrize(("temperature", "top_p"), [(0.7, 0.9), (1.3, 1.0), (0.0, 1.0)])
def test_entropies_are_those_of_the_logits_at_the_temperature(
    tiny_policy: Any, temperature: float, top_p: float
) -> None:
    model, tok = tiny_policy
    engine = HFEngine(model, tok.pad_token_id)
    assert engine.provides_entropies
    out = engine.generate(prompts(tok), SamplingParams(temperature=temperature, top_p=top_p, max_new_tokens=5, seed=1))
    assert out.entropies is not None
    scale = temperature or 1.0  # greedy: the T = 1 distribution, as for the log-probs
    for prompt, tokens, entropies in zip(prompts(tok), out.token_ids, out.entropies, strict=True):
        assert len(entropies) == len(tokens) and all(isinstance(h, float) for h in entropies)
        with torch.no_grad():
            logp = (model(torch.tensor([prompt + tokens])).logits[0].float() / scale).log_softmax(-1)
        expected = -(logp.exp() * logp).sum(-1)[len(prompt) - 1 : len(prompt) - 1 + len(tokens)]
        assert entropies == pytest.approx(expected.tolist(), abs=1e-4)  # full vocabulary, before top-p


def test_outputs_without_entropies_are_allowed() -> None:
    from agentgym_seal.engines import GenerationOutput

    assert GenerationOutput([[1]], [[-0.5]], ["length"]).entropies is None  # an engine that cannot compute them


def test_kv_cache_keyword_follows_the_models_forward(tiny_policy: Any, recwarn: pytest.WarningsRecorder) -> None:
    """transformers 5.2x renamed ``past_key_values`` to ``cache``; older models (or remote code) keep the old name."""
    model, tok = tiny_policy

    class OldStyle(torch.nn.Module):  # a forward that only knows ``past_key_values``
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(
            self,
            input_ids: Any,
            attention_mask: Any,
            position_ids: Any,
            past_key_values: Any = None,
            use_cache: bool = True,
        ) -> Any:
            cache = {} if past_key_values is None else {_cache_kwarg(model): past_key_values}
            out = self.inner(
                input_ids=input_ids,
                attention_mask=attention_mask,
                position_ids=position_ids,
                use_cache=use_cache,
                **cache,
            )
            return SimpleNamespace(logits=out.logits, past_key_values=_cache_of(out))

    params = SamplingParams(temperature=0, max_new_tokens=6)
    new = HFEngine(model, tok.pad_token_id)
    old = HFEngine(OldStyle(), tok.pad_token_id)
    assert old._cache_kwarg == "past_key_values"
    assert old.generate(prompts(tok), params) == new.generate(prompts(tok), params)
    deprecations = [w for w in recwarn if "past_key_values" in str(w.message)]
    assert not deprecations, [str(w.message) for w in deprecations]
