"""Per-env-family training options: the one hook between the trainer and a family's envs and expert.

The trainer knows no env family. It looks up the family of ``--env`` (``EnvEntry.family``) in
:data:`FAMILY_OPTIONS` and asks the :class:`FamilyOptions` found there for:

- the env kwargs of each split it rolls out (``train`` and the family's :attr:`~FamilyOptions.eval_splits`),
- the kwargs of the warm-up's expert demonstrations,
- the closing tags that end a turn (generation stop tokens), and whether the family's envs make tool
  calls (``info["tool_call"]``: the entropy reward shapers need them, and evaluation then reports
  ``eval/<split>/tool_calls``).

Evaluation splits (metric keys ``eval/<split>/success_rate``; ``eval/success_rate`` pools every split):

=========  ==========================  ==================================================================
family     eval splits                 what they are
=========  ==========================  ==================================================================
alfworld   valid_seen, valid_unseen    ALFWorld's own validation splits (games never used for training).
webshop    test                        The env's ``eval`` split: goals 0..499 (verl-agent's eval goals);
                                       training uses ``train``, goals 500..end.
searchqa   test                        The generated world's held-out questions (10%, same corpus and
                                       retriever); training uses the ``train`` questions.
=========  ==========================  ==================================================================

Evaluation seeds are disjoint from training seeds in every family (the trainer offsets them).

A new family registers its options here (``FAMILY_OPTIONS.register("name", "module:attr")``, lazy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentgym_seal.registry import Registry

if TYPE_CHECKING:
    from .config import TrainConfig


@dataclass(frozen=True)
class FamilyOptions:
    """What the trainer passes to one env family (the defaults suit an env with ``split`` and no more).

    Attributes:
        eval_splits: The splits evaluated, by the names used in metric keys.
        split_names: Metric split name -> the env's ``split`` option, where they differ.
        stop_tags: Closing tags that end a turn (each must be one token of the tokenizer to take effect).
        tool_calls: The family's envs report ``info["tool_call"]``.
    """

    eval_splits: tuple[str, ...] = ("test",)
    split_names: Mapping[str, str] = field(default_factory=dict)
    stop_tags: tuple[str, ...] = ("</action>",)
    tool_calls: bool = False

    def shared_kwargs(self, cfg: TrainConfig) -> dict[str, Any]:
        """Env kwargs common to every split and to the demonstrations (part of the demo cache key)."""
        return {}

    def env_kwargs(self, cfg: TrainConfig, split: str) -> dict[str, Any]:
        """Env kwargs of the rollouts on ``split`` (``train`` or one of :attr:`eval_splits`)."""
        return {**self.shared_kwargs(cfg), "split": self.split_names.get(split, split)}

    def demo_kwargs(self, cfg: TrainConfig) -> dict[str, Any]:
        """Env kwargs of the warm-up's expert episodes (``expert_demonstrations``; train split)."""
        return self.shared_kwargs(cfg)


@dataclass(frozen=True)
class ALFWorldOptions(FamilyOptions):
    """ALFWorld: task types, room size, the train pool size, and the warm-up's own pool and expert."""

    eval_splits: tuple[str, ...] = ("valid_seen", "valid_unseen")

    def shared_kwargs(self, cfg: TrainConfig) -> dict[str, Any]:
        """``--task-types`` and ``--difficulty``."""
        return {"task_types": list(cfg.task_types), "difficulty": cfg.difficulty}

    def env_kwargs(self, cfg: TrainConfig, split: str) -> dict[str, Any]:
        """Train: ``--train-games-per-type`` games per type; validation: the env's default count."""
        games = cfg.train_games_per_type if split == "train" else None
        return {**self.shared_kwargs(cfg), "split": split, "games_per_type": games}

    def demo_kwargs(self, cfg: TrainConfig) -> dict[str, Any]:
        """``--warmup.games-per-type`` games per type, played by ``--warmup.expert``."""
        return {
            "games_per_type": cfg.warmup.games_per_type,
            "expert": cfg.warmup.expert,
            **self.shared_kwargs(cfg),
        }


#: Training options by env family (``EnvEntry.family``), lazy ``"module:attr"`` entries.
FAMILY_OPTIONS: Registry[FamilyOptions] = Registry("env family's training options")
FAMILY_OPTIONS.register("alfworld", "agentgym_seal.backends.env_options:ALFWORLD")
FAMILY_OPTIONS.register("webshop", "agentgym_seal.backends.env_options:WEBSHOP")
FAMILY_OPTIONS.register("searchqa", "agentgym_seal.backends.env_options:SEARCHQA")

ALFWORLD = ALFWorldOptions()
WEBSHOP = FamilyOptions(eval_splits=("test",), split_names={"test": "eval"})
SEARCHQA = FamilyOptions(eval_splits=("test",), stop_tags=("</search>", "</answer>"), tool_calls=True)
