"""WebShopText-v0 against hostile callers: unencodable text, degenerate messages, bad reset options."""

from typing import Any

import gymnasium
import pytest

import agentgym_seal  # noqa: F401
from agentgym_seal.environments.webshop import hallucination
from agentgym_seal.environments.webshop.engine import shop_text
from agentgym_seal.errors import ConfigError
from agentgym_seal.testing.adversarial import BASELINE_KIND, check_adversarial
from agentgym_seal.testing.reset_checks import check_bad_reset_options

SURROGATE_SEARCH = "<think>x</think><action>search[red \ud800shirt]</action>"


@pytest.fixture(scope="module")
def env() -> Any:
    # a limit above the test messages: the parsers and checkers, not the length gate, meet the megabytes
    made = gymnasium.make("WebShopText-v0", num_products=200, max_message_chars=1 << 22)
    made.reset(seed=0)  # before a reset that raises: Gymnasium's passive checker keeps its first reset's data
    yield made
    made.close()


def test_shop_text_replaces_lone_surrogates_and_nul_and_counts_them() -> None:
    assert shop_text("a\ud800b\x00c\udfffé😀\x07\ufffd") == ("a\ufffdb\ufffdc\ufffdé😀\x07\ufffd", 3)
    assert shop_text("plain") == ("plain", 0)


def test_a_lone_surrogate_in_a_search_runs_it_flags_the_format_and_the_env_keeps_working(env: Any) -> None:
    env.reset(seed=0)
    obs, reward, _, _, info = env.step(SURROGATE_SEARCH)
    assert info["action_valid"] and info["action"] == "search[red \ufffdshirt]"
    assert info["url"].startswith("/search_results/") and "red%20%EF%BF%BDshirt" in info["url"]
    assert not info["format_valid"] and reward < 0
    assert "Invalid format: the message had 1 lone surrogate or NUL character(s), replaced by U+FFFD" in obs
    obs, reward, _, _, info = env.step("<think>x</think><action>click[back to search]</action>")
    assert info["action_valid"] and info["format_valid"] and reward == 0.0 and "Invalid format" not in obs


@pytest.mark.parametrize("observation_mode", ["html", "url", "text_rich"])
def test_every_observation_mode_renders_a_cleaned_search(observation_mode: str) -> None:
    made = gymnasium.make("WebShopText-v0", num_products=200, observation_mode=observation_mode)
    made.reset(seed=0)
    obs, *_, info = made.step(SURROGATE_SEARCH.replace("\ud800", "\ud800\x00"))
    assert info["action_valid"] and isinstance(obs.encode("utf-8"), bytes)
    made.close()


def test_a_nul_in_the_think_text_is_an_invalid_format_that_says_why(env: Any) -> None:
    env.reset(seed=0)
    obs, _, _, _, info = env.step("<think>a\x00b</think><action>search[shirt]</action>")
    assert info["action_valid"] and not info["format_valid"] and "NUL" in obs


@pytest.mark.parametrize(
    "message",
    [
        "\n" * 100_000,
        "\r\n" * 50_000,
        "<think>" + "\n" * 50_000 + "</think><action>search[shirt]</action>",
        "<think>" + "- color: navy\n" * 20_000 + "</think><action>click[back to search]</action>",
        "<think>color: a" + " " * 100_000 + "b</think><action>search[shirt]</action>",
        "x" * (1 << 20),
        "<think>" + "y" * (1 << 20) + "</think><action>search[" + "z" * (1 << 20) + "]</action>",
        "<think>\x00\x07\x1b</think><action>search[\x00]</action>",
        "".join(map(chr, range(32))) + "\x7f\x85\ud800\udfff",
        "<action>" * 5000,
    ],
    ids=["newlines", "crlf", "newlines-in-think", "fact-lines", "spaces-in-a-fact", "1mb", "1mb-tagged", "nul",
         "controls", "open-tags"],
)  # fmt: skip
def test_degenerate_messages_are_steps_not_errors(env: Any, message: str) -> None:
    obs0, _ = env.reset(seed=1)
    obs, _, terminated, _, info = env.step(message)
    assert not terminated and isinstance(info["format_valid"], bool) and isinstance(info["hallucination"], bool)
    assert len(obs) < len(obs0) + 10_000  # the observation never echoes the message
    if not info["format_valid"]:
        assert "(Invalid format: " in obs
    *_, info = env.step("<think>x</think><action>search[shirt]</action>")
    assert info["format_valid"] and info["action_valid"]  # and the next good step works


def test_fact_parsing_reads_each_line_once(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    pattern = hallucination._FACT

    class Counting:
        def fullmatch(self, line: str) -> Any:
            seen.append(line)
            return pattern.fullmatch(line)

    monkeypatch.setattr(hallucination, "_FACT", Counting())
    message = "\n" * 3000 + "- color: navy\n" + "a line without a separator\n" * 20 + "x: y\n" + "\n" * 500
    assert hallucination.structured_facts(message) == [("color", "navy")]  # "x" is no product field
    assert seen == ["- color: navy", "x: y"]  # the regex sees only lines with a separator, each once


def test_a_fact_never_spans_lines() -> None:
    assert hallucination.structured_facts("color:\n\n\nnavy\n  size\n: large") == []


def test_bad_reset_options_are_one_line_config_errors(env: Any) -> None:
    check_bad_reset_options(env, "goal_index", env_id="WebShopText-v0")


def test_goal_index_still_picks_the_goal_and_a_refused_reset_changes_nothing(env: Any) -> None:
    _, info = env.reset(seed=5, options={"goal_index": 7})
    assert info["goal_index"] == 7 and info["goal"] == env.unwrapped.goals[7]["instruction_text"]
    with pytest.raises(ConfigError):
        env.reset(options={"goal_index": -1})
    assert env.unwrapped.goal == env.unwrapped.goals[7]  # the episode was not replaced
    _, info = env.reset(seed=5, options=None)
    assert 0 <= info["goal_index"] < len(env.unwrapped.goals)


def test_adversarial_messages_never_raise(env: Any) -> None:
    report = check_adversarial(env, seed=0, episodes=8, max_steps=15)
    assert report.actions >= 8 and set(report.step_seconds) - {BASELINE_KIND}
