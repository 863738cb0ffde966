"""The Flask site: same pages as the engine, escaping, 4xx on bad input, isolated concurrent sessions."""

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentgym_seal.environments.webshop import generate_catalog
from agentgym_seal.environments.webshop.catalog import to_webshop_files
from agentgym_seal.environments.webshop.engine import Location
from agentgym_seal.environments.webshop.html import location_url, visible_text
from agentgym_seal.environments.webshop.site import ServerThread, create_app
from agentgym_seal.environments.webshop.world import World, WorldSpec, build_world


def text(response: Any) -> list[str]:
    return visible_text(response.get_data(as_text=True))


def test_pages_match_the_engine(client: Any, world: World) -> None:
    goal = world.goals[3]
    assert text(client.get("/fixed_3")) == ["WebShop", "Instruction:", goal["instruction_text"], "Search"]
    response = client.post("/fixed_3", data={"search_query": "Gluten Free snack bars"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/search_results/fixed_3/gluten%20free%20snack%20bars/1"
    location = Location("results", ("gluten", "free", "snack", "bars"), 1)
    page = world.shop.page(location, goal)
    assert text(client.get(response.headers["Location"])) == list(page.segments)
    asin = page.products[0]["asin"]
    product = world.catalog.by_asin[asin]
    name, values = next(iter(product["options"].items()))
    item = Location("item", location.keywords, 1, asin, ((name, values[0]),))
    html = client.get(location_url("fixed_3", item)).get_data(as_text=True)
    assert visible_text(html) == list(world.shop.page(item, goal).segments) and " checked" in html
    done = Location("done", asin=asin, options=item.options)
    segments = text(client.post(location_url("fixed_3", done)))
    assert segments[:3] == ["Thank you for shopping with us!", "Purchased:", asin]
    assert float(segments[-1]) == world.shop.score(done, goal).score


def test_other_sessions_get_a_goal_from_their_id(client: Any) -> None:
    first = text(client.get("/alice"))[2]
    assert text(client.get("/alice"))[2] == first
    assert client.get("/").status_code == 302


def test_everything_echoed_is_escaped(tmp_path: Path) -> None:
    items, attrs = to_webshop_files(generate_catalog(20, seed=2).products)
    items[0]["name"] = "<script>alert('x')</script> Evil <b>Bold</b> Lamp"
    attrs[items[0]["asin"]]["instruction"] = "i need an <img src=x onerror=alert(1)> lamp"
    (tmp_path / "items_shuffle.json").write_text(json.dumps(items))
    (tmp_path / "items_ins_v2.json").write_text(json.dumps(attrs))
    world = build_world(WorldSpec(num_products=None, data_dir=str(tmp_path), cache_dir=""))
    client = create_app(world).test_client()
    index = next(i for i, g in enumerate(world.goals) if g["asin"] == items[0]["asin"])
    html = client.get(f"/fixed_{index}").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    url = location_url(f"fixed_{index}", Location("item", ("lamp",), 1, items[0]["asin"]))
    html = client.get(url).get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Evil" in html
    assert "<script>alert('x')</script> Evil <b>Bold</b> Lamp" in visible_text(html)  # shown as text
    html = client.get("/search_results/nobody/%3Cscript%3E/1").get_data(as_text=True)
    assert "<script>" not in html


@pytest.mark.parametrize(
    ("method", "url", "code"),
    [
        ("GET", "/search_results/unknown_session/shoes/1", 404),
        ("GET", "/bad%20session!", 404),
        ("GET", "/fixed_99999999", 404),
        ("GET", "/search_results/fixed_1/shoes/0", 404),
        ("GET", "/search_results/fixed_1/shoes/1001", 404),
        ("GET", "/search_results/fixed_1/shoes/abc", 404),
        ("GET", "/search_results/fixed_1/%20/1", 400),
        ("GET", "/search_results/fixed_1/" + "a" * 600 + "/1", 400),
        ("GET", "/item_page/fixed_1/B0NOSUCHXX/shoes/1/%7B%7D", 404),
        ("GET", "/item_page/fixed_1/{asin}/shoes/1/not-json", 400),
        ("GET", "/item_page/fixed_1/{asin}/shoes/1/%5B1%2C2%5D", 400),
        ("GET", "/item_page/fixed_1/{asin}/shoes/1/%7B%22color%22%3A%22no%20such%20colour%22%7D", 404),
        ("GET", "/item_sub_page/fixed_1/{asin}/shoes/1/Secrets/%7B%7D", 404),
        ("GET", "/done/fixed_1/{asin}/%7B%22size%22%3A1%7D", 400),
        ("GET", "/x/" * 2000, 414),
        ("DELETE", "/fixed_1", 405),
        ("GET", "/no/such/route/at/all/here/ok", 404),
    ],
)
def test_bad_requests_get_4xx(client: Any, world: World, method: str, url: str, code: int) -> None:
    client.get("/fixed_1")
    asin = world.catalog.products[0]["asin"]
    response = client.open(url.format(asin=asin), method=method)
    assert response.status_code == code


def test_oversized_bodies_and_queries(client: Any) -> None:
    client.get("/fixed_2")
    assert client.post("/fixed_2", data={"search_query": "x" * 501}).status_code == 400
    assert client.post("/fixed_2", data={"search_query": "   "}).status_code == 400
    assert client.post("/fixed_2", data={"search_query": "y" * 20_000}).status_code == 413


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(min_size=0, max_size=30), min_size=1, max_size=7))
def test_fuzzed_urls_never_500(client: Any, parts: list[str]) -> None:
    from urllib.parse import quote

    client.get("/fixed_5")
    parts = ["fixed_5" if i == 1 else p for i, p in enumerate(parts)]
    for prefix in ("search_results", "item_page", "item_sub_page", "done"):
        url = "/" + "/".join([prefix, *(quote(p, safe="") for p in parts)])
        assert client.get(url).status_code < 500


def test_fifty_concurrent_sessions_are_isolated(world: World) -> None:
    app = create_app(world)
    server = ServerThread(app)
    errors: list[str] = []

    def shopper(i: int) -> None:
        try:
            goal = world.goals[i]
            base = f"{server.url}"
            with urllib.request.urlopen(f"{base}/fixed_{i}_t{i}", timeout=30) as r:
                seen = visible_text(r.read().decode())
            if seen[2] != goal["instruction_text"]:
                errors.append(f"{i}: saw another goal")
            product = world.catalog.by_asin[goal["asin"]]
            options = {k: v for k, v in goal["goal_options"].items()}
            done = Location("done", asin=product["asin"], options=tuple(options.items()))
            with urllib.request.urlopen(base + location_url(f"fixed_{i}_t{i}", done), timeout=30) as r:
                score = float(visible_text(r.read().decode())[-1])
            if score != world.shop.score(done, goal).score or score != 1.0:
                errors.append(f"{i}: score {score}")
        except (urllib.error.URLError, OSError, ValueError, IndexError) as exc:
            errors.append(f"{i}: {exc!r}")

    threads = [threading.Thread(target=shopper, args=(i,)) for i in range(50)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        server.stop()
    assert not errors, errors
    store = app.extensions["webshop_sessions"]
    for i in range(50):
        state = store.get(f"fixed_{i}_t{i}")
        assert state.goal_index == i and state.done and state.asin == world.goals[i]["asin"] and state.score == 1.0


@pytest.mark.slow
def test_serve_webshop_command_serves_on_loopback(tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "AGENTGYM_SEAL_CACHE": str(tmp_path)}
    cmd = [sys.executable, "-m", "agentgym_seal", "serve-webshop", "--port", str(port), "--num-products", "200"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/fixed_0", timeout=5) as r:
                    assert visible_text(r.read().decode())[:2] == ["WebShop", "Instruction:"]
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None and time.monotonic() < deadline, "serve-webshop did not come up"
                time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
