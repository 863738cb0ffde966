"""ALFWorld household tasks on the real engine, with games generated from ALFWorld's own PDDL data."""

from typing import TYPE_CHECKING

from agentgym_seal.lazy import lazy_exports

if TYPE_CHECKING:
    from .env import ALFWorldConfig, ALFWorldTextEnv
    from .generator import DIFFICULTIES, SPLITS, Difficulty
    from .scenes import TASK_TYPES

__getattr__ = lazy_exports(
    __name__,
    {
        "ALFWorldConfig": ".env",
        "ALFWorldTextEnv": ".env",
        "DIFFICULTIES": ".generator",
        "SPLITS": ".generator",
        "Difficulty": ".generator",
        "TASK_TYPES": ".scenes",
    },
)

__all__ = ["DIFFICULTIES", "SPLITS", "TASK_TYPES", "ALFWorldConfig", "ALFWorldTextEnv", "Difficulty"]
