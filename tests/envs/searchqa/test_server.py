"""The retrieval server over real HTTP on 127.0.0.1: Search-R1's API, errors, concurrency, the CLI."""

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from agentgym_seal.environments.searchqa.client import RemoteRetriever
from agentgym_seal.environments.searchqa.index import save_index, search_documents
from agentgym_seal.environments.searchqa.server import RetrievalServer, ServerLimits
from agentgym_seal.errors import ConfigError


@pytest.fixture(scope="module")
def server(bm25: Any) -> Iterator[RetrievalServer]:
    with RetrievalServer(bm25, port=0, limits=ServerLimits(max_queries=64, max_query_chars=500)) as srv:
        yield srv


def post(
    srv: RetrievalServer, body: bytes | str, path: str = "/retrieve", headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request("POST", path, body=body, headers=headers or {"Content-Type": "application/json"})
    response = conn.getresponse()
    data = json.loads(response.read())
    conn.close()
    return response.status, data


def test_retrieve_shape_matches_search_r1(server: RetrievalServer, bm25: Any) -> None:
    queries = ["Early life born", "founded"]
    status, data = post(server, json.dumps({"queries": queries, "topk": 3, "return_scores": True}))
    assert status == 200 and set(data) == {"result"}
    assert len(data["result"]) == 2 and all(len(row) == 3 for row in data["result"])
    item = data["result"][0][0]
    assert set(item) == {"document", "score"} and set(item["document"]) == {"id", "contents"}
    assert isinstance(item["score"], float)
    assert data["result"] == json.loads(json.dumps(search_documents(bm25, queries, 3)))
    status, data = post(server, json.dumps({"queries": queries, "topk": 2, "return_scores": False}))
    assert status == 200 and set(data["result"][0][0]) == {"id", "contents"}  # bare documents, as Search-R1
    status, data = post(server, json.dumps({"queries": ["born"]}))  # topk defaults to 3
    assert status == 200 and len(data["result"][0]) == 3
    status, data = post(server, json.dumps({"queries": []}))
    assert (status, data) == (200, {"result": []})


def test_health(server: RetrievalServer, bm25: Any) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/health")
    response = conn.getresponse()
    health = json.loads(response.read())
    assert response.status == 200 and health["status"] == "ok"
    assert health["retriever"] == "bm25" and health["num_docs"] == len(bm25.docs)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("{not json", 400, "not valid UTF-8 JSON"),
        (b"\xff\xfe", 400, "not valid UTF-8 JSON"),
        ("[1, 2]", 400, "expected a JSON object"),
        ('{"queries": "one string"}', 400, "'queries' must be a list of strings"),
        ('{"queries": [1, 2]}', 400, "'queries' must be a list of strings"),
        ('{"queries": ["a"], "topk": 0}', 400, "'topk' must be an integer in [1, 100]"),
        ('{"queries": ["a"], "topk": 1000}', 400, "'topk' must be an integer"),
        ('{"queries": ["a"], "topk": "3"}', 400, "'topk' must be an integer"),
        ('{"queries": ["a"], "topk": true}', 400, "'topk' must be an integer"),
        ('{"queries": ["a"], "return_scores": "yes"}', 400, "'return_scores' must be true or false"),
        ('{"queries": ["a"], "extra": 1}', 400, "unknown field(s) ['extra']"),
        (json.dumps({"queries": ["a"] * 65}), 400, "65 queries; at most 64"),
        (json.dumps({"queries": ["a" * 501]}), 400, "query 0 has 501 characters; at most 500"),
        ("[" * 100_000, 400, "nested too deeply"),
        ('{"queries": ["a"], "topk": ' + "9" * 4301 + "}", 400, "an integer of 4301 digits; at most 20"),
        ('{"queries": ["a"], "topk": -' + "1" * 30 + "}", 400, "an integer of 30 digits"),
        ('{"queries": [' + "7" * 5000 + "]}", 400, "an integer of 5000 digits"),
        ('{"queries": ["a"], "topk": NaN}', 400, "'topk' must be an integer"),
        ('{"queries": ["a"], "topk": Infinity}', 400, "'topk' must be an integer"),
        ('{"queries": ["a"], "topk": 1e400}', 400, "'topk' must be an integer"),
        ('{"queries": ["a"], "topk": 2.0}', 400, "'topk' must be an integer"),
        ('{"queries": ["a"], "topk": -3}', 400, "'topk' must be an integer"),
        ('{"queries": [null]}', 400, "'queries' must be a list of strings"),
    ],
)
def test_bad_requests_get_400(server: RetrievalServer, body: str | bytes, status: int, message: str) -> None:
    got, data = post(server, body)
    assert got == status and message in data["error"]


def test_oversized_body_and_unknown_routes(server: RetrievalServer) -> None:
    status, data = post(server, "x", headers={"Content-Length": str(10 << 20)})
    assert status == 413 and "at most" in data["error"]
    status, data = post(server, "{}", path="/search")
    assert status == 404
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/retrieve")
    assert conn.getresponse().status == 404


def test_garbage_on_the_socket_does_not_stop_the_server(server: RetrievalServer) -> None:
    for garbage in (b"\x00\x01\x02garbage\r\n\r\n", b"POST /retrieve HTTP/1.1\r\nContent-Length: abc\r\n\r\n", b""):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(garbage)
            sock.shutdown(socket.SHUT_WR)
            sock.recv(4096)
    status, _ = post(server, json.dumps({"queries": ["born"], "topk": 1}))
    assert status == 200


def raw_exchange(srv: RetrievalServer, data: bytes, responses: int = 1) -> bytes:
    """Sends ``data`` on one connection and reads until ``responses`` complete JSON responses (or EOF)."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
        sock.sendall(data)
        got = b""
        while got.count(b"HTTP/1.1 ") < responses or not _complete(got, responses):
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def _complete(got: bytes, responses: int) -> bool:
    """True once the last of ``responses`` responses has its whole body (by Content-Length)."""
    parts = got.split(b"HTTP/1.1 ")[1:]
    if len(parts) < responses or b"\r\n\r\n" not in parts[-1]:
        return False
    head, body = parts[-1].split(b"\r\n\r\n", 1)
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    return len(body) >= length


def request(body: bytes, path: str = "/retrieve", method: str = "POST", extra: str = "") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


def test_pipelined_requests_are_answered_in_order(server: RetrievalServer, bm25: Any) -> None:
    queries = ["born", "founded", "city"]
    data = b"".join(request(json.dumps({"queries": [q], "topk": 1, "return_scores": True}).encode()) for q in queries)
    got = raw_exchange(server, data + request(b"", "/health", "GET"), responses=4)
    bodies = [json.loads(part.split(b"\r\n\r\n", 1)[1]) for part in got.split(b"HTTP/1.1 ")[1:]]
    assert [b["result"][0][0]["document"]["id"] for b in bodies[:3]] == [
        row[0]["document"]["id"] for row in search_documents(bm25, queries, 1)
    ]
    assert bodies[3]["status"] == "ok"


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"POST /retrieve HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411, "chunked"),
        (b"POST /retrieve HTTP/1.1\r\nHost: x\r\n\r\n", 411, "missing Content-Length"),
        (b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * (70 << 10) + b"\r\n\r\n", 431, "headers above"),
        (b"GET http://x/health HTTP/1.1\r\n\r\n", 400, "malformed request line"),
        (b"GET /health HTTP/2.0\r\n\r\n", 400, "malformed request line"),
        (b"GET /health HTTP/1.1\r\nno colon here\r\n\r\n", 400, "malformed header line"),
        (b"DELETE /retrieve HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405, "not allowed"),
        (b"POST /retrieve HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n", 400, "bad Content-Length"),  # latin-1 '²'
        (b"POST /retrieve HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", 413, "at most"),
        (b"POST /retrieve HTTP/1.1\r\nContent-Length: 17\r\nContent-Length: 0\r\n\r\n", 400, "repeated"),
    ],
)
def test_bad_framing_is_answered_and_the_server_keeps_serving(
    server: RetrievalServer, data: bytes, status: int, message: str
) -> None:
    got = raw_exchange(server, data)
    assert got.startswith(f"HTTP/1.1 {status} ".encode()), got[:200]
    assert message in json.loads(got.split(b"\r\n\r\n", 1)[1])["error"]
    assert post(server, json.dumps({"queries": ["born"], "topk": 1}))[0] == 200


def test_a_stray_empty_line_before_a_request_is_skipped(server: RetrievalServer) -> None:
    assert raw_exchange(server, b"\r\n" + request(b"", "/health", "GET")).startswith(b"HTTP/1.1 200 OK")


def test_expect_continue_http10_and_connection_close(server: RetrievalServer) -> None:
    body = json.dumps({"queries": ["born"], "topk": 1}).encode()
    head = f"POST /retrieve HTTP/1.1\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        assert sock.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"  # curl waits for this before a large body
        sock.sendall(body)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
    http10 = request(b"", "/health", "GET").replace(b"HTTP/1.1", b"HTTP/1.0")
    got = raw_exchange(server, http10.replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n"))
    assert got.startswith(b"HTTP/1.1 200 OK")  # HTTP/1.0 clients never get 100 Continue
    for data in (http10, request(b"", "/", "GET", "Connection: close\r\n")):
        got = raw_exchange(server, data + request(b"", "/health", "GET"), responses=2)
        assert got.count(b"HTTP/1.1 200") == 1 and b"Connection: close\r\n" in got  # answered once, then closed


class HeldRetriever:
    """The real retriever, but each search waits for ``release`` (to stop the server mid-search)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.kind, self.docs = inner, inner.kind, inner.docs
        self.started, self.release = threading.Event(), threading.Event()
        self.calls: list[tuple[int, int]] = []  # (queries, k) per search

    def search(self, queries: Any, k: int) -> Any:
        self.started.set()
        self.release.wait(timeout=10)
        self.calls.append((len(queries), k))
        return self.inner.search(queries, k)


@pytest.mark.parametrize(("max_batch", "batches"), [(512, 2), (2, 4)])
def test_requests_queued_during_a_search_form_the_next_batch(bm25: Any, max_batch: int, batches: int) -> None:
    held = HeldRetriever(bm25)
    with RetrievalServer(held, port=0, limits=ServerLimits(max_batch_queries=max_batch)) as srv:  # type: ignore[arg-type]
        client = RemoteRetriever(srv.url)
        with ThreadPoolExecutor(7) as pool:
            first = pool.submit(client.search_documents, ["born"], 1)
            assert held.started.wait(timeout=10)
            queued = [
                pool.submit(client.search_documents, [q], k) for q, k in zip("abcdef", [2, 2, 2, 2, 5, 5], strict=True)
            ]
            deadline = time.monotonic() + 10
            while len(srv.batcher._waiting) < 6 and time.monotonic() < deadline:  # all six read and queued
                time.sleep(0.01)
            held.release.set()
            assert len(first.result()[0]) == 1 and [len(f.result()[0]) for f in queued] == [2, 2, 2, 2, 5, 5]
        assert srv.batcher.batches == batches  # the held one, then the six in one batch (or three of two)
    if max_batch == 512:
        assert held.calls == [(1, 1), (4, 2), (2, 5)] or held.calls == [(1, 1), (2, 5), (4, 2)]  # a search per topk


def test_a_failing_search_answers_500_and_the_server_keeps_serving(bm25: Any) -> None:
    class Failing(HeldRetriever):
        def search(self, queries: Any, k: int) -> Any:
            if "boom" in queries:
                raise ValueError("boom")
            return self.inner.search(queries, k)

    with RetrievalServer(Failing(bm25), port=0) as srv:  # type: ignore[arg-type]
        status, data = post(srv, json.dumps({"queries": ["boom"]}))
        assert status == 500 and data["error"] == "search failed: ValueError: boom"
        assert post(srv, json.dumps({"queries": ["born"]}))[0] == 200


def test_a_stalled_client_is_dropped_after_the_idle_timeout(bm25: Any) -> None:
    with RetrievalServer(bm25, port=0, limits=ServerLimits(idle_timeout_s=0.3)) as srv:
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        sock.sendall(b"POST /retrieve HTTP/1.1\r\n")  # and never the rest
        start = time.monotonic()
        assert sock.recv(10) == b""
        assert 0.2 < time.monotonic() - start < 5
        sock.close()


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"default_topk": 200}, "default topk 200 is above max_topk 100"),
        ({"batch_wait_ms": -1.0}, "batch_wait_ms must be in"),
        ({"batch_wait_ms": float("nan")}, "batch_wait_ms must be in"),
        ({"max_queries": 0}, "max_queries must be a positive integer"),
        ({"idle_timeout_s": float("inf")}, "idle_timeout_s must be positive and finite"),
    ],
)
def test_impossible_limits_fail_at_start(limits: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        ServerLimits(**limits)


@pytest.mark.parametrize("loop_thread", ["start", "serve_forever"])
def test_close_answers_the_request_in_flight_and_closes_idle_keep_alive_connections(
    bm25: Any, loop_thread: str
) -> None:
    """``close()`` from another thread, the loop run by ``start()`` or by the caller's own ``serve_forever``."""
    held = HeldRetriever(bm25)
    srv = RetrievalServer(held, port=0)  # type: ignore[arg-type]
    if loop_thread == "start":
        srv.start()
    else:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    idle = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(4)]
    busy = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    busy.sendall(request(json.dumps({"queries": ["born"], "topk": 2}).encode()))
    assert held.started.wait(timeout=10)
    closer = threading.Thread(target=srv.close)
    closer.start()
    for sock in idle:
        assert sock.recv(10) == b""  # closed at once, while the search is still held
        sock.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=2)  # no new connections
    held.release.set()
    closer.join(timeout=srv.GRACE_S)
    assert not closer.is_alive()
    answer = b""
    while chunk := busy.recv(1 << 20):
        answer += chunk
    busy.close()
    assert answer.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in answer
    assert len(json.loads(answer.split(b"\r\n\r\n", 1)[1])["result"][0]) == 2


def test_32_concurrent_clients_get_their_own_answers(server: RetrievalServer, bm25: Any, questions: list[Any]) -> None:
    asked = [q.question for q in questions[:128]]
    expected = search_documents(bm25, asked, 3)
    client = RemoteRetriever(server.url)
    batches_before = server.batcher.batches
    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(lambda q: client.search_documents([q], 3)[0], asked))
    assert [[h["document"]["id"] for h in row] for row in answers] == [
        [h["document"]["id"] for h in row] for row in expected
    ]
    assert server.batcher.batches - batches_before < len(asked)  # concurrent requests share batches


@pytest.mark.slow
def test_cli_serve_retriever(bm25: Any, tmp_path: Path) -> None:
    index = save_index(bm25, tmp_path / "idx")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cli = [sys.executable, "-m", "agentgym_seal", "serve-retriever", "--index", str(index), "--port", str(port)]
    proc = subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
    try:
        client = RemoteRetriever(f"http://127.0.0.1:{port}/retrieve", timeout=5)
        for _ in range(100):
            try:
                rows = client.search_documents(["born"], 2)
                break
            except Exception:
                time.sleep(0.1)
        else:
            pytest.fail(f"server did not come up: {proc.stderr.read() if proc.poll() is not None else ''}")
        assert len(rows[0]) == 2
        with ThreadPoolExecutor(16) as pool:  # stopped while requests are in flight: graceful, no traceback
            load = [pool.submit(client.search_documents, ["born founded city"], 50) for _ in range(400)]
            time.sleep(0.2)
            proc.terminate()
            answered = sum(f.exception() is None for f in load)
        assert proc.wait(timeout=10) == 0
        assert answered > 0 and "Traceback" not in proc.stderr.read().decode()
    finally:
        proc.kill()
        proc.wait(timeout=10)
    bad = subprocess.run([*cli[:-4], "--index", str(tmp_path / "missing")], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "no index manifest" in bad.stderr
    bad = subprocess.run([*cli, "--topk", "200"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "raise --max-topk" in bad.stderr
