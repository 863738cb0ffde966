from __future__ import annotations

import pickle
import re
from collections.abc import Callable
from types import ModuleType

import gymnasium
import numpy as np
import pytest

from agentgym_seal.errors import EnvCheckError
from agentgym_seal.testing import (
    EnvCheckWarning,
    check_double_close,
    check_env,
    check_env_gymnasium,
    check_fuzz,
    check_garbage_actions,
    check_pickle,
    check_seeded_determinism,
    check_spaces,
    garbage_actions,
    random_action,
)
from agentgym_seal.testing.contract import comparable, first_difference

RegisterFn = Callable[..., str]


def test_correct_env_passes_check_env(envs: ModuleType) -> None:
    env = envs.GuessEnv()
    check_env(env, env_factory=envs.GuessEnv, num_steps=30)


def test_correct_tagged_env_passes_check_env(envs: ModuleType) -> None:
    check_env(envs.GuessEnv(action_format="tagged"), env_factory=lambda: envs.GuessEnv(action_format="tagged"))


def test_made_env_uses_its_spec_for_determinism(envs: ModuleType, register: RegisterFn) -> None:
    env_id = register(envs.GuessEnv)
    check_env(gymnasium.make(env_id, max_number=20))


def test_check_env_warns_when_determinism_cannot_be_checked(envs: ModuleType) -> None:
    with pytest.warns(EnvCheckWarning, match=re.escape("pass env_factory=lambda: MyEnv(...)")):
        check_env(envs.GuessEnv())


def test_correct_env_passes_gymnasium_checker(envs: ModuleType, register: RegisterFn) -> None:
    check_env_gymnasium(gymnasium.make(register(envs.GuessEnv)))


@pytest.mark.parametrize(
    ("env_name", "match"),
    [
        ("IntObsEnv", "returned an observation of type int"),
        ("AlphanumericSpaceEnv", "outside env.observation_space"),
        ("LongStepObsEnv", "outside env.observation_space"),
        ("RaisesOnEmptyActionEnv", "step must never raise on any string"),
        ("NondeterministicEnv", "two fresh envs reset with seed=0 differ at observation"),
        ("StepNondeterministicEnv", "given the same actions differ at step 0 .action 'guess"),
        ("UnpicklableEnv", re.escape("implement __getstate__ to drop it and __setstate__ to rebuild it")),
        ("PickleLosesStateEnv", re.escape("after a pickle round-trip") + ".*anchor"),
        ("RaisesOnSecondCloseEnv", "the second env.close.. raised RuntimeError"),
        (
            "IntRewardEnv",
            re.escape("reward of type int (") + r"\d+" + re.escape("); expected a float. Fix: return float("),
        ),
        ("NanRewardEnv", "non-finite reward nan"),
        ("FourTupleEnv", "returned a 4-tuple.*old Gym API"),
        (
            "NumpyBoolEnv",
            re.escape("terminated of type numpy.bool (np.") + ".*" + re.escape("); expected a Python bool"),
        ),
        ("IntWonEnv", re.escape("info['won'] of type int")),
        ("NoSpacesEnv", "env has no action_space"),
    ],
)
def test_check_env_names_the_bug(envs: ModuleType, env_name: str, match: str) -> None:
    env_cls = getattr(envs, env_name)
    with pytest.raises(EnvCheckError, match=match):
        check_env(env_cls(), env_factory=env_cls)


def test_each_check_on_its_own(envs: ModuleType) -> None:
    with pytest.raises(EnvCheckError, match="env has no action_space"):
        check_spaces(envs.NoSpacesEnv())
    with pytest.raises(EnvCheckError, match=re.escape("[empty string]")):
        check_garbage_actions(envs.RaisesOnEmptyActionEnv())
    with pytest.raises(EnvCheckError, match=re.escape("pickle.dumps")):
        check_pickle(envs.UnpicklableEnv())
    with pytest.raises(EnvCheckError, match="differ at step"):
        check_seeded_determinism(envs.StepNondeterministicEnv)
    with pytest.raises(EnvCheckError, match=re.escape("second env.close")):
        check_double_close(envs.RaisesOnSecondCloseEnv())
    with pytest.raises(EnvCheckError, match="returned the same env twice"):
        shared = envs.GuessEnv()
        check_seeded_determinism(lambda: shared)


def test_determinism_reports_factory_errors(envs: ModuleType) -> None:
    with pytest.raises(EnvCheckError, match=re.escape("env_factory() raised DependencyNotInstalled")):
        check_seeded_determinism(envs.MissingDependencyEnv)


def test_gymnasium_checker_failure_becomes_env_check_error(envs: ModuleType, register: RegisterFn) -> None:
    with pytest.raises(EnvCheckError, match=r"Gymnasium's env checker failed.*not within the observation space"):
        check_env_gymnasium(gymnasium.make(register(envs.AlphanumericSpaceEnv)))


def test_gymnasium_obs_warning_becomes_env_check_error(envs: ModuleType, register: RegisterFn) -> None:
    # Gymnasium only *warns* when a step observation is outside the space.
    with pytest.raises(EnvCheckError, match=re.escape("The obs returned by the `step()` method is not within")):
        check_env_gymnasium(gymnasium.make(register(envs.LongStepObsEnv)))


def test_garbage_actions_cover_the_brief() -> None:
    actions = garbage_actions()
    assert len(actions["1 MB string"]) == 1 << 20
    assert {"", "   ", "<action><action>x</action>", "search[red shoes]", "click[buy now]"} <= set(actions.values())
    assert any("\x00" in a for a in actions.values())
    assert any("🧊" in a and "冰箱" in a for a in actions.values())


def test_random_actions_are_reproducible_and_varied() -> None:
    admissible = ["go to shelf 1", "take apple from shelf 1"]
    first = [random_action(np.random.default_rng(7), admissible) for _ in range(3)]
    again = [random_action(np.random.default_rng(7), admissible) for _ in range(3)]
    assert first == again
    rng = np.random.default_rng(0)
    many = [random_action(rng, admissible) for _ in range(300)]
    assert len(set(many)) > 250
    assert any("<action>" in a for a in many)
    assert any("shelf" in a for a in many)
    assert "" in many or any(not a.strip() for a in many) or any(len(a) < 3 for a in many)


def test_fuzz_passes_on_correct_env_and_prints_the_seed_on_failure(envs: ModuleType) -> None:
    check_fuzz(envs.GuessEnv(action_format="tagged"), seed=3, num_actions=300)
    with pytest.raises(EnvCheckError, match=re.escape("check_fuzz(env, seed=0)")):
        check_fuzz(envs.RaisesOnEmptyActionEnv(), seed=0, num_actions=300)


def test_correct_env_pickles_mid_episode(envs: ModuleType) -> None:
    env = envs.GuessEnv()
    env.reset(seed=1)
    env.step("guess 4")
    copy = pickle.loads(pickle.dumps(env))
    assert env.step("guess 2") == copy.step("guess 2")


def test_comparable_ignores_what_json_cannot_hold() -> None:
    info = {"won": np.bool_(True), "scores": np.arange(3), "handle": object(), "nan": float("nan"), 1: (2,)}
    assert comparable(info) == {
        "won": True,
        "scores": [0, 1, 2],
        "handle": "<not comparable>",
        "nan": "nan",
        "1": [2],
    }
    assert first_difference(comparable(info), comparable({**info, "won": False})) == "won: True != False"
    assert first_difference({"a": [1, 2]}, {"a": [1, 3]}) == "a[1]: 2 != 3"
    assert first_difference({"a": 1}, {"b": 1}) == "a is present in only one of them"
