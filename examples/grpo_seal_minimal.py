"""GRPO + SEAL on ALFWorld in one file: the whole algorithm on one page, in the style of cleanrl.

The library gives the parts: the env (``ALFWorldText-v0``), its expert, the tiny model, the hf engine, the
group rollout and the pure functions ``grpo_advantages``, ``ppo_clip_loss``, ``seal_loss`` and ``SEALHead``.
Everything that ties them together (warm-up, scores, forward pass, the update) is written out below.
``examples/train_seal.py`` is the full trainer (GiGPO, KL, the monitor, checkpoints, Ray); this is for reading.

    python examples/grpo_seal_minimal.py                    # ~5 min on 2 CPU cores
    python examples/grpo_seal_minimal.py --seal-alpha 0     # plain GRPO
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

import agentgym_seal  # noqa: F401  (registers ALFWorldText-v0)
from agentgym_seal.backends import SEALHead, grpo_advantages, ppo_clip_loss, seal_loss
from agentgym_seal.backends.batching import collate
from agentgym_seal.backends.learner import advantage_inputs
from agentgym_seal.engines.base import SamplingParams
from agentgym_seal.engines.hf import HFEngine
from agentgym_seal.experts import expert_demonstrations
from agentgym_seal.models.sft import SFTConfig, sft_warmup
from agentgym_seal.models.tiny import TinyModelConfig, tiny_policy
from agentgym_seal.prompting import build_prompt
from agentgym_seal.registration import family_of
from agentgym_seal.rollout import GroupRollout, RolloutBatch, RolloutConfig, StepSample


@dataclass(frozen=True)
class Args:
    """The run's settings (each is a ``--flag``)."""

    env_id: str = "ALFWorldText-v0"
    seed: int = 0
    steps: int = 8  # RL steps: one rollout of B x G episodes and one update each
    batch_tasks: int = 4  # B: task seeds per step
    group_size: int = 4  # G: episodes per task seed (the GRPO group)
    max_turns: int = 8
    temperature: float = 0.7
    max_new_tokens: int = 24
    lr: float = 2e-4
    micro_batch: int = 16
    seal_alpha: float = 0.02  # weight of the SEAL loss (0: plain GRPO)
    seal_layers: int = 3
    warmup_episodes: int = 120  # expert episodes the policy imitates first (the paper's mid-training)
    warmup_epochs: int = 3
    cache_dir: str = "runs/.models"


def parse_args(argv: Sequence[str] | None = None) -> Args:
    """``Args`` from the command line (``--batch-tasks 2``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, value in vars(Args()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    return Args(**vars(parser.parse_args(argv)))


ENV_KWARGS = {"task_types": ["pick_and_place_simple"], "difficulty": "tiny", "games_per_type": 200}


def chat_ids(tokenizer: object, prompt: str) -> list[int]:
    """The chat-templated prompt's token ids, as the rollout builds them."""
    chat = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
    )  # type: ignore[attr-defined]
    return list(tokenizer(chat, add_special_tokens=False)["input_ids"])  # type: ignore[operator]


def warm_up(args: Args) -> tuple[torch.nn.Module, object]:
    """Builds the tiny model on the demonstrations' text and fits it to the expert's responses (SFT)."""
    template = family_of(args.env_id).prompt_template
    demos = expert_demonstrations(args.warmup_episodes, seed=args.seed, env_id=args.env_id, **ENV_KWARGS)
    texts = [
        (build_prompt(template, task=d.task, observation=d.observation, admissible_actions=d.admissible_actions,
                      history=d.history, step=d.step), template.expert_response.format(action=d.action))
        for d in demos
    ]  # fmt: skip
    corpus = [p for p, _ in texts] + [r for _, r in texts]
    model, tokenizer, _ = tiny_policy(TinyModelConfig(seed=args.seed), corpus, args.cache_dir)
    pairs = [(chat_ids(tokenizer, p), tokenizer(r + tokenizer.eos_token, add_special_tokens=False)["input_ids"])
             for p, r in texts]  # fmt: skip
    sft_warmup(model, pairs, tokenizer.pad_token_id, SFTConfig(epochs=args.warmup_epochs, lr=3e-3, seed=args.seed))
    return model, tokenizer


def forward(model: torch.nn.Module, samples: Sequence[StepSample], pad_id: int, temperature: float) -> tuple:
    """Log-probs of each response token, its mask, and the final hidden state at it (right-padded batch)."""
    tb = collate(samples, pad_id)  # prompt + response ids, right-padded, with the response masks
    out = model(input_ids=tb.input_ids, attention_mask=tb.attention_mask, output_hidden_states=True)
    logp = F.log_softmax(out.logits[:, :-1].float() / temperature, dim=-1)  # (B, L-1, V): token t+1 from t
    token_logp = logp.gather(-1, tb.input_ids[:, 1:, None]).squeeze(-1)  # (B, L-1)
    states = out.hidden_states[-1][:, 1:]  # (B, L-1, H) the hidden state *at* each response token (SPEC 3.2)
    return token_logp, tb.response_mask, states  # response_mask: positions whose next token is a response token


def update(model, head, optimizer, batch: RolloutBatch, args: Args, pad_id: int, invalid_penalty: float) -> dict:
    """One pass over the rollout: GRPO advantages, PPO-clip loss, plus α times the SEAL loss."""
    inputs = advantage_inputs(batch)  # per step sample: env reward, invalid (format), trajectory, group, won
    scores = inputs.episode_scores(invalid_penalty)  # (N,) s = R - λ·invalid, R the trajectory's return (SPEC 1.1)
    advantages = grpo_advantages(scores, inputs.group_ids)  # (N,) normalised within each task's group (SPEC 1.2)
    won = inputs.won.float()  # (N,) the SEAL label: the sample's trajectory succeeded
    total_tokens = sum(len(s.response_ids) for s in batch.samples)
    order = torch.randperm(len(batch.samples)).tolist()
    optimizer.zero_grad()
    totals = {"pg_loss": 0.0, "seal_loss": 0.0}
    for start in range(0, len(order), args.micro_batch):
        idx = order[start : start + args.micro_batch]
        chunk = [batch.samples[i] for i in idx]
        token_logp, mask, states = forward(model, chunk, pad_id, args.temperature)
        old = torch.zeros_like(token_logp)
        for row, s in enumerate(chunk):  # the rollout's log-probs, placed at the response positions
            old[row, mask[row]] = torch.tensor(s.old_logprobs)
        share = float(mask.sum()) / total_tokens  # token means of the micro-batches add up to the batch's
        pg, _ = ppo_clip_loss(token_logp, old, advantages[idx], mask)
        loss = pg
        if args.seal_alpha > 0:  # SEAL: classify correct vs wrong trajectories from the policy's hidden states
            sl = seal_loss(head(states), won[idx], mask)
            loss = loss + args.seal_alpha * sl
            totals["seal_loss"] += float(sl) * share
        (loss * share).backward()
        totals["pg_loss"] += float(pg) * share
    torch.nn.utils.clip_grad_norm_([*model.parameters(), *head.parameters()], 1.0)
    optimizer.step()
    return totals


def main(argv: Sequence[str] | None = None) -> list[dict[str, float]]:
    """Warm-up, then ``--steps`` RL steps; prints and returns one row of metrics per step."""
    args = parse_args(argv)
    random.seed(args.seed), np.random.seed(args.seed), torch.manual_seed(args.seed)
    family = family_of(args.env_id)  # the env family's λ and stop tags
    model, tokenizer = warm_up(args)
    head = SEALHead(model.config.hidden_size, num_layers=args.seal_layers)
    optimizer = torch.optim.AdamW([*model.parameters(), *head.parameters()], lr=args.lr)
    stops = (*(tokenizer.convert_tokens_to_ids(t) for t in family.stop_tags), tokenizer.eos_token_id)
    sampling = SamplingParams(temperature=args.temperature, max_new_tokens=args.max_new_tokens, stop_token_ids=stops)
    config = RolloutConfig(args.env_id, {**ENV_KWARGS, "split": "train"}, args.group_size, args.max_turns)
    rollout = GroupRollout(
        config, HFEngine(model, tokenizer.pad_token_id), tokenizer, num_envs=args.batch_tasks * args.group_size
    )
    rows = []
    try:
        for step in range(args.steps):
            start = time.perf_counter()
            seeds = [args.seed * 100_003 + step * args.batch_tasks + i for i in range(args.batch_tasks)]
            model.eval()
            with torch.no_grad():
                batch = rollout.collect(seeds, sampling=replace(sampling, seed=args.seed + step))
            model.train()
            losses = update(model, head, optimizer, batch, args, tokenizer.pad_token_id, family.invalid_penalty)
            rollout.sync_weights(model)
            row = {
                "step": step,
                "success_rate": float(np.mean([t.won for t in batch.trajectories])),
                "valid_action_ratio": float(np.mean([s.action_valid for s in batch.samples])),
                **losses,
                "seconds": time.perf_counter() - start,
            }
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
            rows.append(row)
    finally:
        rollout.close()
    return rows


if __name__ == "__main__":
    main()
