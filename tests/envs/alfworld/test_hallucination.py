"""ALFWorld's hallucination signal: mentions of entities the game lacks or the episode has not shown."""

from typing import Any

import gymnasium
import pytest

import agentgym_seal  # noqa: F401
from agentgym_seal.environments.alfworld import TASK_TYPES
from agentgym_seal.environments.alfworld.hallucination import NONEXISTENT, UNSEEN, EntityTracker

TRACKER = EntityTracker(
    names=frozenset({"apple 1", "countertop 1", "fridge 1", "cabinet 1", "cabinet 2"}),
    types=frozenset({"apple", "countertop", "fridge", "cabinet", "mug"}),
)


def make(**options: Any) -> Any:
    return gymnasium.make("ALFWorldText-v0", **{"difficulty": "tiny", **options})


def test_mentions_are_numbered_domain_types_each_once() -> None:
    text = "Go to Cabinet 2, then cabinet 2 again; step 1 of loc 3: find an apple, maybe mug 10."
    assert TRACKER.mentions(text) == ["cabinet 2", "mug 10"]


def test_judge_flags_nonexistent_before_unseen_and_accepts_what_was_shown() -> None:
    tracker = EntityTracker(TRACKER.names, TRACKER.types)
    tracker.observe("You see a cabinet 1, a cabinet 2, a countertop 1, and a fridge 1.")
    assert tracker.judge("<think>the apple must be in the fridge</think><action>go to fridge 1</action>") == ("", [])
    assert tracker.judge("take apple 1 from fridge 1") == (UNSEEN, ["apple 1"])
    assert tracker.judge("apple 1 is in cabinet 3") == (NONEXISTENT, ["cabinet 3"])
    tracker.observe("You open the fridge 1. The fridge 1 is open. In it, you see a apple 1.")
    assert tracker.judge("take apple 1 from fridge 1") == ("", [])


def _unseen_object(env: Any) -> str:
    tracker = env.unwrapped._entities
    hidden = sorted(n for n in tracker.names if n not in tracker.seen)
    assert hidden, "the reset observation shows every entity: no unseen object to mention"
    return hidden[0]


def test_a_thought_about_an_object_not_yet_seen_is_flagged_unseen() -> None:
    env = make()
    try:
        _, info = env.reset(seed=0)
        assert info["hallucination"] is False and info["hallucination_kind"] == ""
        target = _unseen_object(env)
        message = f"<think>I remember the {target} is right here.</think><action>look</action>"
        _, _, _, _, info = env.step(message)
    finally:
        env.close()
    assert info["hallucination"] is True
    assert info["hallucination_kind"] == UNSEEN and info["hallucinated"] == [target]
    assert info["action_valid"] is True  # the action is fine: the thought is what hallucinates


def test_a_receptacle_the_room_lacks_is_flagged_nonexistent() -> None:
    env = make(action_format="plain")
    try:
        env.reset(seed=0)
        _, _, _, _, info = env.step("go to cabinet 99")
    finally:
        env.close()
    assert info["hallucination_kind"] == NONEXISTENT and info["hallucinated"] == ["cabinet 99"]
    assert info["action_valid"] is False


@pytest.mark.parametrize("expert", ["planner", "explorer"])
@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_the_expert_never_hallucinates(task_type: str, expert: str) -> None:
    env = make(task_types=[task_type], action_format="plain", expert=expert, split="valid_seen")
    try:
        for seed in range(3):
            env.reset(seed=seed)
            won, flagged = False, []
            while (action := env.unwrapped.expert_action()) is not None:
                _, _, terminated, truncated, info = env.step(action)
                flagged += info["hallucinated"]
                if terminated or truncated:
                    won = info["won"]
                    break
            assert won and flagged == [], (seed, flagged)
    finally:
        env.close()
