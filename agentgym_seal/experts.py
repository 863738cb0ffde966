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
    obs, info = env.reset(seed=seed)
    task, task_type = str(info.get("goal", "")), str(info.get("task_type", ""))
    transitions: list[Transition] = []
    done = False
    while not done:
        command = next_expert_command(env)
        if command is None:
            break
        anchor = str(info.get("anchor", obs))
        next_obs, reward, terminated, truncated, info = env.step(command)
        transitions.append(
            Transition(
                observation=obs,
                action=command,
                reward=float(reward),
                next_observation=next_obs,
                terminated=terminated,
                truncated=truncated,
                format_valid=bool(info["format_valid"]),
                action_valid=bool(info["action_valid"]),
                won=bool(info["won"]),
                anchor=anchor,
            )
        )
        obs, done = next_obs, terminated or truncated
    env_id = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
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
    """
    if not 0.0 <= noise < 1.0:
        raise ValueError(f"noise must be in [0, 1); got {noise}.")
    env = gymnasium.make(env_id, **{**env_options, "action_format": "plain"})
    rng = np.random.default_rng([seed, 0xDA27])
    demos: list[Demonstration] = []
    try:
        for episode in range(num_episodes):
            obs, info = env.reset(seed=seed + episode)
            history: list[tuple[str, str]] = []
            done = False
            while not done:
                command = next_expert_command(env)
                if command is None:
                    break
                others = [a for a in info.get("admissible_actions", ()) if a != command]
                if noise > 0 and others and rng.random() < noise:
                    mistake = others[int(rng.integers(len(others)))]
                    history.append((obs, mistake))
                    obs, _, terminated, truncated, info = env.step(mistake)
                    done = terminated or truncated
                    continue
                demos.append(
                    Demonstration(
                        task=str(info["goal"]),
                        observation=obs,
                        admissible_actions=tuple(info["admissible_actions"]),
                        action=command,
                        history=tuple(history[-history_length:]) if history_length > 0 else (),
                        task_type=str(info["task_type"]),
                        step=len(history),
                    )
                )
                history.append((obs, command))
                obs, _, terminated, truncated, info = env.step(command)
                done = terminated or truncated
    finally:
        env.close()
    return demos
