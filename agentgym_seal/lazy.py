"""Lazy package exports (PEP 562): a package names what it exports, and each module loads on first access."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` giving ``exports[name]`` (a relative module, e.g. ``".env"``) of ``package``.

    Example (in a package's ``__init__.py``): ``__getattr__ = lazy_exports(__name__, {"MyEnv": ".env"})``.
    """

    def __getattr__(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name], package), name)

    return __getattr__
