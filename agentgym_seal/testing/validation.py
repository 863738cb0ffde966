"""``validate_env``: every conformance check on a registered env id, as one report (``agentgym-seal validate``).

A check that raises never stops the run: it becomes a failed :class:`CheckResult` carrying the
exception message. :func:`assert_env_valid` turns a failed report into an ``AssertionError`` for
users' own test suites::

    from agentgym_seal.testing import assert_env_valid

    def test_my_env() -> None:
        assert_env_valid("MyEnv-v0", episodes=2)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import gymnasium
from rich.table import Table
from rich.text import Text

from agentgym_seal.errors import EnvCheckError
from agentgym_seal.registration import ENVS
from agentgym_seal.testing.contract import reset_checked, short_repr, step_checked
from agentgym_seal.testing.env_checks import check_env, check_env_gymnasium, check_seeded_determinism
from agentgym_seal.testing.fuzz import check_fuzz

logger = logging.getLogger(__name__)

#: Random actions sent by the "fuzz" check.
FUZZ_ACTIONS: int = 200
#: Episodes of hostile messages played by the "adversarial" check (up to 30 actions each).
ADVERSARIAL_EPISODES: int = 20
#: Most steps per episode of the "seeded determinism" check.
DETERMINISM_STEPS: int = 50
#: Most expert steps per episode when the env has no time limit of its own.
MAX_EXPERT_STEPS: int = 1000


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one named check.

    Attributes:
        name: The check's name, e.g. ``"seeded determinism"``.
        passed: Whether it passed.
        detail: What was checked when it passed; the error message when it failed.
        seconds: Wall-clock time it took.
    """

    name: str
    passed: bool
    detail: str
    seconds: float


@dataclass(frozen=True)
class ValidationReport:
    """All check results of one :func:`validate_env` run.

    Attributes:
        env_id: The validated env id.
        results: One result per check, in the order they ran.
    """

    env_id: str
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(result.passed for result in self.results)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        """The failed checks."""
        return tuple(result for result in self.results if not result.passed)

    def summary(self) -> str:
        """One line, e.g. ``"MyEnv-v0: 5/5 checks passed"``."""
        passed = len(self.results) - len(self.failures)
        return f"{self.env_id}: {passed}/{len(self.results)} checks passed"

    def to_table(self) -> Table:
        """The results as a rich table (check, result, seconds, detail)."""
        table = Table(title=Text(f"agentgym-seal validate {self.env_id}"))
        table.add_column("check", no_wrap=True)
        table.add_column("result", no_wrap=True)
        table.add_column("seconds", justify="right", no_wrap=True)
        table.add_column("detail", overflow="fold")
        for result in self.results:
            verdict = Text("PASS", style="bold green") if result.passed else Text("FAIL", style="bold red")
            # Text(...) rather than str: details hold brackets ("search[red shoes]") that rich markup would eat.
            table.add_row(Text(result.name), verdict, f"{result.seconds:.2f}", Text(result.detail))
        return table


@contextmanager
def _made(env_id: str, kwargs: Mapping[str, Any]) -> Iterator[gymnasium.Env[Any, Any]]:
    env = gymnasium.make(env_id, **kwargs)
    try:
        yield env
    finally:
        try:
            env.close()
        except Exception:  # double close is judged by check_env, not here
            logger.debug("closing %s raised", env_id, exc_info=True)


def _run_check(name: str, check: Callable[[], str]) -> CheckResult:
    start = time.perf_counter()
    try:
        detail, passed = check(), True
    except Exception as exc:
        logger.debug("check %r failed", name, exc_info=True)
        detail, passed = f"{type(exc).__name__}: {exc}", False
    return CheckResult(name=name, passed=passed, detail=detail, seconds=time.perf_counter() - start)


def _agentgym_check(env_id: str, kwargs: Mapping[str, Any], seed: int) -> str:
    with _made(env_id, kwargs) as env:
        check_env(env, seed=seed, env_factory=lambda: gymnasium.make(env_id, **kwargs))
    return "spaces, reset/step types, seeded determinism, pickle round-trip, garbage actions, double close"


def _gymnasium_check(env_id: str, kwargs: Mapping[str, Any]) -> str:
    with _made(env_id, kwargs) as env:
        check_env_gymnasium(env)
    return "Gymnasium's env checker passed (render checks skipped)"


def _fuzz_check(env_id: str, kwargs: Mapping[str, Any], seed: int) -> str:
    with _made(env_id, kwargs) as env:
        check_fuzz(env, seed=seed, num_actions=FUZZ_ACTIONS)
    return f"{FUZZ_ACTIONS} random actions (seed={seed}) stepped without error"


def _adversarial_check(env_id: str, kwargs: Mapping[str, Any], seed: int) -> str:
    from agentgym_seal.testing.adversarial import check_adversarial

    with _made(env_id, kwargs) as env:
        return check_adversarial(env, seed=seed, episodes=ADVERSARIAL_EPISODES).summary()


def _determinism_check(env_id: str, kwargs: Mapping[str, Any], seed: int, episodes: int) -> str:
    check_seeded_determinism(
        lambda: gymnasium.make(env_id, **kwargs),
        seed=seed,
        num_steps=DETERMINISM_STEPS,
        episodes=episodes,
    )
    seeds = f"seed {seed}" if episodes == 1 else f"seeds {seed}..{seed + episodes - 1}"
    return f"{episodes} pair(s) of fresh envs ({seeds}, up to {DETERMINISM_STEPS} steps) agreed step by step"


def _expert_episode(env: gymnasium.Env[Any, Any], seed: int) -> str | None:
    """Plays one episode with the expert; returns None if it was won, else why not."""
    expert_plan = getattr(env.unwrapped, "expert_plan", None)
    if not callable(expert_plan):
        raise EnvCheckError(
            f"the ENVS entry says has_expert=True but {type(env.unwrapped).__name__} has no "
            "expert_plan() method. Fix: implement expert_plan() -> list[str], or register the env "
            "with has_expert=False."
        )
    reset_checked(env, seed=seed)
    for t in range(MAX_EXPERT_STEPS):
        plan = expert_plan()
        if not isinstance(plan, Sequence) or isinstance(plan, str) or not plan:
            return f"expert_plan() returned {short_repr(plan)} at step {t}; expected a non-empty list of str"
        result = step_checked(env, plan[0])
        if result.terminated or result.truncated:
            won = result.info.get("won")
            if won is True:
                return None
            ended = "truncated" if result.truncated else "terminated"
            return f"{ended} after {t + 1} steps with info['won']={won!r} (last action {short_repr(plan[0])})"
    return f"not finished after {MAX_EXPERT_STEPS} expert steps"


def _expert_check(env_id: str, kwargs: Mapping[str, Any], seed: int, episodes: int) -> str:
    plain = {**kwargs, "action_format": "plain"}
    failures: list[str] = []
    for episode_seed in range(seed, seed + episodes):
        with _made(env_id, plain) as env:
            reason = _expert_episode(env, episode_seed)
        if reason is not None:
            failures.append(f"seed {episode_seed}: {reason}")
    if failures:
        raise EnvCheckError(
            f"the expert won {episodes - len(failures)}/{episodes} episodes; "
            + "; ".join(failures)
            + ". Likely bug: expert_plan() is out of sync with the simulator state, or info['won'] "
            "is not set when the goal is reached."
        )
    return f"the expert won {episodes}/{episodes} episodes (action_format='plain')"


def validate_env(
    env_id: str,
    *,
    episodes: int = 3,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
) -> ValidationReport:
    """Runs the named conformance checks on a registered env id.

    The checks are "agentgym check_env", "gymnasium check_env", "fuzz", "adversarial" (hostile messages
    from :func:`~agentgym_seal.testing.adversarial.fuzz_actions`; its detail reports step times), "seeded
    determinism" and,
    when the env's :class:`~agentgym_seal.family.EnvEntry` has ``has_expert=True``, "expert
    solvability" (the expert must win each of ``episodes`` episodes, seeds ``seed``,
    ``seed + 1``, ..., with ``action_format="plain"``). Each check builds its own envs with
    ``gymnasium.make(env_id, **env_kwargs)``.

    Args:
        env_id: An id registered with :func:`agentgym_seal.register_env`.
        episodes: Episodes of the determinism and expert checks.
        seed: First seed.
        env_kwargs: Keyword options passed to ``gymnasium.make``.

    Returns:
        The report; a failed check never raises.

    Raises:
        UnknownNameError: ``env_id`` is not registered (the message suggests close names).
    """
    entry = ENVS.get(env_id)
    kwargs = dict(env_kwargs or {})
    checks: list[tuple[str, Callable[[], str]]] = [
        ("agentgym check_env", partial(_agentgym_check, env_id, kwargs, seed)),
        ("gymnasium check_env", partial(_gymnasium_check, env_id, kwargs)),
        ("fuzz", partial(_fuzz_check, env_id, kwargs, seed)),
        ("adversarial", partial(_adversarial_check, env_id, kwargs, seed)),
        ("seeded determinism", partial(_determinism_check, env_id, kwargs, seed, episodes)),
    ]
    if entry.has_expert:
        checks.append(("expert solvability", partial(_expert_check, env_id, kwargs, seed, episodes)))
    return ValidationReport(env_id=env_id, results=tuple(_run_check(name, check) for name, check in checks))


def assert_env_valid(
    env_id: str,
    *,
    episodes: int = 3,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
) -> ValidationReport:
    """Like :func:`validate_env`, but raises ``AssertionError`` listing the failed checks.

    Args:
        env_id: An id registered with :func:`agentgym_seal.register_env`.
        episodes: Episodes of the determinism and expert checks.
        seed: First seed.
        env_kwargs: Keyword options passed to ``gymnasium.make``.

    Returns:
        The report, when every check passed.

    Raises:
        AssertionError: At least one check failed.
        UnknownNameError: ``env_id`` is not registered.
    """
    report = validate_env(env_id, episodes=episodes, seed=seed, env_kwargs=env_kwargs)
    if not report.passed:
        lines = "\n".join(f"- {result.name}: {result.detail}" for result in report.failures)
        raise AssertionError(f"{report.summary()}; failed:\n{lines}")
    return report
