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


TINY_CORPUS = [
    "You arrive at countertop 1. On the countertop 1, you see a apple 1, and a mug 2.",
    "<think>the apple is here</think><action>take apple 1 from countertop 1</action>",
    "Your task is to: put a clean mug in coffeemachine. Admissible actions: ['go to cabinet 1', 'look'].",
] * 30


@pytest.fixture(scope="session")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, object]:
    """A randomly initialised tiny Qwen2 and its tokenizer (built once per session)."""
    pytest.importorskip("torch")
    from agentgym_seal.models import TinyModelConfig, tiny_policy

    model, tokenizer, _ = tiny_policy(
        TinyModelConfig(hidden_size=64, num_layers=2, intermediate_size=128, vocab_size=512),
        TINY_CORPUS,
        tmp_path_factory.mktemp("models"),
    )
    return model, tokenizer
