"""Ray runner benchmark: env-steps/s with 0 (in process), 1 and 2 rollout workers; Ray overhead per round;
weight-sync time for the tiny model by both routes (object store, gloo broadcast), measured object-store
bandwidth, and the computed sync time for 1.5B/7B (object store: measured bandwidth; NCCL broadcast: assumed
bus bandwidths, not run here).

Run: ``RAY_AUTH_MODE=disabled nice -n 10 python tests/benchmarks/bench_ray.py [--rounds 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

from rich.console import Console
from rich.table import Table

TINY_CORPUS = [
    "You arrive at countertop 1. On the countertop 1, you see a apple 1, and a mug 2.",
    "<think>the apple is here</think><action>take apple 1 from countertop 1</action>",
    "Your task is to: put a clean mug in coffeemachine. Admissible actions: ['go to cabinet 1', 'look'].",
] * 30
PARAMS = {"Qwen2.5-1.5B": 1.54e9, "Qwen2.5-7B": 7.62e9}
# Assumed NCCL broadcast bus bandwidths (GB/s) for --weight-sync collective: one node over NVLink, and across
# nodes over 200 Gb/s InfiniBand. Not measured here (no GPU): order-of-magnitude estimates.
NCCL_BANDWIDTH = {"NVLink (one node)": 150e9, "InfiniBand 200 Gb/s (nodes)": 20e9}


class _Sink:
    """Fetches a state dict from the object store (a remote actor's side of a weight sync)."""

    def take(self, weights: dict[str, Any]) -> int:
        return sum(int(t.numel()) for t in weights.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-tasks", type=int, default=4)
    parser.add_argument("--group-size", type=int, default=4)
    parser.add_argument("--max-turns", type=int, default=6)
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("AGENTGYM_SEAL_CACHE", tempfile.mkdtemp(prefix="bench-ray-"))
    import ray
    import torch

    from agentgym_seal.backends.distributed import ClusterConfig, RayGroupRollout, RolloutPool
    from agentgym_seal.engines import HFEngine, SamplingParams
    from agentgym_seal.models import TinyModelConfig, tiny_policy
    from agentgym_seal.rollout import GroupRollout, RolloutConfig

    torch.set_num_threads(2)
    model, tok, _ = tiny_policy(TinyModelConfig(), TINY_CORPUS, tempfile.mkdtemp(prefix="bench-ray-model-"))
    stop = (tok.convert_tokens_to_ids("</action>"), tok.eos_token_id)
    cfg = RolloutConfig(
        env_kwargs={"difficulty": "tiny", "task_types": ["pick_and_place_simple"]},
        group_size=args.group_size,
        max_turns=args.max_turns,
        max_prompt_length=1024,
        sampling=SamplingParams(temperature=1.0, max_new_tokens=24, stop_token_ids=stop, seed=0),
    )
    num_envs = args.batch_tasks * args.group_size
    seeds = [list(range(r * args.batch_tasks, (r + 1) * args.batch_tasks)) for r in range(args.rounds + 1)]
    rows: list[tuple[str, str]] = []

    def measure(rollout: Any, label: str) -> float:
        rollout.collect(seeds[0])  # first call: envs load their games
        steps, seconds = 0, 0.0
        for r in range(1, args.rounds + 1):
            start = time.perf_counter()
            batch = rollout.collect(seeds[r])
            seconds += time.perf_counter() - start
            steps += len(batch.samples)
        rate = steps / seconds
        rows.append((f"env-steps/s, {label}", f"{rate:.1f} ({steps} steps in {seconds:.2f} s)"))
        return rate

    local = GroupRollout(cfg, HFEngine(model, tok.pad_token_id), tok, num_envs)
    measure(local, "in process (0 workers, 2 threads)")
    local.close()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    for workers in (1, 2):
        pool = RolloutPool(model, tok, num_workers=workers, cluster=ClusterConfig(call_timeout_s=600))
        rollout = RayGroupRollout(pool, "bench", cfg, num_envs)
        measure(rollout, f"{workers} Ray worker(s) (1 thread each)")
        overheads = []
        for r in range(1, args.rounds + 1):
            rollout.collect(seeds[r])
            overheads.append(pool.last_overhead_s)
        rows.append((f"Ray overhead per round, {workers} worker(s)", f"{1000 * statistics.median(overheads):.1f} ms"))
        if workers == 2:
            syncs = []
            for _ in range(5):
                pool.sync_weights(model)
                syncs.append(pool.last_sync_s)
            n_params = sum(p.numel() for p in model.parameters())
            rows.append(
                (f"weight sync, tiny model ({n_params / 1e6:.2f}M params) to 2 workers, object store",
                 f"{1000 * statistics.median(syncs):.1f} ms")
            )  # fmt: skip
        pool.close()
    pool = RolloutPool(model, tok, num_workers=2, cluster=ClusterConfig(call_timeout_s=600), weight_sync="collective")
    pool.sync_weights(model)  # forms the group
    syncs = []
    for _ in range(5):
        pool.sync_weights(model)
        syncs.append(pool.last_sync_s)
    rows.append(("weight sync, tiny model to 2 workers, gloo broadcast", f"{1000 * statistics.median(syncs):.1f} ms"))
    pool.close()

    sink = ray.remote(_Sink).options(num_cpus=0).remote()
    big = {f"w{i}": torch.zeros(16 * 1024 * 1024, dtype=torch.bfloat16) for i in range(8)}  # 256 MiB
    nbytes = sum(t.numel() * t.element_size() for t in big.values())
    ray.get(sink.take.remote(ray.put(big)))  # warm-up
    times = []
    for _ in range(3):
        start = time.perf_counter()
        ray.get(sink.take.remote(ray.put(big)))
        times.append(time.perf_counter() - start)
    bandwidth = nbytes / statistics.median(times)
    rows.append(("object store put + fetch, 256 MiB bf16 state dict", f"{bandwidth / 2**30:.2f} GiB/s"))
    for name, count in PARAMS.items():
        gib = count * 2 / 2**30
        rows.append(
            (f"weight sync {name} (bf16, {gib:.1f} GiB), computed", f"~{gib * 2**30 / bandwidth:.1f} s per sync")
        )
        for link, bus in NCCL_BANDWIDTH.items():
            rows.append(
                (f"weight sync {name}, NCCL broadcast over {link}, computed (assumed {bus / 1e9:g} GB/s)",
                 f"~{count * 2 / bus:.2f} s per sync")
            )  # fmt: skip
    ray.shutdown()

    table = Table(title="Ray runner (2-core CPU, tiny Qwen2, ALFWorld tiny rooms)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
