"""Baseline costs of ALFWorldText-v0 on the real engine: reset/step latency, generation time, memory.

Run: python tests/benchmarks/bench_alfworld.py [--episodes 5] [--difficulty full]
Prints one table; the numbers are the baseline a faster engine must beat (no target yet).
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


def rss_mb() -> float:
    """Current resident set size (Linux /proc), in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--difficulty", choices=sorted(DIFFICULTIES), default="full")
    args = parser.parse_args()
    table = Table(title=f"ALFWorldText-v0 ({args.difficulty} rooms), milliseconds")
    for col in ("task type", "gen/game", "reset p50", "reset p99", "step p50", "step p99", "steps"):
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
            resets, steps = [], []
            for seed in range(args.episodes):
                t = time.perf_counter()
                env.reset(seed=seed)
                resets.append(time.perf_counter() - t)
                for command in [*env.unwrapped.expert_plan(), "look", "go to nowhere 1"]:
                    t = time.perf_counter()
                    env.step(command)
                    steps.append(time.perf_counter() - t)
            env.close()
            table.add_row(
                task_type, f"{pct(gen, 50):.0f}", f"{pct(resets, 50):.0f}", f"{pct(resets, 99):.0f}",
                f"{pct(steps, 50):.1f}", f"{pct(steps, 99):.1f}", str(len(steps)),
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
