"""The ``info`` of ``WebShopText-v0`` and ``WebShopHTML-v0``: :class:`~agentgym_seal.step_info.StepInfo` and more."""

from __future__ import annotations

from typing import Any

from agentgym_seal.step_info import StepInfo


class WebShopInfo(StepInfo):
    """What the WebShop envs report after ``reset`` and each ``step``."""

    available_actions: dict[str, Any]
    """WebShop's own ``get_available_actions()``: ``has_search_bar`` and the page's ``clickables``."""
    task_score: float
    """The SPEC 7.5 score of the bought item in [0, 1] (0 before a purchase)."""
    goal_index: int
    """The goal's index in the env's goal list."""
    url: str
    """The page the agent is on (the site's URL scheme)."""
    hallucination_fabricated: bool
    """The message lists product facts (``- color: navy``, ...) of which one is not on the page or in the actions
    taken so far."""
    hallucination_contradiction: bool
    """The message says something does not match or cannot be verified and goes ahead anyway, or says "only
    result" on a page with several."""
    click_not_on_page: bool
    """The click named something that is not a clickable of the page (not part of ``hallucination``)."""
