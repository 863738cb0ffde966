"""Typed records passed between environments, parsers, the rollout and the learners.

All are frozen dataclasses: nothing downstream mutates what an upstream stage produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ParsedAction:
    """The result of parsing one raw model message (SPEC 7.3).

    Attributes:
        text: The raw message exactly as received.
        action: The command sent to the simulator (lower-cased, stripped), ``""`` if none was found.
        format_valid: Whether the message follows the env's answer format (tags present, no CJK).
        error: Why the format is invalid, ``None`` when valid.
    """

    text: str
    action: str
    format_valid: bool
    error: str | None = None


@dataclass(frozen=True)
class Transition:
    """One environment step as the agent saw it.

    Attributes:
        observation: The observation the action was taken from.
        action: The raw action text given to ``step``.
        reward: The env reward of the step (penalties included).
        next_observation: The observation ``step`` returned.
        terminated: Whether the episode ended by reaching a terminal state.
        truncated: Whether the episode was cut by the time limit.
        format_valid: The parser's verdict on the message format.
        action_valid: Whether the simulator accepted the command (admissible and well formed).
        won: Whether the task was solved at this step.
        anchor: The raw observation the action was taken from (GiGPO's anchor state, no history).
    """

    observation: str
    action: str
    reward: float
    next_observation: str
    terminated: bool
    truncated: bool
    format_valid: bool
    action_valid: bool
    won: bool
    anchor: str


@dataclass(frozen=True)
class Trajectory:
    """A full episode: its task, seed and transitions.

    Attributes:
        env_id: The Gymnasium id of the env that produced it.
        seed: The reset seed.
        task: The task sentence (the goal), as the env reports it.
        transitions: Steps in time order.
        info: Env-specific extras of the episode (e.g. ``task_type``), JSON-serialisable.
    """

    env_id: str
    seed: int | None
    task: str
    transitions: tuple[Transition, ...]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def won(self) -> bool:
        """Success of the episode: ``won`` of its last step (SPEC 7.4)."""
        return bool(self.transitions) and self.transitions[-1].won

    @property
    def episode_reward(self) -> float:
        """Sum of the step rewards."""
        return float(sum(t.reward for t in self.transitions))

    def __len__(self) -> int:
        return len(self.transitions)


@dataclass(frozen=True)
class Demonstration:
    """One expert (observation, action) pair, ready to be turned into an SFT prompt.

    Attributes:
        task: The task sentence.
        observation: The raw observation before the expert's action.
        admissible_actions: The commands the env accepted at that point.
        action: The expert's command.
        history: The last (observation, action) pairs before this step, oldest first (at most the
            ``history_length`` the demonstrations were made with).
        task_type: The env's task family (e.g. ``"pick_and_place_simple"``), ``""`` if none.
        step: Steps taken in the episode before this one (prompts number steps from it).
    """

    task: str
    observation: str
    admissible_actions: tuple[str, ...]
    action: str
    history: tuple[tuple[str, str], ...] = ()
    task_type: str = ""
    step: int = 0
