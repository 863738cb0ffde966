"""Reliability of every env under hostile messages: actions tried, exceptions, slowest step, p99 vs normal input.

Run: python tests/benchmarks/bench_reliability.py [--actions 100000] [--envs ALFWorldText-v0 WebShopText-v0 SearchQA-v0]

Each env plays :func:`~agentgym_seal.testing.adversarial.check_adversarial` batches (seeds 0, 1, ...) until
``--actions`` hostile actions were sent; a batch that finds a failing step counts one exception (its shrunk
message is printed) and the next batch goes on. Normal input is the env's expert playing whole episodes with
well-formed messages. Targets: 0 exceptions; adversarial p99 within 5x of the normal p99.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import gymnasium as gym
import numpy as np
from rich.console import Console
from rich.table import Table

import agentgym_seal  # noqa: F401
from agentgym_seal.errors import EnvCheckError
from agentgym_seal.testing.adversarial import AdversarialReport, check_adversarial

#: The configurations benchmarked: the CPU default's ALFWorld rooms, a 1,000-product shop, the default QA world.
ENV_OPTIONS: dict[str, dict[str, Any]] = {
    "ALFWorldText-v0": {"difficulty": "tiny"},
    "WebShopText-v0": {"num_products": 1000},
    "SearchQA-v0": {},
}
BATCH_EPISODES = 100


def normal_step_times(env: Any, steps: int, seed: int = 0) -> list[float]:
    """Step times (s) of the env's expert playing whole episodes with well-formed tagged messages."""
    times: list[float] = []
    episode = seed
    while len(times) < steps:
        env.reset(seed=episode)
        episode += 1
        for _ in range(60):
            action = env.unwrapped.expert_action()
            if action is None:
                break
            message = (
                f"<think>the plan</think>{action}"
                if action.startswith("<")
                else f"<think>the plan</think><action>{action}</action>"
            )
            start = time.perf_counter()
            _, _, terminated, truncated, _ = env.step(message)
            times.append(time.perf_counter() - start)
            if terminated or truncated:
                break
    return times


def hostile_run(env: Any, actions: int, console: Console) -> tuple[AdversarialReport, int, float]:
    """``(report, exceptions, seconds)`` of adversarial batches until ``actions`` were sent."""
    report, exceptions, seed = AdversarialReport(), 0, 0
    start = time.perf_counter()
    while report.actions < actions:
        try:
            check_adversarial(env, seed=seed, episodes=BATCH_EPISODES, max_steps=60, min_steps=30, report=report)
        except EnvCheckError as exc:
            exceptions += 1
            console.print(f"[red]seed {seed}: {str(exc)[:300]}[/red]")
        seed += 1
    return report, exceptions, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=100_000, help="hostile actions per env (default: 100000)")
    parser.add_argument("--normal-steps", type=int, default=2000, help="expert steps per env (default: 2000)")
    parser.add_argument("--envs", nargs="+", default=list(ENV_OPTIONS), choices=list(ENV_OPTIONS))
    args = parser.parse_args()
    console = Console(width=170)
    table = Table(title=f"hostile messages per env ({args.actions} actions each; times in ms)")
    columns = (
        "env",
        "actions",
        "episodes",
        "exceptions",
        "slowest step",
        "p99 hostile",
        "p99 normal",
        "ratio",
        "wall s",
    )
    for name in columns:
        table.add_column(name, justify="left" if name in ("env", "slowest step") else "right")
    kinds: list[Table] = []
    for env_id in args.envs:
        env = gym.make(env_id, **ENV_OPTIONS[env_id])
        normal = float(np.percentile(np.asarray(normal_step_times(env, args.normal_steps)) * 1000, 99))
        report, exceptions, seconds = hostile_run(env, args.actions, console)
        env.close()
        kind, slowest = report.slowest()
        hostile = report.percentile_ms(99, baseline=False)
        table.add_row(
            env_id, str(report.actions), str(report.episodes), str(exceptions), f"{slowest:.1f} ({kind})",
            f"{hostile:.2f}", f"{normal:.2f}", f"{hostile / normal:.2f}x", f"{seconds:.0f}",
        )  # fmt: skip
        kinds.append(report.to_table(f"{env_id}: step time per kind (ms)"))
    console.print(table)
    for per_kind in kinds:
        console.print(per_kind)


if __name__ == "__main__":
    main()
