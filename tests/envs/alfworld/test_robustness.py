"""ALFWorldText-v0 against hostile callers: reset options, the process's ``sys.argv``, adversarial messages."""

import sys
from pathlib import Path
from typing import Any

import gymnasium
import pytest

import agentgym_seal  # noqa: F401
from agentgym_seal.environments.alfworld import TASK_TYPES
from agentgym_seal.testing.adversarial import BASELINE_KIND, check_adversarial
from agentgym_seal.testing.reset_checks import check_bad_reset_options


def make(**options: Any) -> Any:
    return gymnasium.make("ALFWorldText-v0", **{"difficulty": "tiny", "games_per_type": 2, **options})


def test_reset_keeps_the_callers_sys_argv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["my_script.py", "--my-flag", "3"]
    monkeypatch.setattr(sys, "argv", argv)
    # Games no other test loads: their PDDL problem has not been translated (and cached) in this process yet.
    env = make(cache_dir=str(tmp_path), first_game=4321, task_types=["pick_and_place_simple"])
    try:
        env.reset(seed=0)
        env.reset(seed=1)
    finally:
        env.close()
    assert sys.argv is argv and argv == ["my_script.py", "--my-flag", "3"]


def test_bad_reset_options_are_one_line_config_errors() -> None:
    env = make()
    try:
        env.reset(seed=0)  # before a reset that raises: Gymnasium's passive checker keeps its first reset's data
        check_bad_reset_options(env, "game_index", env_id="ALFWorldText-v0")
    finally:
        env.close()


def test_an_unknown_reset_option_is_ignored_with_a_warning() -> None:
    env = make()
    try:
        with pytest.warns(UserWarning, match="reset option 'goal_index' of ALFWorldText-v0 is ignored"):
            _, info = env.reset(seed=0, options={"goal_index": 0})
        _, same = env.reset(seed=0)
    finally:
        env.close()
    assert info["game_file"] == same["game_file"]


def test_game_index_picks_the_same_game_whatever_the_seed() -> None:
    env = make()
    try:
        games = []
        for seed in (0, 1, 2):
            _, info = env.reset(seed=seed, options={"game_index": 3})
            games.append((info["game_file"], info["task_type"]))
        _, last = env.reset(seed=0, options={"game_index": 2 * len(TASK_TYPES) - 1})
    finally:
        env.close()
    assert len(set(games)) == 1
    assert games[0][1] == TASK_TYPES[1]  # index 3 with 2 games per type: the second type's second game
    assert last["task_type"] == TASK_TYPES[-1]


def test_adversarial_messages_never_raise() -> None:
    env = make()
    try:
        report = check_adversarial(env, seed=0, episodes=6, max_steps=12)
    finally:
        env.close()
    assert report.actions >= 6 and report.episodes >= 6
    assert set(report.step_seconds) - {BASELINE_KIND}  # hostile kinds were sent, not only the baseline
