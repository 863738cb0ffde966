"""The per-family training hook: every family's kwargs make its envs and its expert demonstrations."""

import dataclasses

import gymnasium as gym
import pytest

from agentgym_seal.backends.config import TrainConfig, WarmupConfig
from agentgym_seal.experts import expert_demonstrations
from agentgym_seal.family import FAMILIES
from agentgym_seal.registration import ENVS

pytest.importorskip("torch")
ENV_IDS = ["ALFWorldText-v0", "WebShopText-v0", "SearchQA-v0"]


def test_every_registered_family_has_options() -> None:
    for env_id in ENVS.names():
        assert FAMILIES.get(ENVS.get(env_id).family).eval_splits


def test_alfworld_kwargs_are_the_historical_ones() -> None:
    cfg = TrainConfig(task_types=("pick_and_place_simple", "look_at_obj_in_light"), difficulty="small",
                      train_games_per_type=7, warmup=WarmupConfig(games_per_type=5, expert="explorer"))  # fmt: skip
    options = FAMILIES.get("alfworld")
    shared = {"task_types": ["pick_and_place_simple", "look_at_obj_in_light"], "difficulty": "small"}
    assert options.shared_kwargs(cfg) == shared  # also the demonstrations' cache key
    assert options.env_kwargs(cfg, "train") == {**shared, "split": "train", "games_per_type": 7, "first_game": 0}
    fresh = dataclasses.replace(cfg, train_first_game=5)  # RL on the games after the 5 demonstrated ones
    assert options.env_kwargs(fresh, "train") == {**shared, "split": "train", "games_per_type": 7, "first_game": 5}
    assert options.env_kwargs(fresh, "valid_seen") == {**shared, "split": "valid_seen", "games_per_type": None}
    assert options.env_kwargs(cfg, "valid_unseen") == {**shared, "split": "valid_unseen", "games_per_type": None}
    assert options.demo_kwargs(cfg) == {**shared, "games_per_type": 5, "expert": "explorer"}
    assert options.eval_splits == ("valid_seen", "valid_unseen") and options.stop_tags == ("</action>",)


def test_searchqa_trains_on_its_default_world_unless_env_options_say_otherwise() -> None:
    options = FAMILIES.get("searchqa")
    world = {"num_passages": 20_000, "question_types": ["comparison"], "expert_direct_answer": 0.3}
    cfg = TrainConfig(env="SearchQA-v0")
    assert options.shared_kwargs(cfg) == world  # also the demonstrations' cache key
    assert options.rollout_kwargs(cfg, "test") == {**world, "split": "test"}
    assert options.warmup_kwargs(cfg) == world
    own = TrainConfig(env="SearchQA-v0", env_options=("num_passages=3000", 'question_types=["single_hop"]'))
    assert options.rollout_kwargs(own, "train") == {
        "num_passages": 3000, "question_types": ["single_hop"], "expert_direct_answer": 0.3, "split": "train"
    }  # fmt: skip
    env = gym.make("SearchQA-v0", **options.rollout_kwargs(cfg, "test"))
    env.reset(seed=0)
    assert env.unwrapped.config.num_passages == 20_000
    assert {q.type for q in env.unwrapped._questions} == {"comparison"}
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_each_family_makes_its_splits_and_demonstrations(env_id: str) -> None:
    cfg = TrainConfig(env=env_id, train_games_per_type=4, warmup=WarmupConfig(games_per_type=4))
    options = FAMILIES.get(ENVS.get(env_id).family)
    tasks = {}
    for split in ("train", *options.eval_splits):
        env = gym.make(env_id, **options.env_kwargs(cfg, split))
        _, info = env.reset(seed=0)
        tasks[split] = {env.reset(seed=s)[1]["goal"] for s in range(8)}
        assert isinstance(info["goal"], str) and info["goal"]
        env.close()
    for split in options.eval_splits:
        assert tasks[split] != tasks["train"]  # evaluation draws from other tasks than training
    demos = expert_demonstrations(1, seed=0, env_id=env_id, **options.demo_kwargs(cfg))
    assert demos and all(d.action for d in demos)
