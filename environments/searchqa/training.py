"""SearchQA's training knowledge: turn limit, λ = 0.01, prompts, tool calls, and the trainer's default world."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentgym_seal.family import FamilySpec


@dataclass(frozen=True)
class SearchQAFamily(FamilySpec):
    """SearchQA: the trainer's default generated world, where a policy trained from scratch has something to learn.

    The env's own default (2,000 passages, every question type, an oracle that always searches) leaves the tiny
    CPU policy at 0-5% EM, searching in every episode: nothing for the tool-use rewards to select. The trainer
    therefore asks by default for a 20,000-passage world, comparison questions only (answers are yes/no or one of
    the two names in the question) and demonstrations in which the oracle answers closed-book in 30% of the
    episodes, so the warmed-up policy sometimes answers without searching. ``--env-options`` overrides each key.
    A QA file (``qa_path``) ignores the question types, a real corpus (``corpus_path`` / ``index_dir``) the
    world's size; the closed-book rate only shapes the oracle's demonstrations. The eval split ``test`` is the
    world's held-out questions (10%, same corpus and retriever).
    """

    world: Mapping[str, Any] = field(
        default_factory=lambda: {
            "num_passages": 20_000,
            "question_types": ["comparison"],
            "expert_direct_answer": 0.3,
        }
    )

    def shared_kwargs(self, cfg: Any) -> dict[str, Any]:
        """The default world (:attr:`world`); the same for every split and the demonstrations (demo cache key)."""
        return copy.deepcopy(dict(self.world))  # callers may edit what they get (the lists too)


FAMILY = SearchQAFamily(
    name="searchqa",
    prompts="agentgym_seal.environments.searchqa.prompts:SEARCHQA_PROMPTS",
    max_turns=4,  # search, read, answer: a multi-hop question needs two searches
    invalid_penalty=0.01,  # verl-agent's search scripts
    steps=24,  # ~8 min on the 2-core CPU; the sparse entropy reward needs more than 12 steps
    stop_tags=("</search>", "</answer>"),
    tool_calls=True,
)

ENV_ENTRIES = (FAMILY.env("SearchQA-v0", "agentgym_seal.environments.searchqa.env:SearchQAEnv", extra="searchqa"),)
