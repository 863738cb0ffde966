"""One retriever interface, a registry of backends by name, and atomic index folders.

An index folder holds ``manifest.json`` (kind, options, corpus size and hash), ``docs.jsonl`` (the
corpus, so a server needs only the folder) and the backend's own files. :func:`save_index` writes it
atomically (a temp folder renamed into place); :func:`load_index` checks it and names the file at fault
when something is missing or corrupt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agentgym_seal.atomic import save_atomically
from agentgym_seal.errors import ConfigError, GameDataError
from agentgym_seal.registry import Registry

from .data import Document, default_cache_dir, load_corpus, write_jsonl

INDEX_FORMAT = "agentgym_seal.searchqa.index"
INDEX_VERSION = 1
MANIFEST = "manifest.json"
DOCS = "docs.jsonl"


@dataclass(frozen=True)
class Hit:
    """One retrieved passage: its position in the corpus and its score (higher is better)."""

    index: int
    score: float


class Retriever(Protocol):
    """A built or loaded index over a corpus of :class:`~..data.Document`."""

    kind: str
    docs: Sequence[Document]

    def search(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        """The best ``min(k, len(docs))`` hits of each query, best first (batched)."""
        ...

    def options(self) -> dict[str, Any]:
        """The JSON options that rebuild or reload this retriever (written to the manifest)."""
        ...

    def save(self, folder: Path) -> None:
        """Writes the backend's files into the existing, empty ``folder``."""
        ...


class RetrieverBackend(Protocol):
    """Builds and loads one kind of :class:`Retriever`."""

    def build(self, docs: Sequence[Document], options: dict[str, Any], progress: bool) -> Retriever:
        """Indexes ``docs`` with the backend's ``options`` (unknown keys raise :class:`ConfigError`)."""
        ...

    def load(self, folder: Path, docs: Sequence[Document], options: dict[str, Any]) -> Retriever:
        """Loads what :meth:`Retriever.save` wrote into ``folder``."""
        ...


#: Retriever backends by name (lazy: a backend's heavy dependencies load only when it is used).
RETRIEVERS: Registry[RetrieverBackend] = Registry("retriever")
RETRIEVERS.register("bm25", "agentgym_seal.environments.searchqa.bm25:BM25_BACKEND")
RETRIEVERS.register("dense", "agentgym_seal.environments.searchqa.dense:DENSE_BACKEND")
RETRIEVERS.register("hybrid", "agentgym_seal.environments.searchqa.hybrid:HYBRID_BACKEND")
RETRIEVERS.register("lucene", "agentgym_seal.environments.searchqa.lucene:LUCENE_BACKEND")


def check_options(kind: str, options: dict[str, Any], allowed: Sequence[str]) -> None:
    """Raises :class:`ConfigError` for an option ``kind`` does not take."""
    for name in options:
        if name not in allowed:
            raise ConfigError.bad_option("retriever option", name, sorted(allowed), where=f"retriever {kind!r}")


def build_index(docs: Sequence[Document], kind: str = "bm25", *, progress: bool = True, **options: Any) -> Retriever:
    """Builds a retriever of ``kind`` (a name in :data:`RETRIEVERS`) over ``docs``."""
    if not docs:
        raise ConfigError("build_index: the corpus is empty. Fix: pass at least one document.")
    return RETRIEVERS.get(kind).build(docs, dict(options), progress)


def corpus_digest(docs: Sequence[Document]) -> str:
    """A hash of the corpus (ids and contents), stored in the manifest."""
    h = hashlib.sha256()
    for d in docs:
        h.update(d.id.encode())
        h.update(b"\0")
        h.update(d.contents.encode())
        h.update(b"\1")
    return h.hexdigest()


def save_index(retriever: Retriever, folder: str | Path) -> Path:
    """Writes ``retriever`` (manifest, corpus, backend files) into ``folder`` atomically."""
    folder = Path(folder)

    def save(tmp: Path) -> None:
        write_jsonl(tmp / DOCS, (d.to_json() for d in retriever.docs))
        retriever.save(tmp)
        manifest = {
            "format": INDEX_FORMAT,
            "version": INDEX_VERSION,
            "kind": retriever.kind,
            "options": retriever.options(),
            "num_docs": len(retriever.docs),
            "corpus_sha256": corpus_digest(retriever.docs),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")

    save_atomically(folder, save)
    return folder


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The checked manifest of an index folder.

    Raises:
        GameDataError: The folder or its manifest is missing or not an index manifest.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise GameDataError(f"{path}: no index manifest here. Fix: build one with `agentgym-seal build-index`.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GameDataError(f"{path}: corrupt index manifest ({exc}). Fix: rebuild the index.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != INDEX_FORMAT:
        raise GameDataError(f"{path}: not an agentgym_seal search index manifest. Fix: rebuild the index.")
    if manifest.get("version") != INDEX_VERSION:
        raise GameDataError(
            f"{path}: index version {manifest.get('version')!r}, expected {INDEX_VERSION}. Fix: rebuild."
        )
    return manifest


def load_index(folder: str | Path) -> Retriever:
    """Loads an index folder written by :func:`save_index`.

    Raises:
        GameDataError: A missing or corrupt file (the message names it).
        DependencyNotInstalled: The backend's optional dependency is missing.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    docs = load_corpus(folder / DOCS)
    if len(docs) != manifest.get("num_docs"):
        raise GameDataError(f"{folder / DOCS}: {len(docs)} documents, the manifest says {manifest.get('num_docs')}.")
    options = manifest.get("options")
    return RETRIEVERS.get(str(manifest.get("kind"))).load(folder, docs, options if isinstance(options, dict) else {})


# Bumped when a retriever's default options change, so that cached indexes built with the old ones are not
# reused (2: bm25 k1 0.9, b 0.4, pyserini's defaults, instead of 1.5, 0.75).
CACHE_VERSION = 2


def open_index(
    corpus: str | Path,
    kind: str = "bm25",
    *,
    cache_dir: str | Path | None = None,
    progress: bool = False,
    **options: Any,
) -> Retriever:
    """Loads the cached index of ``corpus`` (a jsonl path) for ``kind`` and ``options``, building it once."""
    corpus = Path(corpus)
    stat = corpus.stat() if corpus.is_file() else None
    size, mtime = (stat.st_size, stat.st_mtime_ns) if stat else (0, 0)
    key_blob = json.dumps(
        [str(corpus.resolve()), size, mtime, kind, options, CACHE_VERSION],
        sort_keys=True,
        default=str,
    )
    key = hashlib.sha256(key_blob.encode()).hexdigest()[:16]
    folder = Path(cache_dir or default_cache_dir()) / "searchqa" / "indexes" / f"{kind}-{key}"
    if (folder / MANIFEST).is_file():
        try:
            return load_index(folder)
        except GameDataError:
            pass  # a corrupt cached index is rebuilt below
    retriever = build_index(load_corpus(corpus), kind, progress=progress, **options)
    save_index(retriever, folder)
    return retriever


def search_documents(
    retriever: Retriever, queries: Sequence[str], k: int, *, return_scores: bool = True
) -> list[list[dict[str, Any]]]:
    """Search-R1's result shape: per query, ``{"document": {"id", "contents"}, "score"}`` items.

    With ``return_scores`` false each item is the bare document, as in Search-R1.
    """
    out = []
    for hits in retriever.search(queries, k):
        row: list[dict[str, Any]] = []
        for hit in hits:
            doc = retriever.docs[hit.index].to_json()
            row.append({"document": doc, "score": hit.score} if return_scores else doc)
        out.append(row)
    return out
