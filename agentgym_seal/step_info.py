"""The typed step record: the ``info`` keys every env emits on ``reset`` and ``step``, declared once.

Each family extends :class:`StepInfo` with its own keys (``environments/<family>/info.py``); the rollout and
the expert read ``info`` through :func:`read_step_info`, so an env that leaves out a key fails with one line
that names it instead of training on a silent default.
"""

# No ``from __future__ import annotations``: Python 3.11's TypedDict sees NotRequired only in evaluated annotations.
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict, cast, get_origin, get_type_hints

from agentgym_seal.errors import AgentGymError


class StepInfo(TypedDict):
    """The keys every env of agentgym_seal reports, after ``reset`` (an empty action, valid) and each ``step``."""

    format_valid: bool
    """The message had the family's format (tags, one action); a False step gets the penalty λ."""
    action_valid: bool
    """The action was well formed and the env could execute it (admissible)."""
    won: bool
    """The task is solved (what success rates count)."""
    anchor: str
    """The raw observation the step acted on, without history (GiGPO's step-group key)."""
    action: str
    """The command the env parsed from the message ("" when none)."""
    goal: str
    """The task instruction."""
    task_type: str
    """The task's type or category (for per-type metrics)."""
    admissible_actions: list[str]
    """Commands the env accepts now (empty where any text is accepted, e.g. a search query)."""
    hallucination: bool
    """The message asserted something the env's state contradicts or never showed (family rules)."""
    tool_call: NotRequired[bool]
    """The step ran a tool (a search); reported by families with tool calls."""


#: The keys of :class:`StepInfo` that every env must report, with their runtime types (read from its annotations).
REQUIRED_KEYS: dict[str, type] = {
    key: get_origin(kind) or kind for key, kind in get_type_hints(StepInfo).items() if key in StepInfo.__required_keys__
}


def read_step_info(info: Mapping[str, Any], env_id: str = "the env") -> StepInfo:
    """``info`` as a :class:`StepInfo`, after checking that it has every required key with its type.

    Raises:
        AgentGymError: A key is missing or of another type; the message names it and the env.
    """
    for key, kind in REQUIRED_KEYS.items():
        if key not in info:
            raise AgentGymError(
                f"{env_id}'s info has no {key!r}. Fix: report every StepInfo key "
                f"({', '.join(REQUIRED_KEYS)}) from reset() and step()."
            )
        value = info[key]
        if not isinstance(value, kind) and not (kind is list and isinstance(value, tuple)):
            raise AgentGymError(
                f"{env_id}'s info[{key!r}] is a {type(value).__name__}; StepInfo wants a {kind.__name__}."
            )
    return cast(StepInfo, info)
