"""``ALFWorldText-v0``: ALFWorld household tasks on the real TextWorld/ALFWorld engine."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, SupportsFloat

import gymnasium
import numpy as np

from agentgym_seal.checkers import load_tool_schema, oversized, parse_message
from agentgym_seal.checkers.format import ACTION_FORMATS, MAX_MESSAGE_CHARS, ActionFormat, check_message_limit
from agentgym_seal.errors import AgentGymError, ConfigError
from agentgym_seal.pickling import picklable_state, restore_state
from agentgym_seal.reset_options import read_reset_options
from agentgym_seal.spaces import TextSpace

from .engine import AlfredEngine, EngineState
from .explorer import ExplorerState, explorer_action, observe_command
from .games import DEFAULT_GAMES_PER_TYPE, FolderGames, GameRef, GameSource, GeneratedGames, default_cache_dir
from .generator import DIFFICULTIES, SPLITS, Difficulty, Split, resolve_difficulty
from .hallucination import EntityTracker
from .info import ALFWorldInfo
from .scenes import TASK_TYPES
from .training import FAMILY

#: Commands ALFWorld's grammar offers that agents must not use (verl-agent drops "help" too).
_HIDDEN_COMMANDS = frozenset({"help"})
FORMAT_HINT = "Answer as <think>your reasoning</think><action>one admissible action</action>."


@dataclass(frozen=True)
class ALFWorldConfig:
    """Keyword options of ``ALFWorldText-v0`` (``gymnasium.make("ALFWorldText-v0", **options)``).

    Attributes:
        split: ``train``, ``valid_seen`` or ``valid_unseen``.
        task_types: ALFWorld task types to sample from (default: all six).
        data_dir: A folder of real ALFWorld games (downloaded layout); ``None`` generates games.
        action_format: ``tagged`` reads ``<think>..</think><action>..</action>`` messages; ``plain`` bare commands.
        difficulty: Size of generated rooms: a preset name (``tiny``, ``small``, ``medium``, ``full``) or a
            :class:`~agentgym_seal.environments.alfworld.generator.Difficulty`.
        games_per_type: Generated games per task type in this split (default: 600 train, 24 valid).
        first_game: Index of the first generated game of the pool: episodes draw games ``first_game`` ..
            ``first_game + games_per_type - 1`` of each type (e.g. RL on games that warm-up demonstrations,
            drawn from the first ones, never showed). Generated games only.
        won_reward: Reward for winning (the paper's 10).
        invalid_format_penalty: Subtracted on a step whose message format is invalid (SPEC 7.3).
        pickup_reward: Added the first time in an episode the agent picks up an object of the task's target
            type (a subgoal reward; the paper's reward is the win alone, so the default is 0). The target type
            is the game's ``pddl_params.object_target`` (``traj_data.json``, generated and real games alike:
            :attr:`GameRef.object_target <agentgym_seal.environments.alfworld.games.GameRef.object_target>`).
        cache_dir: Where generated games are cached (default ``~/.cache/agentgym_seal``).
        expert: Whose moves :meth:`ALFWorldTextEnv.expert_action` returns: ``planner`` (knows where
            everything is) or ``explorer`` (searches unvisited receptacles first; better SFT demos).
        max_message_chars: A longer message is a format-invalid step, read no further.
    """

    split: Split = "train"
    task_types: tuple[str, ...] = TASK_TYPES
    data_dir: str | None = None
    action_format: ActionFormat = "tagged"
    difficulty: str | Difficulty = "full"
    games_per_type: int | None = None
    first_game: int = 0
    won_reward: float = 10.0
    invalid_format_penalty: float = FAMILY.invalid_penalty
    pickup_reward: float = 0.0
    max_message_chars: int = MAX_MESSAGE_CHARS
    cache_dir: str | None = field(default=None)
    expert: Literal["planner", "explorer"] = "planner"

    def __post_init__(self) -> None:
        where = "ALFWorldText-v0"
        if self.split not in SPLITS:
            raise ConfigError.bad_option("split", self.split, SPLITS, where=where)
        if isinstance(self.task_types, str) or not self.task_types:
            raise ConfigError.bad_option("task_types", self.task_types, [list(TASK_TYPES)], where=where)
        for task_type in self.task_types:
            if task_type not in TASK_TYPES:
                raise ConfigError.bad_option("task_types", task_type, TASK_TYPES, where=where)
        if self.action_format not in ACTION_FORMATS:
            raise ConfigError.bad_option("action_format", self.action_format, ACTION_FORMATS, where=where)
        if not isinstance(self.difficulty, Difficulty) and self.difficulty not in DIFFICULTIES:
            raise ConfigError.bad_option("difficulty", self.difficulty, DIFFICULTIES, where=where)
        if self.expert not in ("planner", "explorer"):
            raise ConfigError.bad_option("expert", self.expert, ["planner", "explorer"], where=where)
        reward = self.pickup_reward
        if isinstance(reward, bool) or not isinstance(reward, int | float) or not math.isfinite(reward):
            raise ConfigError.bad_option("pickup_reward", self.pickup_reward, ["a finite float"], where=where)
        check_message_limit(self.max_message_chars, where)
        if self.games_per_type is not None and self.games_per_type < 1:
            raise ConfigError.bad_option("games_per_type", self.games_per_type, ["an int >= 1", None], where=where)
        if isinstance(self.first_game, bool) or not isinstance(self.first_game, int) or self.first_game < 0:
            raise ConfigError.bad_option("first_game", self.first_game, ["an int >= 0"], where=where)
        if self.first_game and self.data_dir is not None:
            raise ConfigError(
                f"{where}: first_game={self.first_game} selects generated games, but data_dir is set "
                "(a folder's games are all used). Fix: drop first_game, or data_dir."
            )

    def game_source(self) -> GameSource:
        """The source of games these options describe."""
        if self.data_dir is not None:
            return FolderGames.scan(self.data_dir, self.split, self.task_types)
        return GeneratedGames(
            split=self.split,
            task_types=self.task_types,
            difficulty=resolve_difficulty(self.difficulty),
            games_per_type=self.games_per_type or DEFAULT_GAMES_PER_TYPE[self.split],
            cache_dir=Path(self.cache_dir) if self.cache_dir else default_cache_dir(),
            first_game=self.first_game,
        )


class ALFWorldTextEnv(gymnasium.Env[str, str]):
    """ALFWorld household tasks (Shridhar et al., arXiv 2010.03768) played on TextWorld's PDDL engine.

    ## Description
    The agent is in a room with receptacles and objects and must solve one of six task types
    (``pick_and_place_simple``, ``look_at_obj_in_light``, ``pick_clean_then_place_in_recep``,
    ``pick_heat_then_place_in_recep``, ``pick_cool_then_place_in_recep``, ``pick_two_obj_and_place``).
    Games are generated from ALFWorld's PDDL domain and tables (no download), or loaded from ``data_dir``.

    ## Action Space
    ``TextSpace``: any string. With ``action_format="tagged"`` the command is read from
    ``<action>...</action>`` (and ``<think>...</think>`` must be present, SPEC 7.3); with ``"plain"`` the
    string is the command. ``put X in/on Y`` is accepted as ALFWorld 0.4's ``move X to Y``.

    ## Observation Space
    ``TextSpace``: ALFWorld's text feedback, e.g. ``"You arrive at countertop 1. On the countertop 1,
    you see a apple 1."``. An inadmissible command yields ``"Nothing happens."``.

    ## Rewards
    ``won_reward`` (10) on the winning step; ``-invalid_format_penalty`` (λ, 0.1) on a step whose message
    format is invalid.

    ## Episode End
    Terminates when the task is won; truncation comes from ``TimeLimit`` (``max_episode_steps``, default 50).

    ## Info
    ``admissible_actions`` (``help`` removed), ``won``, ``task_type``, ``goal``, ``anchor`` (the raw
    observation the next action is taken from, for GiGPO), ``format_valid``, ``action_valid``,
    ``action`` (the parsed command), ``game_file``, and the hallucination flags: ``hallucination`` (the
    message names an entity, e.g. ``apple 2``, that the game lacks or no observation has shown yet),
    ``hallucination_kind`` (``"nonexistent"``, ``"unseen"`` or ``""``) and ``hallucinated`` (the names).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}  # noqa: RUF012 - Gymnasium declares it so

    def __init__(self, render_mode: str | None = None, **options: Any) -> None:
        known = set(ALFWorldConfig.__dataclass_fields__)
        for name in options:
            if name not in known:
                raise ConfigError.bad_option("keyword", name, sorted(known), where="ALFWorldText-v0")
        if "task_types" in options and isinstance(options["task_types"], Sequence):
            options["task_types"] = tuple(options["task_types"]) if not isinstance(options["task_types"], str) else ""
        if render_mode not in (None, "ansi"):
            raise ConfigError.bad_option("render_mode", render_mode, [None, "ansi"], where="ALFWorldText-v0")
        self.config = ALFWorldConfig(**options)
        self.render_mode = render_mode
        self.observation_space = TextSpace()
        self.action_space = TextSpace()
        self._schema = load_tool_schema("alfworld")
        self._source = self.config.game_source()
        self._engine: AlfredEngine | None = None
        self._game: GameRef | None = None
        self._goal = ""
        self._state: EngineState | None = None
        self._executed: list[str] = []  # engine commands since reset, to rebuild the state after unpickling
        self._last_obs = ""
        self._anchor = ""
        self._explorer = ExplorerState(np.random.default_rng(0))
        self._picked_target = False
        self._entities = EntityTracker()
        self._flags: tuple[str, list[str]] = ("", [])

    # -- Gymnasium API -------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Starts a game drawn from the split with ``self.np_random`` (``options={"game_index": i}`` picks one)."""
        picked = read_reset_options(options, where="ALFWorldText-v0", indices={"game_index": len(self._source)})
        super().reset(seed=seed)
        game = self._source.pick(picked["game_index"]) if "game_index" in picked else self._source.draw(self.np_random)
        self._load(game)
        assert self._engine is not None
        self._state = self._engine.reset()
        self._executed = []
        self._explorer = ExplorerState(np.random.default_rng(int(self.np_random.integers(1 << 62))))
        self._goal = _goal_of(self._state.feedback)
        self._picked_target = False
        self._entities = EntityTracker(*self._engine.entities())
        self._entities.observe(self._state.feedback)
        self._flags = ("", [])
        self._last_obs = self._anchor = self._state.feedback
        return self._last_obs, self._info(action="", format_valid=True, action_valid=True)

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """Plays one message; never raises on any input (bad input is an invalid, penalised step)."""
        if self._state is None or self._engine is None:
            raise AgentGymError("ALFWorldText-v0: step() before reset(). Fix: call env.reset(seed=...) first.")
        if isinstance(action, str):
            parsed_error = oversized(action, self.config.max_message_chars)
        else:
            parsed_error = "the action must be a str"
        if parsed_error is not None:
            action = ""  # neither parsed nor judged
            format_valid, command = False, ""
        else:
            parsed = parse_message(action, self._schema, self.config.action_format)
            format_valid, command, parsed_error = parsed.format_valid, parsed.action, parsed.error
        action_valid = command in self._state.admissible_commands and command not in _HIDDEN_COMMANDS
        self._flags = self._entities.judge(action)
        if action_valid:
            self._state = self._engine.step(command)
            self._executed.append(command)
            obs = self._state.feedback
            observe_command(self._explorer, command, obs)
            self._entities.observe(obs)
        else:
            obs = self._schema.no_op_feedback
        self._anchor = obs  # the raw env text, without our format hint (GiGPO anchor, SPEC 0)
        if not format_valid:
            hint = FORMAT_HINT if self.config.action_format == "tagged" else "Send one admissible command."
            obs = f"{obs} (Invalid format: {parsed_error}. {hint})"
        won = self._state.won
        reward = self.config.won_reward * float(won) - (0.0 if format_valid else self.config.invalid_format_penalty)
        if action_valid and self._picks_up_target(obs):
            self._picked_target = True
            reward += self.config.pickup_reward
        self._last_obs = obs
        return obs, reward, won, False, self._info(command, format_valid, action_valid)

    def render(self) -> str | None:
        """Returns the last observation in ``ansi`` mode."""
        return self._last_obs if self.render_mode == "ansi" else None

    def close(self) -> None:
        """Releases the engine (safe to call twice)."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        self._state = None

    # -- ALFWorld extras -----------------------------------------------------------------------------
    def expert_plan(self) -> list[str]:
        """The planner's remaining plan from the current state (``[]`` once won)."""
        if self._engine is None or self._state is None:
            raise AgentGymError("ALFWorldText-v0: expert_plan() before reset(). Fix: call env.reset() first.")
        return [] if self._state.won else self._engine.plan()

    def expert_action(self) -> str | None:
        """The configured expert's next command (``None`` once won or without a plan)."""
        plan = self.expert_plan()
        if self.config.expert == "planner":
            return plan[0] if plan else None
        return explorer_action(self._explorer, plan, self.admissible_actions, self._anchor)

    @property
    def admissible_actions(self) -> list[str]:
        """Admissible commands of the current state, ``help`` removed."""
        return [] if self._state is None else _visible(self._state.admissible_commands)

    @property
    def task_type(self) -> str:
        """The current game's task type (``""`` before reset)."""
        return "" if self._game is None else self._game.task_type

    # -- internals -----------------------------------------------------------------------------------
    def _picks_up_target(self, feedback: str) -> bool:
        """Whether ``feedback`` is the first pick-up of an object of the target type this episode."""
        target = "" if self._game is None else self._game.object_target
        return not self._picked_target and bool(target) and feedback.startswith(f"You pick up the {target} ")

    def _load(self, game: GameRef) -> None:
        if self._engine is None:
            self._engine = AlfredEngine.open(game.game_file)
        elif self._game != game:
            self._engine.load(game.game_file)
        self._game = game

    def _info(self, action: str, format_valid: bool, action_valid: bool) -> dict[str, Any]:
        assert self._state is not None and self._game is not None
        info: ALFWorldInfo = {
            "admissible_actions": _visible(self._state.admissible_commands),
            "won": self._state.won,
            "task_type": self._game.task_type,
            "goal": self._goal,
            "anchor": self._anchor,
            "format_valid": format_valid,
            "action_valid": action_valid,
            "action": action,
            "game_file": str(self._game.game_file),
            "hallucination": bool(self._flags[0]),
            "hallucination_kind": self._flags[0],
            "hallucinated": list(self._flags[1]),
        }
        return dict(info)

    def __getstate__(self) -> dict[str, Any]:
        return picklable_state(self, live=("_engine", "_state"))

    def __setstate__(self, state: dict[str, Any]) -> None:
        restore_state(self, state)
        self._engine, self._state = None, None
        if self._game is not None:  # replay the episode on a fresh engine
            self._engine = AlfredEngine.open(self._game.game_file)
            self._state = self._engine.reset()
            for command in self._executed:
                self._state = self._engine.step(command)


def _visible(commands: Sequence[str]) -> list[str]:
    return [c for c in commands if c not in _HIDDEN_COMMANDS]


def _goal_of(intro: str) -> str:
    marker = "Your task is to: "
    start = intro.find(marker)
    return intro[start + len(marker) :].strip().rstrip(".") if start >= 0 else ""
