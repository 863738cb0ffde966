"""Generation tokens/s of the hf and vllm engines on the tiny model (run in .venv-vllm: `make vllm-env`).

Run: .venv-vllm/bin/python tests/benchmarks/bench_vllm.py [--hidden 128] [--layers 4] [--new-tokens 32]

Both engines sample the same prompts from the same weights (the trainer's default tiny Qwen2: hidden 128,
4 layers, head size 32) at temperature 1.0 with stop tokens off, so every row generates ``--new-tokens``
tokens. Batches are GRPO-shaped: B distinct prompts x G copies. Prints tokens/s per batch shape, vLLM's gain
from its prefix cache (the same batch again right after vs. after a cache reset), the engine's start time
and the weight-sync time (safetensors write + reload + cache reset).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")

import torch
from rich.console import Console
from rich.table import Table

from agentgym_seal.engines import HFEngine, SamplingParams
from agentgym_seal.models import TinyModelConfig, tiny_policy

CORPUS = [
    "You arrive at drawer 1. The drawer 1 is closed. Your task is to: put some box on coffeetable.",
    "<think>the box may be in a drawer</think><action>open drawer 1</action>",
    "Admissible actions: ['go to coffeetable 1', 'go to drawer 1', 'go to ottoman 1', 'inventory', 'look']",
] * 50


def prompts(tok: Any, distinct: int, copies: int, length: int) -> list[list[int]]:
    base = tok(" ".join(CORPUS[:30]), add_special_tokens=False)["input_ids"]
    rows = []
    for i in range(distinct):
        ids = tok(f"Task {i}: put some box {i} on coffeetable {i}.", add_special_tokens=False)["input_ids"]
        rows += [(base + ids)[-length:]] * copies
    return rows


def timed(engine: Any, batch: list[list[int]], params: SamplingParams, repeats: int) -> tuple[float, int]:
    """Median seconds of ``repeats`` calls (after one warm-up call) and the tokens one call generates."""
    out = engine.generate(batch, params)
    seconds = []
    for r in range(repeats):
        if hasattr(engine, "llm"):
            engine.llm.reset_prefix_cache()  # a fresh rollout: no KV blocks left from the previous call
        start = time.perf_counter()
        out = engine.generate(batch, SamplingParams(**{**params.__dict__, "seed": r}))
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), sum(len(t) for t in out.token_ids)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--prompt-length", type=int, default=200)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    shapes = [(2, 8), (4, 8), (8, 8)]
    params = SamplingParams(temperature=1.0, max_new_tokens=args.new_tokens, seed=0)
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        size = TinyModelConfig(hidden_size=args.hidden, num_layers=args.layers, intermediate_size=4 * args.hidden)
        model, tok, _ = tiny_policy(size, CORPUS, tmp)
        model.eval()
        hf = HFEngine(model, tok.pad_token_id)
        hf_rates = {}
        for b, g in shapes:
            seconds, tokens = timed(hf, prompts(tok, b, g, args.prompt_length), params, args.repeats)
            hf_rates[(b, g)] = (seconds, tokens)

        from agentgym_seal.engines.vllm import VLLMEngine

        start = time.perf_counter()
        vl = VLLMEngine(model, tok.pad_token_id, workdir=f"{tmp}/vllm", max_model_len=1024)
        init_s = time.perf_counter() - start
        title = f"generation, tiny Qwen2 h{args.hidden} x {args.layers} layers, prompt {args.prompt_length}"
        table = Table(title=f"{title}, {args.new_tokens} new tokens, T=1.0 (median of {args.repeats})")
        for col in ("B x G", "rows", "hf s", "hf tok/s", "vllm s", "vllm tok/s", "vllm/hf", "vllm cached s"):
            table.add_column(col, justify="right")
        for b, g in shapes:
            batch = prompts(tok, b, g, args.prompt_length)
            v_seconds, v_tokens = timed(vl, batch, params, args.repeats)
            start = time.perf_counter()  # the same batch again, prompts' KV blocks still cached
            vl.generate(batch, params)
            cached = time.perf_counter() - start
            h_seconds, h_tokens = hf_rates[(b, g)]
            table.add_row(
                f"{b} x {g}", str(b * g), f"{h_seconds:.3f}", f"{h_tokens / h_seconds:,.0f}", f"{v_seconds:.3f}",
                f"{v_tokens / v_seconds:,.0f}", f"{(v_tokens / v_seconds) / (h_tokens / h_seconds):.2f}x",
                f"{cached:.3f}",
            )  # fmt: skip
        syncs = []
        for _ in range(5):
            with torch.no_grad():
                next(model.parameters()).add_(1e-3)
            vl.sync_weights(model)
            syncs.append(vl.last_sync_seconds)
        vl.close()
    console.print(table)
    params_m = sum(p.numel() for p in model.parameters()) / 1e6
    console.print(
        f"vLLM engine start {init_s:.1f} s; weight sync ({params_m:.2f}M params) median "
        f"{statistics.median(syncs) * 1000:.0f} ms; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
