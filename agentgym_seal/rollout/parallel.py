"""A PettingZoo ``ParallelEnv`` that plays the G copies of one task as G agents (one GRPO group)."""

from __future__ import annotations

import functools
from typing import Any

import gymnasium

from agentgym_seal.errors import DependencyNotInstalled
from agentgym_seal.spaces import TextSpace

try:
    from pettingzoo import ParallelEnv
except ImportError as exc:  # pragma: no cover - depends on the install
    raise DependencyNotInstalled("multiagent", "pettingzoo") from exc


class GroupParallelEnv(ParallelEnv):  # type: ignore[misc]
    """G copies of ``env_id`` reset from the same seed; agent ``agent_i`` plays copy ``i``.

    Multi-agent tooling (PettingZoo wrappers, parallel samplers) can then drive a whole group. Agents
    whose episode ended leave ``self.agents``, as the Parallel API requires.

    Args:
        env_id: A registered env id.
        group_size: G, the number of copies (agents).
        **env_kwargs: Options for ``gymnasium.make``.
    """

    metadata = {"name": "agentgym_seal_group_v0", "render_modes": []}  # noqa: RUF012 - PettingZoo's convention

    def __init__(self, env_id: str, group_size: int = 8, **env_kwargs: Any) -> None:
        self.env_id = env_id
        self.possible_agents = [f"agent_{i}" for i in range(group_size)]
        self.agents: list[str] = []
        self._envs = {a: gymnasium.make(env_id, **env_kwargs) for a in self.possible_agents}
        self.render_mode = None

    @functools.cache  # noqa: B019 - one space object per agent, as PettingZoo recommends
    def observation_space(self, agent: str) -> TextSpace:
        """Every agent observes text."""
        return TextSpace()

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> TextSpace:
        """Every agent answers with text."""
        return TextSpace()

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, str], dict[str, Any]]:
        """Resets every copy with the *same* seed: the group plays one task."""
        self.agents = list(self.possible_agents)
        observations, infos = {}, {}
        for agent in self.agents:
            observations[agent], infos[agent] = self._envs[agent].reset(seed=seed, options=options)
        return observations, infos

    def step(
        self, actions: dict[str, str]
    ) -> tuple[dict[str, str], dict[str, float], dict[str, bool], dict[str, bool], dict[str, Any]]:
        """Steps every live agent that sent an action."""
        observations, rewards, terminations, truncations, infos = {}, {}, {}, {}, {}
        for agent in list(self.agents):
            if agent not in actions:
                continue
            obs, reward, terminated, truncated, info = self._envs[agent].step(actions[agent])
            observations[agent], rewards[agent], infos[agent] = obs, float(reward), info
            terminations[agent], truncations[agent] = bool(terminated), bool(truncated)
        self.agents = [a for a in self.agents if not (terminations.get(a) or truncations.get(a))]
        return observations, rewards, terminations, truncations, infos

    def close(self) -> None:
        """Closes every copy."""
        for env in self._envs.values():
            env.close()
