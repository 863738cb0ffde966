"""WebShopHTML-v0 in real headless Chromium: parity with text mode, escaping, bad input, conformance.

Skips (with the reason) where Chromium/chromedriver are not installed; `make test` installs them as root.
"""

from typing import Any

import gymnasium
import pytest

import agentgym_seal  # noqa: F401
from agentgym_seal.environments.webshop.browser import find_browser
from agentgym_seal.testing import check_env

pytest.importorskip("selenium", reason="the webshop extra (selenium) is not installed")
if find_browser() is None:
    pytest.skip(
        "Chromium and chromedriver not found: apt-get install chromium chromium-driver (or `make browser`)",
        allow_module_level=True,
    )

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Any:
    env = gymnasium.make("WebShopHTML-v0", action_format="plain")
    yield env
    env.close()


@pytest.fixture(scope="module")
def text() -> Any:
    env = gymnasium.make("WebShopText-v0", action_format="plain")
    yield env
    env.close()


@pytest.mark.parametrize("seed", [0, 5])
def test_same_actions_reach_the_same_product_options_and_reward(browser: Any, text: Any, seed: int) -> None:
    b_obs, b_info = browser.reset(seed=seed)
    t_obs, t_info = text.reset(seed=seed)
    assert b_obs == t_obs and b_info["available_actions"] == t_info["available_actions"]
    plan = text.unwrapped.expert_plan()
    detour = ["click[next >]", "click[< prev]"] if seed == 0 else ["click[back to search]", plan[0]]
    actions = [plan[0], *detour, plan[1], "click[reviews]", "click[< prev]", *plan[2:]]
    for action in actions:
        b = browser.step(action)
        t = text.step(action)
        assert b[0] == t[0], action  # the page's visible text is the text-mode observation
        assert b[1:4] == t[1:4]
        for key in ("available_actions", "admissible_actions", "action_valid", "task_score", "won", "anchor"):
            assert b[4][key] == t[4][key], (action, key)
        assert browser.unwrapped.location == text.unwrapped.location, action
    assert browser.unwrapped.location == text.unwrapped.location  # same product and options
    assert b[2] and b[4]["won"] and b[1] == 10.0


def test_invalid_actions_do_nothing_in_the_browser(browser: Any) -> None:
    obs0, _ = browser.reset(seed=1)
    for action in (
        "click[next >]",
        "click[search]",
        "search[]",
        "hello",
        "click[b0zzzzzzzz]",
        "search[" + "x" * 600 + "]",
    ):
        obs, reward, terminated, _, info = browser.step(action)
        assert obs.startswith(obs0) and not info["action_valid"] and not terminated and reward <= 0.0
    obs, *_, info = browser.step("search[olive oil]")
    assert info["action_valid"] and "Total results" in obs
    obs, *_, info = browser.step("search[green tea]")  # no search box here: the env goes back and types
    assert info["action_valid"] and info["url"].startswith("/search_results/") and "green%20tea" in info["url"]


@pytest.mark.parametrize(
    "query",
    ["red \ud800shirt", "red\x00shirt", "red\x01shirt", "x\ue007y", "x\ue003y", "mug \U0001f600", "a\ufffdb"],
    ids=["surrogate", "nul", "control", "webdriver-enter", "webdriver-backspace", "astral", "replacement"],
)
def test_hostile_characters_are_searched_as_in_text_mode(browser: Any, text: Any, query: str) -> None:
    browser.reset(seed=3)
    text.reset(seed=3)
    b = browser.step(f"search[{query}]")
    t = text.step(f"search[{query}]")
    assert b[0] == t[0] and b[1:4] == t[1:4]
    assert b[4]["url"].split("/")[3:] == t[4]["url"].split("/")[3:]  # the same keywords, not typed as keys
    for key in ("format_valid", "action_valid", "action"):
        assert b[4][key] == t[4][key], key


def test_search_for_script_shows_text_and_runs_nothing(browser: Any) -> None:
    browser.reset(seed=2)
    payload = "<script>window.pwned=1</script><img src=x onerror=window.pwned=2> lamp"
    *_, info = browser.step(f"search[{payload}]")
    driver = browser.unwrapped._driver
    assert info["action_valid"] and driver.execute_script("return window.pwned === undefined;")
    assert "<script>window.pwned=1< script><img src=x onerror=window.pwned=2> lamp" in driver.title
    assert driver.execute_script("return document.querySelectorAll('img[src=x], body script').length;") == 0


def test_html_observation_mode() -> None:
    env = gymnasium.make("WebShopHTML-v0", action_format="plain", observation_mode="html")
    obs, _ = env.reset(seed=0)
    assert "<input" in obs and 'id="search_input"' in obs
    env.close()


def test_check_env_in_the_browser() -> None:
    check_env(
        gymnasium.make("WebShopHTML-v0", action_format="plain"),
        env_factory=lambda: gymnasium.make("WebShopHTML-v0", action_format="plain"),
    )
