"""Costs of ALFWorldText-v0 on the real engine: reset/step latency with and without our speed-ups, generation, memory.

Run: python tests/benchmarks/bench_alfworld.py [--episodes 5] [--difficulty full]
Prints one table: the same episodes (expert plan, "look", an inadmissible command) played with the speed-ups of
``environments/alfworld/speedups.py`` and with TextWorld's own functions (``stock_textworld``), side by side.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
from rich.console import Console
from rich.table import Table

import agentgym_seal  # noqa: F401
from agentgym_seal.environments.alfworld import DIFFICULTIES, TASK_TYPES
from agentgym_seal.environments.alfworld.games import GeneratedGames
from agentgym_seal.environments.alfworld.speedups import stock_textworld


def rss_mb() -> float:
    """Current resident set size (Linux /proc), in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def play(env: gym.Env, episodes: int) -> tuple[list[float], list[float]]:
    """Reset and step times (s) of ``episodes`` expert episodes, each with a "look" and an inadmissible command."""
    resets, steps = [], []
    for seed in range(episodes):
        t = time.perf_counter()
        env.reset(seed=seed)
        resets.append(time.perf_counter() - t)
        for command in [*env.unwrapped.expert_plan(), "look", "go to nowhere 1"]:
            t = time.perf_counter()
            env.step(command)
            steps.append(time.perf_counter() - t)
    return resets, steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--difficulty", choices=sorted(DIFFICULTIES), default="full")
    args = parser.parse_args()
    table = Table(title=f"ALFWorldText-v0 ({args.difficulty} rooms), milliseconds")
    columns = ("task type", "gen/game", "reset p50", "reset p99", "step p50", "step p99", "stock step p50",
               "stock step p99", "speed-up p50", "steps")  # fmt: skip
    for col in columns:
        table.add_column(col, justify="right")
    with tempfile.TemporaryDirectory() as cache:
        for task_type in TASK_TYPES:
            source = GeneratedGames("train", (task_type,), DIFFICULTIES[args.difficulty], 600, Path(cache))
            gen = []
            for i in range(args.episodes):
                t = time.perf_counter()
                source.game(task_type, i)
                gen.append(time.perf_counter() - t)
            env = gym.make(
                "ALFWorldText-v0", task_types=[task_type], difficulty=args.difficulty, action_format="plain",
                games_per_type=args.episodes, cache_dir=cache,
            )  # fmt: skip
            play(env, 1)  # loads the games and fills the caches for both runs
            resets, steps = play(env, args.episodes)
            with stock_textworld():
                _, stock = play(env, args.episodes)
            env.close()
            table.add_row(
                task_type, f"{pct(gen, 50):.0f}", f"{pct(resets, 50):.0f}", f"{pct(resets, 99):.0f}",
                f"{pct(steps, 50):.1f}", f"{pct(steps, 99):.1f}", f"{pct(stock, 50):.1f}", f"{pct(stock, 99):.1f}",
                f"{pct(stock, 50) / pct(steps, 50):.1f}x", str(len(steps)),
            )  # fmt: skip
        base = rss_mb()
        envs = [gym.make("ALFWorldText-v0", difficulty=args.difficulty, cache_dir=cache) for _ in range(4)]
        for i, env in enumerate(envs):
            env.reset(seed=i)
        per_env = (rss_mb() - base) / len(envs)
    console = Console(width=140)
    console.print(table)
    console.print(f"RSS {rss_mb():.0f} MB; about {per_env:.0f} MB more per open env (4 envs)")


if __name__ == "__main__":
    main()
