"""Expert play for any env with an expert: episodes and SFT demonstrations.

Generic over env ids (it only uses ``gymnasium.make`` and the env's expert), so any family with an
expert (ALFWorld's planner or explorer, WebShop's goal-directed clicker, ...) gets demonstrations for
free. The expert's move is ``env.unwrapped.expert_action()`` when the env has it, else the first
command of ``env.unwrapped.expert_plan()``.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from agentgym_seal.step_info import read_step_info
from agentgym_seal.types import Demonstration, Trajectory, Transition


def next_expert_command(env: gymnasium.Env[str, str]) -> str | None:
    """The env expert's next command, or ``None`` when it has none."""
    inner: Any = env.unwrapped
    if hasattr(inner, "expert_action"):
        action: str | None = inner.expert_action()
        return action
    plan: list[str] = inner.expert_plan()
    return plan[0] if plan else None


def play_expert_episode(env: gymnasium.Env[str, str], seed: int | None = None) -> Trajectory:
    """Plays one episode with the env's expert (:func:`next_expert_command`).

    ``env`` must read plain commands (``action_format="plain"``). The episode ends on win, on the time
    limit, or if the planner has no plan.
    """
    env_id = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    obs, raw_info = env.reset(seed=seed)
    info = read_step_info(raw_info, env_id)
    task, task_type = info["goal"], info["task_type"]
    transitions: list[Transition] = []
    done = False
    while not done:
        command = next_expert_command(env)
        if command is None:
            break
        anchor = info["anchor"]
        next_obs, reward, terminated, truncated, raw_info = env.step(command)
        info = read_step_info(raw_info, env_id)
        transitions.append(
            Transition(
                observation=obs,
                action=command,
                reward=float(reward),
                next_observation=next_obs,
                terminated=terminated,
                truncated=truncated,
                format_valid=info["format_valid"],
                action_valid=info["action_valid"],
                won=info["won"],
                anchor=anchor,
            )
        )
        obs, done = next_obs, terminated or truncated
    return Trajectory(
        env_id=env_id, seed=seed, task=task, transitions=tuple(transitions), info={"task_type": task_type}
    )


def expert_demonstrations(
    num_episodes: int,
    *,
    seed: int = 0,
    history_length: int = 2,
    env_id: str = "ALFWorldText-v0",
    noise: float = 0.0,
    invalid_noise: float = 0.0,
    epsilon: float = 0.0,
    **env_options: Any,
) -> list[Demonstration]:
    """Plays ``num_episodes`` expert episodes and returns one :class:`Demonstration` per step.

    Each demonstration carries the task, the raw observation, the admissible commands, the expert's
    command and the last ``history_length`` (observation, action) pairs: what a prompt builder needs.
    Episodes use seeds ``seed, seed + 1, ...``; ``env_options`` go to ``gymnasium.make``.

    ``noise`` > 0 injects mistakes as DART does (Laskey et al., 2017): at each step, with that probability, a
    random admissible command other than the expert's is played instead and left out of the demonstrations
    (it stays in the history), so the expert's next moves show how to recover from a state the expert itself
    would never reach (a wrong receptacle, a needless detour). Deterministic per ``seed``.

    ``invalid_noise`` > 0 injects the mistakes a language policy makes most: with that probability per step, a
    command that is *not* admissible now is played (the env answers with its no-op, e.g. "Nothing happens."),
    drawn from the commands that were admissible earlier in this or a previous episode (a receptacle of another
    room, an object not here, the place the agent stands at). The expert's next move, learned from, shows that
    the way out is an admissible command, not the same command again. The admissible mistake is drawn first;
    only a step without one may get an inadmissible one (so ``noise`` alone draws as it always did).

    ``epsilon`` > 0 makes the demonstrator epsilon-greedy: at a step without a mistake, with that probability it
    plays a uniformly random admissible command (possibly the expert's own) *and that command is learned from*.
    The demonstrations then teach the format and what is admissible, but the task only in part: a policy that
    spreads its mass over admissible commands, as a pretrained model does before RL, and leaves RL its job of
    sharpening it. Drawn after the mistakes, so ``epsilon`` 0 leaves their random stream unchanged.
    """
    for name, value in (("noise", noise), ("invalid_noise", invalid_noise), ("epsilon", epsilon)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1); got {value}.")
    env = gymnasium.make(env_id, **{**env_options, "action_format": "plain"})
    rng = np.random.default_rng([seed, 0xDA27])
    demos: list[Demonstration] = []
    seen_commands: list[str] = []  # every command admissible so far, first-seen order (invalid_noise's pool)
    seen_set: set[str] = set()
    try:
        for episode in range(num_episodes):
            obs, raw_info = env.reset(seed=seed + episode)
            info = read_step_info(raw_info, env_id)
            history: list[tuple[str, str]] = []
            done = False
            while not done:
                command = next_expert_command(env)
                if command is None:
                    break
                admissible = tuple(info["admissible_actions"])
                for a in admissible:
                    if a not in seen_set:
                        seen_set.add(a)
                        seen_commands.append(a)
                mistake = _mistake(rng, command, admissible, seen_commands, noise, invalid_noise)
                if mistake is not None:
                    history.append((obs, mistake))
                    obs, _, terminated, truncated, raw_info = env.step(mistake)
                    info = read_step_info(raw_info, env_id)
                    done = terminated or truncated
                    continue
                if epsilon > 0 and admissible and rng.random() < epsilon:
                    command = admissible[int(rng.integers(len(admissible)))]
                demos.append(
                    Demonstration(
                        task=info["goal"],
                        observation=obs,
                        admissible_actions=admissible,
                        action=command,
                        history=tuple(history[-history_length:]) if history_length > 0 else (),
                        task_type=info["task_type"],
                        step=len(history),
                    )
                )
                history.append((obs, command))
                obs, _, terminated, truncated, raw_info = env.step(command)
                info = read_step_info(raw_info, env_id)
                done = terminated or truncated
    finally:
        env.close()
    return demos


def _mistake(
    rng: np.random.Generator,
    expert: str,
    admissible: tuple[str, ...],
    pool: list[str],
    noise: float,
    invalid_noise: float,
) -> str | None:
    """The mistake :func:`expert_demonstrations` plays instead of ``expert`` this step, or ``None``.

    With probability ``noise`` an admissible command other than the expert's; else, with probability
    ``invalid_noise``, a command of ``pool`` that is not admissible now (a few tries; none if the pool holds
    only admissible ones).
    """
    others = [a for a in admissible if a != expert]
    if noise > 0 and others and rng.random() < noise:
        return others[int(rng.integers(len(others)))]
    if invalid_noise > 0 and pool and rng.random() < invalid_noise:
        for _ in range(8):
            candidate = pool[int(rng.integers(len(pool)))]
            if candidate not in admissible:
                return candidate
    return None
