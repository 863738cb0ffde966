"""DART demonstrations: injected mistakes are played but never learned from; the expert's recovery is."""

from typing import Any

import gymnasium
import pytest

from agentgym_seal.experts import expert_demonstrations, next_expert_command

KW: dict[str, Any] = {"difficulty": "tiny", "task_types": ["pick_and_place_simple"], "games_per_type": 40}


def test_mistakes_are_played_but_every_demonstration_is_the_experts_move_in_the_state_reached() -> None:
    env = gymnasium.make("ALFWorldText-v0", action_format="plain", **KW)
    mistakes = 0
    try:
        for seed in range(4):
            demos = expert_demonstrations(1, seed=seed, history_length=50, noise=0.5, **KW)
            assert demos == expert_demonstrations(1, seed=seed, history_length=50, noise=0.5, **KW)  # deterministic
            by_step = {d.step: d for d in demos}
            played = [*demos[-1].history, (demos[-1].observation, demos[-1].action)]  # the whole episode
            obs, _ = env.reset(seed=seed)
            for step, (seen, command) in enumerate(played):
                assert seen == obs
                expert = next_expert_command(env)
                if step in by_step:
                    assert by_step[step].action == command == expert
                else:
                    assert command != expert  # a mistake: played, not a demonstration
                    mistakes += 1
                obs, *_ = env.step(command)
    finally:
        env.close()
    assert mistakes >= 2


def test_invalid_mistakes_are_inadmissible_commands_seen_elsewhere_and_the_expert_recovers() -> None:
    env = gymnasium.make("ALFWorldText-v0", action_format="plain", **KW)
    invalid = 0
    try:
        demos = expert_demonstrations(6, seed=3, history_length=50, invalid_noise=0.4, **KW)
        assert demos == expert_demonstrations(6, seed=3, history_length=50, invalid_noise=0.4, **KW)
        seen: set[str] = set()
        episodes: list[list[Any]] = []
        for d in demos:  # with the whole history kept, a demo continues the previous one's episode iff it extends it
            prev = episodes[-1][-1] if episodes else None
            if prev is None or d.history[: len(prev.history) + 1] != (*prev.history, (prev.observation, prev.action)):
                episodes.append([])
            episodes[-1].append(d)
        assert len(episodes) == 6
        for episode, ds in enumerate(episodes):
            played = [*ds[-1].history, (ds[-1].observation, ds[-1].action)]
            by_step = {d.step: d for d in ds}
            obs, info = env.reset(seed=3 + episode)
            for step, (shown, command) in enumerate(played):
                assert shown == obs
                seen.update(info["admissible_actions"])
                if step in by_step:
                    assert command == next_expert_command(env)
                    assert by_step[step].admissible_actions == tuple(info["admissible_actions"])
                else:  # an invalid mistake: admissible somewhere before, not here; the env does nothing
                    assert command in seen and command not in info["admissible_actions"]
                    invalid += 1
                obs, _, _, _, info = env.step(command)
                if step not in by_step:
                    assert not info["action_valid"] and obs == "Nothing happens."
    finally:
        env.close()
    assert invalid >= 3


def test_epsilon_demonstrator_learns_from_random_admissible_commands_in_the_state_reached() -> None:
    env = gymnasium.make("ALFWorldText-v0", action_format="plain", **KW)
    random_moves = expert_moves = 0
    try:
        for seed in range(4):
            demos = expert_demonstrations(1, seed=seed, history_length=50, epsilon=0.6, **KW)
            assert demos == expert_demonstrations(1, seed=seed, history_length=50, epsilon=0.6, **KW)
            assert [d.step for d in demos] == list(range(len(demos)))  # every move played is a demonstration
            obs, info = env.reset(seed=seed)
            for d in demos:
                assert d.observation == obs and d.admissible_actions == tuple(info["admissible_actions"])
                assert d.action in d.admissible_actions
                if d.action == next_expert_command(env):
                    expert_moves += 1
                else:
                    random_moves += 1
                obs, _, _, _, info = env.step(d.action)
                assert info["action_valid"]
    finally:
        env.close()
    assert random_moves >= 3 and expert_moves >= 3
    plain = expert_demonstrations(2, seed=1, history_length=50, invalid_noise=0.3, **KW)
    assert expert_demonstrations(2, seed=1, history_length=50, invalid_noise=0.3, epsilon=0.0, **KW) == plain


def test_no_noise_means_no_mistakes_and_bad_noise_is_refused() -> None:
    demos = expert_demonstrations(1, seed=0, history_length=50, **KW)
    assert [d.step for d in demos] == list(range(len(demos)))
    with pytest.raises(ValueError, match="noise"):
        expert_demonstrations(1, noise=1.0, **KW)
    with pytest.raises(ValueError, match="invalid_noise"):
        expert_demonstrations(1, invalid_noise=-0.1, **KW)
    with pytest.raises(ValueError, match="epsilon"):
        expert_demonstrations(1, epsilon=1.5, **KW)


def test_warmup_noise_flag_is_checked_at_start() -> None:
    from agentgym_seal.backends.config import WarmupConfig
    from agentgym_seal.errors import ConfigError

    assert WarmupConfig(noise=0.3).noise == 0.3
    with pytest.raises(ConfigError, match=r"--warmup\.noise"):
        WarmupConfig(noise=1.0)
    with pytest.raises(ConfigError, match=r"--warmup\.invalid-noise"):
        WarmupConfig(invalid_noise=1.0)
    with pytest.raises(ConfigError, match=r"--warmup\.epsilon"):
        WarmupConfig(epsilon=-0.5)
