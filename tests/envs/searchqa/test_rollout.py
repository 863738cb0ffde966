"""The generic rollout and expert demonstrations drive SearchQA-v0 through its prompt template."""

import math
from typing import Any

import pytest

from agentgym_seal.experts import expert_demonstrations
from agentgym_seal.family import FAMILIES
from agentgym_seal.prompting import build_prompt

OPTIONS = {"num_passages": 500}


def test_expert_demonstrations_render_as_prompts() -> None:
    demos = expert_demonstrations(3, env_id="SearchQA-v0", **OPTIONS)
    assert demos and all(d.action.startswith(("<search>", "<answer>")) for d in demos)
    assert demos[0].observation.startswith("Question: ") and demos[0].step == 0
    template = FAMILIES.get("searchqa").prompt_template
    later = next(d for d in demos if d.step > 0)
    prompt = build_prompt(template, task=later.task, observation=later.observation, admissible_actions=(),
                          history=later.history, step=later.step)  # fmt: skip
    assert later.task in prompt and "<information>" in prompt


def test_group_rollout(tiny_policy: Any) -> None:
    pytest.importorskip("torch")
    from agentgym_seal.engines import HFEngine, SamplingParams
    from agentgym_seal.rollout import GroupRollout, RolloutConfig

    model, tok = tiny_policy
    cfg = RolloutConfig(
        env_id="SearchQA-v0", env_kwargs=OPTIONS, group_size=2, max_turns=4, max_prompt_length=512,
        sampling=SamplingParams(temperature=1.0, max_new_tokens=12, seed=0),
    )  # fmt: skip
    rollout = GroupRollout(cfg, HFEngine(model, tok.pad_token_id), tok, num_envs=4)
    try:
        batch = rollout.collect([1, 2])
    finally:
        rollout.close()
    assert [t.uid for t in batch.trajectories] == [0, 0, 1, 1]
    assert all(1 <= t.length <= 4 for t in batch.trajectories)
    assert all(s.anchor.startswith("Question: ") for s in batch.samples if s.step == 0)
    assert all(t.task_type in ("single_hop", "bridge", "comparison") for t in batch.trajectories)
    for s in batch.samples:  # per-token entropies of the sampling distribution, one per response token
        assert s.entropies is not None and len(s.entropies) == len(s.response_ids)
        assert all(0.0 <= h <= math.log(model.config.vocab_size) + 1e-4 for h in s.entropies)
    for t in batch.trajectories:
        assert t.tool_calls == sum(s.tool_call for s in batch.samples if s.traj_uid == t.traj_uid)


class ScriptedEngine:
    """Answers every prompt with the same message (the tool-call bookkeeping does not depend on the model)."""

    provides_entropies = False

    def __init__(self, tok: Any, messages: list[str]) -> None:
        self.ids = [tok(m, add_special_tokens=False)["input_ids"] for m in messages]
        self.calls = 0

    def generate(self, prompts: Any, params: Any, **_: Any) -> Any:
        from agentgym_seal.engines import GenerationOutput

        ids = self.ids[min(self.calls, len(self.ids) - 1)]
        self.calls += 1
        return GenerationOutput([ids] * len(prompts), [[0.0] * len(ids)] * len(prompts), ["stop"] * len(prompts))

    def sync_weights(self, model: Any) -> None:
        pass


def test_rollout_counts_tool_calls_and_keeps_missing_entropies_as_none(tiny_policy: Any) -> None:
    pytest.importorskip("torch")
    from agentgym_seal.rollout import GroupRollout, RolloutConfig

    _, tok = tiny_policy
    messages = ["<search>capital city</search>", "<search>river</search>", "<answer>no</answer>"]
    cfg = RolloutConfig(env_id="SearchQA-v0", env_kwargs=OPTIONS, group_size=1, max_turns=4, max_prompt_length=512)
    rollout = GroupRollout(cfg, ScriptedEngine(tok, messages), tok, num_envs=1)
    try:
        batch = rollout.collect([0])
    finally:
        rollout.close()
    assert [s.tool_call for s in batch.samples] == [True, True, False]
    assert batch.trajectories[0].tool_calls == 2 and all(s.entropies is None for s in batch.samples)
