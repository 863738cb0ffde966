"""The ``info`` of ``ALFWorldText-v0``: :class:`~agentgym_seal.step_info.StepInfo` and ALFWorld's own keys."""

from __future__ import annotations

from agentgym_seal.step_info import StepInfo


class ALFWorldInfo(StepInfo):
    """What ``ALFWorldText-v0`` reports after ``reset`` and each ``step``."""

    game_file: str
    """The generated game being played (its ``.tw-pddl`` file)."""
    hallucination_kind: str
    """Why the step is a hallucination: ``"nonexistent"`` (an object or receptacle the game does not have),
    ``"unseen"`` (one the agent has not seen yet), or ``""``."""
    hallucinated: list[str]
    """The entity names the step's command referred to that triggered the flag."""
