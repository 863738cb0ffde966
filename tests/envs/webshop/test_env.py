"""WebShopText-v0: conformance, pages and actions as in WebShop, rewards, bad input, expert, renderer parity."""

import pickle
import re
from typing import Any

import gymnasium
import pytest

import agentgym_seal
from agentgym_seal.environments.webshop.html import render_page, visible_text
from agentgym_seal.errors import ConfigError
from agentgym_seal.family import FAMILIES
from agentgym_seal.prompting import build_prompt
from agentgym_seal.testing import assert_env_valid, check_env

PINNED = {"available_actions", "task_score", "won", "format_valid", "action_valid", "anchor", "hallucination"}


def make(**options: Any) -> gymnasium.Env[str, str]:
    return gymnasium.make("WebShopText-v0", **{"action_format": "plain", **options})


@pytest.fixture
def env() -> Any:
    e = make()
    yield e
    e.close()


def to_item(env: Any, seed: int = 0) -> tuple[Any, dict[str, Any]]:
    """Resets, searches with the expert's query and opens the expert's product."""
    env.reset(seed=seed)
    plan = env.unwrapped.expert_plan()
    env.step(plan[0])
    return env.step(next(a for a in env.unwrapped.expert_plan() if a not in ("click[next >]",)))[4], plan


def test_validate_passes() -> None:
    report = assert_env_valid("WebShopText-v0", episodes=3)
    assert any(r.name == "expert solvability" for r in report.results)


def test_check_env_tagged() -> None:
    check_env(gymnasium.make("WebShopText-v0"), env_factory=lambda: gymnasium.make("WebShopText-v0"))


def test_search_page_reads_like_webshop(env: Any) -> None:
    obs, info = env.reset(seed=0)
    instruction = info["goal"]
    assert obs == f"WebShop [SEP] Instruction: [SEP] {instruction} [SEP] Search"
    assert info["available_actions"] == {"has_search_bar": True, "clickables": ["search"]}
    assert info["admissible_actions"] == ["search[<your query>]"]
    assert set(info) >= PINNED and info["anchor"] == obs
    assert info["task_type"] in ("beauty", "electronics", "fashion", "food", "furniture")
    assert re.search(r"(with \w[\w ]*: .+)?(, and price lower than \d+\.00 dollars)?$", instruction)


def test_results_pagination_and_back(env: Any) -> None:
    env.reset(seed=0)
    obs, *_, info = env.step("search[black]")
    parts = obs.split(" [SEP] ")
    assert parts[:4] == ["Instruction:", info["goal"], "Back to Search", "Page 1 (Total results: 50)"]
    assert parts[4] == "Next >" and "< Prev" not in parts
    clickables = info["available_actions"]["clickables"]
    assert clickables[:2] == ["back to search", "next >"] and len(clickables) == 12
    asins = [c for c in clickables[2:]]
    assert all(re.fullmatch(r"b0[0-9a-z]{8}", a) for a in asins)
    assert parts[5].lower() == asins[0] and parts[7].startswith("$")  # ASIN, title, price per product
    obs2, *_, info2 = env.step("click[next >]")
    assert "Page 2 (Total results: 50)" in obs2 and info2["available_actions"]["clickables"][:3] == [
        "back to search", "< prev", "next >"]  # fmt: skip
    assert set(info2["available_actions"]["clickables"][3:]).isdisjoint(asins)
    for _ in range(4):
        obs6, *_ = env.step("click[next >]")
    assert "Page 6 (Total results: 50)" in obs6 and obs6.endswith("Next >")  # past the top 50: an empty page
    obs, *_, info = env.step("click[< prev]")
    assert "Page 5" in obs
    obs, *_, info = env.step("click[back to search]")
    assert obs.startswith("WebShop [SEP] Instruction:") and info["available_actions"]["has_search_bar"]


def test_item_options_sub_pages_and_purchase(env: Any) -> None:
    env.reset(seed=1)
    plan = env.unwrapped.expert_plan()
    obs, *_ = env.step(plan[0])
    obs, _, _, _, info = env.step(plan[1])
    product = env.unwrapped.shop.catalog.by_asin[plan[1][6:-1].upper()]
    parts = obs.split(" [SEP] ")
    assert parts[2:4] == ["Back to Search", "< Prev"]
    assert parts[-5:] == ["Description", "Features", "Reviews", "Buy Now"][-5:] or parts[-4:] == [
        "Description", "Features", "Reviews", "Buy Now"]  # fmt: skip
    assert f"Price: {product['Price']}" in parts and product["Title"] in parts
    clickables = info["available_actions"]["clickables"]
    assert clickables[:6] == ["back to search", "< prev", "description", "features", "reviews", "buy now"]
    assert clickables[6:] == [v for values in product["options"].values() for v in values]
    obs, *_ = env.step("click[description]")
    assert obs.split(" [SEP] ")[-1] == product["Description"]
    obs, *_ = env.step("click[< prev]")
    obs, *_ = env.step("click[features]")
    assert obs.split(" [SEP] ")[4:] == product["BulletPoints"]
    env.step("click[< prev]")
    obs, *_ = env.step("click[reviews]")
    assert f'"{product["Reviews"][0]["title"]}"' in obs
    env.step("click[< prev]")
    for action in plan[2:-1]:
        _, _, _, _, info = env.step(action)
        assert info["action_valid"]
    assert env.unwrapped.location.option_dict == dict(env.unwrapped.goal["goal_options"])
    obs, reward, terminated, truncated, info = env.step("click[buy now]")
    assert terminated and not truncated and reward == 10.0 and info["won"] and info["task_score"] == 1.0
    assert obs.startswith("Thank you for shopping with us!") and obs.endswith("[SEP] 1.0")
    assert info["available_actions"] == {"has_search_bar": False, "clickables": []}
    obs2, reward, terminated, *_, info = env.step("search[more]")  # after the purchase nothing happens
    assert obs2 == obs and reward == 0.0 and terminated and not info["action_valid"]


def test_score_reward_mode_and_partial_purchase() -> None:
    env = make(reward_mode="score")
    env.reset(seed=2)
    env.step(env.unwrapped.expert_plan()[0])
    plan = env.unwrapped.expert_plan()
    env.step(plan[0])  # open the product but choose no option
    _, reward, terminated, _, info = env.step("click[buy now]")
    goal = env.unwrapped.goal
    expected = (len(goal["attributes"]) + 0 + 1) / (len(goal["attributes"]) + len(goal["goal_options"]) + 1)
    assert terminated and not info["won"] and reward == pytest.approx(info["task_score"]) == pytest.approx(expected)
    env.close()


@pytest.mark.parametrize(
    ("action", "off_page"),
    [
        ("click[next >]", True),  # not on the search page
        ("click[search]", True),  # the search button only submits the box
        ("click[]", True),
        ("search[]", False),
        ("search[   ]", False),
        ("search[a] click[b]", False),  # two actions in one message
        ("buy now", False),
        ("search[" + "x" * 600 + "]", False),
    ],
)
def test_bad_actions_are_no_ops(env: Any, action: str, off_page: bool) -> None:
    obs0, info0 = env.reset(seed=3)
    obs, reward, terminated, truncated, info = env.step(action)
    assert obs.startswith(obs0) and reward <= 0.0 and not terminated and not truncated
    assert not info["action_valid"] and info["click_not_on_page"] is off_page
    assert info["available_actions"] == info0["available_actions"]


def test_search_works_from_any_page_like_the_original(env: Any) -> None:
    to_item(env)
    obs, *_, info = env.step("search[olive oil]")
    assert info["action_valid"] and "Page 1 (Total results:" in obs


def test_tagged_format_penalty_and_cjk(env: Any) -> None:
    tagged = make(action_format="tagged")
    tagged.reset(seed=0)
    _, reward, _, _, info = tagged.step("<think>go</think><action>search[red shirt]</action>")
    assert info["format_valid"] and info["action_valid"] and reward == 0.0
    obs, reward, _, _, info = tagged.step("<action>click[next >]</action>")  # no <think>: runs, but penalised
    assert not info["format_valid"] and info["action_valid"] and reward == pytest.approx(-0.1)
    assert "Invalid format: missing <think>...</think>" in obs and "Invalid format" not in info["anchor"]
    _, reward, _, _, info = tagged.step("<think>好</think><action>click[< prev]</action>")
    assert not info["format_valid"] and reward == pytest.approx(-0.1)
    tagged.close()


def test_hallucination_flags(env: Any) -> None:
    tagged = make(action_format="tagged")
    tagged.reset(seed=0)
    tagged.step("<think>s</think><action>search[shirt]</action>")
    fabricated = (
        "<think>Product details:\n- color: neon plaid\n- material: unobtainium</think><action>click[next >]</action>"
    )
    *_, info = tagged.step(fabricated)
    assert info["hallucination"] and info["hallucination_fabricated"] and not info["click_not_on_page"]
    *_, info = tagged.step("<think>This is the only result, so I proceed.</think><action>click[next >]</action>")
    assert info["hallucination"] and info["hallucination_contradiction"]
    *_, info = tagged.step("<think>Next page.</think><action>click[b0zzzzzzzz]</action>")
    assert info["click_not_on_page"] and not info["hallucination"]
    tagged.close()


def test_time_limit_is_15_by_default() -> None:
    env = make()
    env.reset(seed=0)
    results = [env.step("click[nothing]") for _ in range(15)]
    assert [r[3] for r in results] == [False] * 14 + [True]
    assert gymnasium.make("WebShopText-v0", max_episode_steps=10).spec.max_episode_steps == 10  # SEAL's horizon
    env.close()


def test_expert_wins_most_generated_goals() -> None:
    env = make(split="eval")
    won = 0
    for index in range(60):
        env.reset(options={"goal_index": index})
        for action in env.unwrapped.expert_plan():
            *_, info = env.step(action)
        won += info["won"]
    assert won / 60 >= 0.85
    env.close()


def test_seeded_determinism_and_pickle_mid_episode(env: Any) -> None:
    other = make()
    assert env.reset(seed=9) == other.reset(seed=9)
    plan = env.unwrapped.expert_plan()
    for action in plan[:2]:
        assert env.step(action) == other.step(action)
    clone = pickle.loads(pickle.dumps(env.unwrapped))
    assert clone.location == env.unwrapped.location
    assert clone.step(plan[2])[:4] == env.step(plan[2])[:4]
    other.close()


def test_html_renderer_shows_exactly_the_text_mode_segments() -> None:
    env = make(observation_mode="html")
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        inner = env.unwrapped
        pages = [obs]
        for action in [*inner.expert_plan()[:2], "click[description]", "click[< prev]", "click[features]",
                       "click[< prev]", "click[reviews]", "click[< prev]", *inner.expert_plan()[2:]]:  # fmt: skip
            obs, *_ = env.step(action)
            pages.append(obs)
        for html in pages:
            assert html.startswith("<!DOCTYPE html>")
        assert visible_text(obs) == list(inner._page.segments)  # the done page
    # every page kind, in text mode and as HTML
    text = make()
    text.reset(seed=4)
    for action in [*text.unwrapped.expert_plan()[:2], "click[next >]"]:
        text.step(action)
    page = text.unwrapped._page
    assert visible_text(render_page(page, "s1")) == list(page.segments)
    text.close()
    env.close()


def test_url_and_text_rich_modes() -> None:
    env = make(observation_mode="url")
    obs, _ = env.reset(options={"goal_index": 7})
    assert obs == "/fixed_7"
    obs, *_ = env.step("search[red dress]")
    assert obs == "/search_results/fixed_7/red%20dress/1"
    rich = make(observation_mode="text_rich")
    rich.reset(seed=0)
    obs, *_ = rich.step(rich.unwrapped.expert_plan()[0])
    assert "[button] Back to Search [button_]" in obs and "\n[button] B0" in obs
    env.close()
    rich.close()


def test_bad_options_are_config_errors() -> None:
    for bad in ({"split": "test"}, {"observation_mode": "pixels"}, {"reward_mode": "dense"}, {"num_products": 0},
                {"colour": "red"}, {"search_backend": "nope"}):  # fmt: skip
        with pytest.raises((ConfigError, agentgym_seal.UnknownNameError)):
            make(**bad)
    env = make()
    with pytest.raises(ConfigError):
        env.reset(options={"goal_index": 10**9})
    env.close()


def test_prompt_template_builds_a_webshop_prompt(env: Any) -> None:
    obs, info = env.reset(seed=0)
    prompt = build_prompt(FAMILIES.get("webshop").prompt_template, task=info["goal"], observation=obs,
                          admissible_actions=info["admissible_actions"])  # fmt: skip
    assert "'search[<your query>]'," in prompt and "<action>" in prompt and info["goal"] in prompt
