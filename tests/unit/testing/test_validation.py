from __future__ import annotations

import re
from collections.abc import Callable
from types import ModuleType

import pytest
from rich.console import Console

from agentgym_seal.errors import UnknownNameError
from agentgym_seal.testing import CheckResult, ValidationReport, assert_env_valid, validate_env

ALL_CHECKS = [
    "agentgym check_env",
    "gymnasium check_env",
    "fuzz",
    "adversarial",
    "seeded determinism",
    "expert solvability",
]

RegisterFn = Callable[..., str]


def test_correct_env_passes_every_check(envs: ModuleType, register: RegisterFn) -> None:
    report = validate_env(register(envs.GuessEnv), episodes=4, seed=5)
    assert [r.name for r in report.results] == ALL_CHECKS
    assert report.passed, report.failures
    assert report.results[-1].detail == "the expert won 4/4 episodes (action_format='plain')"
    assert all(r.seconds >= 0 for r in report.results)


def test_env_kwargs_reach_the_env(envs: ModuleType, register: RegisterFn) -> None:
    # Tagged actions for every check but the expert's, which adds action_format="plain".
    report = validate_env(register(envs.GuessEnv), env_kwargs={"action_format": "tagged", "max_number": 50})
    assert report.passed, report.failures


def test_expert_check_only_when_the_entry_has_an_expert(envs: ModuleType, register: RegisterFn) -> None:
    report = validate_env(register(envs.GuessEnv, has_expert=False), episodes=1)
    assert [r.name for r in report.results] == ALL_CHECKS[:-1]


def test_broken_env_fails_the_matching_checks(envs: ModuleType, register: RegisterFn) -> None:
    report = validate_env(register(envs.RaisesOnEmptyActionEnv), episodes=1)
    failed = {r.name: r.detail for r in report.failures}
    assert not report.passed
    assert "agentgym check_env" in failed
    assert failed["agentgym check_env"].startswith("EnvCheckError: env.step('' [empty string]) raised ValueError")
    assert "seeded determinism" not in failed
    assert "expert solvability" not in failed


def test_expert_that_never_wins_fails(envs: ModuleType, register: RegisterFn) -> None:
    report = validate_env(register(envs.UselessExpertEnv, max_episode_steps=5), episodes=2)
    (failure,) = report.failures
    assert failure.name == "expert solvability"
    assert "the expert won 0/2 episodes; seed 0: truncated after 5 steps with info['won']=False" in failure.detail


def test_exceptions_inside_checks_become_failed_results(envs: ModuleType, register: RegisterFn) -> None:
    report = validate_env(register(envs.MissingDependencyEnv), episodes=1)
    assert len(report.failures) == len(ALL_CHECKS)
    assert all('pip install "agentgym-seal[webshop]"' in r.detail for r in report.failures)


def test_unknown_id_raises_with_a_suggestion(envs: ModuleType, register: RegisterFn) -> None:
    env_id = register(envs.GuessEnv)
    with pytest.raises(UnknownNameError, match=re.escape(f"Did you mean {env_id!r}?")):
        validate_env(env_id.replace("-v0", "-v1"))


def test_assert_env_valid_lists_the_failed_checks(envs: ModuleType, register: RegisterFn) -> None:
    assert assert_env_valid(register(envs.GuessEnv), episodes=1).passed
    with pytest.raises(AssertionError, match=r"4/5 checks passed; failed:\n- agentgym check_env: EnvCheckError"):
        assert_env_valid(register(envs.UnpicklableEnv, has_expert=False), episodes=1)


def test_table_keeps_brackets_and_shows_the_verdicts() -> None:
    report = ValidationReport(
        env_id="X-v0",
        results=(
            CheckResult("fuzz", True, "ok", 0.5),
            CheckResult("agentgym check_env", False, "env.step('search[red shoes]') raised", 1.25),
        ),
    )
    console = Console(width=200, record=True)
    console.print(report.to_table())
    text = console.export_text()
    assert "search[red shoes]" in text
    assert "PASS" in text
    assert "FAIL" in text
    assert "1.25" in text
    assert report.summary() == "X-v0: 1/2 checks passed"
    assert report.failures == report.results[1:]


def test_adversarial_check_catches_what_the_fuzz_check_misses(envs: ModuleType, register: RegisterFn) -> None:
    report = validate_env(register(envs.RaisesOnSurrogateEnv, has_expert=False), episodes=1)
    failed = {r.name: r.detail for r in report.failures}
    assert set(failed) == {"adversarial"}
    assert "UnicodeEncodeError" in failed["adversarial"]
