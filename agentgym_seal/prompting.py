"""Prompt templates and the history-window prompt builder (SPEC 7.1-7.2).

A :class:`PromptTemplate` is plain text owned by an env family (``environments/<family>/prompts.py``, named by
its :class:`~agentgym_seal.family.FamilySpec`: ``family_of(env_id).prompt_template``);
:func:`build_prompt` fills it from the task, the last K (observation, action) pairs, the current
observation and the admissible actions. Torch-free, so envs and tests can use it cheaply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PromptTemplate:
    """The text of one env family's prompts.

    Attributes:
        first_step: Template of the first step (no history). Fields: ``observation``,
            ``admissible_actions``, ``answer_format``, ``task``.
        later_step: Template of later steps. Adds ``step`` (steps taken), ``next_step``,
            ``history_length`` (pairs shown) and ``history``.
        answer_format: The instruction on how to answer (tags).
        history_entry: Template of one history pair (``index``, ``observation``, ``action``).
        admissible_entry: Template of one admissible action (``action``).
        admissible_separator: Joins the admissible entries.
        max_history_chars: If the history text is longer, fall back to the first-step template.
        expert_response: The answer an expert gives (SFT target), with ``{action}``.
    """

    first_step: str
    later_step: str
    answer_format: str
    history_entry: str
    admissible_entry: str
    admissible_separator: str = ", "
    max_history_chars: int = 13_000
    expert_response: str = "<think></think><action>{action}</action>"


def build_prompt(
    template: PromptTemplate,
    *,
    task: str,
    observation: str,
    admissible_actions: Sequence[str],
    history: Sequence[tuple[str, str]] = (),
    history_length: int = 2,
    step: int | None = None,
) -> str:
    """Fills ``template`` for one step.

    Args:
        template: The env family's templates.
        task: The task sentence.
        observation: The current raw observation.
        admissible_actions: Commands the env accepts now.
        history: All previous (observation, action) pairs of the episode, oldest first.
        history_length: How many of the most recent pairs to show (K, SPEC 7.2).
        step: Steps taken so far; defaults to ``len(history)``.

    Returns:
        The user message of the step.
    """
    steps_taken = len(history) if step is None else step
    admissible = template.admissible_separator.join(
        template.admissible_entry.format(action=a) for a in admissible_actions
    )
    shown = list(history)[-history_length:] if history_length > 0 else []
    first_index = steps_taken - len(shown) + 1
    history_text = "\n".join(
        template.history_entry.format(index=first_index + i, observation=obs, action=act)
        for i, (obs, act) in enumerate(shown)
    )
    fields = {
        "task": task,
        "observation": observation,
        "admissible_actions": admissible,
        "answer_format": template.answer_format,
    }
    if not shown or len(history_text) > template.max_history_chars:
        return template.first_step.format(**fields)
    return template.later_step.format(
        **fields, step=steps_taken, next_step=steps_taken + 1, history_length=len(shown), history=history_text
    )
