"""Hallucination flags of one ALFWorld step: the message names an object or receptacle the agent cannot know.

A mention is a type word of the domain followed by a number (``apple 1``, ``countertop 2``), in the thought
or the action. A step hallucinates when a mention names an entity the game does not have (``nonexistent``:
``cabinet 7`` in a room with two cabinets) or one that no observation of the episode has shown yet
(``unseen``: ``take apple 1 from fridge 1`` before the fridge was opened). Mentions without a number ("find
an apple") are intentions, not claims, and never count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MENTION = re.compile(r"\b([a-z]+) (\d{1,3})\b")
NONEXISTENT = "nonexistent"
UNSEEN = "unseen"


@dataclass
class EntityTracker:
    """The game's entities and which of them the episode's observations have shown.

    Attributes:
        names: The game's objects and receptacles as the text names them (``"apple 1"``).
        types: Every object and receptacle type of the domain (``"apple"``): what a mention must start with.
        seen: The names shown so far.
    """

    names: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    seen: set[str] = field(default_factory=set)

    def mentions(self, text: str) -> list[str]:
        """The entity mentions in ``text``, in order, each once."""
        found = (f"{m.group(1)} {int(m.group(2))}" for m in _MENTION.finditer(text.lower()) if m.group(1) in self.types)
        return list(dict.fromkeys(found))

    def observe(self, observation: str) -> None:
        """Marks the game entities ``observation`` shows as seen."""
        self.seen.update(name for name in self.mentions(observation) if name in self.names)

    def judge(self, message: str) -> tuple[str, list[str]]:
        """``(kind, names)`` of a message: ``nonexistent`` beats ``unseen``; ``("", [])`` when it is grounded."""
        mentioned = self.mentions(message)
        missing = [name for name in mentioned if name not in self.names]
        if missing:
            return NONEXISTENT, missing
        unseen = [name for name in mentioned if name not in self.seen]
        return (UNSEEN, unseen) if unseen else ("", [])
