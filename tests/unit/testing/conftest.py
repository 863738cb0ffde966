"""A tiny correct text env, deliberately broken variants of it, and a fixture that registers envs.

The classes live at module level so that pickling them works (pytest's importlib mode puts this
module in ``sys.modules``).
"""

from __future__ import annotations

import random
import re
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import gymnasium
import numpy as np
import pytest

from agentgym_seal import ENVS, EnvEntry, TextSpace, register_env
from agentgym_seal.errors import DependencyNotInstalled


def _tagged_action(message: str) -> str | None:
    """The text inside the first ``<action>...</action>``, in linear time (a lazy ``<action>(.*?)</action>``
    regex search is quadratic on a run of unclosed ``<action>`` tags)."""
    end = message.find("</action>")
    start = message.rfind("<action>", 0, end) if end >= 0 else -1
    return None if start < 0 else message[start + len("<action>") : end]


_GUESS = re.compile(r"guess (\d{1,3})")


class GuessEnv(gymnasium.Env[str, str]):
    """Guess a secret number; the observation says "Higher." or "Lower." after each wrong guess.

    Actions are ``guess N``; with ``action_format="tagged"`` they must be wrapped in
    ``<action>...</action>``. Winning gives reward 10, a malformed message -0.1.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012  (Gymnasium's own convention)

    def __init__(self, action_format: str = "plain", max_number: int = 9) -> None:
        self.observation_space = TextSpace(max_length=4096)
        self.action_space = TextSpace()
        self.action_format = action_format
        self.max_number = max_number
        self._secret = 0
        self._low, self._high = 0, max_number
        self._obs = ""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        self._secret = int(self.np_random.integers(0, self.max_number + 1))
        self._low, self._high = 0, self.max_number
        self._obs = f"Your task is to: guess my number between 0 and {self.max_number}."
        return self._obs, self._info(won=False, format_valid=True, action_valid=True, anchor=self._obs)

    def _info(self, *, won: bool, format_valid: bool, action_valid: bool, anchor: str) -> dict[str, Any]:
        actions = [f"guess {n}" for n in range(self._low, self._high + 1)]
        self.np_random.shuffle(actions)
        return {
            "admissible_actions": actions,
            "won": won,
            "format_valid": format_valid,
            "action_valid": action_valid,
            "anchor": anchor,
        }

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        anchor, command = self._obs, action
        if self.action_format == "tagged":
            tagged = _tagged_action(action)
            if tagged is None:
                self._obs = "Invalid format: put one action inside <action></action>."
                return (
                    self._obs,
                    -0.1,
                    False,
                    False,
                    self._info(won=False, format_valid=False, action_valid=False, anchor=anchor),
                )
            command = tagged
        match = _GUESS.fullmatch(command.strip().lower())
        if match is None or int(match.group(1)) > self.max_number:
            self._obs = "Nothing happens."
            return (
                self._obs,
                0.0,
                False,
                False,
                self._info(won=False, format_valid=True, action_valid=False, anchor=anchor),
            )
        guess = int(match.group(1))
        won = guess == self._secret
        if guess < self._secret:
            self._low = max(self._low, guess + 1)
        elif guess > self._secret:
            self._high = min(self._high, guess - 1)
        self._obs = "Correct!" if won else ("Higher." if guess < self._secret else "Lower.")
        info = self._info(won=won, format_valid=True, action_valid=True, anchor=anchor)
        return self._obs, 10.0 if won else 0.0, won, False, info

    def expert_plan(self) -> list[str]:
        """Binary search over the numbers still possible."""
        return [f"guess {(self._low + self._high) // 2}"]


class IntObsEnv(GuessEnv):
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        _, info = super().reset(seed=seed, options=options)
        return 0, info


class RaisesOnEmptyActionEnv(GuessEnv):
    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if not action.strip():
            raise ValueError("empty action")
        return super().step(action)


class NondeterministicEnv(GuessEnv):
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        obs, info = super().reset(seed=seed, options=options)
        self._obs = f"{obs} The room is {random.Random().random():.6f} degrees."  # unseeded!
        info["anchor"] = self._obs
        return self._obs, info


class StepNondeterministicEnv(GuessEnv):
    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        return f"{obs} ({random.Random().random():.6f})", reward, terminated, truncated, info


class UnpicklableEnv(GuessEnv):
    def __init__(self, action_format: str = "plain", max_number: int = 9) -> None:
        super().__init__(action_format, max_number)
        self._lock = threading.Lock()


class PickleLosesStateEnv(GuessEnv):
    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._obs = ""  # "rebuilt" without the current observation


class RaisesOnSecondCloseEnv(GuessEnv):
    _closed = False

    def close(self) -> None:
        if self._closed:
            raise RuntimeError("simulator already shut down")
        self._closed = True


class RaisesOnSurrogateEnv(GuessEnv):
    """Bug: encodes the message as UTF-8, which a lone surrogate cannot be."""

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        action.encode("utf-8")
        return super().step(action)


class IntRewardEnv(GuessEnv):
    def step(self, action: str) -> tuple[str, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, int(reward), terminated, truncated, info


class NanRewardEnv(GuessEnv):
    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        obs, _, terminated, truncated, info = super().step(action)
        return obs, float("nan"), terminated, truncated, info


class FourTupleEnv(GuessEnv):
    def step(self, action: str) -> Any:
        obs, reward, terminated, _, info = super().step(action)
        return obs, reward, terminated, info


class NumpyBoolEnv(GuessEnv):
    def step(self, action: str) -> tuple[str, float, Any, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, np.bool_(terminated), truncated, info


class IntWonEnv(GuessEnv):
    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        info["won"] = int(info["won"])
        return obs, reward, terminated, truncated, info


class AlphanumericSpaceEnv(GuessEnv):
    def __init__(self, action_format: str = "plain", max_number: int = 9) -> None:
        super().__init__(action_format, max_number)
        self.observation_space = gymnasium.spaces.Text(max_length=4096)


class LongStepObsEnv(GuessEnv):
    """Reset observations fit the space; step observations are too long (Gymnasium only warns)."""

    def __init__(self, action_format: str = "plain", max_number: int = 9) -> None:
        super().__init__(action_format, max_number)
        self.observation_space = TextSpace(max_length=80)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        return obs + " ." * 100, reward, terminated, truncated, info


class NoSpacesEnv(GuessEnv):
    def __init__(self, action_format: str = "plain", max_number: int = 9) -> None:
        super().__init__(action_format, max_number)
        del self.action_space


class UselessExpertEnv(GuessEnv):
    def expert_plan(self) -> list[str]:
        return ["look"]


class MissingDependencyEnv(GuessEnv):
    def __init__(self, action_format: str = "plain", max_number: int = 9) -> None:
        raise DependencyNotInstalled("webshop", "selenium")


RegisterFn = Callable[..., str]  # the `register` fixture of conftest.py


@pytest.fixture
def register() -> Iterator[RegisterFn]:
    """Registers env classes under unique ids (Gymnasium + ENVS) and unregisters them afterwards."""
    env_ids: list[str] = []

    def _register(env_cls: type[GuessEnv], *, has_expert: bool = True, max_episode_steps: int = 20) -> str:
        env_id = f"TestGuess{uuid.uuid4().hex[:8]}-v0"
        gymnasium.register(id=env_id, entry_point=env_cls, max_episode_steps=max_episode_steps)
        env_ids.append(env_id)
        register_env(
            EnvEntry(
                env_id=env_id,
                entry_point=f"{env_cls.__module__}:{env_cls.__qualname__}",
                max_episode_steps=max_episode_steps,
                extra="",
                has_expert=has_expert,
            )
        )
        return env_id

    yield _register
    for env_id in env_ids:
        if env_id in ENVS:
            ENVS.unregister(env_id)
        del gymnasium.registry[env_id]


@pytest.fixture
def envs() -> ModuleType:
    """This module: the test files reach the env classes as ``envs.GuessEnv`` and so on."""
    return sys.modules[__name__]
