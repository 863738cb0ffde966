"""End-to-end GRPO samples/s: agentgym_seal's engine + learner vs TRL's ``GRPOTrainer``, side by side.

Run: pip install "agentgym_seal[bench]"  (TRL from PyPI), then
     python tests/benchmarks/bench_trl.py [--steps 6] [--prompts 8] [--group 8] [--completion 24]

The task is single-turn and the same for both: the first ALFWorldText-v0 observation of a seed, in our
prompt template; reward 1 when the reply is a well-formed ``<action>`` naming an admissible command, else 0.
Same tiny Qwen2 (same weights), same B x G completions per step, same completion cap, temperature 1, no KL,
one optimizer step per generation batch, CPU, the same number of threads. Both stop a completion at EOS only
(TRL's rule), so completion lengths match. A step = generate B x G completions, score them, group advantages,
one policy-gradient update. Reported: median seconds per step after one warm-up step, completions/s and
mean completion length. Target: ours >= 2x TRL's completions/s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from rich.console import Console
from rich.table import Table

import agentgym_seal  # noqa: F401
from agentgym_seal.backends import SEALConfig
from agentgym_seal.backends.learner import Learner, LearnerConfig
from agentgym_seal.checkers.format import load_tool_schema, parse_message
from agentgym_seal.engines import HFEngine, SamplingParams
from agentgym_seal.family import FAMILIES
from agentgym_seal.models import TinyModelConfig, load_policy, tiny_policy
from agentgym_seal.prompting import build_prompt
from agentgym_seal.rollout import RolloutBatch, StepSample, TrajectorySummary

SCHEMA = load_tool_schema("alfworld")


def reward(completion: str, admissible: list[str]) -> float:
    """1.0 for a well-formed reply naming an admissible command, else 0.0."""
    parsed = parse_message(completion, SCHEMA, "tagged")
    return float(parsed.format_valid and parsed.action in admissible)


def first_steps(n: int) -> list[tuple[str, list[str]]]:
    env = gym.make("ALFWorldText-v0", task_types=["pick_and_place_simple"], difficulty="tiny")
    template = FAMILIES.get("alfworld").prompt_template
    out = []
    for seed in range(n):
        obs, info = env.reset(seed=seed)
        admissible = list(info["admissible_actions"])
        text = build_prompt(template, task=str(info.get("goal", "")), observation=obs, admissible_actions=admissible)
        out.append((text, admissible))
    env.close()
    return out


def ours(folder: Path, prompts: list[tuple[str, list[str]]], group: int, cap: int, steps: int) -> dict[str, float]:
    model, tokenizer = load_policy(folder)
    engine = HFEngine(model, tokenizer.pad_token_id)
    learner = Learner(
        model, tokenizer.pad_token_id, seal=SEALConfig(alpha=0.0),
        cfg=LearnerConfig(lr=1e-5, mini_batch_size=len(prompts) * group, micro_batch_size=16, entropy_coeff=0.0),
    )  # fmt: skip
    chats = [
        tokenizer.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True, tokenize=False)
        for p, _ in prompts
    ]
    encoded: list[list[int]] = [tokenizer(chat, add_special_tokens=False)["input_ids"] for chat in chats]
    times, lengths = [], []
    for step in range(steps + 1):
        start = time.perf_counter()
        params = SamplingParams(
            temperature=1.0, max_new_tokens=cap, stop_token_ids=(tokenizer.eos_token_id,), seed=step
        )
        ids = [e for e in encoded for _ in range(group)]
        out = engine.generate(ids, params)
        samples, trajs = [], []
        for i, (resp, logp) in enumerate(zip(out.token_ids, out.logprobs, strict=True)):
            text = tokenizer.decode(resp, skip_special_tokens=True)
            r = reward(text, prompts[i // group][1])
            samples.append(
                StepSample(tuple(ids[i]), tuple(resp), tuple(logp), text, r, True, True, i // group, i, 0, "")
            )
            trajs.append(TrajectorySummary(i // group, i, i // group, r > 0, r, 1, ""))
            lengths.append(len(resp))
        learner.update(RolloutBatch(tuple(samples), tuple(trajs)))
        engine.sync_weights(model)
        if step > 0:  # step 0 warms the allocator and kernels
            times.append(time.perf_counter() - start)
    return {"step_s": statistics.median(times), "length": sum(lengths) / len(lengths)}


def trl(folder: Path, prompts: list[tuple[str, list[str]]], group: int, cap: int, steps: int) -> dict[str, float]:
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    model, tokenizer = load_policy(folder)
    rows = {"prompt": [[{"role": "user", "content": p}] for p, _ in prompts], "admissible": [a for _, a in prompts]}
    lengths: list[int] = []

    def reward_fn(completions: list[Any], admissible: list[list[str]], **_: Any) -> list[float]:
        texts = [c[0]["content"] if isinstance(c, list) else str(c) for c in completions]
        lengths.extend(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
        return [reward(t, a) for t, a in zip(texts, admissible, strict=True)]

    class Clock(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.times: list[float] = []
            self.start = 0.0

        def on_step_begin(self, *args: Any, **kwargs: Any) -> None:
            self.start = time.perf_counter()

        def on_step_end(self, *args: Any, **kwargs: Any) -> None:
            self.times.append(time.perf_counter() - self.start)

    clock = Clock()
    with tempfile.TemporaryDirectory() as out:
        args = GRPOConfig(
            output_dir=out, use_cpu=True, num_generations=group, per_device_train_batch_size=len(prompts) * group,
            max_completion_length=cap, temperature=1.0, beta=0.0, learning_rate=1e-5, max_steps=steps + 1,
            logging_steps=1, report_to="none", save_strategy="no", num_iterations=1, disable_dropout=True,
            dataloader_num_workers=0, seed=0,
        )  # fmt: skip
        trainer = GRPOTrainer(
            model=model, reward_funcs=reward_fn, args=args, train_dataset=Dataset.from_dict(rows),
            processing_class=tokenizer, callbacks=[clock],
        )  # fmt: skip
        trainer.train()
        key = "completions/mean_length"
        logged = [float(h[key]) for h in trainer.state.log_history if key in h]
    length = statistics.mean(logged) if logged else sum(lengths) / max(1, len(lengths))  # TRL's own token count
    return {"step_s": statistics.median(clock.times[1:]), "length": length}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--prompts", type=int, default=8, help="B: prompts per step")
    parser.add_argument("--group", type=int, default=8, help="G: completions per prompt")
    parser.add_argument("--completion", type=int, default=24, help="completion token cap")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    prompts = first_steps(args.prompts)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = [p for p, _ in prompts] + ["<think>look around</think><action>go to drawer 1</action>"] * 20
        _, _, folder = tiny_policy(TinyModelConfig(), corpus * 5, tmp)
        results = {
            "agentgym_seal (hf engine + Learner)": ours(folder, prompts, args.group, args.completion, args.steps),
            "TRL GRPOTrainer": trl(folder, prompts, args.group, args.completion, args.steps),
        }
    n = args.prompts * args.group
    table = Table(title=f"GRPO step, {args.prompts} prompts x {args.group} completions, cap {args.completion} tokens")
    for col in ("trainer", "s/step", "completions/s", "mean completion tokens"):
        table.add_column(col, justify="right")
    for name, r in results.items():
        table.add_row(name, f"{r['step_s']:.2f}", f"{n / r['step_s']:.1f}", f"{r['length']:.1f}")
    console = Console()
    console.print(table)
    ratio = results["TRL GRPOTrainer"]["step_s"] / results["agentgym_seal (hf engine + Learner)"]["step_s"]
    console.print(f"agentgym_seal / TRL completions per second: x{ratio:.2f} (target 2)")


if __name__ == "__main__":
    main()
