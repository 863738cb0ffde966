"""check_bad_reset_options: passes on an env reading its options through read_reset_options, fails otherwise."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import gymnasium
import pytest

from agentgym_seal.errors import EnvCheckError
from agentgym_seal.reset_options import read_reset_options
from agentgym_seal.testing.reset_checks import bad_reset_options, check_bad_reset_options


class PickyEnv(gymnasium.Env[str, str]):
    """Reads ``options={"level": i}`` (0..2) through the shared validator."""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        picked = read_reset_options(options, where="Picky-v0", indices={"level": 3})
        super().reset(seed=seed)
        return f"level {picked.get('level', 0)}", {}


def test_an_env_using_the_validator_passes() -> None:
    check_bad_reset_options(PickyEnv(), "level", env_id="Picky-v0")
    assert len(bad_reset_options("level")) == 9


def test_an_env_that_ignores_its_options_fails(envs: ModuleType) -> None:
    with pytest.raises(EnvCheckError, match="was accepted"):
        check_bad_reset_options(envs.GuessEnv(), "level", env_id="Guess-v0")


def test_an_error_that_names_the_wrong_env_fails() -> None:
    with pytest.raises(EnvCheckError, match="must name"):
        check_bad_reset_options(PickyEnv(), "level", env_id="Other-v0")
