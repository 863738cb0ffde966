"""The hostile-input strategies and ``check_adversarial``, on the tiny guessing env of conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import gymnasium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentgym_seal.errors import EnvCheckError
from agentgym_seal.testing.adversarial import (
    AFTER_END_KIND,
    BASELINE_KIND,
    ONE_MB,
    AdversarialReport,
    FuzzAction,
    check_adversarial,
    fuzz_actions,
)

RegisterFn = Callable[..., str]
ADMISSIBLE = ["guess 1", "guess 2", "look at shelf 1"]


def _kinds_drawn(n: int) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}

    @settings(max_examples=n, database=None, deadline=None)
    @given(fuzz_actions())
    def draw(action: FuzzAction) -> None:
        seen.setdefault(action.kind, []).append(action.render(ADMISSIBLE))

    draw()
    return seen


def test_every_hostile_kind_is_drawn_and_renders_what_it_names() -> None:
    seen = _kinds_drawn(600)
    assert set(seen) >= {
        "surrogates", "nul and control", "huge", "whitespace runs", "unbalanced tags", "nested tags",
        "tag injection", "corrupted admissible", "random text", BASELINE_KIND,
    }  # fmt: skip
    assert all(any(0xD800 <= ord(c) <= 0xDFFF for c in m) for m in seen["surrogates"])
    assert all(any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in m) for m in seen["nul and control"])
    assert any(len(m) == ONE_MB for m in seen["huge"])
    assert all(m.strip(" \t\r\n\u3000") == "" or "<action>" in m for m in seen["whitespace runs"])
    assert all(m.count("</action>") >= 2 for m in seen["tag injection"])
    assert all(m in ADMISSIBLE or m.endswith(tuple(f"{a}</action>" for a in ADMISSIBLE)) for m in seen[BASELINE_KIND])
    prefixes, suffixes = ("", "<think>x</think><action>"), ("", "</action>", "]")
    wrapped = {f"{p}{a}{s}" for a in ADMISSIBLE for p in prefixes for s in suffixes}
    assert any(m not in wrapped for m in seen["corrupted admissible"])


@given(st.integers(0, 50), st.lists(st.tuples(st.integers(0, 5), st.integers(0, 200), st.text(max_size=5))))
def test_a_recipe_renders_against_any_admissible_list(pick: int, edits: list[tuple[int, int, str]]) -> None:
    recipe = FuzzAction("corrupted admissible", "<action>", "</action>", pick, tuple(edits))
    for admissible in ([], ["go to shelf 1"], ADMISSIBLE):
        message = recipe.render(admissible)
        assert message.startswith("<action>") and message.endswith("</action>")
    assert FuzzAction("literal", "abc").render(ADMISSIBLE) == "abc"


def test_correct_env_survives_and_the_report_counts_steps(envs: ModuleType, register: RegisterFn) -> None:
    env = gymnasium.make(register(envs.GuessEnv, max_episode_steps=5), action_format="tagged")
    report = check_adversarial(env, seed=3, episodes=15, max_steps=20, steps_after_end=2)
    assert report.episodes > 15  # 15 action lists, and a reset whenever an episode ended before its list did
    assert report.actions == sum(len(v) for v in report.step_seconds.values()) > 15
    assert AFTER_END_KIND in report.step_seconds  # the 5-step limit ends episodes; steps went on past it
    assert "stepped without error" in report.summary() and "p99" in report.summary()
    assert report.to_table().row_count == len(report.step_seconds)


def test_an_env_that_raises_on_a_surrogate_fails_with_a_shrunk_message(envs: ModuleType, register: RegisterFn) -> None:
    env = gymnasium.make(register(envs.RaisesOnSurrogateEnv))
    with pytest.raises(EnvCheckError) as caught:
        check_adversarial(env, seed=0, episodes=50)
    message = str(caught.value)
    assert "UnicodeEncodeError" in message and "check_adversarial(env, seed=0)" in message


def test_report_of_no_steps_says_so() -> None:
    assert AdversarialReport().summary() == "no step was sent"
