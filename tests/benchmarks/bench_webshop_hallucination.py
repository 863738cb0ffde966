"""Precision of WebShop's hallucination checker on expert and random policy-like steps, and its cost per message.

Run: python tests/benchmarks/bench_webshop_hallucination.py [--goals 50] [--random-steps 200] [--baseline FILE]

Prints three tables. 1) The expert plays ``--goals`` eval goals, each action sent as a tagged message whose think
text states facts read off the page (price, offered option values) and confirms the purchase: every flag there is
a false positive. 2) ``--random-steps`` random admissible actions, each with a think text of a known kind (honest
facts, a negated confirmation, a fabricated fact, a contradiction, an "only result" claim): flags against what
each kind should get. 3) Milliseconds per message of ``fabricated_facts`` + ``contradiction`` on degenerate
messages; ``--baseline`` adds the same timings of another copy of ``hallucination.py`` (e.g. an older version).
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import gymnasium as gym
from rich.console import Console
from rich.table import Table

import agentgym_seal  # noqa: F401
from agentgym_seal.environments.webshop import hallucination

FIELDS = ("color", "size")  # option names the checker reads as facts (see hallucination._FACT)
NOT_ON_ANY_PAGE = ("neon plaid", "unobtainium", "glow-in-the-dark chartreuse", "xxxxxl", "$9999.99")
#: Careful think texts after an uncertain claim: none goes ahead, so none is a contradiction.
NOT_GOING_AHEAD = (
    "I will not buy now and will not confirm anything yet",
    "I cannot proceed until I read more",
    "I won't proceed",
    "I will read the features to confirm it",
    "before I buy now I check the reviews",
    "I look further instead of buy now",
)
KINDS = ("honest", "negated", "fabricated", "contradiction", "only result")
SHOULD_FLAG = {"honest": False, "negated": False, "fabricated": True, "contradiction": True}


def tagged(think: str, action: str) -> str:
    return f"<think>{think}</think><action>{action}</action>"


def page_facts(inner: Any, choose: dict[str, str] | None = None) -> str:
    """A details list of facts shown on the current item page: its price and offered option values."""
    location = inner.location
    if location.kind != "item":  # sub-pages show neither; facts of an earlier page are no evidence (by the rule)
        return ""
    product = inner.shop.catalog.by_asin[location.asin]
    lines = [f"- price: {product['Price']}"]
    chosen = {**location.option_dict, **(choose or {})}
    for name, values in product["options"].items():
        if name in FIELDS:
            lines.append(f"- {name}: {chosen.get(name, values[0])}")
    return "Product details:\n" + "\n".join(lines) + "\n"


def expert_message(inner: Any, action: str) -> str:
    """The expert's ``action`` with a think text stating only what the page shows."""
    location = inner.location
    if action.startswith("search["):
        return tagged("The instruction says what to buy, so I search for it.", action)
    if location.kind == "results":
        if action == "click[next >]":
            return tagged("The product is not on this page, so I go to the next one.", action)
        product = inner.shop.catalog.by_asin[action[6:-1].upper()]
        return tagged(f"{product['asin']} is {product['Title']} at {product['Price']}; it looks right.", action)
    if action == "click[buy now]":
        return tagged(page_facts(inner) + "It matches the required criteria, so I will buy now.", action)
    value = action[6:-1]
    group = next((name for name, values in inner.goal["goal_options"].items() if values == value), "option")
    return tagged(page_facts(inner, {group: value}) + f"The {group} {value} is offered, so I choose it.", action)


def run_expert(goals: int) -> Table:
    """Table 1: flags on the expert's messages (all false positives)."""
    env = gym.make("WebShopText-v0", split="eval", max_episode_steps=30)
    flags: Counter[str] = Counter()
    steps = won = 0
    for index in range(goals):
        env.reset(options={"goal_index": index})
        for action in env.unwrapped.expert_plan():
            *_, info = env.step(expert_message(env.unwrapped, action))
            steps += 1
            flags["fabricated"] += info["hallucination_fabricated"]
            flags["contradiction"] += info["hallucination_contradiction"]
            flags["click not on page"] += info["click_not_on_page"]
            flags["invalid format"] += not info["format_valid"]
        won += info["won"]
    env.close()
    table = Table(title=f"Expert with fact-stating think texts: {goals} eval goals, {steps} steps, {won} won")
    for col in ("flag", "steps flagged", "false positives"):
        table.add_column(col, justify="right")
    for name in ("fabricated", "contradiction", "click not on page", "invalid format"):
        table.add_row(name, str(flags[name]), str(flags[name]))
    return table


def random_think(kind: str, inner: Any, action: str, rng: random.Random) -> tuple[str, bool]:
    """A think text of ``kind`` for ``action`` on the current page, and whether the checker should flag it."""
    field = rng.choice(FIELDS)
    if kind == "honest":
        return page_facts(inner) + f"I will {action.replace('[', ' ').rstrip(']')}.", False
    if kind == "negated":
        return f"The {field} is not specified here, so {rng.choice(NOT_GOING_AHEAD)}.", False
    if kind == "fabricated":
        return f"Product details:\n- {field}: {rng.choice(NOT_ON_ANY_PAGE)}\nSo I continue.", True
    if kind == "contradiction":
        return f"The {field} does not match what I need, but I will proceed.", True
    total = inner.shop.page(inner.location, inner.goal).total if inner.location.kind == "results" else 0
    return "This is the only result, so I take it.", total > 1


def run_random(steps: int, seed: int) -> Table:
    """Table 2: flags on random admissible actions with think texts of known kinds."""
    rng = random.Random(seed)
    env = gym.make("WebShopText-v0", split="eval")
    _, info = env.reset(seed=seed)
    counts: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    for _ in range(steps):
        kind = rng.choice(KINDS)
        choices = [a for a in info["admissible_actions"] if not (kind == "negated" and a == "click[buy now]")]
        action = rng.choice(choices or info["admissible_actions"])
        if action == "search[<your query>]":
            action = f"search[{' '.join(rng.sample(info['goal'].split(), 3))}]"
        think, expected = random_think(kind, env.unwrapped, action, rng)
        _, _, terminated, truncated, info = env.step(tagged(think, action))
        flagged = info["hallucination"]
        counts[kind][("T" if flagged == expected else "F") + ("P" if flagged else "N")] += 1
        if terminated or truncated:
            _, info = env.reset(seed=rng.randrange(1 << 30))
    env.close()
    table = Table(title=f"{steps} random admissible steps with think texts of known kinds (seed {seed})")
    for col in ("kind", "steps", "flagged", "true pos", "false pos", "false neg", "true neg"):
        table.add_column(col, justify="right")
    total: Counter[str] = Counter()
    for kind, c in counts.items():
        total.update(c)
        row = (sum(c.values()), c["TP"] + c["FP"], c["TP"], c["FP"], c["FN"], c["TN"])
        table.add_row(kind, *map(str, row))
    precision = total["TP"] / max(1, total["TP"] + total["FP"])
    recall = total["TP"] / max(1, total["TP"] + total["FN"])
    table.add_row("all", str(sum(total.values())), f"precision {precision:.3f}", "", "", f"recall {recall:.3f}", "")
    return table


def load_module(path: Path) -> ModuleType:
    """Another copy of ``hallucination.py`` (it imports only ``re``), loaded under its own name."""
    spec = importlib.util.spec_from_file_location("baseline_hallucination", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_ms(module: ModuleType, message: str, evidence: str, repeats: int = 3) -> float:
    """Best of ``repeats`` wall times (ms) of both checks on ``message``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        module.fabricated_facts(message, evidence)
        module.contradiction(message, evidence, "click[next >]")
        best = min(best, time.perf_counter() - start)
    return best * 1000


def run_cost(baseline: Path | None) -> Table:
    """Table 3: cost of the checks on degenerate messages (and on a baseline copy of the module)."""
    evidence = "Instruction: [SEP] i need a navy shirt [SEP] Page 1 (Total results: 50) [SEP] Next >"
    messages = {f"{n:,} newlines": "\n" * n for n in (1_000, 4_000, 16_000)}
    messages["1 MB of newlines"] = "\n" * (1 << 20)
    messages["1 MB of 'x'"] = "x" * (1 << 20)
    messages["1 MB of fact lines"] = ("- color: navy\n" * 80_000)[: 1 << 20]
    messages["fact with 4,000 spaces inside"] = "color: a" + " " * 3_980 + "b"
    messages["'not ' x 1,000"] = "not " * 1_000
    modules = {"this checkout": hallucination}
    if baseline is not None:
        modules[f"baseline ({baseline.name})"] = load_module(baseline)
    table = Table(title="fabricated_facts + contradiction per message, milliseconds (best of 3)")
    table.add_column("message")
    for name in modules:
        table.add_column(name, justify="right")
    for label, message in messages.items():
        table.add_row(label, *(f"{check_ms(m, message, evidence):.3f}" for m in modules.values()))
    return table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--goals", type=int, default=50)
    parser.add_argument("--random-steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", type=Path, default=None, help="another hallucination.py to time beside")
    args = parser.parse_args()
    console = Console(width=160)
    console.print(run_expert(args.goals))
    console.print(run_random(args.random_steps, args.seed))
    console.print(run_cost(args.baseline))


if __name__ == "__main__":
    main()
