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


def test_no_noise_means_no_mistakes_and_bad_noise_is_refused() -> None:
    demos = expert_demonstrations(1, seed=0, history_length=50, **KW)
    assert [d.step for d in demos] == list(range(len(demos)))
    with pytest.raises(ValueError, match="noise"):
        expert_demonstrations(1, noise=1.0, **KW)


def test_warmup_noise_flag_is_checked_at_start() -> None:
    from agentgym_seal.backends.config import WarmupConfig
    from agentgym_seal.errors import ConfigError

    assert WarmupConfig(noise=0.3).noise == 0.3
    with pytest.raises(ConfigError, match=r"--warmup\.noise"):
        WarmupConfig(noise=1.0)
