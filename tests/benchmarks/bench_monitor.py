"""Monitor benchmarks: chunked entropy vs naive, interference routes vs autograd, monitor overhead per RL step.

Prints tables. Run: ``.venv/bin/python tests/benchmarks/bench_monitor.py [entropy|routes|overhead] [--quick]``.

- entropy: ``entropy_from_logits`` (default chunking, float32 per chunk) against the one-shot formula on bf16
  (tokens, V) logits from 1 x 32k to 4096 x 152k. Peak memory is the resident-set high-water mark of a fresh
  child process above what the input already takes (Linux ``/proc/self/status`` VmHWM, reset through ``clear_refs``).
- routes: the lm_head Gram matrix by the kernel route, the blockwise route, c by the mean-gradient route, and
  per-trajectory autograd (materialises G gradients of V×d), with FLOPs from the cost model, measured time and
  peak memory (child process each), the max relative difference to autograd and the route the cost model
  picks; then the crossover N predicted by the model against the measured one.
- overhead: RL steps of the tiny model with the monitor (interference off) against the same steps without it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch

from agentgym_seal.monitor import (
    entropy_from_logits,
    interference_c,
    lm_head_blockwise_interference,
    lm_head_interference,
    lm_head_mean_gradient_c,
    lm_head_route_costs,
    pick_route,
)


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)


def _child(job: Callable[[], dict[str, Any]], queue: Any) -> None:
    torch.set_num_threads(2)
    queue.put(job())


def in_child(job: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Runs ``job`` in a fresh process (a clean memory high-water mark) and returns its dict."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(job, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return dict(result)


def _measure(setup: Callable[[], Any], fn: Callable[[Any], Any]) -> dict[str, Any]:
    data = setup()
    _reset_peak()
    base = _rss_kib("VmRSS")
    t0 = time.perf_counter()
    out = fn(data)
    seconds = time.perf_counter() - t0
    peak = _rss_kib("VmHWM") - base
    return {"seconds": seconds, "peak_mib": peak / 1024, "out": out}


# -- entropy -------------------------------------------------------------------------------------------
def naive_entropy(logits: torch.Tensor) -> torch.Tensor:
    z = logits.float()  # (N, V) the whole tensor upcast at once
    p = torch.softmax(z, dim=-1)
    return torch.logsumexp(z, dim=-1) - (p * z).sum(dim=-1)


def bench_entropy(shapes: list[tuple[int, int]]) -> None:
    """Peak memory above the input and time of the naive formula vs the library's default chunking, per shape."""
    print("\n## Entropy, bf16 logits (tokens x V); peak memory above the input, MiB")
    print(
        "| tokens x V | input MiB | naive s | naive MiB | chunked s | chunked MiB | chunked/naive memory | max diff |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for tokens, vocab in shapes:

        def setup(tokens: int = tokens, vocab: int = vocab) -> torch.Tensor:
            return torch.randn(tokens, vocab, generator=torch.Generator().manual_seed(0)).to(torch.bfloat16) * 3

        def job(
            fn: Callable[[torch.Tensor], torch.Tensor], setup: Callable[[], torch.Tensor] = setup
        ) -> dict[str, Any]:
            fn(torch.zeros(2, 8))  # first calls allocate kernels' workspaces: keep them out of the peak
            return _measure(setup, lambda x: fn(x)[:8].tolist())

        rows = {
            name: in_child(partial(job, fn))
            for name, fn in (("naive", naive_entropy), ("chunked", entropy_from_logits))
        }
        naive, chunked = rows["naive"], rows["chunked"]
        diff = max(abs(a - b) for a, b in zip(naive["out"], chunked["out"], strict=True))
        ratio = chunked["peak_mib"] / max(naive["peak_mib"], 1e-9)
        size = f"{tokens} x {vocab} | {tokens * vocab * 2 / 2**20:.1f}"
        print(
            f"| {size} | {naive['seconds']:.3f} | {naive['peak_mib']:.1f} | {chunked['seconds']:.3f} "
            f"| {chunked['peak_mib']:.1f} | {ratio:.3f} | {diff:.1e} |"
        )


# -- interference routes -------------------------------------------------------------------------------
def _case(n: int, vocab: int, d: int, g: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    hidden = torch.randn(n, d, generator=gen)
    weight = torch.randn(vocab, d, generator=gen) / d**0.5 * 4  # peaked-ish softmax, like a trained head
    tokens = torch.randint(0, vocab, (n,), generator=gen)
    traj = torch.arange(n) * g // n  # G contiguous trajectories of N/G tokens
    return hidden, tokens, weight, traj


def autograd_gram(hidden: torch.Tensor, tokens: torch.Tensor, weight: torch.Tensor, traj: torch.Tensor, g: int) -> Any:
    w = weight.clone().requires_grad_(True)
    stacked = torch.empty(g, w.numel())  # (G, V·d) the materialised per-trajectory gradients
    for i in range(g):
        rows = traj == i
        loglik = torch.log_softmax(hidden[rows] @ w.T, dim=-1).gather(-1, tokens[rows][:, None]).sum()
        (grad,) = torch.autograd.grad(loglik, [w])
        stacked[i] = grad.reshape(-1)
    return stacked @ stacked.T


def _float64_kernel(h: torch.Tensor, y: torch.Tensor, w: torch.Tensor, t: torch.Tensor, g: int) -> Any:
    """The reference: the kernel route in float64 (equal to float64 autograd to 1e-10, tests/unit/monitor)."""
    return lm_head_interference(h.double(), y, w.double(), t, g)


ROUTES: dict[str, Callable[..., Any]] = {
    "kernel": lambda h, y, w, t, g: lm_head_interference(h, y, w, t, g),
    "blockwise": lambda h, y, w, t, g: lm_head_blockwise_interference(h, y, w, t, g),
    "mean_gradient": lambda h, y, w, t, g: lm_head_mean_gradient_c(h, y, w, t, g),
    "autograd": autograd_gram,
}


def _route_job(fn: Callable[..., Any], n: int, vocab: int, d: int, g: int) -> Callable[[], dict[str, Any]]:
    return lambda: _measure(lambda: _case(n, vocab, d, g), lambda c: fn(*c, g).tolist())


def bench_routes(shapes: list[tuple[int, int, int]], g: int) -> None:
    print(f"\n## lm_head interference routes, G={g}, float32 (time s / peak MiB above inputs / GFLOP)")
    print("| V | d | N | picked | kernel | blockwise | mean-grad (c) | autograd | rel. err: ours / autograd |")
    print("|---|---|---|---|---|---|---|---|---|")
    measured_best: dict[tuple[int, int], list[tuple[int, str, str]]] = {}
    for vocab, d, n in shapes:
        costs = lm_head_route_costs(n, vocab, d, g)
        results = {name: in_child(_route_job(fn, n, vocab, d, g)) for name, fn in ROUTES.items()}
        ref = torch.tensor(in_child(_route_job(_float64_kernel, n, vocab, d, g))["out"], dtype=torch.float64)
        diffs = {
            k: float((torch.tensor(results[k]["out"], dtype=torch.float64) - ref).norm() / ref.norm())
            for k in ("kernel", "blockwise", "autograd")
        }
        c_ref = interference_c(ref)
        c_got = torch.tensor(results["mean_gradient"]["out"], dtype=torch.float64)
        diffs["mean_gradient"] = float((c_got - c_ref).norm() / c_ref.norm())
        cells = [
            f"{results[k]['seconds']:.2f} / {results[k]['peak_mib']:.0f} / {costs[k].flops / 1e9:.1f}" for k in ROUTES
        ]
        picked = pick_route(costs)
        faster = min(("kernel", "blockwise"), key=lambda k: results[k]["seconds"])
        measured_best.setdefault((vocab, d), []).append((n, picked, faster))
        ours = max(diffs[k] for k in ("kernel", "blockwise", "mean_gradient"))
        print(f"| {vocab} | {d} | {n} | {picked} | " + " | ".join(cells) + f" | {ours:.1e} / {diffs['autograd']:.1e} |")
    print("\nCrossover kernel -> blockwise (cost model vs measured fastest Gram route):")
    for (vocab, d), rows in measured_best.items():
        predicted = next(
            (n for n in range(16, 65_536, 16) if pick_route(lm_head_route_costs(n, vocab, d, g)) != "kernel"), None
        )
        agree = sum(p == f for _, p, f in rows)
        listing = ", ".join(f"N={n}: {f}" for n, _, f in rows)
        print(f"- V={vocab}, d={d}: predicted crossover N≈{predicted}; measured fastest {listing}; "
              f"model agrees on {agree}/{len(rows)}")  # fmt: skip


# -- overhead ------------------------------------------------------------------------------------------
def bench_overhead(steps: int, run_root: Path) -> None:
    from agentgym_seal.backends.config import TrainConfig, WarmupConfig
    from agentgym_seal.backends.trainer import Trainer

    base = dict(
        warmup=WarmupConfig(episodes=32, epochs=3), tiny_copy_sequences=0, batch_tasks=4, group_size=4, max_turns=6,
        eval_episodes=2, progress=False, monitor_interference_every=0, monitor_projection_every=0,
    )  # fmt: skip
    times: dict[bool, list[dict[str, float]]] = {}
    for monitor in (False, True):
        trainer = Trainer(TrainConfig(**base, monitor=monitor, run_dir=str(run_root / f"monitor-{monitor}")))
        trainer.warmup.run(trainer.model, trainer.tokenizer)
        rollout = trainer._rollout("train", 16, 4)
        try:
            rows = []
            for step in range(1, steps + 1):
                rows.append(trainer.train_step(rollout, step))
            times[monitor] = rows
        finally:
            rollout.close()

    def mean(rows: list[dict[str, float]], key: str) -> float:
        return sum(r.get(key, 0.0) for r in rows) / len(rows)

    print(f"\n## Monitor overhead, tiny model, B=4 x G=4, {steps} RL steps each (interference off)")
    print("| monitor | step s (rollout + update) | update s | monitor s (own timer) | post-update s | repr s |")
    print("|---|---|---|---|---|---|")
    for flag, rows in times.items():
        total = mean(rows, "timing/rollout_s") + mean(rows, "timing/update_s")
        print(f"| {'on' if flag else 'off'} | {total:.2f} | {mean(rows, 'timing/update_s'):.2f} | "
              f"{mean(rows, 'timing/monitor_s'):.3f} | {mean(rows, 'timing/monitor_post_update_s'):.3f} | "
              f"{mean(rows, 'timing/monitor_repr_s'):.3f} |")  # fmt: skip
    on = times[True]
    own = mean(on, "timing/monitor_s") / (mean(on, "timing/rollout_s") + mean(on, "timing/update_s"))
    print(f"monitor's own time / step time: {own * 100:.1f}% (same steps, one run; the on/off wall difference "
          "above also holds rollout noise)")  # fmt: skip
    print("samples per step (on): " + ", ".join(f"{r['train/step_samples']:.0f}" for r in on))
    print(json.dumps({"own_fraction": own}))


def main(argv: list[str]) -> None:
    """Runs the benchmarks named on the command line (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("which", nargs="*", default=["entropy", "routes", "overhead"])
    parser.add_argument("--quick", action="store_true", help="smaller shapes (a minute on 2 cores)")
    parser.add_argument("--tokens", type=int, default=4096)
    parser.add_argument("--vocab", type=int, default=152_064)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--run-root", default="runs/bench-monitor")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    if "entropy" in args.which:
        sizes = [(1, 32_000), (16, 32_000), (256, 32_000), (1024, 32_000), (4096, 32_000), (64, args.vocab)]
        sizes += [] if args.quick else [(1024, args.vocab), (args.tokens, args.vocab)]
        bench_entropy(sizes)
    if "routes" in args.which:
        g = 8
        shapes = [(4096, 256, n) for n in (128, 256, 512, 1024, 2048)]
        if not args.quick:
            shapes += [(32_768, 512, n) for n in (128, 512, 1024, 2048)]
            shapes += [(152_064, 1536, n) for n in (128, 512)]
        bench_routes(shapes, g)
    if "overhead" in args.which:
        bench_overhead(2 if args.quick else args.steps, Path(args.run_root))


if __name__ == "__main__":
    main(sys.argv[1:])
