"""An expert that searches like an agent that does not know where things are.

The planner knows every object's location, so its demonstrations walk straight to the hidden target;
a policy imitating them never sees what to do after looking in the wrong place. The explorer keeps the
planner's skills but, while its hands are empty and the planner wants to walk somewhere not yet
visited, it walks to a random unvisited receptacle instead (opening closed ones it reaches), until the
planner's destination has been visited. Every episode it produces still ends in a win.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

_GO_TO = re.compile(r"^go to (.+)$")
_CLOSED = re.compile(r"The (.+) is closed\.")


@dataclass
class ExplorerState:
    """What the explorer remembers during one episode."""

    rng: np.random.Generator
    visited: set[str] = field(default_factory=set)
    holding: bool = False


def explorer_action(state: ExplorerState, plan: list[str], admissible: list[str], observation: str) -> str | None:
    """The explorer's next command (``None`` when the planner has no plan).

    Args:
        state: The episode's memory (updated by :func:`observe_command`).
        plan: The planner's remaining plan from the current state.
        admissible: The admissible commands now.
        observation: The latest observation text.
    """
    if not plan:
        return None
    closed = _CLOSED.search(observation)
    if closed and f"open {closed.group(1)}" in admissible and not state.holding:
        return f"open {closed.group(1)}"  # look inside what we walked up to
    goal = _GO_TO.match(plan[0])
    if goal is None or state.holding or goal.group(1) in state.visited:
        return plan[0]
    unvisited = sorted(
        m.group(1) for a in admissible if (m := _GO_TO.match(a)) is not None and m.group(1) not in state.visited
    )
    if not unvisited:
        return plan[0]
    return f"go to {unvisited[int(state.rng.integers(len(unvisited)))]}"


def observe_command(state: ExplorerState, command: str, feedback: str) -> None:
    """Updates the explorer's memory after ``command`` produced ``feedback``."""
    if (m := _GO_TO.match(command)) is not None and feedback.startswith("You arrive"):
        state.visited.add(m.group(1))
    elif command.startswith("take ") and feedback.startswith("You pick up"):
        state.holding = True
    elif command.startswith("move ") and feedback.startswith("You move"):
        state.holding = False
