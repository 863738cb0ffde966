"""Expert play for any env that exposes ``env.unwrapped.expert_plan()``: episodes and SFT demonstrations.

Generic over env ids (it only uses ``gymnasium.make`` and ``expert_plan``), so any family with an
expert (ALFWorld's planner, WebShop's goal-directed clicker, ...) gets demonstrations for free.
"""

from __future__ import annotations

from typing import Any

import gymnasium

from agentgym_seal.types import Demonstration, Trajectory, Transition


def play_expert_episode(env: gymnasium.Env[str, str], seed: int | None = None) -> Trajectory:
    """Plays one episode by always taking the first command of ``env.unwrapped.expert_plan()``.

    ``env`` must read plain commands (``action_format="plain"``). The episode ends on win, on the time
    limit, or if the planner has no plan.
    """
    obs, info = env.reset(seed=seed)
    task, task_type = str(info.get("goal", "")), str(info.get("task_type", ""))
    transitions: list[Transition] = []
    done = False
    while not done:
        plan = env.unwrapped.expert_plan()  # type: ignore[attr-defined]
        if not plan:
            break
        anchor = str(info.get("anchor", obs))
        next_obs, reward, terminated, truncated, info = env.step(plan[0])
        transitions.append(
            Transition(
                observation=obs,
                action=plan[0],
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
    **env_options: Any,
) -> list[Demonstration]:
    """Plays ``num_episodes`` expert episodes and returns one :class:`Demonstration` per step.

    Each demonstration carries the task, the raw observation, the admissible commands, the expert's
    command and the last ``history_length`` (observation, action) pairs: what a prompt builder needs.
    Episodes use seeds ``seed, seed + 1, ...``; ``env_options`` go to ``gymnasium.make``.
    """
    env = gymnasium.make(env_id, **{**env_options, "action_format": "plain"})
    demos: list[Demonstration] = []
    try:
        for episode in range(num_episodes):
            obs, info = env.reset(seed=seed + episode)
            history: list[tuple[str, str]] = []
            done = False
            while not done:
                plan = env.unwrapped.expert_plan()  # type: ignore[attr-defined]
                if not plan:
                    break
                demos.append(
                    Demonstration(
                        task=str(info["goal"]),
                        observation=obs,
                        admissible_actions=tuple(info["admissible_actions"]),
                        action=plan[0],
                        history=tuple(history[-history_length:]) if history_length > 0 else (),
                        task_type=str(info["task_type"]),
                    )
                )
                history.append((obs, plan[0]))
                obs, _, terminated, truncated, info = env.step(plan[0])
                done = terminated or truncated
    finally:
        env.close()
    return demos
