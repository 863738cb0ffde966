"""``agentgym-seal`` commands of the search QA family: ``searchqa-world``, ``build-index``, ``serve-retriever``.

Registered lazily in :data:`agentgym_seal.cli.COMMANDS`; nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from agentgym_seal.arguments import EXIT_OK, parse_option, port, positive_int, usage_error
from agentgym_seal.cli import Command
from agentgym_seal.errors import AgentGymError


def _configure_world(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", required=True, help="folder to write corpus.jsonl, train.jsonl, test.jsonl, world.json"
    )
    parser.add_argument("--num-passages", type=positive_int, default=10_000, help="corpus size (default: 10000)")
    parser.add_argument("--seed", type=int, default=0, help="world seed (default: 0)")


def _run_world(args: argparse.Namespace) -> int:
    from .data import write_world
    from .world import WorldSpec

    try:
        start = time.perf_counter()
        folder = write_world(WorldSpec(num_passages=args.num_passages, seed=args.seed), args.out)
    except AgentGymError as exc:
        return usage_error(exc)
    Console().print(f"wrote {folder} in {time.perf_counter() - start:.1f}s")
    return EXIT_OK


def _configure_build(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", required=True, help="a Search-R1 corpus jsonl ({'id', 'contents'} per line)")
    parser.add_argument("--out", required=True, help="index folder to write (replaced atomically)")
    parser.add_argument("--retriever", default="bm25", help="bm25 (default), dense, hybrid or lucene")
    parser.add_argument(
        "--option", type=parse_option, action="append", default=[], metavar="KEY=VALUE",
        help="retriever option, repeatable (e.g. index_type=hnsw, model=/path/to/st-model); JSON values",
    )  # fmt: skip


def _run_build(args: argparse.Namespace) -> int:
    from .data import load_corpus
    from .index import build_index, save_index

    try:
        start = time.perf_counter()
        docs = load_corpus(args.corpus)
        retriever = build_index(docs, args.retriever, progress=True, **dict(args.option))
        save_index(retriever, args.out)
    except AgentGymError as exc:
        return usage_error(exc)
    Console().print(
        f"indexed {len(docs)} passages ({args.retriever}) into {args.out} in {time.perf_counter() - start:.1f}s"
    )
    return EXIT_OK


def _configure_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", required=True, help="an index folder written by `agentgym-seal build-index`")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=port, default=8000, help="port (default: 8000, as Search-R1; 0 picks one)")
    parser.add_argument("--topk", type=positive_int, default=3, help="topk when a request omits it (default: 3)")
    parser.add_argument("--max-topk", type=positive_int, default=100, help="largest topk accepted (default: 100)")
    parser.add_argument("--max-queries", type=positive_int, default=512, help="queries per request (default: 512)")
    parser.add_argument(
        "--batch-wait-ms", type=float, default=0.0,
        help="an idle search worker waits this long for more requests (default: 0; requests arriving during a "
        "search join the next batch anyway)",
    )  # fmt: skip


def serve(index: str | Path, host: str = "127.0.0.1", port: int = 8000, **limits: Any) -> int:
    """Loads ``index`` and serves it until SIGINT/SIGTERM; returns the exit code."""
    from .index import load_index
    from .server import RetrievalServer, ServerLimits

    retriever = load_index(index)
    # The event loop and the search worker hand requests back and forth: a short GIL switch interval keeps
    # one from sitting out the default 5 ms while the other runs Python code (measured while choosing it, 100k
    # passages, 32 wrk connections: p99 11.6 ms with it, 12.4 ms without).
    sys.setswitchinterval(0.0005)
    server = RetrievalServer(retriever, host=host, port=port, limits=ServerLimits(**limits))
    Console().print(f"serving {retriever.kind} over {len(retriever.docs)} passages at {server.url} (Ctrl-C stops)")
    try:
        server.serve_forever()  # SIGINT / SIGTERM stop it gracefully
    finally:
        server.close()
    return EXIT_OK


def _run_serve(args: argparse.Namespace) -> int:
    try:
        return serve(
            args.index,
            args.host,
            args.port,
            default_topk=args.topk,
            max_topk=args.max_topk,
            max_queries=args.max_queries,
            batch_wait_ms=args.batch_wait_ms,
        )
    except (AgentGymError, OSError) as exc:
        return usage_error(exc)


SEARCHQA_WORLD = Command(
    help="generate a search QA world: Search-R1 corpus jsonl plus train/test questions",
    configure=_configure_world,
    run=_run_world,
)
BUILD_INDEX = Command(
    help="build a retrieval index (bm25, dense, hybrid, lucene) over a corpus jsonl; saved atomically",
    configure=_configure_build,
    run=_run_build,
)
SERVE_RETRIEVER = Command(
    help="serve an index with Search-R1's POST /retrieve API on 127.0.0.1:PORT; Ctrl-C stops it",
    configure=_configure_serve,
    run=_run_serve,
)
