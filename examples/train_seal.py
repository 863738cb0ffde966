"""Train an LLM agent with GRPO or GiGPO plus the SEAL loss.

With no argument this runs end to end on a CPU on the embedded defaults: generated ALFWorld games, a tiny
Qwen2 built locally and warmed up on expert demonstrations, then RL. Examples::

    python examples/train_seal.py --backend grpo
    python examples/train_seal.py --backend gigpo --seal-alpha 0 --steps 20 --run-dir runs/gigpo-noseal
    python examples/train_seal.py --resume runs/grpo-seal0.02-seed0
    python examples/train_seal.py --preset paper-alfworld --model /path/to/Qwen2.5-1.5B-Instruct
"""

from __future__ import annotations

import sys

from agentgym_seal.arguments import usage_error
from agentgym_seal.backends.config import parse_train_args
from agentgym_seal.backends.trainer import train
from agentgym_seal.errors import AgentGymError


def main(argv: list[str] | None = None) -> int:
    try:
        cfg = parse_train_args(sys.argv[1:] if argv is None else argv, description=__doc__)
        run_dir = train(cfg)
    except AgentGymError as exc:  # bad input or a run folder that cannot resume: one line, exit code 2
        return usage_error(exc)
    print(f"run folder: {run_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
