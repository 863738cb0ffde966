"""Shared WebShop fixtures: the default world (built once per test session) and a test client of its site."""

from typing import Any

import pytest

from agentgym_seal.environments.webshop.site import create_app
from agentgym_seal.environments.webshop.world import World, WorldSpec, build_world


@pytest.fixture(scope="session")
def world() -> World:
    """The world ``WebShopText-v0`` plays by default (1,000 generated products)."""
    return build_world(WorldSpec())


@pytest.fixture(scope="module")
def client(world: World) -> Any:
    """A Flask test client of the site over ``world`` (sessions shared within a module)."""
    return create_app(world).test_client()
