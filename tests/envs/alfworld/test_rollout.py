"""Group rollout of a (random) tiny policy on the real ALFWorld engine."""

from collections import defaultdict
from typing import Any

import pytest

from agentgym_seal.engines import HFEngine, SamplingParams
from agentgym_seal.rollout import GroupRollout, RolloutConfig

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def rollout(tiny_policy: Any) -> Any:
    model, tok = tiny_policy
    stop = (tok.convert_tokens_to_ids("</action>"), tok.eos_token_id)
    cfg = RolloutConfig(
        env_kwargs={"difficulty": "tiny", "task_types": ["pick_and_place_simple"]},
        group_size=3,
        max_turns=4,
        max_prompt_length=400,
        sampling=SamplingParams(temperature=1.0, max_new_tokens=12, stop_token_ids=stop, seed=0),
    )
    ro = GroupRollout(cfg, HFEngine(model, tok.pad_token_id), tok, num_envs=6)
    yield ro
    ro.close()


def test_groups_share_a_seed_and_every_active_step_is_a_sample(rollout: Any) -> None:
    batch = rollout.collect([11, 12])
    assert len(batch.trajectories) == 6
    assert [t.uid for t in batch.trajectories] == [0, 0, 0, 1, 1, 1]
    assert [t.seed for t in batch.trajectories] == [11, 11, 11, 12, 12, 12]
    per_traj: dict[int, list[int]] = defaultdict(list)
    for s in batch.samples:
        per_traj[s.traj_uid].append(s.step)
        assert s.uid == s.traj_uid // 3
        assert len(s.response_ids) == len(s.old_logprobs) > 0
        assert len(s.prompt_ids) <= 400
    for traj in batch.trajectories:
        assert per_traj[traj.traj_uid] == list(range(traj.length))  # time order, no inactive steps
        assert 1 <= traj.length <= 4
    first_anchor = {s.uid: s.anchor for s in batch.samples if s.step == 0}
    assert all(s.anchor == first_anchor[s.uid] for s in batch.samples if s.step == 0)
    assert "Your task is to:" in first_anchor[0]


def test_same_sampler_seed_same_rollout(rollout: Any) -> None:
    a, b = rollout.collect([5]), rollout.collect([5])
    assert [s.response_ids for s in a.samples] == [s.response_ids for s in b.samples]


def test_prompt_truncation_is_counted(tiny_policy: Any) -> None:
    model, tok = tiny_policy
    cfg = RolloutConfig(
        env_kwargs={"difficulty": "tiny"}, group_size=1, max_turns=2, max_prompt_length=32,
        sampling=SamplingParams(max_new_tokens=4, seed=0),
    )  # fmt: skip
    ro = GroupRollout(cfg, HFEngine(model, tok.pad_token_id), tok, num_envs=1)
    batch = ro.collect([0])
    assert all(len(s.prompt_ids) == 32 and s.prompt_truncated for s in batch.samples)
    assert ro.truncated_prompts == len(batch.samples)
    ro.close()


def test_demonstration_prompts_match_rollout_prompts(tiny_policy: Any) -> None:
    """SFT must see exactly the prompts the policy later sees (step numbers, history window)."""
    from agentgym_seal.experts import expert_demonstrations
    from agentgym_seal.prompting import build_prompt

    model, tok = tiny_policy
    cfg = RolloutConfig(env_kwargs={"difficulty": "tiny"}, group_size=1, max_prompt_length=100_000)
    rollout = GroupRollout(cfg, HFEngine(model, tok.pad_token_id), tok, num_envs=1)

    demos = expert_demonstrations(2, seed=3, history_length=2, difficulty="tiny", expert="explorer")
    full_history: list[tuple[str, str]] = []
    for demo in demos:
        if demo.step == 0:
            full_history = []
        ids, _ = rollout.encode_prompt(demo.task, demo.observation, demo.admissible_actions, full_history)
        text = build_prompt(
            rollout.template, task=demo.task, observation=demo.observation, admissible_actions=demo.admissible_actions,
            history=demo.history, history_length=2, step=demo.step,
        )  # fmt: skip
        chat = rollout.tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False
        )
        assert rollout.tokenizer(chat, add_special_tokens=False)["input_ids"] == ids
        full_history.append((demo.observation, demo.action))
    assert max(d.step for d in demos) >= 3
    rollout.close()
