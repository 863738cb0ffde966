"""ALFWorld's training knowledge: turn limits, λ, prompts, eval splits, the train pool and the warm-up's games."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentgym_seal.family import FamilySpec


@dataclass(frozen=True)
class ALFWorldFamily(FamilySpec):
    """ALFWorld: task types, room size, the train pool of generated games, and the warm-up's own pool and expert.

    Eval splits are ALFWorld's own ``valid_seen`` and ``valid_unseen`` (games never used for training).
    """

    def shared_kwargs(self, cfg: Any) -> dict[str, Any]:
        """``--task-types`` and ``--difficulty``."""
        return {"task_types": list(cfg.task_types), "difficulty": cfg.difficulty}

    def env_kwargs(self, cfg: Any, split: str) -> dict[str, Any]:
        """Train: ``--train-games-per-type`` games per type from ``--train-first-game``; validation: the env's own."""
        if split != "train":
            return {**self.shared_kwargs(cfg), "split": split, "games_per_type": None}
        return {
            **self.shared_kwargs(cfg), "split": split, "games_per_type": cfg.train_games_per_type,
            "first_game": cfg.train_first_game,
        }  # fmt: skip

    def demo_kwargs(self, cfg: Any) -> dict[str, Any]:
        """``--warmup.games-per-type`` games per type, played by ``--warmup.expert``."""
        return {"games_per_type": cfg.warmup.games_per_type, "expert": cfg.warmup.expert, **self.shared_kwargs(cfg)}


FAMILY = ALFWorldFamily(
    name="alfworld",
    prompts="agentgym_seal.environments.alfworld.prompts:ALFWORLD_PROMPTS",
    max_turns=50,  # verl-agent's ALFWorld max_steps
    train_max_turns=10,  # the CPU default's (the paper's runs use 50: --max-turns or --preset paper-alfworld)
    invalid_penalty=0.1,  # verl-agent's invalid_action_penalty_coef
    penalise_inadmissible=True,  # "Nothing happens." loops are the tiny policy's failure
    eval_splits=("valid_seen", "valid_unseen"),
    game_pool=True,
)

ENV_ENTRIES = (
    FAMILY.env("ALFWorldText-v0", "agentgym_seal.environments.alfworld.env:ALFWorldTextEnv", extra="alfworld"),
)
