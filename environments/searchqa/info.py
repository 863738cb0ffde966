"""The ``info`` of ``SearchQA-v0``: :class:`~agentgym_seal.step_info.StepInfo` and the search/answer keys."""

from __future__ import annotations

from agentgym_seal.step_info import StepInfo


class SearchQAInfo(StepInfo):
    """What ``SearchQA-v0`` reports after ``reset`` and each ``step``."""

    tool_call: bool  # type: ignore[misc]  # required here: every SearchQA step says whether it searched
    """The step ran a search."""
    em: float
    """Exact match of the answer with a gold alias (0 before an answer)."""
    f1: float
    """Token F1 of the answer with the best gold alias (0 before an answer)."""
    answer: str | None
    """The answer given, or ``None`` before one."""
    retrieved_ids: list[str]
    """Passage ids this step's search returned."""
    episode_retrieved_ids: list[str]
    """Passage ids every search of the episode returned, in order."""
    num_searches: int
    """Searches run so far in the episode."""
    error: str | None
    """What was wrong with the message, or ``None``."""
    question_id: str
    """The question's id."""
    supporting_ids: list[str]
    """Ids of the passages that support the gold answer."""
