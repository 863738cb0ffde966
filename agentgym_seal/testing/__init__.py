"""Shipped conformance checks: run them on any text env, ours or yours (STYLE.md 7).

- :func:`check_env` checks one env instance: spaces, reset/step types, seeded determinism, pickle
  round-trip, garbage actions and double ``close()``; :func:`check_env_gymnasium` runs Gymnasium's
  own checker with its observation warnings turned into errors.
- :func:`validate_env` runs every check on a registered id and returns a :class:`ValidationReport`
  (the ``agentgym-seal validate`` command); :func:`assert_env_valid` is its pytest-friendly form.

Every failure raises :class:`~agentgym_seal.errors.EnvCheckError` with a message naming the likely bug.
"""

from __future__ import annotations

from agentgym_seal.testing.contract import StepResult, check_reset_result, check_step_result
from agentgym_seal.testing.env_checks import (
    EnvCheckWarning,
    EnvFactory,
    check_double_close,
    check_env,
    check_env_gymnasium,
    check_pickle,
    check_rollout,
    check_seeded_determinism,
    check_spaces,
)
from agentgym_seal.testing.fuzz import check_fuzz, check_garbage_actions, garbage_actions, random_action
from agentgym_seal.testing.validation import CheckResult, ValidationReport, assert_env_valid, validate_env

__all__ = [
    "CheckResult",
    "EnvCheckWarning",
    "EnvFactory",
    "StepResult",
    "ValidationReport",
    "assert_env_valid",
    "check_double_close",
    "check_env",
    "check_env_gymnasium",
    "check_fuzz",
    "check_garbage_actions",
    "check_pickle",
    "check_reset_result",
    "check_rollout",
    "check_seeded_determinism",
    "check_spaces",
    "check_step_result",
    "garbage_actions",
    "random_action",
    "validate_env",
]
