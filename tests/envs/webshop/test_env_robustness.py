"""WebShopText-v0 against hostile callers: unencodable text, degenerate messages, bad reset options."""

from typing import Any

import gymnasium
import pytest

import agentgym_seal  # noqa: F401
from agentgym_seal.environments.webshop.env import shop_text
from agentgym_seal.errors import ConfigError
from agentgym_seal.testing.adversarial import BASELINE_KIND, check_adversarial


@pytest.fixture(scope="module")
def env() -> Any:
    made = gymnasium.make("WebShopText-v0", num_products=200)
    made.reset(seed=0)  # before a reset that raises: Gymnasium's passive checker keeps its first reset's data
    yield made
    made.close()


def test_a_lone_surrogate_in_a_search_is_replaced_and_the_env_keeps_working(env: Any) -> None:
    env.reset(seed=0)
    _, _, _, _, info = env.step("<think>x</think><action>search[red \ud800shirt]</action>")
    assert info["action_valid"] and info["url"].startswith("/search_results/")
    assert "\ud800" not in info["url"] and "%EF%BF%BD" in info["url"]
    _, _, _, _, info = env.step("<think>x</think><action>click[back to search]</action>")
    assert info["action_valid"]


def test_shop_text_replaces_surrogates_and_nul_only() -> None:
    assert shop_text("a\ud800b\x00c\udfffé😀") == "a\ufffdb\ufffdc\ufffdé😀"


@pytest.mark.parametrize(
    "message",
    [
        "\n" * 100_000,
        "<think>" + "\n" * 50_000 + "</think><action>search[shirt]</action>",
        "<think>" + "- color: navy\n" * 20_000 + "</think><action>click[back to search]</action>",
        "x" * (1 << 20),
        "<think>\x00\x07\x1b</think><action>search[\x00]</action>",
        "<action>" * 5000,
    ],
)
def test_degenerate_messages_are_steps_not_errors(env: Any, message: str) -> None:
    env.reset(seed=1)
    obs, _, terminated, _, info = env.step(message)
    assert isinstance(obs, str) and isinstance(info["format_valid"], bool) and not terminated


@pytest.mark.parametrize(
    ("options", "named"),
    [("goal_index=3", "dict or None"), ({"goal_index": -1}, "'goal_index'"), ({"goal_index": 10**9}, "'goal_index'"),
     ({"goal_index": "3"}, "'goal_index'"), ({"goal_index": True}, "'goal_index'")],
)  # fmt: skip
def test_bad_reset_options_are_one_line_config_errors(env: Any, options: Any, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        env.reset(seed=0, options=options)
    assert named in str(caught.value) and "WebShopText-v0" in str(caught.value) and "\n" not in str(caught.value)


def test_goal_index_still_picks_the_goal(env: Any) -> None:
    _, info = env.reset(seed=5, options={"goal_index": 7})
    assert info["goal_index"] == 7


def test_adversarial_messages_never_raise(env: Any) -> None:
    report = check_adversarial(env, seed=0, episodes=8, max_steps=15)
    assert report.actions >= 8 and set(report.step_seconds) - {BASELINE_KIND}
