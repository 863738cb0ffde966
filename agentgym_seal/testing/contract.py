"""The step/reset contract of a text env, checked one call at a time.

These helpers are shared by :mod:`agentgym_seal.testing.env_checks`, :mod:`agentgym_seal.testing.fuzz`
and :mod:`agentgym_seal.testing.validation`: they call the env, turn any exception into an
:class:`~agentgym_seal.errors.EnvCheckError` that names the likely bug, and validate what came back.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import gymnasium
import numpy as np
from gymnasium.spaces import Space

from agentgym_seal.errors import EnvCheckError

#: Info keys with a fixed type in agentgym_seal envs (ARCHITECTURE.md); checked only when present.
INFO_KEY_TYPES: Mapping[str, type] = {
    "won": bool,
    "format_valid": bool,
    "action_valid": bool,
    "anchor": str,
}

#: Stand-in for values that cannot be compared as JSON (objects, callables, bytes): equal to itself.
NOT_COMPARABLE = "<not comparable>"


class StepResult(NamedTuple):
    """A validated ``env.step`` result."""

    observation: str
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]


def short_repr(value: object, limit: int = 120) -> str:
    """``repr(value)``, cut to ``limit`` characters with the full length noted."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} chars)"


def type_name(value: object) -> str:
    """The type of ``value`` as users read it: ``int``, ``numpy.bool``, ``mypkg.State``."""
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def admissible_actions(info: Mapping[str, Any]) -> list[str]:
    """The ``str`` entries of ``info["admissible_actions"]``, or ``[]`` when the env lists none."""
    listed = info.get("admissible_actions")
    if not isinstance(listed, list | tuple):
        return []
    return [action for action in listed if isinstance(action, str)]


def _check_observation(obs: object, space: Space[Any], *, call: str) -> str:
    if not isinstance(obs, str):
        raise EnvCheckError(
            f"{call} returned an observation of type {type_name(obs)} ({short_repr(obs)}); "
            "a text env must return a str. Likely bug: returning the simulator's raw state or ids "
            "instead of the rendered text."
        )
    try:
        inside = bool(space.contains(obs))
    except Exception as exc:
        raise EnvCheckError(
            f"observation_space.contains() raised {type(exc).__name__}: {exc} on the observation of "
            f"{call}. Fix: use agentgym_seal.TextSpace as the observation space."
        ) from exc
    if not inside:
        raise EnvCheckError(
            f"{call} returned an observation outside env.observation_space ({space!r}): "
            f"{short_repr(obs)}. Likely bug: the space is too narrow (gymnasium.spaces.Text has an "
            "alphanumeric charset and min_length=1) or max_length is too small. "
            "Fix: use agentgym_seal.TextSpace()."
        )
    return obs


def _check_info(info: object, *, call: str) -> dict[str, Any]:
    if not isinstance(info, dict):
        raise EnvCheckError(
            f"{call} returned info of type {type_name(info)}; expected a dict. "
            "Fix: return a (new) dict, e.g. {'won': False, ...}."
        )
    for key, expected in INFO_KEY_TYPES.items():
        if key in info and type(info[key]) is not expected:
            raise EnvCheckError(
                f"{call} returned info[{key!r}] of type {type_name(info[key])} "
                f"({short_repr(info[key])}); expected {expected.__name__}. "
                f"Fix: convert it, e.g. {expected.__name__}(...)."
            )
    listed = info.get("admissible_actions")
    if listed is not None and (not isinstance(listed, list | tuple) or not all(isinstance(a, str) for a in listed)):
        raise EnvCheckError(
            f"{call} returned info['admissible_actions'] = {short_repr(listed)}; expected a list of "
            "str. Fix: list the commands the simulator accepts now, as strings."
        )
    return info


def check_reset_result(result: object, observation_space: Space[Any], *, call: str) -> tuple[str, dict[str, Any]]:
    """Validates a ``reset`` result: ``(obs: str in observation_space, info: dict)``.

    Args:
        result: What ``env.reset`` returned.
        observation_space: The env's observation space.
        call: How to name the call in messages, e.g. ``"env.reset(seed=0)"``.

    Returns:
        The observation and the info dict.

    Raises:
        EnvCheckError: The result breaks the contract; the message names the likely bug.
    """
    if not isinstance(result, tuple) or len(result) != 2:
        raise EnvCheckError(
            f"{call} returned {short_repr(result)}; expected a tuple (observation, info). "
            "Likely bug: reset returns only the observation (the old Gym API). Fix: return obs, info."
        )
    obs = _check_observation(result[0], observation_space, call=call)
    return obs, _check_info(result[1], call=call)


def check_step_result(result: object, observation_space: Space[Any], *, call: str) -> StepResult:
    """Validates a ``step`` result: ``(obs, reward, terminated, truncated, info)`` with exact types.

    The reward must be a Python ``float`` or a NumPy floating scalar and finite; ``terminated``
    and ``truncated`` must be Python ``bool``.

    Args:
        result: What ``env.step`` returned.
        observation_space: The env's observation space.
        call: How to name the call in messages, e.g. ``"env.step('look')"``.

    Returns:
        The result as a :class:`StepResult` (reward converted to ``float``).

    Raises:
        EnvCheckError: The result breaks the contract; the message names the likely bug.
    """
    if not isinstance(result, tuple) or len(result) != 5:
        size = f"a {len(result)}-tuple" if isinstance(result, tuple) else type_name(result)
        raise EnvCheckError(
            f"{call} returned {size}; expected (obs, reward, terminated, truncated, info). "
            "Likely bug: the old Gym API (obs, reward, done, info). Fix: split done into terminated "
            "(a terminal state was reached) and truncated (always False: TimeLimit truncates)."
        )
    obs_raw, reward, terminated, truncated, info_raw = result
    obs = _check_observation(obs_raw, observation_space, call=call)
    if not isinstance(reward, float | np.floating):
        raise EnvCheckError(
            f"{call} returned a reward of type {type_name(reward)} ({reward!r}); expected a float. "
            "Fix: return float(reward)."
        )
    if not math.isfinite(float(reward)):
        raise EnvCheckError(
            f"{call} returned a non-finite reward {reward!r}. Likely bug: a division by zero or a "
            "log of 0 in the reward; rewards must be finite floats."
        )
    for name, flag in (("terminated", terminated), ("truncated", truncated)):
        if type(flag) is not bool:
            raise EnvCheckError(
                f"{call} returned {name} of type {type_name(flag)} ({flag!r}); expected a Python "
                f"bool. Fix: return bool({name})."
            )
    return StepResult(obs, float(reward), terminated, truncated, _check_info(info_raw, call=call))


def reset_checked(env: gymnasium.Env[Any, Any], *, seed: int | None) -> tuple[str, dict[str, Any]]:
    """Calls ``env.reset(seed=seed)`` and validates the result.

    Raises:
        EnvCheckError: ``reset`` raised, or its result breaks the contract.
    """
    call = f"env.reset(seed={seed})"
    try:
        result = env.reset(seed=seed)
    except Exception as exc:
        raise EnvCheckError(f"{call} raised {type(exc).__name__}: {exc}") from exc
    return check_reset_result(result, env.observation_space, call=call)


def step_checked(env: gymnasium.Env[Any, Any], action: Any, *, label: str | None = None) -> StepResult:
    """Calls ``env.step(action)`` and validates the result.

    Args:
        env: The env, already reset.
        action: The action to send.
        label: How to name the action in messages; defaults to a shortened ``repr``.

    Raises:
        EnvCheckError: ``step`` raised, or its result breaks the contract.
    """
    call = f"env.step({label or short_repr(action)})"
    try:
        result = env.step(action)
    except Exception as exc:
        raise EnvCheckError(
            f"{call} raised {type(exc).__name__}: {exc}. Likely bug: step must never raise on any "
            "string; treat bad input as an invalid action (info format_valid/action_valid False, "
            "the penalty applied) and return an observation that says what was wrong."
        ) from exc
    return check_step_result(result, env.observation_space, call=call)


def comparable(value: object) -> object:
    """``value`` as plain JSON-like data for equality tests; other values become :data:`NOT_COMPARABLE`.

    NumPy scalars and arrays become Python scalars and lists, tuples become lists, mapping keys
    become ``str``, and non-finite floats become their ``repr`` (so ``nan`` equals ``nan``).
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, np.ndarray):
        return comparable(value.tolist())
    if isinstance(value, np.generic):
        item = value.item()
        return NOT_COMPARABLE if isinstance(item, np.generic) else comparable(item)
    if isinstance(value, list | tuple):
        return [comparable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): comparable(v) for k, v in value.items()}
    return NOT_COMPARABLE


def first_difference(a: object, b: object, path: str = "") -> str | None:
    """Where two :func:`comparable` values first differ (e.g. ``"info['won']: True != False"``), or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:  # in a's order: observation before info
            where = f"{path}[{key!r}]" if path else str(key)
            if key not in a or key not in b:
                return f"{where} is present in only one of them"
            found = first_difference(a[key], b[key], where)
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    return None if a == b else f"{path or 'value'}: {short_repr(a)} != {short_repr(b)}"


def reset_record(obs: str, info: Mapping[str, Any]) -> dict[str, object]:
    """A reset result as comparable data (see :func:`comparable`)."""
    return {"observation": obs, "info": comparable(info)}


def step_record(result: StepResult) -> dict[str, object]:
    """A step result as comparable data (see :func:`comparable`)."""
    record = comparable(result._asdict())
    assert isinstance(record, dict)
    return record


class ActionPicker:
    """Draws actions reproducibly: from ``info["admissible_actions"]`` when listed, else from the space.

    Sampling uses a seeded copy of the action space, so the env's own space is left untouched.

    Args:
        action_space: The env's action space.
        seed: Seed of the picker's random generator and of its copy of the space.
    """

    def __init__(self, action_space: Space[Any], seed: int) -> None:
        self._rng = np.random.default_rng(seed)
        self._space = copy.deepcopy(action_space)
        self._space.seed(seed)

    def __call__(self, info: Mapping[str, Any]) -> Any:
        """Returns the next action given the info of the latest reset or step."""
        listed = admissible_actions(info)
        if listed:
            return listed[int(self._rng.integers(len(listed)))]
        return self._space.sample()
