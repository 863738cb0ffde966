"""The WebShop site under hostile clients, on a real server on 127.0.0.1 (bounded in count and time)."""

import socket
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentgym_seal.environments.webshop.site import MAX_BODY_BYTES, ServerThread, create_app
from agentgym_seal.environments.webshop.world import World

TIMEOUT_S = 0.5  # the test server's read timeout
FORM = "application/x-www-form-urlencoded"
MULTIPART = b"--x\r\nContent-Disposition: form-data; name=search_query\r\n\r\na\r\n--x--\r\n"


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[ServerThread]:
    running = ServerThread(create_app(world), read_timeout_s=TIMEOUT_S)
    exchange(running, b"GET /fixed_1 HTTP/1.1\r\nHost: t\r\n\r\n")  # opens the session the tests use
    yield running
    running.stop()


def exchange(server: ServerThread, request: bytes, *, wait_s: float = 10.0) -> bytes:
    """Sends raw ``request`` bytes and returns everything the server answers until it closes the connection."""
    with socket.create_connection((server.host, server.port), timeout=wait_s) as sock:
        sock.sendall(request)
        return read_all(sock)


def read_all(sock: socket.socket) -> bytes:
    """What ``sock`` receives until the other end closes it."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def status(response: bytes) -> int:
    """The status code of a raw HTTP response (0 for none)."""
    parts = response.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def get(server: ServerThread, path: bytes) -> int:
    return status(exchange(server, b"GET " + path + b" HTTP/1.1\r\nHost: t\r\n\r\n"))


def post(server: ServerThread, path: bytes, body: bytes, content_type: str | None = FORM) -> int:
    head = b"POST " + path + b" HTTP/1.1\r\nHost: t\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
    if content_type is not None:
        head += b"Content-Type: " + content_type.encode() + b"\r\n"
    return status(exchange(server, head + b"\r\n" + body))


def handler_threads() -> int:
    """Threads of the server handling a connection (werkzeug's threaded server names them so)."""
    return sum("process_request_thread" in t.name for t in threading.enumerate())


def wait_for(condition: Callable[[], bool], limit_s: float) -> bool:
    """Whether ``condition`` holds within ``limit_s`` seconds (polled)."""
    deadline = time.monotonic() + limit_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_silent_clients_are_dropped_after_the_read_timeout(server: ServerThread) -> None:
    before = handler_threads()
    short_body = (
        f"POST /fixed_1 HTTP/1.1\r\nHost: t\r\nContent-Type: {FORM}\r\nContent-Length: 1000\r\n\r\nsearch_query=a"
    )
    requests = [short_body] * 10 + ["POST /fixed_1 HTTP/1.1\r\nHost: t\r\nContent-Le"] * 5 + [""] * 5
    sockets = [socket.create_connection((server.host, server.port), timeout=10) for _ in requests]
    try:
        sent = []
        for sock, request in zip(sockets, requests, strict=True):
            sock.sendall(request.encode())
            sent.append(time.monotonic())
        answers, held = [], []
        for sock, at in zip(sockets, sent, strict=True):
            answers.append(read_all(sock))  # the server answers or not, then closes
            held.append(time.monotonic() - at)
        assert wait_for(lambda: handler_threads() <= before, 5)  # and every thread is given back
    finally:
        for sock in sockets:
            sock.close()
    assert all(0.9 * TIMEOUT_S <= s < TIMEOUT_S + 5 for s in held), held  # held for the timeout, then dropped
    assert [status(a) for a in answers[:10]] == [408] * 10 and b"ended before its Content-Length" in answers[0]
    assert answers[10:] == [b""] * 10  # no complete headers: the connection is just closed
    assert get(server, b"/healthz") == 200


@pytest.mark.parametrize(
    ("path", "body", "content_type", "code"),
    [
        (b"/fixed_1", b"search_query=%FF%FE", FORM, 400),  # not UTF-8
        (b"/fixed_1", b"search_query=a%ED%A0%80b", FORM, 400),  # a lone surrogate, as UTF-8 would spell it
        (b"/fixed_1", b"search_query=a%00b", FORM, 400),  # NUL
        (b"/fixed_1", b"search_query=%zz", FORM, 400),  # a bad escape
        (b"/fixed_1", b"no equals sign", FORM, 400),
        (b"/fixed_1", b"search_query=a&", FORM, 400),
        (b"/fixed_1", b"\xff\xfe\x00", FORM, 400),
        (b"/fixed_1", b"search_query=a&search_query=b", FORM, 400),
        (b"/fixed_1", b"colour=red", FORM, 400),
        (b"/search_results/fixed_1/shirt/1", b"search_query=a", FORM, 400),  # a button's form has no field
        (b"/fixed_1", b'{"search_query": "shirt"}', "application/json", 415),
        (b"/fixed_1", b"search_query=shirt", "text/plain", 415),
        (b"/fixed_1", b"search_query=shirt", None, 415),
        (b"/fixed_1", MULTIPART, "multipart/form-data; boundary=x", 415),
        (b"/fixed_1", b"search_query=" + b"a" * MAX_BODY_BYTES, FORM, 413),
        (b"/healthz", b"", FORM, 405),
        (b"/healthz", b"x=1", FORM, 405),
        (b"/fixed_1", b"search_query=red+shirt", FORM, 303),
        (b"/fixed_1", b"search_query=a%EF%BF%BDb", FORM, 303),  # U+FFFD itself is text
        (b"/fixed_1", b"", FORM, 200),  # the Back to Search button
        (b"/search_results/fixed_1/shirt/1", b"", FORM, 200),  # the Next > button
    ],
)  # fmt: skip
def test_posts_with_a_body_that_is_not_the_routes_form_are_4xx(
    server: ServerThread, path: bytes, body: bytes, content_type: str | None, code: int
) -> None:
    assert post(server, path, body, content_type) == code


def test_healthz_is_get_only_and_never_a_session(server: ServerThread) -> None:
    response = exchange(server, b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
    assert status(response) == 405 and b"Allow: GET, HEAD" in response
    assert get(server, b"/healthz") == 200
    assert get(server, b"/search_results/healthz/shirt/1") == 404  # the POST made no session


def test_fixed_ids_are_goal_indices_or_404(server: ServerThread, world: World) -> None:
    last = len(world.goals) - 1
    for good in ("fixed_0", f"fixed_{last}", "fixed_3_tag-1"):
        assert get(server, f"/{good}".encode()) == 200, good
    for bad in ("fixed_99999999999", "fixed_-1", f"fixed_{last + 1}", "fixed_", "fixed_1_", "fixed_007", "fixed_x"):
        assert get(server, f"/{bad}".encode()) == 404, bad
        assert get(server, f"/search_results/{bad}/shirt/1".encode()) == 404, bad


@pytest.mark.parametrize(
    "path",
    [
        b"/search_results/fixed_1/%ED%A0%80/1",  # a lone surrogate
        b"/search_results/fixed_1/%FF%FE/1",
        b"/search_results/fixed_1/a%00b/1",
        b"/search_results/fixed_1/%zz/1",
        b"/search_results/fixed_1/a%/1",
        b"/search_results/fixed_1/\xff/1",  # a raw byte outside ASCII
        b"/fixed_%ED%A0%80",
        b"/%00",
        b"/item_page/fixed_1/B0%C0%AF/shoes/1/%7B%7D",  # an overlong UTF-8 '/'
    ],
)
def test_urls_that_are_not_percent_encoded_utf8_text_are_400(server: ServerThread, path: bytes) -> None:
    assert get(server, path) == 400


def test_a_replacement_character_in_a_url_is_an_ordinary_query(server: ServerThread) -> None:
    assert get(server, b"/search_results/fixed_1/a%EF%BF%BDb/1") == 200


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=12), min_size=1, max_size=6), st.sampled_from([b"GET", b"POST"]))
def test_percent_encoded_garbage_never_gets_a_5xx(server: ServerThread, parts: list[bytes], method: bytes) -> None:
    for prefix in (b"search_results", b"item_page", b"done"):
        path = b"/".join([b"", prefix, b"fixed_1", *(quote_from_bytes(p, safe="").encode() for p in parts)])
        request = method + b" " + path + b" HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
        assert 200 <= status(exchange(server, request)) < 500, path
