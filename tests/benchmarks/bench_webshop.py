"""Costs of WebShop: catalog generation, index build/save/load, search and env step latency, browser env.

Run: python tests/benchmarks/bench_webshop.py [--sizes 1000 10000 100000] [--queries 300] [--browser-steps 40]
Prints two tables (milliseconds unless said). Goal: text-env search p50 <= 3 ms at 100k products
with bm25s, >= 3x faster than the Lucene path (measured when the webshop-lucene extra is installed).
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
from rich.console import Console
from rich.table import Table

import agentgym_seal  # noqa: F401
from agentgym_seal.environments.webshop.catalog import generate_catalog
from agentgym_seal.environments.webshop.expert import expert_query
from agentgym_seal.environments.webshop.goals import shuffle_goals, synthetic_goals
from agentgym_seal.environments.webshop.search import build_index, load_index, save_index


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def bench_size(n: int, queries: int, cache: Path, backends: list[str], table: Table) -> None:
    catalog, gen_s = timed(generate_catalog, n, seed=0)
    goals, goal_s = timed(lambda: shuffle_goals(synthetic_goals(catalog, seed=0)))
    texts = [expert_query(g) for g in goals[:queries]]
    for backend in backends:
        engine, build_s = timed(build_index, catalog, backend)
        folder = cache / f"{backend}-{n}"
        _, save_s = timed(save_index, engine, folder, catalog)
        loaded, load_s = timed(load_index, folder, catalog)
        lat = []
        for q in texts:
            _, s = timed(loaded.search, q)
            lat.append(s)
        # env steps: a search, then clicks (item, option, sub-page, back) from the results
        env = gym.make("WebShopText-v0", action_format="plain", num_products=n, search_backend=backend,
                       cache_dir=str(cache), split="all")  # fmt: skip
        env.reset(seed=0)  # builds the world outside the timings
        resets, searches, clicks = [], [], []
        for i in range(min(queries, 100)):
            _, s = timed(env.reset, options={"goal_index": i})
            resets.append(s)
            plan = env.unwrapped.expert_plan()
            env.unwrapped.shop._search.cache_clear()  # the expert's look-ahead searched already: time a cold search
            _, s = timed(env.step, plan[0])
            searches.append(s)
            for action in [*env.unwrapped.expert_plan()[:1], "click[description]", "click[< prev]"]:
                _, s = timed(env.step, action)
                clicks.append(s)
        env.close()
        table.add_row(
            f"{n:,}", backend, f"{gen_s:.2f}", f"{goal_s:.2f}", f"{build_s:.2f}", f"{save_s:.2f}", f"{load_s:.2f}",
            f"{pct(lat, 50):.2f}", f"{pct(lat, 99):.2f}", f"{pct(resets, 50):.2f}", f"{pct(searches, 50):.2f}",
            f"{pct(searches, 99):.2f}", f"{pct(clicks, 50):.2f}", f"{pct(clicks, 99):.2f}",
        )  # fmt: skip


def bench_browser(steps: int) -> Table | None:
    from agentgym_seal.environments.webshop.browser import find_browser

    if find_browser() is None or importlib.util.find_spec("selenium") is None:
        return None
    table = Table(title="WebShopHTML-v0 (headless Chromium), milliseconds")
    for col in ("phase", "n", "p50", "p99"):
        table.add_column(col, justify="right")
    (env, start_s) = timed(lambda: gym.make("WebShopHTML-v0", action_format="plain"))
    _, first_reset = timed(env.reset, seed=0)  # starts Chromium
    resets, searches, clicks = [], [], []
    done = 0
    seed = 1
    while done < steps:
        _, s = timed(env.reset, seed=seed)
        resets.append(s)
        for action in env.unwrapped.expert_plan():
            _, s = timed(env.step, action)
            (searches if action.startswith("search[") else clicks).append(s)
            done += 1
        seed += 1
    env.close()
    table.add_row("make + first reset (Chromium start)", "1", f"{(start_s + first_reset) * 1000:.0f}", "")
    for name, values in (("reset", resets), ("search step", searches), ("click step", clicks)):
        table.add_row(name, str(len(values)), f"{pct(values, 50):.0f}", f"{pct(values, 99):.0f}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--browser-steps", type=int, default=40)
    args = parser.parse_args()
    backends = ["bm25s"] + (["lucene"] if importlib.util.find_spec("pyserini") else [])
    table = Table(title="WebShopText-v0: build (seconds) and latency (milliseconds)")
    for col in ("products", "backend", "gen s", "goals s", "index s", "save s", "load s", "search p50",
                "search p99", "reset p50", "step search p50", "step search p99", "step click p50",
                "step click p99"):  # fmt: skip
        table.add_column(col, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            bench_size(n, args.queries, Path(tmp), backends, table)
    console = Console(width=200)
    console.print(table)
    browser = bench_browser(args.browser_steps)
    if browser is None:
        console.print("browser: Chromium/chromedriver or selenium not installed; skipped")
    else:
        console.print(browser)


if __name__ == "__main__":
    main()
