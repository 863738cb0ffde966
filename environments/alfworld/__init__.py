"""ALFWorld household tasks on the real engine, with games generated from ALFWorld's own PDDL data."""

from .env import ALFWorldConfig, ALFWorldTextEnv
from .generator import DIFFICULTIES, SPLITS, Difficulty
from .scenes import TASK_TYPES

__all__ = ["DIFFICULTIES", "SPLITS", "TASK_TYPES", "ALFWorldConfig", "ALFWorldTextEnv", "Difficulty"]
