"""Per-env-family training options: the one hook between the trainer and a family's envs and expert.

The trainer knows no env family. It looks up the family of ``--env`` (``EnvEntry.family``) in
:data:`FAMILY_OPTIONS` and asks the :class:`FamilyOptions` found there for:

- the env kwargs of each split it rolls out (``train`` and the family's :attr:`~FamilyOptions.eval_splits`;
  SearchQA's include the trainer's default world, :class:`SearchQAOptions`),
- the kwargs of the warm-up's expert demonstrations (both with the user's ``--env-options`` on top:
  :meth:`~FamilyOptions.rollout_kwargs`, :meth:`~FamilyOptions.warmup_kwargs`),
- the defaults of the turn limit, the RL step count and the inadmissible-action penalty (``--max-turns``,
  ``--steps``, ``--penalise-inadmissible`` unset),
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

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gymnasium

from agentgym_seal.errors import ConfigError
from agentgym_seal.registration import ENVS
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
        max_turns: The turn limit of an episode when ``--max-turns`` is not given.
        steps: RL steps when ``--steps`` is not given.
        penalise_inadmissible: Whether the learner penalises well-formed actions the env cannot execute when
            ``--penalise-inadmissible`` is not given.
    """

    eval_splits: tuple[str, ...] = ("test",)
    split_names: Mapping[str, str] = field(default_factory=dict)
    stop_tags: tuple[str, ...] = ("</action>",)
    tool_calls: bool = False
    max_turns: int = 10
    steps: int = 12  # what the ALFWorld CPU default's 15-minute budget leaves RL
    penalise_inadmissible: bool = False  # the reference's rule: format errors only

    def shared_kwargs(self, cfg: TrainConfig) -> dict[str, Any]:
        """Env kwargs common to every split and to the demonstrations (part of the demo cache key)."""
        return {}

    def env_kwargs(self, cfg: TrainConfig, split: str) -> dict[str, Any]:
        """Env kwargs of the rollouts on ``split`` (``train`` or one of :attr:`eval_splits`)."""
        return {**self.shared_kwargs(cfg), "split": self.split_names.get(split, split)}

    def demo_kwargs(self, cfg: TrainConfig) -> dict[str, Any]:
        """Env kwargs of the warm-up's expert episodes (``expert_demonstrations``; train split)."""
        return self.shared_kwargs(cfg)

    def rollout_kwargs(self, cfg: TrainConfig, split: str) -> dict[str, Any]:
        """What the trainers pass to the envs of ``split``: :meth:`env_kwargs`, then ``--env-options`` on top."""
        return {**self.env_kwargs(cfg, split), **cfg.extra_env_kwargs}

    def warmup_kwargs(self, cfg: TrainConfig) -> dict[str, Any]:
        """What the warm-up passes to its expert's env: :meth:`demo_kwargs`, then ``--env-options`` on top."""
        return {**self.demo_kwargs(cfg), **cfg.extra_env_kwargs}


@dataclass(frozen=True)
class ALFWorldOptions(FamilyOptions):
    """ALFWorld: task types, room size, the train pool size, and the warm-up's own pool and expert."""

    eval_splits: tuple[str, ...] = ("valid_seen", "valid_unseen")
    max_turns: int = 10  # the CPU default's (the SEAL paper's ALFWorld runs use 25-50: --max-turns)
    penalise_inadmissible: bool = True  # "Nothing happens." loops are the tiny policy's failure (README)

    def shared_kwargs(self, cfg: TrainConfig) -> dict[str, Any]:
        """``--task-types`` and ``--difficulty``."""
        return {"task_types": list(cfg.task_types), "difficulty": cfg.difficulty}

    def env_kwargs(self, cfg: TrainConfig, split: str) -> dict[str, Any]:
        """Train: ``--train-games-per-type`` games per type from ``--train-first-game``; validation: the env's own."""
        if split != "train":
            return {**self.shared_kwargs(cfg), "split": split, "games_per_type": None}
        return {
            **self.shared_kwargs(cfg), "split": split, "games_per_type": cfg.train_games_per_type,
            "first_game": cfg.train_first_game,
        }  # fmt: skip

    def demo_kwargs(self, cfg: TrainConfig) -> dict[str, Any]:
        """``--warmup.games-per-type`` games per type, played by ``--warmup.expert``."""
        return {
            "games_per_type": cfg.warmup.games_per_type,
            "expert": cfg.warmup.expert,
            **self.shared_kwargs(cfg),
        }


@dataclass(frozen=True)
class SearchQAOptions(FamilyOptions):
    """SearchQA: the trainer's default generated world, where a policy trained from scratch has something to learn.

    The env's own default (2,000 passages, every question type, an oracle that always searches) leaves the tiny
    CPU policy at 0-5% EM, searching in every episode: nothing for the tool-use rewards to select (README,
    "SearchQA-v0"). The trainer therefore asks by default for a 20,000-passage world, comparison questions only
    (answers are yes/no or one of the two names in the question) and demonstrations in which the oracle answers
    closed-book in 30% of the episodes, so the warmed-up policy sometimes answers without searching.
    ``--env-options`` overrides each key. A QA file (``qa_path``) ignores the question types, a real corpus
    (``corpus_path`` / ``index_dir``) the world's size; the closed-book rate only shapes the oracle's demonstrations.
    """

    stop_tags: tuple[str, ...] = ("</search>", "</answer>")
    tool_calls: bool = True
    max_turns: int = 4
    steps: int = 24  # ~8 min on the 2-core CPU; the sparse entropy reward needs more than 12 steps (README)
    world: Mapping[str, Any] = field(
        default_factory=lambda: {
            "num_passages": 20_000,
            "question_types": ["comparison"],
            "expert_direct_answer": 0.3,
        }
    )

    def shared_kwargs(self, cfg: TrainConfig) -> dict[str, Any]:
        """The default world (:attr:`world`); the same for every split and the demonstrations (demo cache key)."""
        return copy.deepcopy(dict(self.world))  # callers may edit what they get (the lists too)


#: Training options by env family (``EnvEntry.family``), lazy ``"module:attr"`` entries.
FAMILY_OPTIONS: Registry[FamilyOptions] = Registry("env family's training options")
FAMILY_OPTIONS.register("alfworld", "agentgym_seal.backends.env_options:ALFWORLD")
FAMILY_OPTIONS.register("webshop", "agentgym_seal.backends.env_options:WEBSHOP")
FAMILY_OPTIONS.register("searchqa", "agentgym_seal.backends.env_options:SEARCHQA")

ALFWORLD = ALFWorldOptions()
WEBSHOP = FamilyOptions(eval_splits=("test",), split_names={"test": "eval"}, max_turns=15)  # verl-agent's max steps
SEARCHQA = SearchQAOptions()


def check_env_options(cfg: TrainConfig) -> None:
    """Fails at start on ``--env-options`` the env does not take, with the env's own check of its options.

    Builds (and closes) one train-split env with the options on top of the family's kwargs, so a key the
    env does not accept, or a value it rejects, is reported before any model or worker starts. Without
    ``--env-options`` it does nothing.

    Raises:
        ConfigError: The env rejects an option; the message names the option and the env id.
    """
    if not cfg.extra_env_kwargs:
        return
    family = FAMILY_OPTIONS.get(ENVS.get(cfg.env).family)
    try:
        gymnasium.make(cfg.env, **family.rollout_kwargs(cfg, "train")).close()
    except ConfigError as exc:
        raise ConfigError(f"--env-options {' '.join(cfg.env_options)}: {exc}") from exc
