"""WebShop: a generated (or real) shopping site with search, in text mode and in a real browser.

``from agentgym_seal.environments.webshop import task_score`` gives WebShop's task score (SPEC 7.5)
with the original data's field names; ``gymnasium.make("WebShopText-v0")`` the text env and
``gymnasium.make("WebShopHTML-v0")`` the browser env (needs Chromium and the ``webshop`` extra).
"""

from typing import TYPE_CHECKING

from agentgym_seal.lazy import lazy_exports

if TYPE_CHECKING:
    from .catalog import Catalog, generate_catalog
    from .engine import Location, Page, Shop
    from .env import WebShopConfig, WebShopTextEnv
    from .goals import SPLITS, human_goals, synthetic_goals
    from .loader import load_catalog, load_human_instructions
    from .reward import score_breakdown, task_score

__getattr__ = lazy_exports(
    __name__,
    {
        "Catalog": ".catalog",
        "generate_catalog": ".catalog",
        "Location": ".engine",
        "Page": ".engine",
        "Shop": ".engine",
        "WebShopConfig": ".env",
        "WebShopTextEnv": ".env",
        "SPLITS": ".goals",
        "human_goals": ".goals",
        "synthetic_goals": ".goals",
        "load_catalog": ".loader",
        "load_human_instructions": ".loader",
        "score_breakdown": ".reward",
        "task_score": ".reward",
    },
)

__all__ = [
    "SPLITS",
    "Catalog",
    "Location",
    "Page",
    "Shop",
    "WebShopConfig",
    "WebShopTextEnv",
    "generate_catalog",
    "human_goals",
    "load_catalog",
    "load_human_instructions",
    "score_breakdown",
    "synthetic_goals",
    "task_score",
]
