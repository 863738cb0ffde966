"""Data-parallel SFT warm-up on one machine's CPU cores (``SFTConfig.processes > 1``).

A ~1M-parameter model's step is many small kernels that one process cannot spread over several threads
(2-core CI machine: one process with two threads trains the tiny default at 1.65 steps/s, two one-thread
processes at 1.8-1.9; more cores, more to gain). So the warm-up runs as ``processes`` ranks: this process is
rank 0 and trains ``model`` in place; helper processes (``python -m agentgym_seal.models.sft_parallel``, so
the caller's script is never re-imported) load a copy from a temporary file. Every rank walks the same
batches and takes its share (:func:`.sft_loop.sft_loop`); gloo sums the gradients, so all ranks take the same
optimizer steps.
"""

from __future__ import annotations

import datetime
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agentgym_seal.deps import require
from agentgym_seal.errors import AgentGymError

from .sft_loop import SFTConfig, SFTResult, sft_loop

#: How long a rank waits for the others (start-up, or one step) before giving up with an error.
_TIMEOUT = datetime.timedelta(seconds=180)


def data_parallel_sft(
    model: Any,
    pairs: Sequence[tuple[Sequence[int], Sequence[int]]],
    pad_id: int,
    cfg: SFTConfig,
    on_step: Callable[[int, int, float], None] | None = None,
) -> SFTResult:
    """Runs :func:`.sft_loop.sft_loop` on ``cfg.processes`` CPU processes; ``model`` (rank 0) ends trained.

    This process's threads are shared out (at least one per rank) and restored afterwards. Falls back to one
    process when a default ``torch.distributed`` group already exists (a learner group owns it) or when
    ``model`` is not a plain transformers model that ``from_config`` rebuilds (a LoRA wrapper).

    Raises:
        AgentGymError: A helper process failed, or a rank waited more than 3 minutes for the others.
    """
    torch = require("torch", "train")
    transformers = require("transformers", "train")
    dist = torch.distributed
    if dist.is_initialized() or not isinstance(model, transformers.PreTrainedModel):  # a group exists; or LoRA
        return sft_loop(torch, model, pairs, pad_id, cfg, on_step=on_step)
    world = cfg.processes
    threads = torch.get_num_threads()
    per_rank = max(1, threads // world)
    with tempfile.TemporaryDirectory(prefix="agentgym-sft-") as tmp:
        init = (Path(tmp) / "rendezvous").as_uri()
        job = Path(tmp) / "job.pt"
        state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
        torch.save(
            {"config": model.config, "state": state, "pairs": [(list(p), list(r)) for p, r in pairs],
             "pad_id": pad_id, "cfg": cfg, "init": init, "world": world, "threads": per_rank},
            job,
        )  # fmt: skip
        logs = [Path(tmp) / f"rank{rank}.log" for rank in range(1, world)]  # a file: a full pipe would block
        helpers = []
        for rank, log in enumerate(logs, start=1):
            with log.open("w") as stderr:
                helpers.append(
                    subprocess.Popen([sys.executable, "-m", __name__, str(job), str(rank)], stdout=subprocess.DEVNULL,
                                     stderr=stderr)
                )  # fmt: skip
        torch.set_num_threads(per_rank)
        try:
            dist.init_process_group("gloo", init_method=init, rank=0, world_size=world, timeout=_TIMEOUT)
            try:
                result = sft_loop(torch, model, pairs, pad_id, cfg, rank=0, world=world, on_step=on_step)
            finally:
                dist.destroy_process_group()
        except (RuntimeError, ValueError) as error:  # a helper died: gloo reports a closed peer or a time-out
            for helper in helpers:
                helper.kill()
                helper.wait()
            raise AgentGymError(
                f"data-parallel warm-up failed ({error}); helper said: {_last_lines(logs)} "
                "Fix: rerun with --warmup.processes 1."
            ) from error
        finally:
            torch.set_num_threads(threads)
        for helper in helpers:
            try:
                helper.wait(timeout=60)
            except subprocess.TimeoutExpired:
                helper.kill()
        if any(helper.returncode != 0 for helper in helpers):
            raise AgentGymError(f"data-parallel warm-up: a helper process failed: {_last_lines(logs)}")
    return result


def _last_lines(logs: list[Path]) -> str:
    """The last line each helper wrote to its stderr file."""
    lines = []
    for log in logs:
        text = log.read_text(errors="replace").strip() if log.is_file() else ""
        lines.append(text.splitlines()[-1] if text else "(nothing)")
    return "; ".join(lines)


def _helper_rank(job_file: str, rank: int) -> None:
    """Rank ``rank`` >= 1: a copy of the model that takes its share of every batch."""
    torch = require("torch", "train")
    transformers = require("transformers", "train")
    transformers.utils.logging.set_verbosity_error()
    try:
        job = torch.load(job_file, weights_only=False)  # our own file, written by rank 0 a moment ago
    except (OSError, EOFError, pickle.UnpicklingError, RuntimeError) as error:
        raise SystemExit(f"cannot read the warm-up job {job_file}: {error}") from error
    torch.set_num_threads(job["threads"])
    state = job["state"]
    model = transformers.AutoModelForCausalLM.from_config(job["config"]).to(next(iter(state.values())).dtype)
    model.load_state_dict(state)
    torch.distributed.init_process_group(
        "gloo", init_method=job["init"], rank=rank, world_size=job["world"], timeout=_TIMEOUT
    )
    try:
        sft_loop(torch, model, job["pairs"], job["pad_id"], job["cfg"], rank=rank, world=job["world"])
    finally:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    _helper_rank(sys.argv[1], int(sys.argv[2]))
