"""ALFWorldText-v0 on the real TextWorld/ALFWorld engine (no mocks)."""

import pickle
import re
from pathlib import Path
from typing import Any

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import agentgym_seal
from agentgym_seal.environments.alfworld import TASK_TYPES
from agentgym_seal.environments.alfworld.env import ALFWorldTextEnv
from agentgym_seal.environments.alfworld.expert import play_expert_episode
from agentgym_seal.errors import ConfigError
from agentgym_seal.testing import check_env

INFO_KEYS = {"admissible_actions", "won", "task_type", "goal", "anchor", "format_valid", "action_valid"}


def make(**options: Any) -> gymnasium.Env[str, str]:
    return gymnasium.make("ALFWorldText-v0", **{"difficulty": "tiny", **options})


@pytest.fixture
def plain_env() -> Any:
    env = make(action_format="plain")
    yield env
    env.close()


def test_reset_reads_like_alfworld_and_info_has_pinned_keys(plain_env: Any) -> None:
    obs, info = plain_env.reset(seed=0)
    assert obs.startswith("-= Welcome to TextWorld, ALFRED! =-")
    assert "You are in the middle of a room. Looking quickly around you, you see " in obs
    assert re.search(r"Your task is to: .+\.$", obs)
    assert set(info) >= INFO_KEYS
    assert "help" not in info["admissible_actions"] and "look" in info["admissible_actions"]
    assert info["task_type"] in TASK_TYPES
    assert info["goal"] and info["goal"] in obs
    assert info["anchor"] == obs and info["won"] is False


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_following_expert_plan_wins_every_task_type(task_type: str) -> None:
    env = make(task_types=[task_type], action_format="plain")
    for seed in range(2):
        traj = play_expert_episode(env, seed=seed)
        assert traj.won, f"{task_type} seed {seed}: expert did not win: {[t.action for t in traj.transitions]}"
        assert traj.transitions[-1].reward == pytest.approx(10.0)
        assert all(t.action_valid and t.format_valid for t in traj.transitions)
        assert traj.info["task_type"] == task_type
    env.close()


def test_expert_plan_shrinks_and_is_empty_once_won(plain_env: Any) -> None:
    plain_env.reset(seed=3)
    plan = plain_env.unwrapped.expert_plan()
    assert plan
    plain_env.step(plan[0])
    assert plain_env.unwrapped.expert_plan() == plan[1:]
    for command in plan[1:]:
        *_, info = plain_env.step(command)
    assert info["won"] and plain_env.unwrapped.expert_plan() == []


def test_inadmissible_command_is_a_no_op_that_does_not_end_the_episode(plain_env: Any) -> None:
    _, info0 = plain_env.reset(seed=1)
    obs, reward, terminated, truncated, info = plain_env.step("go to bathtubbasin 9")
    assert obs == "Nothing happens."
    assert info["action_valid"] is False and info["format_valid"] is True
    assert reward == 0.0 and not terminated and not truncated
    assert info["admissible_actions"] == info0["admissible_actions"]  # state unchanged
    obs, *_, info = plain_env.step("help")  # offered by ALFWorld's grammar, hidden from agents
    assert obs.startswith("Nothing happens.") and not info["action_valid"]


def test_tagged_format_penalty_and_message_say_what_was_wrong() -> None:
    env = make(action_format="tagged")
    env.reset(seed=2)
    command = env.unwrapped.expert_plan()[0]
    obs, reward, _, _, info = env.step(f"<think>go</think><action>{command}</action>")
    assert info["format_valid"] and info["action_valid"] and reward == 0.0
    obs, reward, _, _, info = env.step("<action>look</action>")  # no <think>: executed, but penalised
    assert not info["format_valid"] and info["action_valid"] and reward == pytest.approx(-0.1)
    assert "Invalid format: missing <think>...</think>" in obs
    assert info["anchor"] == obs.split(" (Invalid format")[0]  # the raw env text, without our hint
    assert info["anchor"] and "Invalid format" not in info["anchor"]
    env.close()


def test_legacy_put_spelling_is_accepted() -> None:
    env = make(task_types=["pick_and_place_simple"], action_format="plain")
    env.reset(seed=0)
    plan = env.unwrapped.expert_plan()
    for command in plan[:-1]:
        env.step(command)
    obj, recep = re.fullmatch(r"move (.+) to (.+)", plan[-1]).groups()  # type: ignore[union-attr]
    _, reward, terminated, _, info = env.step(f"put {obj} in/on {recep}")
    assert terminated and info["won"] and reward == 10.0
    env.close()


def test_seeded_determinism_across_two_envs() -> None:
    a, b = make(action_format="plain"), make(action_format="plain")
    for seed in (0, 5):
        assert a.reset(seed=seed) == b.reset(seed=seed)
        for command in [*a.unwrapped.expert_plan()[:3], "look", "fly"]:
            assert a.step(command) == b.step(command)
    a.close(), b.close()


def test_time_limit_truncates() -> None:
    env = make(action_format="plain", max_episode_steps=3)
    env.reset(seed=0)
    results = [env.step("look") for _ in range(3)]
    assert [r[3] for r in results] == [False, False, True]
    env.close()


def test_pickle_round_trip_restores_the_episode(plain_env: Any) -> None:
    plain_env.reset(seed=4)
    first = plain_env.unwrapped.expert_plan()[0]
    plain_env.step(first)
    clone = pickle.loads(pickle.dumps(plain_env.unwrapped))
    command = plain_env.unwrapped.expert_plan()[0]
    assert clone.step(command) == plain_env.unwrapped.step(command)
    assert clone.np_random.integers(1 << 30) == plain_env.unwrapped.np_random.integers(1 << 30)
    clone.close()


def test_gymnasium_checker_and_ours_pass() -> None:
    env = make(action_format="tagged")
    gymnasium_check_env(env.unwrapped, skip_render_check=True)
    check_env(env)
    env.close()


def test_close_twice_and_step_before_reset() -> None:
    env = ALFWorldTextEnv(difficulty="tiny")
    with pytest.raises(agentgym_seal.AgentGymError, match=r"step\(\) before reset\(\)"):
        env.step("look")
    env.close()
    env.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"split": "test"},
            "option 'split' of ALFWorldText-v0: expected one of ['train', 'valid_seen', 'valid_unseen']",
        ),
        ({"task_types": ["pick_and_place"]}, "option 'task_types'"),
        ({"action_format": "json"}, "expected one of ['tagged', 'plain']"),
        ({"difficulty": "huge"}, "option 'difficulty'"),
        ({"splits": "train"}, "option 'keyword' of ALFWorldText-v0"),
        ({"games_per_type": 0}, "option 'games_per_type'"),
        ({"first_game": -1}, "option 'first_game'"),
        ({"first_game": True}, "option 'first_game'"),
        ({"pickup_reward": float("nan")}, "option 'pickup_reward'"),
        ({"pickup_reward": "one"}, "option 'pickup_reward'"),
        ({"first_game": 3, "data_dir": "/nonexistent"}, "first_game=3 selects generated games, but data_dir is set"),
    ],
)
def test_bad_options_raise_our_error(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        gymnasium.make("ALFWorldText-v0", **options)


def test_first_game_draws_from_the_games_after_it(tmp_path: Path) -> None:
    draws: dict[int, set[int]] = {}
    sequences: dict[int, list[int]] = {}
    for first in (0, 5):
        env = ALFWorldTextEnv(
            task_types=("pick_and_place_simple",),
            difficulty="tiny",
            games_per_type=2,
            first_game=first,
            cache_dir=str(tmp_path),
        )
        draws[first], sequences[first] = set(), []
        for seed in range(12):
            env.reset(seed=seed)
            assert env._game is not None
            draws[first].add(int(env._game.game_file.parent.name))
            sequences[first].append(int(env._game.game_file.parent.name))
        env.close()
    assert draws[0] == {0, 1} and draws[5] == {5, 6}  # the same draws, shifted to the pool's first game
    assert sequences[5] == [index + 5 for index in sequences[0]]  # seed by seed


@pytest.fixture(scope="module")
def fuzz_env() -> Any:
    env = make(action_format="tagged")
    env.reset(seed=0)
    yield env
    env.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
        st.builds(lambda a, b: f"<think>{a}</think><action>{b}</action>", st.text(max_size=30), st.text(max_size=30)),
        st.sampled_from(["", " ", "<action><action>x</action>", "search[red shoes]", "click[buy now]", "x" * 100_000]),
    )
)
def test_step_never_raises_on_any_string(fuzz_env: Any, action: str) -> None:
    obs, reward, terminated, truncated, info = fuzz_env.step(action)
    assert isinstance(obs, str) and obs
    assert isinstance(reward, float) and isinstance(terminated, bool) and isinstance(truncated, bool)
    assert set(info) >= INFO_KEYS
    if terminated or truncated:
        fuzz_env.reset(seed=1)


def test_non_string_action_is_an_invalid_step(plain_env: Any) -> None:
    plain_env.reset(seed=0)
    obs, reward, _, _, info = plain_env.unwrapped.step(12345)
    assert "Invalid format: the action must be a str" in obs
    assert not info["format_valid"] and reward == pytest.approx(-0.1)


def test_validate_command_passes_on_alfworld(capsys: pytest.CaptureFixture[str]) -> None:
    from agentgym_seal.cli import main

    code = main(["validate", "ALFWorldText-v0", "--episodes", "2", "--option", "difficulty=tiny"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "expert solvability" in out


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_explorer_searches_before_it_finds_and_still_wins(task_type: str) -> None:
    planner = make(task_types=[task_type], action_format="plain", difficulty="small")
    explorer = make(task_types=[task_type], action_format="plain", difficulty="small", expert="explorer")
    planned, explored = [], []
    for seed in range(3):
        planned.append(play_expert_episode(planner, seed=seed))
        explored.append(play_expert_episode(explorer, seed=seed))
    assert all(t.won for t in explored), [[s.action for s in t.transitions] for t in explored]
    assert sum(len(t) for t in explored) >= sum(len(t) for t in planned)
    assert explorer.unwrapped.expert_action() is None  # won: no further move
    planner.close(), explorer.close()


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_pickup_reward_is_paid_once_on_the_first_pickup_of_the_target(task_type: str) -> None:
    env = make(task_types=[task_type], action_format="plain", pickup_reward=1.5)
    for seed in range(2):
        traj = play_expert_episode(env, seed=seed)
        target = env.unwrapped._game.object_target
        assert target, "the game's traj_data.json names the target type"
        rewards = [(t.action, t.reward) for t in traj.transitions]
        paid = [t.action for t in traj.transitions if t.reward - 10.0 * t.won == 1.5]  # a win may come with it
        first_take = next(a for a in (t.action for t in traj.transitions) if a.startswith(f"take {target} "))
        assert paid == [first_take], rewards  # once, on the target's first pickup (two-object tasks: not twice)
        assert sum(r for _, r in rewards) == pytest.approx(11.5)
    env.close()


def _distractor_pickup_reward(env: Any, seed: int) -> float | None:
    """Walks the room of ``seed`` and takes the first object that is not the task's; that step's reward."""
    _, info = env.reset(seed=seed)
    target = env.unwrapped._game.object_target
    for go in [a for a in info["admissible_actions"] if a.startswith("go to ")]:
        takes = [a for a in env.step(go)[4]["admissible_actions"] if a.startswith("take ")]
        other = next((a for a in takes if not a.startswith(f"take {target} ")), None)
        if other is not None:
            return float(env.step(other)[1])
    return None


def test_pickup_reward_ignores_other_objects_and_defaults_to_zero() -> None:
    env = make(task_types=["pick_and_place_simple"], action_format="plain", pickup_reward=1.0)
    found = (r for seed in range(40) if (r := _distractor_pickup_reward(env, seed)) is not None)
    assert next(found, None) == 0.0  # None: no distractor in 40 tiny rooms
    plain = make(task_types=["pick_and_place_simple"], action_format="plain")
    traj = play_expert_episode(plain, seed=0)
    assert [t.reward for t in traj.transitions[:-1]] == [0.0] * (len(traj) - 1)
    env.close(), plain.close()
