"""A Gymnasium wrapper that turns a text env into vectors and a masked choice among admissible actions.

RLlib's encoders reject text spaces, so the classic-RL baseline plays a text env through this wrapper
(DRRN-style, He et al. 2016: the agent scores each admissible action's text against the state's text):

- observation: ``Dict(state=Box(3 * D), choices=Box(K, D), action_mask=Box(K))``. ``state`` concatenates the
  featurized goal (``info["goal"]``, else the first observation), the current observation and the last
  action; ``choices`` holds the first ``K`` admissible actions' features, ``action_mask`` marks the slots in use.
- action: ``Discrete(K)``, the slot of the admissible action to play, which is sent to the text env as a bare
  command (``action_format="plain"``). A masked (empty) slot is an invalid step of the text env (an empty
  command: its format penalty), never an exception.

Episodes end when the text env ends them or after ``max_turns`` steps (truncation). ``info`` passes the text
env's on, with ``admissible_overflow`` (admissible actions that did not fit into ``K`` slots).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, SupportsFloat

import gymnasium
import numpy as np
from gymnasium import spaces

from agentgym_seal.errors import ConfigError

from .features import FEATURIZERS, TextFeaturizer

Observation = dict[str, Any]  # state, choices, action_mask: float32 arrays


class ActionChoiceEnv(gymnasium.Env[Observation, np.int64]):
    """Wraps ``gymnasium.make(env_id, **env_kwargs)`` (see the module doc).

    Args:
        env_id: A registered text env whose ``info`` lists ``admissible_actions`` (every built-in env does).
        env_kwargs: Its keyword options (``action_format`` is set to ``plain``).
        max_actions: K, the action slots.
        max_turns: Steps before truncation (default: the env family's training turn limit).
        featurizer: A :data:`~agentgym_seal.backends.rllib.features.FEATURIZERS` name.
        feature_dim: D of the ``hashing`` featurizer (``minilm`` is 384).
    """

    metadata = {"render_modes": []}  # noqa: RUF012 - Gymnasium declares it so

    def __init__(
        self,
        env_id: str,
        env_kwargs: Mapping[str, Any] | None = None,
        *,
        max_actions: int = 32,
        max_turns: int | None = None,
        featurizer: str | TextFeaturizer = "hashing",
        feature_dim: int = 256,
    ) -> None:
        import agentgym_seal  # noqa: F401 - registers the env ids
        from agentgym_seal.registration import family_of

        if max_turns is None:
            max_turns = family_of(env_id).default_train_turns
        if max_actions < 2 or max_turns < 1:
            raise ConfigError(f"max_actions must be >= 2 and max_turns >= 1; got {max_actions}, {max_turns}.")
        self.env = gymnasium.make(env_id, **{**dict(env_kwargs or {}), "action_format": "plain"})
        self.featurize = FEATURIZERS.get(featurizer)(feature_dim) if isinstance(featurizer, str) else featurizer
        self.max_actions, self.max_turns = max_actions, max_turns
        d = self.featurize.dim
        self.observation_space = spaces.Dict(
            {
                "state": spaces.Box(-np.inf, np.inf, (3 * d,), np.float32),
                "choices": spaces.Box(-np.inf, np.inf, (max_actions, d), np.float32),
                "action_mask": spaces.Box(0.0, 1.0, (max_actions,), np.float32),
            }
        )
        self.action_space = spaces.Discrete(max_actions)
        self._goal = ""
        self._admissible: list[str] = []
        self._turns = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, dict[str, Any]]:
        """Resets the text env (``seed`` seeds it, as in Gymnasium)."""
        super().reset(seed=seed)
        text, info = self.env.reset(seed=seed, options=options)
        self._goal = str(info.get("goal") or text)
        self._turns = 0
        return self._observe(text, "", info), self._info(info)

    def step(self, action: np.int64 | int) -> tuple[Observation, SupportsFloat, bool, bool, dict[str, Any]]:
        """Plays the admissible action in slot ``action`` (an empty slot is an invalid step)."""
        slot = int(action)
        command = self._admissible[slot] if 0 <= slot < min(len(self._admissible), self.max_actions) else ""
        text, reward, terminated, truncated, info = self.env.step(command)
        self._turns += 1
        truncated = bool(truncated) or (self._turns >= self.max_turns and not terminated)
        return self._observe(text, command, info), float(reward), bool(terminated), truncated, self._info(info)

    def close(self) -> None:
        """Closes the text env."""
        self.env.close()

    def _observe(self, text: str, last_action: str, info: Mapping[str, Any]) -> Observation:
        if "admissible_actions" not in info:
            raise ConfigError(
                f"{self.env.spec.id if self.env.spec else 'the env'} does not list info['admissible_actions']: "
                "the action-choice wrapper needs them. Fix: use an env that reports its admissible actions."
            )
        self._admissible = [str(a) for a in info["admissible_actions"]]
        used = self._admissible[: self.max_actions]
        features = self.featurize([self._goal, text, last_action, *used])
        actions = np.zeros((self.max_actions, self.featurize.dim), dtype=np.float32)
        actions[: len(used)] = features[3:]
        mask = np.zeros(self.max_actions, dtype=np.float32)
        mask[: len(used)] = 1.0
        if not used:  # no admissible action (rare): one empty slot, which is an invalid step
            mask[0] = 1.0
        return {"state": features[:3].reshape(-1), "choices": actions, "action_mask": mask}

    def _info(self, info: Mapping[str, Any]) -> dict[str, Any]:
        keep = ("won", "format_valid", "action_valid", "action", "task_type")
        out = {k: info[k] for k in keep if k in info}
        out["admissible_overflow"] = max(0, len(self._admissible) - self.max_actions)
        return out
