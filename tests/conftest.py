"""Shared fixtures: every test session generates ALFWorld games into its own cache folder."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def isolated_game_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Points AGENTGYM_SEAL_CACHE at a fresh folder so tests never read a user's cache."""
    old = os.environ.get("AGENTGYM_SEAL_CACHE")
    os.environ["AGENTGYM_SEAL_CACHE"] = str(tmp_path_factory.mktemp("agentgym_cache"))
    yield
    if old is None:
        os.environ.pop("AGENTGYM_SEAL_CACHE", None)
    else:
        os.environ["AGENTGYM_SEAL_CACHE"] = old
