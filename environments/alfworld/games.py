"""Where ALFWorld games come from: generated on demand into a cache, or a folder of real games.

Both sources answer the same question, "which game file does this draw of the env's RNG select?",
so :class:`~agentgym_seal.environments.alfworld.env.ALFWorldTextEnv` has one code path for both.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from agentgym_seal.atomic import save_atomically
from agentgym_seal.errors import GameDataError

from .engine import AlfredEngine
from .generator import GENERATOR_VERSION, Difficulty, Split, game_documents, sample_game

#: Default number of generated games per task type and split (ALFWorld has 3,553 train games over
#: 6 types, and 140 / 134 in valid_seen / valid_unseen).
DEFAULT_GAMES_PER_TYPE: dict[str, int] = {"train": 600, "valid_seen": 24, "valid_unseen": 24}
GAME_FILE = "game.tw-pddl"
TRAJ_FILE = "traj_data.json"


@dataclass(frozen=True)
class GameRef:
    """A game file, its task type and the type of object its task is about (lower case, e.g. ``"cup"``)."""

    game_file: Path
    task_type: str
    object_target: str = ""


def game_ref(folder: Path, traj: dict[str, Any]) -> GameRef:
    """The :class:`GameRef` of ``folder``, given its ``traj_data.json`` as read by :func:`read_game_folder`."""
    params = traj.get("pddl_params") or {}
    return GameRef(folder / GAME_FILE, str(traj["task_type"]), str(params.get("object_target") or "").lower())


class GameSource(Protocol):
    """Something that selects a game with the env's RNG, or by its index in the pool."""

    def draw(self, rng: np.random.Generator) -> GameRef:
        """Returns the game selected by ``rng`` (materialising it if needed)."""
        ...

    def __len__(self) -> int:
        """The number of games in the pool."""
        ...

    def pick(self, index: int) -> GameRef:
        """Returns game ``index`` of the pool (``0 <= index < len(self)``)."""
        ...


def default_cache_dir() -> Path:
    """``$AGENTGYM_SEAL_CACHE`` or ``$XDG_CACHE_HOME/agentgym_seal`` (``~/.cache/agentgym_seal``)."""
    if env := os.environ.get("AGENTGYM_SEAL_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "agentgym_seal"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def read_game_folder(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Reads and checks ``game.tw-pddl`` + ``traj_data.json``; raises :class:`GameDataError` if broken."""
    try:
        game = json.loads((folder / GAME_FILE).read_text(encoding="utf-8"))
        traj = json.loads((folder / TRAJ_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GameDataError(f"unreadable ALFWorld game folder {folder}: {exc}") from exc
    missing = [k for k in ("pddl_domain", "grammar", "pddl_problem") if k not in game]
    if missing or "task_type" not in traj:
        raise GameDataError(
            f"ALFWorld game folder {folder}: expected {GAME_FILE} with pddl_domain/grammar/pddl_problem and "
            f"{TRAJ_FILE} with task_type; missing {missing or ['task_type']}. Fix: regenerate or re-download it."
        )
    return game, traj


def generate_game(folder: Path, split: Split, task_type: str, index: int, difficulty: Difficulty) -> Path:
    """Generates one game into ``folder`` (atomically), checking with the planner that it is solvable.

    Returns:
        The path of the written ``game.tw-pddl``.
    """
    spec = sample_game(split, task_type, index, difficulty)
    game, traj = game_documents(spec, None)
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / GAME_FILE
        probe.write_text(json.dumps(game), encoding="utf-8")
        engine = AlfredEngine.open(probe)
        try:
            engine.reset()
            walkthrough = engine.plan()
            for command in walkthrough:
                state = engine.step(command)
            solved = bool(walkthrough) and state.won
        finally:
            engine.close()
    if not solved:
        raise GameDataError(f"generated game {split}/{task_type}/{index} is not solvable by the planner (a bug)")
    game, traj = game_documents(spec, walkthrough)
    traj["agentgym_seal"]["game_sha256"] = _digest(json.dumps(game))

    def save(tmp: Path) -> None:
        for name, doc in ((GAME_FILE, game), (TRAJ_FILE, traj)):
            (tmp / name).write_text(json.dumps(doc), encoding="utf-8")

    save_atomically(folder, save)
    return folder / GAME_FILE


def _intact_traj(folder: Path) -> dict[str, Any] | None:
    """The ``traj_data.json`` of a generated game folder, or ``None`` if the game is missing, corrupt or stale."""
    try:
        game, traj = read_game_folder(folder)
    except GameDataError:
        return None
    meta = traj.get("agentgym_seal", {})
    intact = (
        meta.get("generator_version") == GENERATOR_VERSION
        and meta.get("game_sha256") == _digest(json.dumps(game))
        and game.get("solvable")
    )
    return traj if intact else None


@dataclass(frozen=True)
class GeneratedGames:
    """Games generated on demand and cached under ``cache_dir`` (regenerated if missing or corrupt).

    Drawing picks a task type uniformly from ``task_types``, then an index uniformly in
    ``[first_game, first_game + games_per_type)``.
    """

    split: Split
    task_types: tuple[str, ...]
    difficulty: Difficulty
    games_per_type: int
    cache_dir: Path
    first_game: int = 0

    def folder(self, task_type: str, index: int) -> Path:
        """The cache folder of one game."""
        return (
            self.cache_dir / "alfworld" / f"gen-v{GENERATOR_VERSION}" / self.difficulty.tag / self.split / task_type
        ) / f"{index:05d}"

    def game(self, task_type: str, index: int) -> GameRef:
        """Returns game ``index`` of ``task_type``, generating it if it is not cached intact."""
        folder = self.folder(task_type, index)
        traj = _intact_traj(folder)
        if traj is None:
            generate_game(folder, self.split, task_type, index, self.difficulty)
            traj = read_game_folder(folder)[1]
        return game_ref(folder, traj)

    def draw(self, rng: np.random.Generator) -> GameRef:
        """Selects a game with ``rng``."""
        task_type = self.task_types[int(rng.integers(len(self.task_types)))]
        return self.game(task_type, self.first_game + int(rng.integers(self.games_per_type)))

    def __len__(self) -> int:
        return len(self.task_types) * self.games_per_type

    def pick(self, index: int) -> GameRef:
        """Game ``index % games_per_type`` (after ``first_game``) of task type ``index // games_per_type``."""
        task_type, offset = divmod(index, self.games_per_type)
        return self.game(self.task_types[task_type], self.first_game + offset)


@dataclass(frozen=True)
class FolderGames:
    """Games read from a folder in ALFWorld's downloaded layout (``json_2.1.1/<split>/<task>/<trial>/``).

    ``root`` may be the data root (holding ``json_2.1.1``), the ``json_2.1.1`` folder, or a split folder.
    Only games marked ``solvable`` of the wanted task types are used, like ALFWorld's own loader.
    """

    games: tuple[GameRef, ...]

    @classmethod
    def scan(cls, root: str | Path, split: Split, task_types: Sequence[str]) -> FolderGames:
        """Finds the games of ``split`` under ``root``."""
        root = Path(root).expanduser()
        candidates = [root / "json_2.1.1" / split, root / split, root]
        base = next((c for c in candidates if c.is_dir()), None)
        if base is None:
            raise GameDataError(f"ALFWorld data_dir {root} does not exist. Fix: pass the folder of downloaded games.")
        refs: list[GameRef] = []
        for traj_path in sorted(base.rglob(TRAJ_FILE)):
            folder = traj_path.parent
            if "movable" in str(folder) or "Sliced" in str(folder) or not (folder / GAME_FILE).is_file():
                continue
            try:
                game, traj = read_game_folder(folder)
            except GameDataError:
                continue
            if traj["task_type"] in task_types and game.get("solvable", False):
                refs.append(game_ref(folder, traj))
        if not refs:
            raise GameDataError(
                f"no solvable ALFWorld games of types {list(task_types)} under {base}. Expected folders holding "
                f"{GAME_FILE} and {TRAJ_FILE} (ALFWorld's json_2.1.1/<split>/... layout)."
            )
        return cls(tuple(refs))

    def draw(self, rng: np.random.Generator) -> GameRef:
        """Selects a game uniformly with ``rng``."""
        return self.games[int(rng.integers(len(self.games)))]

    def __len__(self) -> int:
        return len(self.games)

    def pick(self, index: int) -> GameRef:
        """The ``index``-th solvable game, in path order."""
        return self.games[index]


def export_games(
    out_dir: str | Path, split: Split, task_types: Sequence[str], games_per_type: int, difficulty: Difficulty
) -> list[Path]:
    """Writes generated games in ALFWorld's downloaded layout under ``out_dir/json_2.1.1/<split>/``.

    Folder names follow ALFWorld's ``<task_type>-<Object>-None-<Parent>-<floor plan>/trial_<index>``.
    """
    written: list[Path] = []
    for task_type in task_types:
        for index in range(games_per_type):
            spec = sample_game(split, task_type, index, difficulty)
            parent = spec.parent_target or spec.toggle_target
            name = f"{task_type}-{spec.object_target}-None-{parent}-{spec.floor_plan}"
            folder = Path(out_dir) / "json_2.1.1" / split / name / f"trial_{index:05d}"
            written.append(generate_game(folder, split, task_type, index, difficulty))
    return written
