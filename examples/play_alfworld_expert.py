"""Play generated ALFWorld games with the planner expert and print success per task type.

Run: python examples/play_alfworld_expert.py [--episodes-per-type 2] [--difficulty small] [--split train]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
from rich.console import Console

import agentgym_seal  # noqa: F401  (registers ALFWorldText-v0)
from agentgym_seal.environments.alfworld import DIFFICULTIES, SPLITS, TASK_TYPES
from agentgym_seal.environments.alfworld.expert import play_expert_episode, success_table, trajectories_summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes-per-type", type=int, default=2, help="episodes per task type")
    parser.add_argument("--difficulty", choices=sorted(DIFFICULTIES), default="small", help="room size preset")
    parser.add_argument("--split", choices=SPLITS, default="train", help="game split")
    parser.add_argument("--seed", type=int, default=0, help="first reset seed")
    args = parser.parse_args()

    console = Console()
    trajectories = []
    start = time.perf_counter()
    for task_type in TASK_TYPES:
        env = gym.make(
            "ALFWorldText-v0",
            split=args.split,
            task_types=[task_type],
            action_format="plain",
            difficulty=args.difficulty,
        )
        for episode in range(args.episodes_per_type):
            traj = play_expert_episode(env, seed=args.seed + episode)
            trajectories.append(traj)
            console.print(f"[dim]{task_type}[/dim] '{traj.task}': {len(traj)} steps, won={traj.won}")
        env.close()
    console.print(success_table(trajectories_summary(trajectories), title="ALFWorld expert (planner) success"))
    console.print(f"{len(trajectories)} episodes in {time.perf_counter() - start:.1f} s")
    return 0 if all(t.won for t in trajectories) else 1


if __name__ == "__main__":
    raise SystemExit(main())
