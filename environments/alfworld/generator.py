"""Generate ALFWorld games from ALFWorld's own PDDL domain, grammar, goal templates and tables.

A game is a folder in ALFWorld's downloaded layout:

- ``game.tw-pddl``: JSON with ``pddl_domain`` (``alfworld/data/alfred.pddl``), ``grammar``
  (``alfworld/data/alfred.twl2`` with the goal sentence in place of ``UNKNOWN GOAL``), ``pddl_problem``,
  ``solvable`` and ``walkthrough`` (the planner's solution);
- ``traj_data.json``: ``task_type`` and ``pddl_params`` (``object_target``, ``parent_target``,
  ``toggle_target``, ``mrecep_target``, ``object_sliced``), which ALFWorld's expert reads.

The problem is written the way ALFWorld's ``planned_game_state.py`` writes it (ids such as
``Apple|+01.10|+00.95|-01.00``, then ALFWorld's character fixing), with ``canContain`` facts from
``VAL_RECEPTACLE_OBJECTS`` (without them Fast Downward finds no plan). Everything is a pure function of
``(split, task_type, index, difficulty)``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import ModuleType
from typing import Any, Literal

import numpy as np

from agentgym_seal.deps import require
from agentgym_seal.errors import ConfigError

from .scenes import FLOOR_PLANS, LAMPS, OBJECTS, RECEPTACLES, TASK_APPLIANCE, TASK_SCENES, SceneKind

#: Bumped whenever generated content changes, so caches of older games are never reused.
GENERATOR_VERSION = 1

Split = Literal["train", "valid_seen", "valid_unseen"]
SPLITS: tuple[Split, ...] = ("train", "valid_seen", "valid_unseen")
_SPLIT_CODE: dict[str, int] = {"train": 0, "valid_seen": 1, "valid_unseen": 2}
#: Share of (task, object, receptacle) combinations held out for ``valid_unseen`` (1 in N).
_UNSEEN_COMBO_MODULUS = 5


@dataclass(frozen=True)
class Difficulty:
    """How big a generated room is.

    Attributes:
        max_receptacles: Keep at most this many receptacles of the floor plan (the ones the task needs
            always stay); ``None`` keeps them all.
        num_distractors: Objects placed besides the task's targets.
    """

    max_receptacles: int | None
    num_distractors: int

    def __post_init__(self) -> None:
        if self.max_receptacles is not None and self.max_receptacles < 3:
            raise ConfigError(
                f"Difficulty.max_receptacles must be >= 3 (a task needs up to 3); got {self.max_receptacles}. "
                "Fix: raise it or use None for the full floor plan."
            )
        if self.num_distractors < 0:
            raise ConfigError(f"Difficulty.num_distractors must be >= 0; got {self.num_distractors}.")

    @property
    def tag(self) -> str:
        """A short folder-safe name, e.g. ``r6-d3`` or ``rall-d12``."""
        recs = "all" if self.max_receptacles is None else str(self.max_receptacles)
        return f"r{recs}-d{self.num_distractors}"


#: Named difficulty presets. ``full`` is ALFWorld-sized; ``tiny``/``small`` suit CPU training.
DIFFICULTIES: dict[str, Difficulty] = {
    "tiny": Difficulty(max_receptacles=4, num_distractors=1),
    "small": Difficulty(max_receptacles=6, num_distractors=3),
    "medium": Difficulty(max_receptacles=10, num_distractors=6),
    "full": Difficulty(max_receptacles=None, num_distractors=12),
}


def resolve_difficulty(value: str | Difficulty) -> Difficulty:
    """Returns the :class:`Difficulty` for a preset name or passes one through."""
    if isinstance(value, Difficulty):
        return value
    if value not in DIFFICULTIES:
        raise ConfigError.bad_option("difficulty", value, DIFFICULTIES, where="ALFWorldText-v0")
    return DIFFICULTIES[value]


@dataclass(frozen=True)
class PlacedObject:
    """An object instance and the receptacle it starts in (ALFWorld ids, before character fixing)."""

    object_id: str
    object_class: str
    receptacle_id: str


@dataclass(frozen=True)
class GameSpec:
    """The content of one generated game, before it is written as PDDL."""

    split: Split
    task_type: str
    index: int
    scene_kind: SceneKind
    floor_plan: int
    receptacles: tuple[tuple[str, str], ...]  # (receptacle id, class)
    objects: tuple[PlacedObject, ...]
    object_target: str
    parent_target: str
    toggle_target: str
    goal: str


@cache
def alfworld_tables() -> tuple[ModuleType, ModuleType]:
    """ALFWorld's ``gen.constants`` and ``gen.goal_library`` modules (needs the ``alfworld`` extra)."""
    constants = require("alfworld.gen.constants", "alfworld")
    goal_library = require("alfworld.gen.goal_library", "alfworld")
    return constants, goal_library


@cache
def alfworld_logic() -> tuple[str, str]:
    """ALFWorld's PDDL domain and TextWorld grammar texts, as shipped in the ``alfworld`` wheel."""
    require("alfworld", "alfworld")
    data = resources.files("alfworld") / "data"
    return (data / "alfred.pddl").read_text(), (data / "alfred.twl2").read_text()


def _can_contain(receptacle_class: str, object_class: str) -> bool:
    constants, _ = alfworld_tables()
    return object_class in constants.VAL_RECEPTACLE_OBJECTS.get(receptacle_class, ())


def _is_unseen_combo(task_type: str, object_class: str, parent_class: str) -> bool:
    key = f"{task_type}|{object_class}|{parent_class}".encode()
    return zlib.crc32(key) % _UNSEEN_COMBO_MODULUS == 0


def _coord(rng: np.random.Generator) -> str:
    x, y, z = rng.uniform(-4.0, 4.0, size=3)
    return f"{x:+06.2f}|{y:+06.2f}|{z:+06.2f}"


def _receptacle_id(cls: str, rng: np.random.Generator) -> str:
    # ALFWorld names basins by their fixture plus a suffix; the demangler appends "basin" to any id
    # containing it, so "Sink|...|SinkBasin" reads "sinkbasin 1" (and "SinkBasin|..." would not).
    if cls.endswith("Basin"):
        return f"{cls.removesuffix('Basin')}|{_coord(rng)}|{cls}"
    return f"{cls}|{_coord(rng)}"


def floor_plan_layout(floor_plan: int) -> tuple[tuple[str, str], ...]:
    """The receptacles of a floor plan as ``(id, class)`` pairs; a pure function of the number."""
    kind = next((k for k, plans in FLOOR_PLANS.items() if floor_plan in plans), None)
    if kind is None:
        raise ConfigError.bad_option(
            "floor_plan", floor_plan, [f"{r.start}-{r.stop - 1}" for r in FLOOR_PLANS.values()]
        )
    rng = np.random.default_rng([GENERATOR_VERSION, 7919, floor_plan])
    layout: list[tuple[str, str]] = []
    for cls, (lo, hi) in RECEPTACLES[kind].items():
        for _ in range(int(rng.integers(lo, hi + 1))):
            layout.append((_receptacle_id(cls, rng), cls))
    return tuple(layout)


def scene_kind_of(floor_plan: int) -> SceneKind:
    """The scene kind a floor-plan number belongs to."""
    for kind, plans in FLOOR_PLANS.items():
        if floor_plan in plans:
            return kind
    raise ConfigError.bad_option("floor_plan", floor_plan, list(FLOOR_PLANS))


def floor_plans_for(split: Split, kind: SceneKind) -> list[int]:
    """Floor plans of ``kind`` used by ``split``: ALFWorld's 6 test plans per kind are ``valid_unseen``'s."""
    constants, _ = alfworld_tables()
    test = set(constants.TEST_SCENE_NUMBERS)
    plans = list(FLOOR_PLANS[kind])
    return [p for p in plans if (p in test) == (split == "valid_unseen")]


class _Resample(Exception):
    """The drawn room cannot host the drawn task; draw again."""


def sample_game(split: Split, task_type: str, index: int, difficulty: Difficulty, *, max_tries: int = 200) -> GameSpec:
    """Draws the content of game ``index`` of ``split`` for ``task_type`` (deterministic).

    Raises:
        ConfigError: For an unknown split or task type.
    """
    if split not in _SPLIT_CODE:
        raise ConfigError.bad_option("split", split, SPLITS)
    if task_type not in TASK_SCENES:
        raise ConfigError.bad_option("task_types", task_type, TASK_SCENES)
    task_code = list(TASK_SCENES).index(task_type)
    rng = np.random.default_rng([GENERATOR_VERSION, _SPLIT_CODE[split], task_code, index])
    for _ in range(max_tries):
        try:
            return _try_sample(rng, split, task_type, index, difficulty)
        except _Resample:
            continue
    raise RuntimeError(f"no valid {task_type} game found for {split}[{index}] after {max_tries} draws")


def _try_sample(rng: np.random.Generator, split: Split, task_type: str, index: int, difficulty: Difficulty) -> GameSpec:
    _, goal_library = alfworld_tables()
    kind: SceneKind = TASK_SCENES[task_type][int(rng.integers(len(TASK_SCENES[task_type])))]
    plans = floor_plans_for(split, kind)
    floor_plan = plans[int(rng.integers(len(plans)))]
    layout = floor_plan_layout(floor_plan)
    classes = {cls for _, cls in layout}
    appliance, action_table = TASK_APPLIANCE.get(task_type, ("", ""))
    if appliance and appliance not in classes:
        raise _Resample
    constants, _ = alfworld_tables()
    pool = [o for o in OBJECTS[kind] if not action_table or o in constants.VAL_ACTION_OBJECTS[action_table]]
    object_target = pool[int(rng.integers(len(pool)))]

    toggle_target = parent_target = ""
    required: list[tuple[str, str]] = []
    if task_type == "look_at_obj_in_light":
        toggle_target = "DeskLamp"
        holders = [r for r in layout if r[1] in LAMPS[toggle_target]]
        if not holders:
            raise _Resample
        required.append(holders[int(rng.integers(len(holders)))])
    else:
        parents = sorted(c for c in classes if c != appliance and _can_contain(c, object_target))
        parents = [c for c in parents if _is_unseen_combo(task_type, object_target, c) == (split == "valid_unseen")]
        if not parents:
            raise _Resample
        parent_target = parents[int(rng.integers(len(parents)))]
        candidates = [r for r in layout if r[1] == parent_target]
        required.append(candidates[int(rng.integers(len(candidates)))])
    if appliance:
        required.append(next(r for r in layout if r[1] == appliance))

    # Where the target(s) may start: never already in the goal receptacle class, never in the fridge for
    # a cooling task (ALFWorld would count it as already cool).
    n_targets = 2 if task_type == "pick_two_obj_and_place" else 1
    starts = [
        r for r in layout
        if _can_contain(r[1], object_target) and r[1] != parent_target
        and not (task_type == "pick_cool_then_place_in_recep" and r[1] == "Fridge")
    ]  # fmt: skip
    if not starts:
        raise _Resample
    target_recs = [starts[int(rng.integers(len(starts)))] for _ in range(n_targets)]
    required.extend(target_recs)

    kept = list(dict.fromkeys(required))
    others = [r for r in layout if r not in kept]
    order = rng.permutation(len(others))
    cap = len(layout) if difficulty.max_receptacles is None else max(difficulty.max_receptacles, len(kept))
    kept.extend(others[int(i)] for i in order[: max(0, cap - len(kept))])
    kept_set = set(kept)
    receptacles = tuple(r for r in layout if r in kept_set)  # floor-plan order, so ids number stably

    placed: list[PlacedObject] = []
    for rec in target_recs:
        placed.append(PlacedObject(f"{object_target}|{_coord(rng)}", object_target, rec[0]))
    if toggle_target:
        placed.append(PlacedObject(f"{toggle_target}|{_coord(rng)}", toggle_target, required[0][0]))
    distractor_pool = [o for o in OBJECTS[kind] if o != object_target]
    for _ in range(difficulty.num_distractors):
        cls = distractor_pool[int(rng.integers(len(distractor_pool)))]
        homes = [r for r in receptacles if _can_contain(r[1], cls)]
        if task_type != "look_at_obj_in_light":
            homes = [r for r in homes if r[1] != parent_target or cls != object_target]
        if homes:
            placed.append(PlacedObject(f"{cls}|{_coord(rng)}", cls, homes[int(rng.integers(len(homes)))][0]))

    templates = goal_library.gdict[task_type]["templates"]
    template = templates[int(rng.integers(len(templates)))]
    goal = template.format(
        obj=object_target.lower(), recep=parent_target.lower(), toggle=toggle_target.lower(), mrecep=""
    )
    return GameSpec(
        split=split,
        task_type=task_type,
        index=index,
        scene_kind=kind,
        floor_plan=floor_plan,
        receptacles=receptacles,
        objects=tuple(placed),
        object_target=object_target,
        parent_target=parent_target,
        toggle_target=toggle_target,
        goal=goal,
    )


def fix_pddl_chars(text: str) -> str:
    """ALFWorld's character fixing of ids (``planned_game_state.fix_pddl_str_chars``), same order."""
    for old, new in (
        ("-", "_minus_"),
        ("#", "-"),
        ("|", "_bar_"),
        ("+", "_plus_"),
        (".", "_dot_"),
        (",", "_comma_"),
    ):
        text = text.replace(old, new)
    return text


def problem_pddl(spec: GameSpec) -> str:
    """Writes the PDDL problem of ``spec`` in ALFWorld's style (``#`` marks types before fixing)."""
    constants, goal_library = alfworld_tables()
    static_receptacles = set(constants.RECEPTACLES) - set(constants.MOVABLE_RECEPTACLES)
    otypes = sorted(set(constants.OBJECTS_SET) - static_receptacles)
    rtypes = sorted(static_receptacles)
    locations = {rid: f"loc|{i + 1}|{(i * 7) % 13}|0|{(i * 90) % 360}" for i, (rid, _) in enumerate(spec.receptacles)}
    start = "loc|0|0|0|0"

    objects = ["agent1 # agent"]
    objects += [f"{t}Type # otype" for t in otypes] + [f"{t}Type # rtype" for t in rtypes]
    objects += [f"{o.object_id} # object" for o in spec.objects]
    objects += [f"{rid} # receptacle" for rid, _ in spec.receptacles]
    objects += [f"{loc} # location" for loc in locations.values()] + [f"{start} # location"]

    init = ["(= (totalCost) 0)", f"(atLocation agent1 {start})"]
    for rid, cls in spec.receptacles:
        init.append(f"(receptacleType {rid} {cls}Type)")
        init.append(f"(receptacleAtLocation {rid} {locations[rid]})")
        if cls in constants.OPENABLE_CLASS_SET:
            init.append(f"(openable {rid})")
    flags = {
        "Cleanable": "cleanable",
        "Heatable": "heatable",
        "Coolable": "coolable",
        "Toggleable": "toggleable",
    }
    for o in spec.objects:
        init.append(f"(objectType {o.object_id} {o.object_class}Type)")
        init.append(f"(inReceptacle {o.object_id} {o.receptacle_id})")
        if o.object_class not in constants.VAL_ACTION_OBJECTS["Toggleable"]:
            init.append(f"(pickupable {o.object_id})")
        if o.object_class in constants.MOVABLE_RECEPTACLES_SET:
            init.append(f"(isReceptacleObject {o.object_id})")
        init += [
            f"({fact} {o.object_id})"
            for table, fact in flags.items()
            if o.object_class in constants.VAL_ACTION_OBJECTS[table]
        ]
    for rtype in rtypes:
        init += [
            f"(canContain {rtype}Type {ot}Type)"
            for ot in sorted(constants.VAL_RECEPTACLE_OBJECTS.get(rtype, ()))
            if ot in otypes
        ]

    goal = goal_library.gdict[spec.task_type]["pddl"].format(
        obj=spec.object_target, recep=spec.parent_target, toggle=spec.toggle_target, mrecep=""
    )
    pad = "\n        "
    text = (
        f"(define (problem plan_{spec.split}_{spec.task_type}_{spec.index})\n    (:domain alfred)\n"
        f"    (:objects{pad}{pad.join(objects)}\n        )\n"
        f"    (:init{pad}{pad.join(init)}\n        )\n"
    )
    return fix_pddl_chars(text) + fix_pddl_chars(goal)


def game_documents(spec: GameSpec, walkthrough: list[str] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON contents of ``game.tw-pddl`` and ``traj_data.json`` for ``spec``."""
    domain, grammar = alfworld_logic()
    game = {
        "pddl_domain": domain,
        "grammar": grammar.replace("UNKNOWN GOAL", spec.goal),
        "pddl_problem": problem_pddl(spec),
        "solvable": walkthrough is not None,
        "walkthrough": walkthrough or [],
    }
    traj = {
        "task_type": spec.task_type,
        "scene": {"floor_plan": spec.floor_plan, "scene_num": spec.floor_plan, "scene_kind": spec.scene_kind},
        "pddl_params": {
            "object_target": spec.object_target,
            "parent_target": spec.parent_target,
            "toggle_target": spec.toggle_target,
            "mrecep_target": "",
            "object_sliced": False,
        },
        "turk_annotations": {"anns": [{"task_desc": spec.goal}]},
        "agentgym_seal": {"generator_version": GENERATOR_VERSION, "split": spec.split, "index": spec.index},
    }
    return game, traj
