"""The start-up check of ``--env-options``: the env's own validation of the user's options, before any model loads.

What each env family passes to its envs (splits, the warm-up's kwargs, the default world) is its
:class:`~agentgym_seal.family.FamilySpec`, declared in ``environments/<family>/training.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gymnasium

from agentgym_seal.errors import ConfigError

if TYPE_CHECKING:
    from .config import TrainConfig


def check_env_options(cfg: TrainConfig) -> None:
    """Fails at start on ``--env-options`` the env does not take, with the env's own check of its options.

    Builds (and closes) one train-split env with the options on top of the family's kwargs, so a key the
    env does not accept, or a value it rejects, is reported before any model or worker starts. Without
    ``--env-options`` it does nothing.

    Raises:
        ConfigError: The env rejects an option; the message names the option and the env id.
    """
    if not cfg.extra_env_kwargs:
        return
    try:
        gymnasium.make(cfg.env, **cfg.family.rollout_kwargs(cfg, "train")).close()
    except ConfigError as exc:
        raise ConfigError(f"--env-options {' '.join(cfg.env_options)}: {exc}") from exc
