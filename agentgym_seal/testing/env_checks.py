"""Conformance checks for text environments (STYLE.md 7), shipped so users can run them on their envs.

:func:`check_env` runs every check of this module in turn; each raises
:class:`~agentgym_seal.errors.EnvCheckError` with a message that names the likely bug::

    import gymnasium as gym
    import agentgym_seal
    from agentgym_seal.testing import check_env

    check_env(gym.make("ALFWorldText-v0"))  # closes the env when done

:func:`check_env_gymnasium` runs Gymnasium's own checker, with its observation warnings as errors.
"""

from __future__ import annotations

import contextlib
import pickle
import re
import warnings
from collections.abc import Callable
from typing import Any

import gymnasium
from gymnasium import logger as gymnasium_logger
from gymnasium.spaces import Space
from gymnasium.utils.env_checker import check_env as gymnasium_check_env

from agentgym_seal.errors import EnvCheckError
from agentgym_seal.testing.contract import (
    ActionPicker,
    admissible_actions,
    first_difference,
    reset_checked,
    reset_record,
    short_repr,
    step_checked,
    step_record,
)
from agentgym_seal.testing.fuzz import check_garbage_actions

EnvFactory = Callable[[], gymnasium.Env[Any, Any]]
"""A zero-argument callable that builds a fresh, independent env."""

_NONDETERMINISM_HINT = (
    "Likely bug: reset must start with super().reset(seed=seed) and draw all randomness (task "
    "sampling, shuffles) from self.np_random, never from `random`, the global `np.random`, the clock, "
    "or state shared between instances (class attributes, module globals)."
)

# Gymnasium's warnings about observations all start "The obs returned by the `...()` method".
_GYMNASIUM_OBS_WARNING = "obs returned by"
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class EnvCheckWarning(UserWarning):
    """A conformance check was skipped; the message says what to pass to run it."""


def check_spaces(env: gymnasium.Env[Any, Any]) -> None:
    """Checks that ``observation_space`` and ``action_space`` are set and are Gymnasium spaces.

    Raises:
        EnvCheckError: A space is missing or is not a :class:`gymnasium.spaces.Space`.
    """
    for name in ("observation_space", "action_space"):
        space = getattr(env, name, None)
        if space is None:
            raise EnvCheckError(
                f"env has no {name}. Likely bug: __init__ does not set self.{name}. "
                f"Fix: set self.{name} = agentgym_seal.TextSpace() in __init__."
            )
        if not isinstance(space, Space):
            raise EnvCheckError(
                f"env.{name} is a {type(space).__name__}, not a gymnasium.spaces.Space. "
                f"Fix: set self.{name} = agentgym_seal.TextSpace()."
            )


def _check_admissible_in_space(info: dict[str, Any], action_space: Space[Any]) -> None:
    for action in admissible_actions(info):
        if not action_space.contains(action):
            raise EnvCheckError(
                f"info['admissible_actions'] lists {short_repr(action)}, which env.action_space "
                f"({action_space!r}) does not contain. Likely bug: the action space is too narrow "
                "(gymnasium.spaces.Text rejects spaces and punctuation). Fix: use agentgym_seal.TextSpace()."
            )


def check_rollout(env: gymnasium.Env[Any, Any], *, seed: int = 0, num_steps: int = 10) -> None:
    """Resets ``env`` with ``seed`` and takes ``num_steps`` steps, validating every result.

    Actions come from ``info["admissible_actions"]`` when listed, else from the action space. Each
    admissible action must lie in the action space. The env is reset again when an episode ends.

    Raises:
        EnvCheckError: A call raised or returned a result that breaks the contract.
    """
    _, info = reset_checked(env, seed=seed)
    _check_admissible_in_space(info, env.action_space)
    pick = ActionPicker(env.action_space, seed)
    for t in range(num_steps):
        result = step_checked(env, pick(info))
        info = result.info
        if result.terminated or result.truncated:
            _, info = reset_checked(env, seed=seed + t + 1)
        _check_admissible_in_space(info, env.action_space)


def _build(factory: EnvFactory) -> gymnasium.Env[Any, Any]:
    try:
        return factory()
    except Exception as exc:
        raise EnvCheckError(f"env_factory() raised {type(exc).__name__}: {exc}") from exc


def _close_quietly(env: gymnasium.Env[Any, Any]) -> None:
    # Closing is checked on its own (check_double_close); here it only releases resources.
    with contextlib.suppress(Exception):
        env.close()


def check_seeded_determinism(env_factory: EnvFactory, *, seed: int = 0, num_steps: int = 10, episodes: int = 1) -> None:
    """Checks that two fresh envs reset with the same seed and given the same actions agree.

    For each episode ``i`` both envs are reset with ``seed + i``; their observations and infos must
    be equal (comparing JSON-like values, ignoring the rest), and so must every step result for up
    to ``num_steps`` steps of one action sequence drawn from a seeded generator.

    Args:
        env_factory: Builds a fresh env; called twice.
        seed: Seed of the first episode and of the action generator.
        num_steps: Most steps per episode.
        episodes: Number of episodes.

    Raises:
        EnvCheckError: The two envs differ; the message says where and names the likely bug.
    """
    env_a = _build(env_factory)
    env_b = _build(env_factory)
    try:
        if env_a is env_b or env_a.unwrapped is env_b.unwrapped:
            raise EnvCheckError("env_factory() returned the same env twice. Fix: build a new env on each call.")
        pick = ActionPicker(env_a.action_space, seed)
        for episode in range(episodes):
            _compare_episode(env_a, env_b, pick, seed=seed + episode, num_steps=num_steps)
    finally:
        _close_quietly(env_a)
        _close_quietly(env_b)


def _compare_episode(
    env_a: gymnasium.Env[Any, Any],
    env_b: gymnasium.Env[Any, Any],
    pick: ActionPicker,
    *,
    seed: int,
    num_steps: int,
) -> None:
    obs_a, info_a = reset_checked(env_a, seed=seed)
    obs_b, info_b = reset_checked(env_b, seed=seed)
    diff = first_difference(reset_record(obs_a, info_a), reset_record(obs_b, info_b))
    if diff is not None:
        raise EnvCheckError(f"two fresh envs reset with seed={seed} differ at {diff}. {_NONDETERMINISM_HINT}")
    info = info_a
    for t in range(num_steps):
        action = pick(info)
        step_a = step_checked(env_a, action)
        step_b = step_checked(env_b, action)
        diff = first_difference(step_record(step_a), step_record(step_b))
        if diff is not None:
            raise EnvCheckError(
                f"two fresh envs reset with seed={seed} and given the same actions differ at step {t} "
                f"(action {short_repr(action)}) at {diff}. {_NONDETERMINISM_HINT} Steps must be "
                "deterministic given the state and self.np_random (no set iteration order, no clock)."
            )
        if step_a.terminated or step_a.truncated:
            return
        info = step_a.info


def check_pickle(env: gymnasium.Env[Any, Any], *, seed: int = 0) -> None:
    """Checks that ``env.unwrapped`` pickles after ``reset`` and the copy steps like the original.

    Raises:
        EnvCheckError: Pickling or unpickling failed, or the copy's next step differs.
    """
    _, info = reset_checked(env, seed=seed)
    original = env.unwrapped
    try:
        blob = pickle.dumps(original)
    except Exception as exc:
        raise EnvCheckError(
            f"pickle.dumps(env.unwrapped) failed after reset with {type(exc).__name__}: {exc}. "
            "Likely bug: the env holds an unpicklable resource (an open file, a process, a lock, a "
            "socket, a lambda). Fix: implement __getstate__ to drop it and __setstate__ to rebuild it."
        ) from exc
    try:
        restored = pickle.loads(blob)
    except Exception as exc:
        raise EnvCheckError(
            f"pickle.loads() of the pickled env failed with {type(exc).__name__}: {exc}. "
            "Likely bug: __setstate__ cannot rebuild what __getstate__ dropped. "
            "Fix: implement __getstate__/__setstate__ as a matching pair."
        ) from exc
    try:
        if type(restored) is not type(original):
            raise EnvCheckError(
                f"unpickling the env gave a {type(restored).__name__}, not a {type(original).__name__}. "
                "Fix: __reduce__/__getstate__ must rebuild the same class."
            )
        action = ActionPicker(env.action_space, seed)(info)
        expected = step_checked(original, action)
        got = step_checked(restored, action)
        diff = first_difference(step_record(expected), step_record(got))
        if diff is not None:
            raise EnvCheckError(
                f"after a pickle round-trip, step({short_repr(action)}) of the copy differs from the "
                f"original's at {diff}. Likely bug: __getstate__/__setstate__ drop or rebuild episode "
                "state (the task, the simulator state, self.np_random). Fix: keep that state in the "
                "pickle, or restore it in __setstate__."
            )
    finally:
        _close_quietly(restored)


def check_double_close(env: gymnasium.Env[Any, Any]) -> None:
    """Closes ``env`` twice: neither call may raise.

    Raises:
        EnvCheckError: A ``close`` call raised.
    """
    for attempt in ("first", "second"):
        try:
            env.close()
        except Exception as exc:
            raise EnvCheckError(
                f"the {attempt} env.close() raised {type(exc).__name__}: {exc}. Likely bug: close "
                "releases a resource that is already gone. close must be idempotent (Gymnasium calls "
                "it again on exit and from wrappers). Fix: release each resource once, e.g. set it to "
                "None after closing it and skip None."
            ) from exc


def _spec_factory(env: gymnasium.Env[Any, Any]) -> EnvFactory | None:
    spec = env.spec
    if spec is None:
        return None
    env_id, kwargs = spec.id, dict(spec.kwargs)
    return lambda: gymnasium.make(env_id, **kwargs)


def check_env(
    env: gymnasium.Env[Any, Any],
    *,
    seed: int = 0,
    num_steps: int = 10,
    env_factory: EnvFactory | None = None,
) -> None:
    """Runs every conformance check on ``env``, then closes it (twice).

    In order: :func:`check_spaces`, :func:`check_rollout` (reset/step types, obs in the space),
    :func:`check_seeded_determinism` on two fresh envs, :func:`check_pickle`,
    :func:`~agentgym_seal.testing.fuzz.check_garbage_actions` and :func:`check_double_close`.

    Args:
        env: The env to check, wrapped or not.
        seed: Seed of the resets and of the action generator.
        num_steps: Steps of the rollout and of the determinism check.
        env_factory: Builds fresh copies for the determinism check. When omitted they are built with
            ``gymnasium.make(env.spec.id, **env.spec.kwargs)``; with neither a factory nor a spec the
            determinism check is skipped with an :class:`EnvCheckWarning`.

    Raises:
        EnvCheckError: A check failed; the message names the likely bug.
    """
    check_spaces(env)
    check_rollout(env, seed=seed, num_steps=num_steps)
    factory = env_factory if env_factory is not None else _spec_factory(env)
    if factory is None:
        warnings.warn(
            "check_env skipped the seeded-determinism check: the env has no spec (it was not built "
            "by gymnasium.make) and no env_factory was given. Fix: pass env_factory=lambda: MyEnv(...).",
            EnvCheckWarning,
            stacklevel=2,
        )
    else:
        check_seeded_determinism(factory, seed=seed, num_steps=num_steps)
    check_pickle(env, seed=seed)
    check_garbage_actions(env, seed=seed)
    check_double_close(env)


def check_env_gymnasium(env: gymnasium.Env[Any, Any]) -> None:
    """Runs ``gymnasium.utils.env_checker.check_env(env.unwrapped, skip_render_check=True)``.

    Gymnasium only warns when an observation is outside the observation space or has the wrong
    type; those warnings become errors here. Its other warnings are re-emitted unchanged.

    Raises:
        EnvCheckError: Gymnasium's checker raised, or warned about an observation.
    """
    previous_level = gymnasium_logger.min_level
    gymnasium_logger.min_level = gymnasium_logger.WARN  # a user's set_level(ERROR) must not hide them
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                gymnasium_check_env(env.unwrapped, skip_render_check=True)
            except Exception as exc:
                text = _ANSI_ESCAPE.sub("", str(exc))
                hint = " Fix: use agentgym_seal.TextSpace()." if "observation space" in text else ""
                raise EnvCheckError(f"Gymnasium's env checker failed: {type(exc).__name__}: {text}{hint}") from exc
    finally:
        gymnasium_logger.min_level = previous_level
    obs_problems: list[str] = []
    for record in caught:
        text = _ANSI_ESCAPE.sub("", str(record.message))
        if _GYMNASIUM_OBS_WARNING not in text:
            warnings.warn_explicit(record.message, record.category, record.filename, record.lineno)
        elif text not in obs_problems:
            obs_problems.append(text)
    if obs_problems:
        raise EnvCheckError(
            "Gymnasium's env checker: "
            + " ".join(obs_problems)
            + " Likely bug: the observation space is too narrow for the text the env returns. "
            "Fix: use agentgym_seal.TextSpace()."
        )
