"""agentgym_seal: text environments, learners and training-dynamics monitoring for LLM-agent RL.

Importing the package registers the env ids with Gymnasium and imports nothing heavy (no torch,
textworld, selenium or pyserini)::

    import gymnasium as gym
    import agentgym_seal  # noqa: F401  (registers ALFWorldText-v0, ...)

    env = gym.make("ALFWorldText-v0", action_format="plain")
    obs, info = env.reset(seed=0)
"""

from __future__ import annotations

from agentgym_seal.errors import (
    AgentGymError,
    ConfigError,
    DependencyNotInstalled,
    DuplicateNameError,
    EnvCheckError,
    GameDataError,
    UnknownNameError,
)
from agentgym_seal.family import EnvEntry
from agentgym_seal.registration import ENVS, register_builtin_envs, register_env
from agentgym_seal.registry import Registry
from agentgym_seal.spaces import TextSpace
from agentgym_seal.types import Demonstration, ParsedAction, Trajectory, Transition

__version__ = "0.1.0"

register_builtin_envs()

__all__ = [
    "ENVS",
    "AgentGymError",
    "ConfigError",
    "Demonstration",
    "DependencyNotInstalled",
    "DuplicateNameError",
    "EnvCheckError",
    "EnvEntry",
    "GameDataError",
    "ParsedAction",
    "Registry",
    "TextSpace",
    "Trajectory",
    "Transition",
    "UnknownNameError",
    "__version__",
    "register_env",
]
