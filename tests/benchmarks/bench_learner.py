"""Learner step time with the SEAL head vs without, same batch, with the FLOP count that predicts it.

Run: python tests/benchmarks/bench_learner.py [--samples 64] [--prompt 256] [--response 24] [--repeats 3]

For each model (the tiny default, hidden 128 x 4 layers, and a >= 20M one, hidden 512 x 8 layers) it times
``Learner.update`` on one synthetic rollout batch (half the trajectories won, so every group has variance
and every sample is trained), with ``seal_alpha`` 0 and 0.02, and prints the measured overhead beside the
predicted one:

    backbone FLOPs per step ~ 2 N_tokens (P_body + V d) (old-policy forward)
                            + 6 N_tokens (P_body + V d) (update forward + backward)
                            + attention terms 2 x 2 L S d per token (forward, x3 with backward)
    SEAL head FLOPs         ~ 6 N_response ((L_head - 1) d^2 + d)   (forward + backward, response tokens only)

Target: overhead <= 3% on the >= 20M model.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import torch
from rich.console import Console
from rich.table import Table
from transformers import Qwen2Config, Qwen2ForCausalLM

from agentgym_seal.backends import SEALConfig
from agentgym_seal.backends.learner import Learner, LearnerConfig
from agentgym_seal.rollout import RolloutBatch, StepSample, TrajectorySummary

MODELS = {"tiny default (h128 x 4)": (128, 4, 4, 2), ">=20M (h512 x 8)": (512, 8, 8, 4)}
VOCAB = 2048


def build(hidden: int, layers: int, heads: int, kv_heads: int) -> Qwen2ForCausalLM:
    cfg = Qwen2Config(
        vocab_size=VOCAB, hidden_size=hidden, intermediate_size=4 * hidden, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv_heads, tie_word_embeddings=True,
        max_position_embeddings=1024,
    )  # fmt: skip
    torch.manual_seed(0)
    return Qwen2ForCausalLM(cfg)


def batch(samples: int, prompt: int, response: int, group: int = 8) -> RolloutBatch:
    rng = random.Random(0)
    steps, trajs = [], []
    for t in range(samples):
        steps.append(
            StepSample(
                prompt_ids=tuple(rng.randrange(3, VOCAB) for _ in range(prompt)),
                response_ids=tuple(rng.randrange(3, VOCAB) for _ in range(response)),
                old_logprobs=tuple(-7.0 for _ in range(response)),
                response_text="", env_reward=0.0, format_valid=True, action_valid=True,
                uid=t // group, traj_uid=t, step=0, anchor="",
            )
        )  # fmt: skip
        trajs.append(TrajectorySummary(t // group, t, 0, t % 2 == 0, float(t % 2 == 0) * 10, 1, ""))
    return RolloutBatch(tuple(steps), tuple(trajs))


def flops(model: Qwen2ForCausalLM, samples: int, prompt: int, response: int, head_layers: int) -> tuple[float, float]:
    cfg = model.config
    d, n_layers = cfg.hidden_size, cfg.num_hidden_layers
    body = sum(p.numel() for n, p in model.named_parameters() if "embed_tokens" not in n and "lm_head" not in n)
    seq = prompt + response
    tokens = samples * seq
    per_token = body + VOCAB * d  # matmul parameters a token touches (lm_head over the full vocab)
    attention = 2 * 2 * n_layers * seq / 2 * d  # QK^T and AV, causal: half the sequence on average
    backbone = tokens * (2 * (per_token + attention) + 6 * (per_token + attention))
    head = 6 * samples * response * ((head_layers - 1) * d * d + d)
    return backbone, head


def time_update(model: Qwen2ForCausalLM, rollout: RolloutBatch, alpha: float, repeats: int) -> float:
    learner = Learner(
        model, 0, cfg=LearnerConfig(lr=1e-5, mini_batch_size=len(rollout), micro_batch_size=16),
        seal=SEALConfig(alpha=alpha, num_layers=3),
    )  # fmt: skip
    learner.update(rollout)  # warm-up (allocator, kernels)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        learner.update(rollout)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--prompt", type=int, default=256)
    parser.add_argument("--response", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rollout = batch(args.samples, args.prompt, args.response)
    table = Table(title=f"Learner.update, {args.samples} samples x ({args.prompt} prompt + {args.response} response)")
    for col in ("model", "params", "no SEAL s", "SEAL s", "overhead", "predicted (FLOPs)"):
        table.add_column(col, justify="right")
    for name, shape in MODELS.items():
        model = build(*shape)
        params = sum(p.numel() for p in model.parameters())
        base = time_update(model, rollout, 0.0, args.repeats)
        seal = time_update(model, rollout, 0.02, args.repeats)
        backbone, head = flops(model, args.samples, args.prompt, args.response, 3)
        table.add_row(
            name, f"{params / 1e6:.1f}M", f"{base:.2f}", f"{seal:.2f}", f"{100 * (seal / base - 1):+.1f}%",
            f"{100 * head / backbone:.2f}%",
        )  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    main()
