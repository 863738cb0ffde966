"""The real ALFWorld engine: TextWorld's PDDL env with ALFWorld's demangler and infos wrappers.

:class:`AlfredEngine` is a thin, typed handle on one loaded game. It plays exactly what
``alfworld.agents.environment.AlfredTWEnv`` plays (same wrappers, same grammar); the planner
(Fast Downward, through TextWorld) gives the expert plan on demand instead of after every step,
which would triple the step cost.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentgym_seal.deps import require

from .speedups import install_speedups


@dataclass(frozen=True)
class EngineState:
    """What the engine reports after ``reset`` or ``step``."""

    feedback: str
    admissible_commands: tuple[str, ...]
    won: bool


class AlfredEngine:
    """One ALFWorld game loaded on TextWorld's PDDL engine.

    Args:
        game_file: Path to a ``game.tw-pddl`` file.
    """

    def __init__(self, game_file: str | Path) -> None:
        textworld = require("textworld", "alfworld")
        alfred_env = require("alfworld.agents.environment.alfred_tw_env", "alfworld")
        install_speedups()
        self.game_file = str(game_file)
        infos = textworld.EnvInfos(won=True, admissible_commands=True, extras=["gamefile"])
        self._env: Any = textworld.start(
            self.game_file, request_infos=infos, wrappers=[alfred_env.AlfredDemangler(), alfred_env.AlfredInfos]
        )
        self._pddl_env: Any = self._env.unwrapped
        self._closed = False

    def load(self, game_file: str | Path) -> None:
        """Switches to another game, reusing this engine's copy of the Fast Downward library."""
        self._env.load(str(game_file))
        self.game_file = str(game_file)

    def _state(self, game_state: Any) -> EngineState:
        return EngineState(
            feedback=str(game_state.feedback),
            admissible_commands=tuple(game_state["admissible_commands"]),
            won=bool(game_state["won"]),
        )

    def reset(self) -> EngineState:
        """Restarts the game from its initial state."""
        return self._state(self._env.reset())

    def step(self, command: str) -> EngineState:
        """Executes one command (an inadmissible one yields ``Nothing happens.``)."""
        game_state, _, _ = self._env.step(command)
        return self._state(game_state)

    def entities(self) -> tuple[frozenset[str], frozenset[str]]:
        """``(names, types)``: the game's objects and receptacles (``"apple 1"``), the domain's types (``"apple"``)."""
        infos = self._pddl_env._entity_infos
        names = {info.name.strip() for info in infos.values() if info.type in ("object", "receptacle") and info.name}
        types = {key.removesuffix("type") for key, info in infos.items() if info.type in ("otype", "rtype")}
        return frozenset(names), frozenset(types)

    def plan(self) -> list[str]:
        """The planner's remaining plan from the current state (``[]`` if won or unsolvable)."""
        plan: list[str] = self._pddl_env._pddl_state.replan(self._pddl_env._entity_infos)
        return list(plan)

    @classmethod
    def open(cls, game_file: str | Path) -> AlfredEngine:
        """Returns an engine playing ``game_file``, reusing an idle (closed) one when there is one.

        Each engine holds a private copy of Fast Downward's 33 MB shared library, and unloading one
        (``fast_downward.close_lib``) corrupts the process (it segfaults at exit once two copies were
        unloaded). So closed engines go to a process-wide idle pool instead, and the number of copies
        stays at the number of engines open at the same time.
        """
        with _POOL_LOCK:
            engine = _IDLE_ENGINES.pop() if _IDLE_ENGINES else None
        if engine is None:
            return cls(game_file)
        engine._closed = False
        engine.load(game_file)
        return engine

    def close(self) -> None:
        """Returns this engine to the idle pool (idempotent); do not use it afterwards."""
        if self._closed:
            return
        self._closed = True
        with _POOL_LOCK:
            _IDLE_ENGINES.append(self)


_IDLE_ENGINES: list[AlfredEngine] = []
_POOL_LOCK = threading.Lock()
