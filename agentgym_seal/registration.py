"""Environment ids: one :class:`~agentgym_seal.registry.Registry` of specs, mirrored into Gymnasium.

Entry points are strings, so ``import agentgym_seal`` imports no environment module (and none of
their heavy dependencies) until ``gymnasium.make`` is called; only each family's light ``training.py``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import gymnasium

from agentgym_seal.errors import ConfigError
from agentgym_seal.family import FAMILIES, FamilySpec
from agentgym_seal.family import EnvEntry as EnvEntry  # re-exported: the record of an env id
from agentgym_seal.registry import Registry

ENVS: Registry[EnvEntry] = Registry("environment")


def register_env(entry: EnvEntry) -> None:
    """Registers ``entry`` in :data:`ENVS` and with Gymnasium (idempotent for Gymnasium)."""
    ENVS.register(entry.env_id, entry)
    if entry.env_id not in gymnasium.registry:
        gymnasium.register(
            id=entry.env_id,
            entry_point=entry.entry_point,
            max_episode_steps=entry.max_episode_steps,
            kwargs=dict(entry.kwargs),
        )


def family_of(env_id: str) -> FamilySpec:
    """The :class:`~agentgym_seal.family.FamilySpec` of a registered env id."""
    return FAMILIES.get(ENVS.get(env_id).family)


#: The families shipped with agentgym_seal: ``agentgym_seal.environments.<name>.training`` declares each one's
#: :class:`~agentgym_seal.family.FamilySpec` (``FAMILY``) and env ids (``ENV_ENTRIES``).
BUILTIN_FAMILIES = ("alfworld", "webshop", "searchqa")


def register_family(family: FamilySpec, entries: Sequence[EnvEntry]) -> None:
    """Registers an env family in :data:`~agentgym_seal.family.FAMILIES` and its env ids (``entries``)."""
    FAMILIES.register(family.name, family)
    for entry in entries:
        if entry.family != family.name:
            raise ConfigError(f"env {entry.env_id!r} names family {entry.family!r}, not {family.name!r}.")
        register_env(entry)


def register_builtin_envs() -> None:
    """Registers the families shipped with agentgym_seal (called on ``import agentgym_seal``; light modules)."""
    for name in BUILTIN_FAMILIES:
        module = importlib.import_module(f"agentgym_seal.environments.{name}.training")
        register_family(module.FAMILY, module.ENV_ENTRIES)
