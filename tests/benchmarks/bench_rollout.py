"""Batched group rollout vs one env at a time, on ALFWorldText-v0 with the tiny policy.

Run: python tests/benchmarks/bench_rollout.py [--model RUN_DIR/final] [--tasks 4] [--group 8]

Both modes roll out the same B seeds x G envs with the same sampler settings; "batched" generates one turn
of every active env in one call (what the trainer does), "sequential" rolls each env out alone. Prints
generation tokens/s, env-steps/s of the whole rollout, and where the wall time went (reset, prompt
templating + tokenising, generation, env steps). Targets: generation tokens/s >= 5x,
whole-rollout env-steps/s >= 3x.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from rich.console import Console
from rich.table import Table

import agentgym_seal  # noqa: F401
from agentgym_seal.engines import HFEngine, SamplingParams
from agentgym_seal.models import TinyModelConfig, load_policy, tiny_policy
from agentgym_seal.rollout import GroupRollout, RolloutConfig

CORPUS = [
    "You arrive at drawer 1. The drawer 1 is closed. Your task is to: put some box on coffeetable.",
    "<think>the box may be in a drawer</think><action>open drawer 1</action>",
    "Admissible actions: ['go to coffeetable 1', 'go to drawer 1', 'go to ottoman 1', 'inventory', 'look']",
] * 50


def run(rollout: GroupRollout, seeds: list[int], group: int, sampling: SamplingParams, one_at_a_time: bool) -> dict:
    before = dict(rollout.timing)
    tokens_before = rollout.generated_tokens
    start = time.perf_counter()
    samples = 0
    if one_at_a_time:
        for seed in seeds:
            for _ in range(group):
                samples += len(rollout.collect([seed], group_size=1, sampling=sampling))
    else:
        samples = len(rollout.collect(seeds, group_size=group, sampling=sampling))
    wall = time.perf_counter() - start
    phases = {k: rollout.timing[k] - before[k] for k in rollout.timing}
    tokens = rollout.generated_tokens - tokens_before
    return {"wall": wall, "samples": samples, "tokens": tokens, **phases}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None, help="a local model folder (default: a random tiny Qwen2)")
    parser.add_argument("--tasks", type=int, default=4, help="B: task seeds")
    parser.add_argument("--group", type=int, default=8, help="G: envs per seed")
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        if args.model:
            model, tokenizer = load_policy(args.model)
        else:
            model, tokenizer, _ = tiny_policy(TinyModelConfig(), CORPUS, tmp)
        stop = (tokenizer.convert_tokens_to_ids("</action>"), tokenizer.eos_token_id)
        sampling = SamplingParams(temperature=1.0, max_new_tokens=24, stop_token_ids=stop, seed=0)
        cfg = RolloutConfig(
            env_kwargs={"task_types": ["pick_and_place_simple"], "difficulty": "tiny"},
            group_size=args.group,
            max_turns=args.turns,
        )
        seeds = list(range(args.tasks))
        batched = GroupRollout(cfg, HFEngine(model, tokenizer.pad_token_id), tokenizer, args.tasks * args.group)
        single = GroupRollout(cfg, HFEngine(model, tokenizer.pad_token_id), tokenizer, 1)
        # Steady state, as in training: every env copy exists and every game is generated (the first
        # collect of a run creates the B x G engines once; later steps only load games into them).
        run(batched, [s + 100 for s in seeds], args.group, sampling, False)
        run(single, seeds[:1], 1, sampling, False)
        results = {
            "batched": run(batched, seeds, args.group, sampling, False),
            "one at a time": run(single, seeds, args.group, sampling, True),
        }
        batched.close()
        single.close()
    table = Table(title=f"Group rollout, B={args.tasks} x G={args.group}, {args.turns} turns, tiny rooms")
    columns = ("mode", "env-steps", "gen tok/s", "env-steps/s", "wall s", "reset s", "prompt s", "generate s", "env s")
    for col in columns:
        table.add_column(col, justify="right")
    for name, r in results.items():
        table.add_row(
            name, str(r["samples"]), f"{r['tokens'] / r['generate']:.0f}", f"{r['samples'] / r['wall']:.1f}",
            f"{r['wall']:.1f}", f"{r['reset']:.1f}", f"{r['prompt']:.2f}", f"{r['generate']:.1f}",
            f"{r['env_step']:.1f}",
        )  # fmt: skip
    b, s = results["batched"], results["one at a time"]
    speed_tok = (b["tokens"] / b["generate"]) / (s["tokens"] / s["generate"])
    speed_steps = (b["samples"] / b["wall"]) / (s["samples"] / s["wall"])
    console = Console()
    console.print(table)
    console.print(
        f"speed-up: generation tokens/s x{speed_tok:.1f} (target 5), env-steps/s x{speed_steps:.1f} (target 3)"
    )


if __name__ == "__main__":
    main()
