"""LoRA: a learner step moves only adapters and the SEAL head; checkpoints and final/ reload."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from agentgym_seal.backends.learner import Learner, LearnerConfig  # noqa: E402
from agentgym_seal.backends.seal import SEALConfig  # noqa: E402
from agentgym_seal.errors import ConfigError  # noqa: E402
from agentgym_seal.models.lora import (  # noqa: E402
    LoRASettings,
    apply_lora,
    load_policy_weights,
    plain_copy,
    save_policy,
)
from agentgym_seal.rollout import RolloutBatch, StepSample, TrajectorySummary  # noqa: E402


def batch() -> RolloutBatch:
    samples, trajectories = [], []
    for traj, won in enumerate([True, False, False, True]):
        samples.append(
            StepSample((5, 6, 7, 8, 9), (10 + traj, 11, 12), (), "x", float(won), True, True, traj // 2, traj, 0, "o")
        )
        trajectories.append(TrajectorySummary(traj // 2, traj, 7, won, float(won), 1, "t"))
    return RolloutBatch(tuple(samples), tuple(trajectories))


@pytest.fixture
def lora_model(tiny_policy: Any) -> Any:
    model, _ = tiny_policy
    return apply_lora(plain_copy(model).train(), LoRASettings(rank=4))


def test_one_step_changes_only_adapter_and_seal_head_parameters(lora_model: Any, tiny_policy: Any) -> None:
    _, tok = tiny_policy
    learner = Learner(lora_model, tok.pad_token_id, cfg=LearnerConfig(lr=1e-2), seal=SEALConfig(alpha=0.1))
    assert learner.head is not None
    before = {n: p.detach().clone() for n, p in lora_model.named_parameters()}
    head_before = [p.detach().clone() for p in learner.head.parameters()]
    learner.update(batch())
    changed = {n for n, p in lora_model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(".lora_" in n for n in changed), sorted(changed)[:5]
    assert all(not torch.equal(a, b) for a, b in zip(head_before, learner.head.parameters(), strict=True))
    trainable = {n for n, p in lora_model.named_parameters() if p.requires_grad}
    assert trainable and all(".lora_" in n for n in trainable)


def test_checkpoint_reload_and_merged_final(lora_model: Any, tiny_policy: Any, tmp_path: Path) -> None:
    model, _ = tiny_policy
    with torch.no_grad():
        for name, p in lora_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05)  # a trained adapter
    ids = torch.tensor([[5, 6, 7, 8, 9, 10]])
    expected = lora_model(input_ids=ids).logits
    save_policy(lora_model, tmp_path / "ckpt")
    again = apply_lora(plain_copy(model), LoRASettings(rank=4))
    load_policy_weights(again, tmp_path / "ckpt")
    assert torch.equal(again(input_ids=ids).logits, expected)
    save_policy(lora_model, tmp_path / "final", merged=True)
    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "final", local_files_only=True)
    assert torch.allclose(merged(input_ids=ids).logits, expected, atol=1e-5)
    assert (tmp_path / "final" / "adapter" / "adapter_config.json").is_file()
    save_policy(model, tmp_path / "plain")
    with pytest.raises(ConfigError, match="no adapter/ folder"):
        load_policy_weights(apply_lora(plain_copy(model), LoRASettings(rank=4)), tmp_path / "plain")


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="--lora-rank"):
        LoRASettings(rank=-1)
    with pytest.raises(ConfigError, match="rank >= 1"):
        apply_lora(object(), LoRASettings(rank=0))


def test_the_hf_engine_samples_from_a_peft_model_as_from_its_base(lora_model: Any, tiny_policy: Any) -> None:
    """peft's forward takes ``**kwargs``: the engine asks the model inside which KV-cache keyword it takes."""
    from agentgym_seal.engines import HFEngine, SamplingParams

    _, tok = tiny_policy
    prompt = [tok("You arrive at countertop 1.", add_special_tokens=False)["input_ids"]]
    params = SamplingParams(temperature=0, max_new_tokens=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # transformers' "past_key_values is deprecated"
        out = HFEngine(lora_model, tok.pad_token_id).generate(prompt, params)
    assert out == HFEngine(lora_model.get_base_model(), tok.pad_token_id).generate(prompt, params)
