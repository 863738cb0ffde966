import json
from pathlib import Path
from typing import Any

import pytest

from agentgym_seal.models import (
    TAG_TOKENS,
    ModelLoadError,
    TinyModelConfig,
    check_model_folder,
    load_policy,
    load_tokenizer,
    tiny_policy,
    train_tokenizer,
)

torch = pytest.importorskip("torch")


def test_tags_are_single_ordinary_tokens_that_survive_skip_special_tokens(tiny_policy: Any) -> None:
    _, tok = tiny_policy
    text = "<think>hmm</think><action>go to countertop 1</action>"
    ids = tok(text + tok.eos_token, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == text
    for tag in TAG_TOKENS:
        assert len(tok(tag, add_special_tokens=False)["input_ids"]) == 1, tag


def test_byte_level_round_trip_of_any_text(tiny_policy: Any) -> None:
    _, tok = tiny_policy
    for text in ["café 中文 🙂", "\x00\x01 binary", "  spaced  out  "]:
        assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text


def test_chat_template_and_reload(tiny_policy: Any, tmp_path: Path) -> None:
    model, tok = tiny_policy
    chat = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False)
    assert chat == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    model2, tok2 = load_policy(tmp_path)
    assert tok2.padding_side == "left" and tok2("<action>")["input_ids"] == tok("<action>")["input_ids"]
    ids = torch.tensor([[1, 2, 3]])
    assert torch.equal(model(ids).logits, model2(ids).logits)


def test_tiny_policy_is_cached_by_config_and_corpus(tmp_path: Path) -> None:
    cfg = TinyModelConfig(hidden_size=32, num_layers=1, num_heads=2, num_kv_heads=1, intermediate_size=64)
    corpus = ["go to shelf 1", "take mug 1 from shelf 1"] * 20
    m1, _, f1 = tiny_policy(cfg, corpus, tmp_path)
    m2, _, f2 = tiny_policy(cfg, corpus, tmp_path)
    assert f1 == f2 and all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters(), strict=True))
    _, _, f3 = tiny_policy(cfg, [*corpus, "look"], tmp_path)
    assert f3 != f1
    assert not [p for p in f1.parent.iterdir() if p.name.startswith(".")]


def test_bad_model_folders_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        check_model_folder(tmp_path / "missing")
    with pytest.raises(ModelLoadError, match=r"has no config\.json"):
        check_model_folder(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    with pytest.raises(ModelLoadError, match="expected a causal LM"):
        check_model_folder(tmp_path)


def test_tokenizer_without_chat_template_is_refused(tmp_path: Path) -> None:
    tok = train_tokenizer(["go to shelf 1"] * 10, vocab_size=300)
    tok.chat_template = None
    tok.save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match="no chat template"):
        load_tokenizer(tmp_path)
