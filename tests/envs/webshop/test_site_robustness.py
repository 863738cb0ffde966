"""The WebShop site under hostile clients, on a real server on 127.0.0.1 (bounded in count and time)."""

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from agentgym_seal.environments.webshop.site import ServerThread, create_app
from agentgym_seal.environments.webshop.world import WorldSpec, build_world

WORLD = build_world(WorldSpec(num_products=200))
READ_TIMEOUT_S = 0.5


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    running = ServerThread(create_app(WORLD), read_timeout_s=READ_TIMEOUT_S)
    yield running
    running.stop()


def status(server: ServerThread, path: str, *, data: bytes | None = None, content_type: str | None = None) -> int:
    request = urllib.request.Request(server.url + path, data=data, method="POST" if data is not None else "GET")
    if content_type is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def handler_threads() -> int:
    """Threads of the server handling a request (werkzeug's threaded server names them so)."""
    return sum("process_request_thread" in t.name for t in threading.enumerate())


def test_a_client_sending_less_body_than_announced_is_dropped(server: ServerThread) -> None:
    before = handler_threads()
    sockets = []
    for _ in range(20):
        sock = socket.create_connection((server.host, server.port), timeout=5)
        head = "POST /fixed_1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        sock.sendall((head + "Content-Length: 1000\r\n\r\nsearch_query=a").encode())
        sockets.append(sock)
    deadline = time.monotonic() + 10 * READ_TIMEOUT_S + 5
    while handler_threads() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    for sock in sockets:
        sock.close()
    assert handler_threads() <= before  # every handler thread gave up on its silent client
    assert status(server, "/healthz") == 200  # and the site still answers


@pytest.mark.parametrize(
    ("path", "data", "content_type", "code"),
    [
        ("/healthz", b"x=1", "application/x-www-form-urlencoded", 405),
        ("/fixed_1", b"search_query=%FF%FE", "application/x-www-form-urlencoded", 400),
        ("/fixed_1", b"no equals sign", "application/x-www-form-urlencoded", 400),
        ("/fixed_1", b"\xff\xfe\x00", "application/x-www-form-urlencoded", 400),
        ("/fixed_1", b'{"search_query": "shirt"}', "application/json", 415),
        ("/fixed_1", b"search_query=" + b"%ED%A0%80", "application/x-www-form-urlencoded", 400),  # a lone surrogate
    ],
)
def test_malformed_posts_are_4xx(server: ServerThread, path: str, data: bytes, content_type: str, code: int) -> None:
    assert status(server, path, data=data, content_type=content_type) == code


@pytest.mark.parametrize(
    "path", ["/fixed_99999999999", "/fixed_-1", "/fixed_200", "/fixed_", "/fixed_1_", "/fixed_%ED%A0%80", "/%00"]
)
def test_fixed_ids_without_a_goal_are_404(server: ServerThread, path: str) -> None:
    assert status(server, path) == 404


def test_a_good_search_still_works(server: ServerThread) -> None:
    assert status(server, "/fixed_3") == 200
    assert (
        status(server, "/fixed_3", data=b"search_query=shirt", content_type="application/x-www-form-urlencoded") == 200
    )
    assert status(server, "/fixed_199") == 200
