"""The TextWorld speed-ups change nothing: the same episodes give the same observations, rewards and commands."""

import random
from typing import Any

import gymnasium as gym
import pytest

pytest.importorskip("textworld")

from agentgym_seal.environments.alfworld.scenes import TASK_TYPES
from agentgym_seal.environments.alfworld.speedups import stock_textworld


def play(env: Any, episodes: int, steps: int) -> list[list[Any]]:
    """Traces of seeded episodes mixing the expert's moves, random admissible commands and inadmissible ones."""
    traces = []
    for episode in range(episodes):
        obs, info = env.reset(seed=episode)
        trace: list[Any] = [obs, info["admissible_actions"], info["goal"]]
        rng = random.Random(episode)
        for _ in range(steps):
            roll = rng.random()
            plan = env.unwrapped.expert_plan() if roll < 0.5 else []
            command = plan[0] if plan else rng.choice(info["admissible_actions"])
            command = "take the moon from cabinet 99" if roll > 0.92 else command
            obs, reward, terminated, _, info = env.step(f"<think>x</think><action>{command}</action>")
            trace.append((command, obs, reward, terminated, info["won"], info["admissible_actions"]))
        traces.append(trace)
    return traces


def assert_same_with_and_without(task_types: list[str], difficulty: str, episodes: int, steps: int) -> None:
    for task_type in task_types:
        env = gym.make("ALFWorldText-v0", difficulty=difficulty, games_per_type=episodes, task_types=[task_type])
        fast = play(env, episodes, steps)
        with stock_textworld():
            stock = play(env, episodes, steps)
        env.close()
        for i, (a, b) in enumerate(zip(fast, stock, strict=True)):
            assert a == b, f"{task_type} {difficulty} episode {i}: the speed-ups changed the episode"


def test_the_speedups_play_the_same_episodes() -> None:
    assert_same_with_and_without(["pick_and_place_simple", "pick_heat_then_place_in_recep"], "tiny", 3, 12)


@pytest.mark.slow
@pytest.mark.parametrize("difficulty", ["tiny", "full"])
def test_the_speedups_play_the_same_episodes_for_every_task_type(difficulty: str) -> None:
    assert_same_with_and_without(list(TASK_TYPES), difficulty, 3, 15)


def test_stock_textworld_restores_the_speedups() -> None:
    import textworld.envs.pddl.textgen as textgen

    from agentgym_seal.environments.alfworld.speedups import _copy_context, install_speedups

    install_speedups()
    assert textgen.copy_context is _copy_context
    with stock_textworld():
        assert textgen.copy_context is not _copy_context
    assert textgen.copy_context is _copy_context
